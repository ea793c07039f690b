package io.dataversesync.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import com.azure.messaging.servicebus.ServiceBusMessage;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hostile metadata corpus (src/test/resources/hostile/metadata-and-bodies.jsonl, see HostileMetadataTest) read
 * as a Service Bus message would carry it (correlation id, application properties, plus a hostile Diagnostic-Id and
 * traceparent): what the service sends on (a follow-up, a retry copy) carries a valid correlation id, only its own
 * application properties, a RetryCount within the schedule's reach, and none of the received values.
 */
class ServiceBusHostileMetadataTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
    private static final String ROW = "5f1c1d2e-0000-4000-8000-000000000001";
    private static final Set<String> OURS = Set.of(ServiceBusTransport.RETRY_COUNT, ServiceBusTransport.REQUESTED_AT,
            ServiceBusTransport.DIAGNOSTIC_ID, ServiceBusTransport.TRACEPARENT);
    private final ServiceBusTransport transport = new ServiceBusTransport(Clock.fixed(NOW, ZoneOffset.UTC));

    static Stream<Arguments> corpus() throws Exception {
        List<Arguments> cases = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(ServiceBusHostileMetadataTest.class.getClassLoader()
                .getResourceAsStream("hostile/metadata-and-bodies.jsonl"), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                JsonNode c = line.isBlank() ? null : JSON.readTree(line);
                if (c != null && (c.has("properties") || c.has("correlationId"))) {
                    cases.add(Arguments.of(c.path("name").asText(), c));
                }
            }
        }
        assertThat(cases).hasSizeGreaterThan(10);
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void nothingReceivedReachesWhatIsSentOn(String name, JsonNode c) {
        Map<String, Object> props = new HashMap<>();
        c.path("properties").fields().forEachRemaining(p -> props.put(p.getKey(),
                p.getValue().isIntegralNumber() && p.getValue().canConvertToLong() ? (Object) p.getValue().longValue()
                        : p.getValue().isNumber() ? (Object) p.getValue().doubleValue() : p.getValue().asText().replace("{{long}}", "L".repeat(10_000))));
        props.put(ServiceBusTransport.DIAGNOSTIC_ID, "00-\r\nX-Injected: yes");
        props.put(ServiceBusTransport.TRACEPARENT, "ünïcode-trace");
        String correlationId = c.hasNonNull("correlationId") ? c.get("correlationId").asText().replace("{{long}}", "L".repeat(10_000)) : null;

        for (boolean retry : new boolean[] {false, true}) {
            Exchange exchange = new DefaultExchange(new DefaultCamelContext());
            exchange.getMessage().setBody("{}");
            exchange.getMessage().setHeader(ServiceBusTransport.MESSAGE_ID, "m\r\n" + "x".repeat(5000));
            exchange.getMessage().setHeader(ServiceBusTransport.CORRELATION_ID, correlationId);
            exchange.getMessage().setHeader(ServiceBusTransport.ENQUEUED_TIME, OffsetDateTime.ofInstant(NOW.minusSeconds(5), ZoneOffset.UTC));
            exchange.getMessage().setHeader(ServiceBusTransport.APPLICATION_PROPERTIES, new HashMap<>(props));
            props.forEach(exchange.getMessage()::setHeader);
            exchange.setProperty(SyncProperties.SOURCE_ROW_ID, ROW);
            transport.readEnvelope(exchange);
            int retryCount = exchange.getProperty(SyncProperties.RETRY_COUNT, Integer.class);
            assertThat(retryCount).isBetween(0, 1000);
            if (retry) {
                exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, retryCount + 1);
                exchange.setProperty(SyncProperties.RETRY_AT, NOW.toEpochMilli() + 1000);
                transport.prepareRetryCopy(exchange);
            } else {
                transport.prepareFollowUp(exchange);
            }
            ServiceBusMessage sent = ServiceBusTransport.toServiceBusMessage(exchange.getMessage());
            assertThat(sent.getCorrelationId()).matches("[A-Za-z0-9._:@/+={}-]{1,128}");
            assertThat(sent.getMessageId()).matches("[0-9a-f-]{36}");
            assertThat(sent.getSessionId()).isEqualTo(ROW);
            assertThat(sent.getApplicationProperties().keySet()).isSubsetOf(OURS).doesNotContain(ServiceBusTransport.DIAGNOSTIC_ID,
                    ServiceBusTransport.TRACEPARENT);
            long requestedAt = (Long) sent.getApplicationProperties().get(ServiceBusTransport.REQUESTED_AT);
            assertThat(requestedAt).isPositive().isLessThanOrEqualTo(NOW.toEpochMilli());
        }
    }
}
