package io.dataversesync.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.transport.ArtemisTransport;
import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 11, hostile metadata: the corpus src/test/resources/hostile/metadata-and-bodies.jsonl, one case per line
 * ({@code name}, {@code body} (a JSON value, or raw text), {@code correlationId}, JMS {@code properties},
 * {@code replyTo}, {@code targetFailures}, {@code expect} synced | dead-letter with {@code reason} and
 * {@code description}). Each message is sent with a plain JMS client, so any property and header a producer can set
 * arrives. A valid change is synced with the right content whatever its metadata; an invalid body is dead-lettered
 * at once with a clear, escaped reason; no outgoing HTTP header carries a raw hostile value; nothing is replied to.
 * Body placeholders: {@code {{row}}} (a new account's id; {@code {{ROW}}} upper case), {@code {{long}}} (10,000
 * characters), {@code {{huge}}} (over the 1 MiB body limit), {@code {{deep}}} (JSON nested 100,000 deep).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileMetadataTest extends SyncTestSupport {
    private static final String CORPUS = "hostile/metadata-and-bodies.jsonl";
    private static final Pattern SAFE_CORRELATION_ID = Pattern.compile("[A-Za-z0-9._:@/+={}-]{1,128}");

    static Stream<Arguments> corpus() throws Exception {
        List<Arguments> cases = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                HostileMetadataTest.class.getClassLoader().getResourceAsStream(CORPUS), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.isBlank()) {
                    JsonNode c = JSON.readTree(line);
                    cases.add(Arguments.of(c.path("name").asText(), c));
                }
            }
        }
        assertThat(cases).hasSizeGreaterThan(20);
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void aHostileMessageNeverStopsAValidChangeNorReachesAHeader(String name, JsonNode c) throws Exception {
        String id = createAccount("Hostile " + Math.abs(name.hashCode()));
        if (c.path("synchronizedBefore").asBoolean()) {
            notifyChange("account", id);
            awaitSynced(id);
            changeAccount(id, "name", "Hostile changed " + Math.abs(name.hashCode()));
        }
        dataverse().clearRequests();
        target().clearRequests();
        if (c.path("targetFailures").asInt() > 0) {
            target().faults().failNext("PUT", c.path("targetFailures").asInt(), 503);
        }
        String body = body(c, id);
        String correlationId = c.hasNonNull("correlationId") ? fill(c.get("correlationId").asText(), id) : null;
        String replyTo = c.path("replyTo").asText(null);
        sendRaw(body, correlationId, c.path("properties"), id, replyTo);

        if ("synced".equals(c.path("expect").asText())) {
            await().atMost(Duration.ofSeconds(20)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText())
                    && target().record("customers", id).isPresent()
                    && row(id).path("name").asText().equals(target().record("customers", id).get().path("name").asText()));
            ObjectNode record = target().record("customers", id).orElseThrow();
            assertThat(record.path("externalId").asText()).isEqualTo(id);
            assertThat(record.path("accountNumber").asText()).isEqualTo(row(id).path("accountnumber").asText());
            assertThat(receiveDeadLetter(OUTBOUND, Duration.ofMillis(300))).as("no dead letter").isNull();
            // the target was called where the target's contract says, and nowhere else
            assertThat(target().requests()).allSatisfy(r -> assertThat(r.method() + " " + r.path()).isEqualTo("PUT /api/customers/" + id));
        } else {
            Exchange deadLetter = receiveDeadLetter(OUTBOUND, Duration.ofSeconds(10));
            assertThat(deadLetter).as("dead letter").isNotNull();
            assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_REASON)).isEqualTo(c.path("reason").asText());
            String description = deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class);
            assertThat(description).contains(c.path("description").asText()).doesNotContain("\r").doesNotContain("\n");
            assertThat(deadLetter.getMessage().getHeader("JMSCorrelationID", String.class)).matches(SAFE_CORRELATION_ID);
            assertThat(dataverseCalls("GET", id)).isEmpty();
            assertThat(target().requests()).isEmpty();
        }
        assertNoHostileHeader(correlationId, c.path("properties"), id);
        if (replyTo != null) {
            assertThat(receiveRaw(replyTo)).as("a reply to %s", replyTo).isNull();
        }
    }

    /** No request to Dataverse or the target carries a raw hostile value in a header. */
    private void assertNoHostileHeader(String correlationId, JsonNode properties, String id) {
        List<String> hostile = new ArrayList<>();
        if (correlationId != null && !SAFE_CORRELATION_ID.matcher(correlationId).matches()) {
            hostile.add(correlationId.strip());
        }
        properties.fields().forEachRemaining(p -> {
            String v = p.getValue().isTextual() ? fill(p.getValue().asText(), id) : p.getValue().toString();
            if (v.length() >= 6) {
                hostile.add(v);
            }
        });
        List<RecordedRequest> all = new ArrayList<>(dataverse().requests());
        all.addAll(target().requests());
        for (RecordedRequest r : all) {
            String cid = r.header("X-Correlation-ID");
            if (cid != null) {
                assertThat(cid).matches(SAFE_CORRELATION_ID);
            }
            for (Map.Entry<String, String> h : r.headers().entrySet()) {
                assertThat(h.getValue()).as("header %s of %s %s", h.getKey(), r.method(), r.path())
                        .doesNotContain("\r").doesNotContain("\n").matches(v -> v.chars().allMatch(ch -> ch <= 0xFF), "Latin-1 only");
                hostile.stream().filter(v -> !v.isBlank()).forEach(v -> assertThat(h.getValue()).as("header %s", h.getKey()).doesNotContain(v));
            }
        }
    }

    private static String body(JsonNode c, String id) {
        JsonNode body = c.get("body");
        String text = body.isTextual() ? body.asText() : body.toString();
        return fill(text, id);
    }

    private static String fill(String text, String id) {
        String out = text.replace("{{ROW}}", id.toUpperCase(Locale.ROOT)).replace("{{row}}", id);
        if (out.contains("{{long}}")) {
            out = out.replace("{{long}}", "L".repeat(10_000));
        }
        if (out.contains("{{huge}}")) {
            out = out.replace("{{huge}}", "H".repeat(1024 * 1024 + 1));
        }
        if (out.contains("{{deep}}")) {
            out = out.replace("{{deep}}", "[".repeat(100_000) + "]".repeat(100_000));
        }
        return out;
    }

    private ConnectionFactory connectionFactory() {
        return context.getRegistry().lookupByNameAndType("artemisConnectionFactory", ConnectionFactory.class);
    }

    /** A plain JMS producer: any correlation id, any property, a reply-to, as any client could send them. */
    private void sendRaw(String body, String correlationId, JsonNode properties, String id, String replyTo) throws JMSException {
        try (Connection connection = connectionFactory().createConnection();
                Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            MessageProducer producer = session.createProducer(session.createQueue(OUTBOUND));
            Message message = session.createTextMessage(body);
            if (correlationId != null) {
                message.setJMSCorrelationID(correlationId);
            }
            if (replyTo != null) {
                message.setJMSReplyTo(session.createQueue(replyTo));
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> p = it.next();
                JsonNode v = p.getValue();
                if (v.isIntegralNumber() && v.canConvertToLong()) {
                    message.setObjectProperty(p.getKey(), v.longValue() >= Integer.MIN_VALUE && v.longValue() <= Integer.MAX_VALUE
                            ? (Object) v.intValue() : (Object) v.longValue());
                } else if (v.isNumber()) {
                    message.setDoubleProperty(p.getKey(), v.doubleValue());
                } else {
                    message.setStringProperty(p.getKey(), fill(v.asText(), id));
                }
            }
            producer.send(message);
        }
    }

    private Message receiveRaw(String queue) throws JMSException {
        try (Connection connection = connectionFactory().createConnection();
                Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            connection.start();
            MessageConsumer consumer = session.createConsumer(session.createQueue(queue));
            return consumer.receive(500);
        }
    }
}
