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
import io.dataversesync.ProjectFiles;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.transport.ServiceBusTransport.DeadLetterRequested;
import io.dataversesync.transport.ServiceBusTransport.Destination;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.azure.servicebus.ServiceBusType;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Service Bus envelope mapping, offline: what the 4.17 consumer hands us (CamelAzureServiceBus* headers, the
 * application properties map) and what we send (ServiceBusMessage with MessageId, SessionId, CorrelationId,
 * application properties, scheduled time) and where (a queue, or the changes topic: routes/transport/servicebus.camel.yaml
 * as it is), plus what the 4.17 consumer writes when it dead-letters.
 */
class ServiceBusTransportTest {
    static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
    static final String ROW = "5f1c1d2e-0000-4000-8000-000000000001";
    static final String BODY = "{\"entity\":\"account\",\"sourceRowId\":\"" + ROW + "\",\"operation\":\"Update\"}";
    static final String TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    final List<Sent> sent = new ArrayList<>();
    final ServiceBusTransport transport = new ServiceBusTransport(Clock.fixed(NOW, ZoneOffset.UTC), new ServiceBusTransport.Sender() {
        @Override
        public void send(Destination to, ServiceBusMessage message) {
            sent.add(new Sent(to, message, null));
        }

        @Override
        public void schedule(Destination to, ServiceBusMessage message, OffsetDateTime at) {
            sent.add(new Sent(to, message, at));
        }
    });
    CamelContext context;

    record Sent(Destination to, ServiceBusMessage message, OffsetDateTime at) {
        String queue() {
            assertThat(to.type()).as("sent to a queue: %s", to).isEqualTo(ServiceBusType.queue);
            return to.name();
        }

        String topic() {
            assertThat(to.type()).as("sent to a topic: %s", to).isEqualTo(ServiceBusType.topic);
            return to.name();
        }
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
    void aReplayedMessagesRetryCopyStillSaysItWasReplayed() throws Exception {
        Exchange exchange = received("m-9", "corr-9", new HashMap<>(Map.of("RetryCount", 0, "SyncReplayCount", 2,
                "SyncOriginalDeadLetterReason", "TargetHttp400")));
        transport.readEnvelope(exchange);
        exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, 1);
        exchange.setProperty(SyncProperties.RETRY_AT, NOW.plusSeconds(2).toEpochMilli());
        transport.prepareRetryCopy(exchange);
        assertThat(ServiceBusTransport.toServiceBusMessage(exchange.getMessage()).getApplicationProperties())
                .containsEntry("SyncReplayCount", 2).containsEntry("SyncOriginalDeadLetterReason", "TargetHttp400");
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
    void changeIsPublishedOnTheTopicWithTheEntityForTheRulesAndTheRowAsSession() throws Exception {
        Exchange exchange = received("m-1", "corr-1", new HashMap<>(Map.of("SyncRequestedAt", 99L, "Diagnostic-Id", TRACEPARENT)));
        transport.readEnvelope(exchange);
        exchange.setProperty(SyncProperties.ENTITY, "account");
        exchange.getMessage().setBody("{\"change\":true}");
        exchange.getMessage().setHeader("CamelHttpResponseCode", 200); // left over from the read

        transport.prepareChange(exchange);
        sendThroughEndpoint(exchange, "bean:syncTransport?method=sendToTopic(*, 'dataverse-changes')");

        Sent change = sent.get(0);
        assertThat(change.topic()).isEqualTo("dataverse-changes");
        assertThat(change.at()).isNull();
        ServiceBusMessage m = change.message();
        assertThat(m.getMessageId()).isNotBlank().isNotEqualTo("m-1");
        assertThat(m.getCorrelationId()).isEqualTo("corr-1");
        // every subscription is session-enabled: without a SessionId Service Bus would refuse the message
        assertThat(m.getSessionId()).isEqualTo(ROW);
        assertThat(m.getBody().toString()).isEqualTo("{\"change\":true}");
        // syncEntity for the rules' entity filter; no syncSubscriber: every subscribed target takes it
        assertThat(m.getApplicationProperties()).containsEntry(Transport.ENTITY_PROPERTY, "account")
                .doesNotContainKey(Transport.SUBSCRIBER_PROPERTY)
                .containsOnlyKeys(Transport.ENTITY_PROPERTY, "SyncRequestedAt", "Diagnostic-Id", "traceparent");

        // the outbound message delivered again (settlement lost after the publish) publishes the same MessageId:
        // duplicate detection on the topic drops the second copy
        Exchange again = received("m-1", "corr-1", new HashMap<>());
        transport.readEnvelope(again);
        again.setProperty(SyncProperties.ENTITY, "account");
        again.getMessage().setBody("{}");
        transport.prepareChange(again);
        assertThat(ServiceBusTransport.toServiceBusMessage(again.getMessage()).getMessageId()).isEqualTo(m.getMessageId());
    }

    @Test
    void targetRetryCopyGoesBackThroughTheTopicForThatTargetOnly() throws Exception {
        long retryAt = NOW.plusSeconds(8).toEpochMilli();
        Exchange exchange = targetCopy("customers", retryAt);
        sendThroughEndpoint(exchange, "bean:syncTransport?method=sendToTopic(*, 'dataverse-changes')");

        Sent copy = sent.get(0);
        assertThat(copy.topic()).isEqualTo("dataverse-changes");
        assertThat(copy.at()).isEqualTo(OffsetDateTime.ofInstant(Instant.ofEpochMilli(retryAt), ZoneOffset.UTC));
        ServiceBusMessage m = copy.message();
        assertThat(m.getSessionId()).isEqualTo(ROW);
        assertThat(m.getCorrelationId()).isEqualTo("corr-1");
        assertThat(m.getBody().toString()).isEqualTo(BODY);
        // the subscription rule: syncEntity IN (...) AND (syncSubscriber IS NULL OR syncSubscriber = '<target>')
        assertThat(m.getApplicationProperties()).containsEntry(Transport.SUBSCRIBER_PROPERTY, "customers")
                .containsEntry(Transport.ENTITY_PROPERTY, "account").containsEntry("RetryCount", 1);

        // two targets fail on the same change (same received MessageId): their copies and acks must not share an id,
        // or duplicate detection would drop the second target's as a duplicate of the first's
        ServiceBusMessage erp = ServiceBusTransport.toServiceBusMessage(targetCopy("erp", retryAt).getMessage());
        assertThat(erp.getApplicationProperties()).containsEntry(Transport.SUBSCRIBER_PROPERTY, "erp");
        assertThat(erp.getMessageId()).isNotEqualTo(m.getMessageId());
        // ... while the same target handling the same message again (redelivery) derives the same id
        assertThat(ServiceBusTransport.toServiceBusMessage(targetCopy("customers", retryAt).getMessage()).getMessageId())
                .isEqualTo(m.getMessageId());
        assertThat(ack("customers").getMessageId()).isNotEqualTo(ack("erp").getMessageId())
                .isEqualTo(ack("customers").getMessageId());
        assertThat(ack("customers").getApplicationProperties()).doesNotContainKey(Transport.SUBSCRIBER_PROPERTY);
    }

    /** A target's copy of a change (received from its subscription), made into a retry copy for that target. */
    private Exchange targetCopy(String target, long retryAt) {
        Exchange exchange = received("change-1", "corr-1", new HashMap<>(Map.of(Transport.ENTITY_PROPERTY, "account")));
        exchange.setProperty(SyncProperties.TARGET, target);
        exchange.setProperty(SyncProperties.SUBSCRIPTION, target);
        exchange.setProperty(SyncProperties.ENTITY, "account");
        transport.readEnvelope(exchange);
        exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, 1);
        exchange.setProperty(SyncProperties.RETRY_AT, retryAt);
        transport.prepareRetryCopy(exchange);
        return exchange;
    }

    private ServiceBusMessage ack(String target) {
        Exchange exchange = received("change-1", "corr-1", new HashMap<>(Map.of(Transport.ENTITY_PROPERTY, "account")));
        exchange.setProperty(SyncProperties.TARGET, target);
        exchange.setProperty(SyncProperties.SUBSCRIPTION, target);
        transport.readEnvelope(exchange);
        exchange.getMessage().setBody("{\"ack\":true}");
        transport.prepareFollowUp(exchange);
        return ServiceBusTransport.toServiceBusMessage(exchange.getMessage());
    }

    @Test
    void theServiceBusRouteFileSendsChangesAndTargetRetriesToTheTopicAndTheRestToQueues() throws Exception {
        loadServiceBusRouteFile();
        var template = context.createProducerTemplate();

        Exchange change = received("m-1", "corr-1", new HashMap<>());
        change.setProperty(SyncProperties.ENTITY, "account");
        assertThat(template.send("direct:transport-publish-change", change).getException()).isNull();

        Exchange targetRetry = received("change-1", "corr-1", new HashMap<>());
        targetRetry.setProperty(SyncProperties.TARGET, "customers");
        targetRetry.setProperty(SyncProperties.SUBSCRIPTION, "customers");
        targetRetry.setProperty(SyncProperties.QUEUE, "dataverse-changes.customers");
        targetRetry.setProperty(SyncProperties.ENTITY, "account");
        transport.readEnvelope(targetRetry);
        targetRetry.setProperty(SyncProperties.NEXT_RETRY_COUNT, 1);
        targetRetry.setProperty(SyncProperties.RETRY_AT, NOW.plusSeconds(2).toEpochMilli());
        assertThat(template.send("direct:transport-send-retry", targetRetry).getException()).isNull();

        Exchange outboundRetry = received("m-2", "corr-2", new HashMap<>());
        outboundRetry.setProperty(SyncProperties.QUEUE, "dataverse-outbound");
        transport.readEnvelope(outboundRetry);
        outboundRetry.setProperty(SyncProperties.NEXT_RETRY_COUNT, 1);
        outboundRetry.setProperty(SyncProperties.RETRY_AT, NOW.plusSeconds(2).toEpochMilli());
        assertThat(template.send("direct:transport-send-retry", outboundRetry).getException()).isNull();

        Exchange ack = received("change-1", "corr-1", new HashMap<>());
        ack.setProperty(SyncProperties.TARGET, "customers");
        ack.setProperty(SyncProperties.SUBSCRIPTION, "customers");
        transport.readEnvelope(ack);
        assertThat(template.send("direct:transport-send-ack", ack).getException()).isNull();

        assertThat(sent).extracting(Sent::to).containsExactly(Destination.topic("dataverse-changes"),
                Destination.topic("dataverse-changes"), Destination.queue("dataverse-outbound"), Destination.queue("dataverse-ack"));
        assertThat(sent.get(0).message().getApplicationProperties()).doesNotContainKey(Transport.SUBSCRIBER_PROPERTY);
        assertThat(sent.get(1).message().getApplicationProperties()).containsEntry(Transport.SUBSCRIBER_PROPERTY, "customers");
        assertThat(sent.get(2).message().getApplicationProperties()).doesNotContainKey(Transport.SUBSCRIBER_PROPERTY);
        assertThat(sent).allSatisfy(s -> assertThat(s.message().getSessionId()).isEqualTo(ROW));
    }

    @Test
    void anIntakeMessageIsRelayedToTheOutboundQueueWithTheRowAsSessionAndTheSameIdWhenRelayedTwice() throws Exception {
        loadServiceBusRouteFile();
        var template = context.createProducerTemplate();
        for (int i = 0; i < 2; i++) {
            // what the built-in endpoint posted to the (session-less) intake queue, delivered twice (lost completion)
            Exchange intake = received("intake-1", null, new HashMap<>());
            intake.getMessage().removeHeader("CamelAzureServiceBusSessionId");
            intake.setProperty(SyncProperties.QUEUE, "dataverse-intake");
            transport.readEnvelope(intake);
            intake.setProperty(SyncProperties.CORRELATION_ID, "corr-from-body");
            assertThat(template.send("direct:transport-send-notification", intake).getException()).isNull();
        }
        assertThat(sent).extracting(Sent::to).containsExactly(Destination.queue("dataverse-outbound"), Destination.queue("dataverse-outbound"));
        assertThat(sent).allSatisfy(s -> {
            assertThat(s.message().getSessionId()).isEqualTo(ROW);
            assertThat(s.message().getCorrelationId()).isEqualTo("corr-from-body");
            assertThat(s.message().getBody().toString()).isEqualTo(BODY);
        });
        assertThat(sent.get(1).message().getMessageId()).as("duplicate detection drops the second relay")
                .isEqualTo(sent.get(0).message().getMessageId()).isNotEqualTo("intake-1");
    }

    @Test
    void aRetryingStatusNeverSharesTheMessageIdOfTheSameMessagesAcknowledgement() {
        Exchange retrying = received("change-1", "corr-1", new HashMap<>());
        retrying.setProperty(SyncProperties.SUBSCRIPTION, "customers");
        transport.readEnvelope(retrying);
        retrying.setProperty(SyncProperties.FOLLOW_UP_KIND, "retrying-1");
        transport.prepareFollowUp(retrying);
        Exchange ack = received("change-1", "corr-1", new HashMap<>());
        ack.setProperty(SyncProperties.SUBSCRIPTION, "customers");
        transport.readEnvelope(ack);
        transport.prepareFollowUp(ack);
        assertThat(ServiceBusTransport.toServiceBusMessage(retrying.getMessage()).getMessageId())
                .isNotEqualTo(ServiceBusTransport.toServiceBusMessage(ack.getMessage()).getMessageId());
    }

    /** routes/transport/servicebus.camel.yaml as deployed, with a stand-in for the sync-hop routeConfiguration. */
    private void loadServiceBusRouteFile() throws Exception {
        context.getPropertiesComponent().addInitialProperty("sync.topic.changes", "dataverse-changes");
        context.getPropertiesComponent().addInitialProperty("sync.queue.outbound", "dataverse-outbound");
        context.getPropertiesComponent().addInitialProperty("sync.queue.ack", "dataverse-ack");
        var loader = PluginHelper.getRoutesLoader(context);
        loader.loadRoutes(ResourceHelper.fromString("sync-hop-stand-in.camel.yaml", "- routeConfiguration:\n    id: sync-hop\n"));
        loader.loadRoutes(ResourceHelper.resolveMandatoryResource(context,
                "file:" + ProjectFiles.path("routes/transport/servicebus.camel.yaml")));
    }

    // ---- sagas: messages for one subscription only (the next step, a compensation) ---------------------------

    static final String FORWARD_BODY = "{\"entity\":\"account\",\"sourceRowId\":\"" + ROW
            + "\",\"saga\":{\"name\":\"onboarding\",\"results\":{\"mdm\":\"P-1\"}}}";

    /**
     * What a saga step (or a compensation) hands to transport-send-directed: the message it received from its own
     * subscription, the body for the next one, and syncNextSubscription (SyncMessages.sagaForwardBody /
     * compensationBody set it).
     */
    private Exchange directed(String receivedMessageId, String target, String subscription, String next) {
        Exchange exchange = received(receivedMessageId, "corr-1", new HashMap<>(Map.of(Transport.ENTITY_PROPERTY, "account",
                Transport.SUBSCRIBER_PROPERTY, subscription)));
        exchange.setProperty(SyncProperties.TARGET, target);
        exchange.setProperty(SyncProperties.SUBSCRIPTION, subscription);
        exchange.setProperty(SyncProperties.QUEUE, "dataverse-changes." + subscription);
        exchange.setProperty(SyncProperties.ENTITY, "account");
        transport.readEnvelope(exchange);
        exchange.getMessage().setHeader("CamelHttpResponseCode", 200); // left over from the step's call
        exchange.getMessage().setBody(FORWARD_BODY);
        exchange.setProperty(SyncProperties.NEXT_SUBSCRIPTION, next);
        return exchange;
    }

    private ServiceBusMessage prepareDirected(String receivedMessageId, String target, String subscription, String next) {
        Exchange exchange = directed(receivedMessageId, target, subscription, next);
        transport.prepareDirected(exchange);
        return ServiceBusTransport.toServiceBusMessage(exchange.getMessage());
    }

    @Test
    void sagaForwardGoesThroughTheTopicRouteToTheNextStepsSubscriptionOnly() throws Exception {
        loadServiceBusRouteFile();
        Exchange exchange = directed("change-1", "mdm", "mdm", "crm");
        assertThat(context.createProducerTemplate().send("direct:transport-send-directed", exchange).getException()).isNull();

        assertThat(sent).hasSize(1);
        Sent forward = sent.get(0);
        // a topic sender for the changes topic: Service Bus cannot send to a subscription, only its rule selects it
        assertThat(forward.topic()).isEqualTo("dataverse-changes");
        assertThat(forward.to()).isEqualTo(Destination.topic("dataverse-changes"));
        assertThat(forward.at()).as("sent now, not scheduled").isNull();
        ServiceBusMessage m = forward.message();
        assertThat(m.getBody().toString()).isEqualTo(FORWARD_BODY);
        // the subscriptions are session-enabled: the row is the session, in the next step's subscription too
        assertThat(m.getSessionId()).isEqualTo(ROW);
        assertThat(m.getCorrelationId()).isEqualTo("corr-1");
        assertThat(m.getMessageId()).isNotBlank().isNotEqualTo("change-1");
        // the later step's rule is syncSubscriber = 'crm': the received syncSubscriber (mdm) must not survive
        assertThat(m.getApplicationProperties()).containsEntry(Transport.SUBSCRIBER_PROPERTY, "crm")
                .containsEntry(Transport.ENTITY_PROPERTY, "account")
                .containsOnlyKeys(Transport.SUBSCRIBER_PROPERTY, Transport.ENTITY_PROPERTY, "SyncRequestedAt")
                .doesNotContainKey("RetryCount");
    }

    @Test
    void compensationGoesThroughTheTopicRouteToTheCompensationSubscriptionOnly() throws Exception {
        loadServiceBusRouteFile();
        // crm failed for good: the compensation of the step before it (mdm) goes to mdm-compensation
        Exchange exchange = directed("crm-copy-1", "crm", "crm", "mdm-compensation");
        assertThat(context.createProducerTemplate().send("direct:transport-send-directed", exchange).getException()).isNull();

        Sent compensation = sent.get(0);
        assertThat(compensation.to()).isEqualTo(Destination.topic("dataverse-changes"));
        assertThat(compensation.at()).isNull();
        assertThat(compensation.message().getSessionId()).isEqualTo(ROW);
        assertThat(compensation.message().getApplicationProperties())
                .containsEntry(Transport.SUBSCRIBER_PROPERTY, "mdm-compensation")
                .containsEntry(Transport.ENTITY_PROPERTY, "account");
    }

    @Test
    void directedMessageIdsAreDerivedPerSubscription() {
        String forward = prepareDirected("change-1", "mdm", "mdm", "crm").getMessageId();
        // the same received message handled again (redelivery after a lost settlement): the same id, so duplicate
        // detection on the topic drops the second forward
        assertThat(prepareDirected("change-1", "mdm", "mdm", "crm").getMessageId()).isEqualTo(forward);
        // every subscription received the same change message (same MessageId): what another subscription sends
        // from it must not be taken for this one's
        assertThat(prepareDirected("change-1", "customers", "customers", "crm").getMessageId()).isNotEqualTo(forward);
        // nor what this subscription sends to another one (a forward and a compensation from one message)
        assertThat(prepareDirected("change-1", "mdm", "mdm", "mdm-compensation").getMessageId()).isNotEqualTo(forward);
        assertThat(prepareDirected("change-1", "crm", "crm", "mdm-compensation").getMessageId())
                .isNotEqualTo(prepareDirected("change-1", "crm-compensation", "crm-compensation", "mdm-compensation").getMessageId());
        // and a forward is neither the step's acknowledgement nor its retry copy
        assertThat(forward).isNotEqualTo(ack("mdm").getMessageId());
        assertThat(forward).isNotEqualTo(ServiceBusTransport.toServiceBusMessage(
                targetCopy("mdm", NOW.plusSeconds(8).toEpochMilli()).getMessage()).getMessageId());
    }

    @Test
    void compensationRetryCopyStaysOnTheCompensationSubscription() throws Exception {
        loadServiceBusRouteFile();
        long retryAt = NOW.plusSeconds(4).toEpochMilli();
        // the compensate-mdm route: syncTarget mdm, syncSubscription mdm-compensation (target-template.camel.yaml)
        Exchange exchange = received("comp-1", "corr-1", new HashMap<>(Map.of(Transport.ENTITY_PROPERTY, "account",
                Transport.SUBSCRIBER_PROPERTY, "mdm-compensation")));
        exchange.setProperty(SyncProperties.TARGET, "mdm");
        exchange.setProperty(SyncProperties.SUBSCRIPTION, "mdm-compensation");
        exchange.setProperty(SyncProperties.QUEUE, "dataverse-changes.mdm-compensation");
        exchange.setProperty(SyncProperties.ENTITY, "account");
        transport.readEnvelope(exchange);
        exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, 1);
        exchange.setProperty(SyncProperties.RETRY_AT, retryAt);
        assertThat(context.createProducerTemplate().send("direct:transport-send-retry", exchange).getException()).isNull();

        Sent copy = sent.get(0);
        assertThat(copy.to()).isEqualTo(Destination.topic("dataverse-changes"));
        assertThat(copy.at()).isEqualTo(OffsetDateTime.ofInstant(Instant.ofEpochMilli(retryAt), ZoneOffset.UTC));
        ServiceBusMessage m = copy.message();
        assertThat(m.getSessionId()).isEqualTo(ROW);
        assertThat(m.getBody().toString()).isEqualTo(BODY);
        // mdm-compensation's rule (syncSubscriber = 'mdm-compensation') takes it, mdm's own subscription does not
        assertThat(m.getApplicationProperties()).containsEntry(Transport.SUBSCRIBER_PROPERTY, "mdm-compensation")
                .containsEntry(Transport.ENTITY_PROPERTY, "account").containsEntry("RetryCount", 1);

        // a retry copy of the step itself from a message with the same id is a different message
        Exchange step = received("comp-1", "corr-1", new HashMap<>());
        step.setProperty(SyncProperties.TARGET, "mdm");
        step.setProperty(SyncProperties.SUBSCRIPTION, "mdm");
        step.setProperty(SyncProperties.ENTITY, "account");
        transport.readEnvelope(step);
        step.setProperty(SyncProperties.NEXT_RETRY_COUNT, 1);
        step.setProperty(SyncProperties.RETRY_AT, retryAt);
        transport.prepareRetryCopy(step);
        assertThat(ServiceBusTransport.toServiceBusMessage(step.getMessage()).getMessageId()).isNotEqualTo(m.getMessageId());
    }

    @Test
    void destinationsNeedANameAndAType() {
        assertThatThrownBy(() -> Destination.topic(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Destination("q", null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Destination.queue("q")).isNotEqualTo(Destination.topic("q"));
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
