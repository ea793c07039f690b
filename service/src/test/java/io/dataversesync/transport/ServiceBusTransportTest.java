package io.dataversesync.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import com.azure.messaging.servicebus.ServiceBusMessage;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.transport.ServiceBusTransport.DeadLetterRequested;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Service Bus envelope mapping, offline: what the 4.17 consumer hands us (CamelAzureServiceBus* headers, the
 * application properties map) and what we send (ServiceBusMessage with MessageId, SessionId, CorrelationId,
 * application properties, scheduled time), plus what the 4.17 consumer writes when it dead-letters.
 */
class ServiceBusTransportTest {
    static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
    static final String ROW = "5f1c1d2e-0000-4000-8000-000000000001";
    static final String BODY = "{\"entity\":\"account\",\"sourceRowId\":\"" + ROW + "\",\"operation\":\"Update\"}";
    static final String TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    final List<Sent> sent = new ArrayList<>();
    final ServiceBusTransport transport = new ServiceBusTransport(Clock.fixed(NOW, ZoneOffset.UTC), new ServiceBusTransport.Sender() {
        @Override
        public void send(String queue, ServiceBusMessage message) {
            sent.add(new Sent(queue, message, null));
        }

        @Override
        public void schedule(String queue, ServiceBusMessage message, OffsetDateTime at) {
            sent.add(new Sent(queue, message, at));
        }
    });
    CamelContext context;

    record Sent(String queue, ServiceBusMessage message, OffsetDateTime at) {
    }

    @BeforeEach
    void start() {
        context = new DefaultCamelContext();
        context.getRegistry().bind("syncTransport", transport);
        context.start();
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    /** What camel-azure-servicebus 4.17's consumer puts on the exchange for a received message. */
    Exchange received(String messageId, String correlationId, Map<String, Object> applicationProperties) {
        Exchange exchange = new DefaultExchange(context);
        exchange.getMessage().setBody(com.azure.core.util.BinaryData.fromString(BODY));
        exchange.getMessage().setHeader("CamelAzureServiceBusMessageId", messageId);
        exchange.getMessage().setHeader("CamelAzureServiceBusCorrelationId", correlationId);
        exchange.getMessage().setHeader("CamelAzureServiceBusSessionId", ROW);
        exchange.getMessage().setHeader("CamelAzureServiceBusEnqueuedTime", OffsetDateTime.ofInstant(NOW.minusSeconds(5), ZoneOffset.UTC));
        exchange.getMessage().setHeader("CamelAzureServiceBusApplicationProperties", applicationProperties);
        applicationProperties.forEach(exchange.getMessage()::setHeader); // 4.17 also copies them as plain headers
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, ROW);
        return exchange;
    }

    @Test
    void readEnvelopeReadsApplicationPropertiesAndCorrelationId() {
        Exchange exchange = received("m-1", "corr-1", new HashMap<>(Map.of("RetryCount", 2, "SyncRequestedAt", 1234L,
                "Diagnostic-Id", TRACEPARENT)));
        transport.readEnvelope(exchange);
        assertThat(exchange.getProperty(SyncProperties.CORRELATION_ID)).isEqualTo("corr-1");
        assertThat(exchange.getProperty(SyncProperties.RETRY_COUNT)).isEqualTo(2);
        assertThat(exchange.getProperty(SyncProperties.REQUESTED_AT)).isEqualTo(1234L);
        assertThat(exchange.getProperty(ServiceBusTransport.RECEIVED_DIAGNOSTIC_ID)).isEqualTo(TRACEPARENT);
        assertThat(exchange.getProperty(SyncProperties.ORIGINAL_BODY)).isEqualTo(BODY); // BinaryData -> String converter
    }

    @Test
    void retryCountAbsentOrMalformedIsZeroAndRequestedAtFallsBackToEnqueuedTime() {
        Exchange absent = received("m-1", "corr-1", new HashMap<>());
        transport.readEnvelope(absent);
        assertThat(absent.getProperty(SyncProperties.RETRY_COUNT)).isEqualTo(0);
        assertThat(absent.getProperty(SyncProperties.REQUESTED_AT)).isEqualTo(NOW.minusSeconds(5).toEpochMilli());

        Exchange malformed = received("m-2", "corr-2", new HashMap<>(Map.of("RetryCount", "two")));
        transport.readEnvelope(malformed);
        assertThat(malformed.getProperty(SyncProperties.RETRY_COUNT)).isEqualTo(0);

        Exchange noProps = received("m-3", null, new HashMap<>());
        noProps.getMessage().removeHeader("CamelAzureServiceBusApplicationProperties");
        transport.readEnvelope(noProps);
        assertThat(noProps.getProperty(SyncProperties.RETRY_COUNT)).isEqualTo(0);
        assertThat(noProps.getProperty(SyncProperties.CORRELATION_ID)).isNull();
    }

    @Test
    void retryCopyIsScheduledWithNewMessageIdSameCorrelationSessionAndRetryCountPlusOne() throws Exception {
        Exchange exchange = received("m-1", "corr-1", new HashMap<>(Map.of("RetryCount", 1, "SyncRequestedAt", 1234L,
                "Diagnostic-Id", TRACEPARENT)));
        transport.readEnvelope(exchange);
        exchange.getMessage().setBody("something a later hop left in the body");
        long retryAt = NOW.plusSeconds(8).toEpochMilli();
        exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, 2);
        exchange.setProperty(SyncProperties.RETRY_AT, retryAt);

        transport.prepareRetryCopy(exchange);
        sendThroughEndpoint(exchange, "bean:syncTransport?method=send(*, 'dataverse-outbound')");

        assertThat(sent).hasSize(1);
        Sent copy = sent.get(0);
        assertThat(copy.queue()).isEqualTo("dataverse-outbound");
        assertThat(copy.at()).isEqualTo(OffsetDateTime.ofInstant(Instant.ofEpochMilli(retryAt), ZoneOffset.UTC));
        ServiceBusMessage m = copy.message();
        assertThat(m.getMessageId()).isNotBlank().isNotEqualTo("m-1");
        assertThat(m.getCorrelationId()).isEqualTo("corr-1");
        assertThat(m.getSessionId()).isEqualTo(ROW);
        assertThat(m.getBody().toString()).isEqualTo(BODY);
        assertThat(m.getApplicationProperties()).containsEntry("RetryCount", 2).containsEntry("SyncRequestedAt", 1234L)
                .containsEntry("Diagnostic-Id", TRACEPARENT).containsEntry("traceparent", TRACEPARENT);
        // nothing else leaks into the application properties (the received plain headers were cleared)
        assertThat(m.getApplicationProperties().keySet()).containsExactlyInAnyOrder("RetryCount", "SyncRequestedAt",
                "Diagnostic-Id", "traceparent");

        // the same received message handled again (redelivery) gives the same copy id: duplicate detection drops it
        Exchange again = received("m-1", "corr-1", new HashMap<>(Map.of("RetryCount", 1)));
        transport.readEnvelope(again);
        again.setProperty(SyncProperties.NEXT_RETRY_COUNT, 2);
        again.setProperty(SyncProperties.RETRY_AT, retryAt);
        transport.prepareRetryCopy(again);
        assertThat(ServiceBusTransport.toServiceBusMessage(again.getMessage()).getMessageId()).isEqualTo(m.getMessageId());
    }

    @Test
    void followUpKeepsCorrelationAndSessionWithANewMessageId() throws Exception {
        Exchange exchange = received("m-1", "corr-1", new HashMap<>(Map.of("SyncRequestedAt", 99L)));
        transport.readEnvelope(exchange);
        exchange.getMessage().setBody("{\"ack\":true}");
        exchange.getMessage().setHeader("CamelHttpResponseCode", 200); // left over from the target call

        transport.prepareFollowUp(exchange);
        sendThroughEndpoint(exchange, "bean:syncTransport?method=send(*, 'dataverse-ack')");

        Sent ack = sent.get(0);
        assertThat(ack.queue()).isEqualTo("dataverse-ack");
        assertThat(ack.at()).isNull();
        assertThat(ack.message().getMessageId()).isNotBlank().isNotEqualTo("m-1");
        assertThat(ack.message().getCorrelationId()).isEqualTo("corr-1");
        assertThat(ack.message().getSessionId()).isEqualTo(ROW);
        assertThat(ack.message().getBody().toString()).isEqualTo("{\"ack\":true}");
        assertThat(ack.message().getApplicationProperties()).containsOnlyKeys("SyncRequestedAt");
    }

    @Test
    void missingCorrelationIdGetsOneThatTheCopiesCarry() {
        Exchange exchange = received(null, null, new HashMap<>());
        transport.readEnvelope(exchange);
        exchange.getMessage().setBody("{}");
        transport.prepareFollowUp(exchange);
        ServiceBusMessage m = ServiceBusTransport.toServiceBusMessage(exchange.getMessage());
        assertThat(m.getCorrelationId()).isNotBlank().isEqualTo(exchange.getProperty(SyncProperties.CORRELATION_ID));
        assertThat(m.getMessageId()).isNotBlank();
    }

    @Test
    void currentTraceContextHeaderBecomesTraceparentAndDiagnosticId() {
        Exchange exchange = received("m-1", "corr-1", new HashMap<>(Map.of("Diagnostic-Id", TRACEPARENT)));
        transport.readEnvelope(exchange);
        exchange.getMessage().setBody("{}");
        transport.prepareFollowUp(exchange);
        String current = "00-11111111111111111111111111111111-2222222222222222-01";
        exchange.getMessage().setHeader("traceparent", current); // what camel-opentelemetry2 injects before the send
        ServiceBusMessage m = ServiceBusTransport.toServiceBusMessage(exchange.getMessage());
        assertThat(m.getApplicationProperties()).containsEntry("traceparent", current).containsEntry("Diagnostic-Id", current);
    }

    @Test
    void deadLetterReasonAndDescriptionAsThe417ConsumerWritesThem() {
        Exchange exchange = new DefaultExchange(context);
        exchange.setProperty(SyncProperties.FAILURE_REASON, "permanent: HTTP 400 from the target");
        exchange.setProperty(SyncProperties.FAILURE_DESCRIPTION, "hop call-target, RetryCount 0: {\"error\":\"bad name\"}");

        assertThatThrownBy(() -> transport.deadLetterNatively(exchange)).isInstanceOfSatisfying(DeadLetterRequested.class, e -> {
            // ServiceBusConsumer$ConsumerOnCompletion.onFailure (4.17):
            //   setDeadLetterReason(String.format("%s: %s", e.getClass().getName(), e.getMessage()))
            //   setDeadLetterErrorDescription(Arrays.stream(e.getStackTrace()).map(StackTraceElement::toString).collect(joining("\n")))
            String reason = String.format("%s: %s", e.getClass().getName(), e.getMessage());
            String description = Arrays.stream(e.getStackTrace()).map(StackTraceElement::toString).collect(Collectors.joining("\n"));
            assertThat(reason).startsWith(DeadLetterRequested.class.getName() + ": ")
                    .endsWith("permanent: HTTP 400 from the target");
            assertThat(description).isEqualTo("dead-letter.description(hop call-target, RetryCount 0: {\"error\":\"bad name\"})");
        });
    }

    @Test
    void deadLetterTextIsBounded() {
        DeadLetterRequested e = new DeadLetterRequested("r".repeat(10_000), "d".repeat(10_000));
        assertThat(e.getMessage()).hasSize(4000);
        assertThat(e.description()).hasSize(4000);
    }

    /** Through the bean endpoint exactly as the azure profile configures it (bean parameter binding included). */
    private void sendThroughEndpoint(Exchange exchange, String uri) throws Exception {
        // a lambda, not a RouteBuilder subclass: Camel Main's package scan of io.dataversesync would pick that up
        String from = "direct:send-" + sent.size() + "-" + uri.hashCode();
        org.apache.camel.builder.RouteBuilder.addRoutes(context, rb -> rb.from(from).to(uri));
        Exchange result = context.createProducerTemplate().send("direct:send-" + sent.size() + "-" + uri.hashCode(), exchange);
        assertThat(result.getException()).isNull();
    }
}
