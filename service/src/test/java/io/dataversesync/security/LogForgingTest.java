package io.dataversesync.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.transport.ArtemisTransport;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, second defect: CR/LF from message data reached the plain log unescaped, so a message could write lines
 * that look like the service's own. Values from outside (bodies, ids, correlation ids, reasons) are escaped in both
 * log formats and in dead-letter descriptions. (Written before the fix: both tests failed on a forged plain line.)
 */
class LogForgingTest extends SyncTestSupport {
    /** A line as the service writes it (log4j2.properties), at a time the test never runs at. */
    private static final String FORGED = "23:59:59.999 INFO  [main] Main [cid=-] FORGED";

    @Test
    void crLfInABodyNeverStartsALogLineOrADeadLetterDescriptionLine() {
        try (LogCapture logs = new LogCapture()) {
            send(OUTBOUND, "{\"entity\":\"account\\r\\n" + FORGED + " entity\",\"sourceRowId\":\"x\"}", "forging-body");
            Exchange deadLetter = receiveDeadLetter(OUTBOUND, Duration.ofSeconds(10));
            assertThat(deadLetter).isNotNull();
            String description = deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class);
            assertThat(description).contains("unknown entity").contains("FORGED").doesNotContain("\n").doesNotContain("\r");

            await().atMost(Duration.ofSeconds(10)).until(() -> logs.plain().contains("FORGED entity"));
            assertNoForgedLine(logs);
        }
    }

    @Test
    void crLfInACorrelationIdNeverStartsALogLine() {
        try (LogCapture logs = new LogCapture()) {
            String id = createAccount("Forging correlation id");
            send(OUTBOUND, "{\"entity\":\"account\",\"sourceRowId\":\"" + id + "\"}", "cid-2\n" + FORGED + " correlation");
            ObjectNode plugin = JSON.createObjectNode();
            plugin.put("PrimaryEntityName", "account");
            plugin.put("PrimaryEntityId", id);
            plugin.put("MessageName", "Update");
            plugin.put("CorrelationId", "cid-3\r\n" + FORGED + " context");
            send(OUTBOUND, plugin.toString(), null);
            awaitSynced(id);

            await().atMost(Duration.ofSeconds(10)).until(() -> logs.plain().contains("FORGED correlation")
                    && logs.plain().contains("FORGED context"));
            assertNoForgedLine(logs);
        }
    }

    @Test
    void bothLayoutsKeepEveryEventOnOneLineWhateverItsValuesHold() {
        // what no code of ours escaped: Camel's and the libraries' own log lines quoting a value, an exception message
        org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("io.dataversesync.test");
        try (LogCapture logs = new LogCapture()) {
            org.slf4j.MDC.put("correlationId", "cid\r\n" + FORGED + " mdc");
            try {
                log.warn("value: {}", "v\n" + FORGED + " message");
                log.error("failed", new IllegalStateException("bad value 'x\r\n" + FORGED + " exception'"));
            } finally {
                org.slf4j.MDC.remove("correlationId");
            }
            assertNoForgedLine(logs);
            assertThat(logs.plain()).contains("FORGED mdc").contains("FORGED message").contains("FORGED exception");
            assertThat(logs.json().lines().filter(l -> !l.isBlank()).count()).isEqualTo(2);
        }
    }

    /** Every plain line is an event of the service's (its own timestamp), never the forged one; the JSON log is one object per line. */
    private static void assertNoForgedLine(LogCapture logs) {
        List<String> plain = logs.plain().lines().toList();
        assertThat(plain).isNotEmpty().noneMatch(l -> l.startsWith("23:59:59.999"))
                .allMatch(l -> l.matches("^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*"));
        List<String> json = logs.json().lines().filter(l -> !l.isBlank()).toList();
        assertThat(json).isNotEmpty().allSatisfy(l -> {
            JsonNode event = JSON.readTree(l);
            assertThat(event.isObject()).isTrue();
            assertThat(event.path("message").isTextual()).isTrue();
        });
        assertThat(logs.json()).contains("FORGED");
    }
}
