package io.dataversesync.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.azure.messaging.servicebus.ServiceBusMessage;
import io.dataversesync.target.Sagas;
import org.junit.jupiter.api.Test;

/** What a replay sends and when (pure): the same mapping for Artemis and Service Bus. */
class ReplayPlanTest {
    static final OpsQueues QUEUES = new OpsQueues(List.of("dataverse-outbound", "dataverse-ack"), "dataverse-changes",
            List.of(new Sagas.Subscription("customers", false), new Sagas.Subscription("erp", false)), true);

    static DeadLetter letter(String queue, Map<String, Object> props) {
        return new DeadLetter("5e740e6d-3077-4794-b27d-94798a7a1735", null, queue, queue, "TargetHttp400", "d", "call-target", 3, 1, "corr-1",
                "account", "row-1", Instant.EPOCH, "HttpOperationFailedException", props, "{\"entity\":\"account\"}");
    }

    static Map<String, Object> deadLetterProperties() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("RetryCount", 3);
        p.put("SyncReplayCount", 1);
        p.put("SyncRequestedAt", 1700000000000L);
        p.put("syncEntity", "account");
        p.put("customerTier", "gold"); // someone's custom property: kept
        p.put("DeadLetterReason", "TargetHttp400");
        p.put("DeadLetterErrorDescription", "d");
        p.put("DeadLetterSource", "dataverse-changes.customers");
        p.put("JMSXGroupID", "row-1");
        p.put("JMSXDeliveryCount", 1);
        p.put("_AMQ_ORIG_QUEUE", "dataverse-changes.erp");
        p.put("__AMQ_CID", "x");
        return p;
    }

    @Test
    void aSubscriptionsDeadLetterGoesBackThroughTheTopicForThatSubscriberOnly() {
        ReplayPlan plan = ReplayPlan.of(letter("dataverse-changes.customers", deadLetterProperties()),
                QUEUES.find("dataverse-changes.customers").orElseThrow(), QUEUES);
        assertThat(plan.queue()).isNull();
        assertThat(plan.topic()).isEqualTo("dataverse-changes");
        assertThat(plan.subscriber()).isEqualTo("customers");
        assertThat(plan.properties())
                .containsEntry("syncSubscriber", "customers")
                .containsEntry("syncEntity", "account")
                .containsEntry("RetryCount", 0)
                .containsEntry("SyncReplayCount", 2)
                .containsEntry("SyncOriginalDeadLetterReason", "TargetHttp400")
                .containsEntry("SyncRequestedAt", 1700000000000L)
                .containsEntry("customerTier", "gold")
                .doesNotContainKeys("DeadLetterReason", "DeadLetterErrorDescription", "DeadLetterSource", "JMSXDeliveryCount", "JMSXGroupID",
                        "_AMQ_ORIG_QUEUE", "__AMQ_CID");
    }

    @Test
    void aQueuesDeadLetterGoesBackToTheQueue() {
        Map<String, Object> props = deadLetterProperties();
        props.put("syncSubscriber", "customers"); // cannot apply to a queue
        ReplayPlan plan = ReplayPlan.of(letter("dataverse-outbound", props), QUEUES.find("dataverse-outbound").orElseThrow(), QUEUES);
        assertThat(plan.queue()).isEqualTo("dataverse-outbound");
        assertThat(plan.topic()).isNull();
        assertThat(plan.properties()).doesNotContainKey("syncSubscriber").containsEntry("RetryCount", 0);
    }

    @Test
    void theTopicsSafetyNetReplaysToTheSubscriptionTheBrokerNamed() {
        ReplayPlan plan = ReplayPlan.of(letter("dataverse-changes", deadLetterProperties()), QUEUES.find("dataverse-changes").orElseThrow(), QUEUES);
        assertThat(plan.subscriber()).isEqualTo("erp");
        assertThat(plan.properties()).containsEntry("syncSubscriber", "erp");

        Map<String, Object> unnamed = deadLetterProperties();
        unnamed.remove("_AMQ_ORIG_QUEUE");
        assertThatThrownBy(() -> ReplayPlan.of(letter("dataverse-changes", unnamed), QUEUES.find("dataverse-changes").orElseThrow(), QUEUES))
                .isInstanceOf(OpsException.class);
    }

    @Test
    void theServiceBusReplayIsANewMessageOfTheSameRowAndCorrelation() {
        Map<String, Object> props = deadLetterProperties();
        props.put("SessionId", "row-1");
        DeadLetter d = letter("dataverse-changes.customers", props);
        ReplayPlan plan = ReplayPlan.of(d, QUEUES.find("dataverse-changes.customers").orElseThrow(), QUEUES);
        ServiceBusMessage m = ServiceBusDeadLetters.replayMessage(d, plan);
        assertThat(m.getMessageId()).isNotBlank().isNotEqualTo(d.id());
        assertThat(m.getCorrelationId()).isEqualTo("corr-1");
        assertThat(m.getSessionId()).isEqualTo("row-1");
        assertThat(m.getBody().toString()).isEqualTo(d.body());
        assertThat(m.getApplicationProperties()).containsEntry("syncSubscriber", "customers").containsEntry("RetryCount", 0)
                .containsEntry("SyncReplayCount", 2).doesNotContainKeys("SessionId", "DeadLetterReason");
        assertThat(ServiceBusDeadLetters.replayMessage(d, plan).getMessageId()).isNotEqualTo(m.getMessageId());
    }

    @Test
    void replaysArePacedAcrossRequests() {
        Clock clock = Clock.fixed(Instant.ofEpochMilli(1_000_000), ZoneOffset.UTC);
        ReplayPacer pacer = new ReplayPacer(clock, 20);
        long[] first = pacer.reserve(3);
        assertThat(first).containsExactly(1_000_000, 1_000_050, 1_000_100);
        // a second replay queues behind the first, it does not add its own burst
        assertThat(pacer.reserve(2)).containsExactly(1_000_150, 1_000_200);
        long[] many = new ReplayPacer(clock, 20).reserve(50_000);
        assertThat(many[49_999] - many[0]).isEqualTo(2_499_950); // 50,000 at 20/s: about 42 minutes
        assertThatThrownBy(() -> new ReplayPacer(clock, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
