package io.dataversesync.azure;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.ThreadContext;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.junit.jupiter.api.Test;

/**
 * The production log configuration (LOG4J_CONFIGURATION_FILE=log4j2-json.properties, resolved from the classpath
 * exactly as that bare name): one ECS JSON object per line, the MDC correlation id as a top-level field.
 */
class JsonLogTest {

    @Test
    void oneJsonObjectPerLineWithTheCorrelationId() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        LoggerContext ctx;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            ctx = Configurator.initialize("json-log-test", getClass().getClassLoader(), "log4j2-json.properties");
            Logger log = ctx.getLogger("io.dataversesync.test");
            ThreadContext.put("correlationId", "corr-7");
            try {
                log.info("Synced account 1 to target 2");
                log.warn("multi\nline message", new IllegalStateException("boom"));
            } finally {
                ThreadContext.remove("correlationId");
            }
            Configurator.shutdown(ctx);
        } finally {
            System.setOut(original);
        }
        List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        assertThat(lines).hasSize(2);
        ObjectMapper json = new ObjectMapper();
        JsonNode first = json.readTree(lines.get(0));
        assertThat(first.path("message").asText()).isEqualTo("Synced account 1 to target 2");
        assertThat(first.path("log.level").asText()).isEqualTo("INFO");
        assertThat(first.path("log.logger").asText()).isEqualTo("io.dataversesync.test");
        assertThat(first.path("@timestamp").asText()).isNotBlank();
        // EcsLayout.json: {"$resolver": "mdc", "flatten": true} puts MDC keys at the top level (not under "labels")
        assertThat(first.path("correlationId").asText()).isEqualTo("corr-7");
        JsonNode second = json.readTree(lines.get(1));
        assertThat(second.path("message").asText()).isEqualTo("multi\nline message");
        assertThat(second.path("error.type").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(second.path("error.stack_trace").asText()).contains("boom");
        assertThat(second.path("correlationId").asText()).isEqualTo("corr-7");
    }
}
