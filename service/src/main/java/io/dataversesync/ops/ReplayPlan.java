package io.dataversesync.ops;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.dataversesync.transport.Transport;

/**
 * What a replay sends for one dead letter, the same for both transports (pure, unit-tested): where to, and with
 * which properties. A new message (the transport gives it a new message id) with the same body and correlation id;
 * RetryCount back to 0; the message's own custom properties kept; the dead-letter properties and the broker's
 * bookkeeping dropped; {@code SyncReplayCount} (+1) and {@code SyncOriginalDeadLetterReason} (the first dead letter's
 * reason) added; the transports carry both on to retry copies and a new dead letter (Envelope). A dead letter
 * of a subscription goes back through the topic with {@code syncSubscriber} = that subscription, so only its queue
 * takes it, never every subscriber of the topic (docs/decisions.md, "Fan-out through a topic").
 *
 * @param queue      the queue to send to (null: the topic)
 * @param subscriber the one subscription on the topic that takes it (null: a queue)
 */
public record ReplayPlan(String queue, String topic, String subscriber, Map<String, Object> properties) {
    /** Properties never copied: the dead letter's own, and what brokers and Camel add on their own. */
    private static final Set<String> DROPPED = Set.of(DeadLetter.REASON, DeadLetter.DESCRIPTION, DeadLetter.SOURCE,
            "JMSXDeliveryCount", "JMSXUserID", "JMSXAppID", "JMSXRcvTimestamp");
    /** Artemis' original-queue property of a message its safety net moved. */
    public static final String ARTEMIS_ORIGINAL_QUEUE = "_AMQ_ORIG_QUEUE";

    public static ReplayPlan of(DeadLetter letter, OpsQueues.OpsQueue from, OpsQueues queues) {
        OpsQueues.OpsQueue origin = from;
        if (from.kind() == OpsQueues.Kind.TOPIC) {
            // the broker's safety net of the whole topic: back to the subscription it came from
            Object original = letter.properties().get(ARTEMIS_ORIGINAL_QUEUE);
            origin = queues.subscriptionQueue(original == null ? null : String.valueOf(original))
                    .orElseThrow(() -> new OpsException(409, "dead letter " + letter.id() + " names no subscription it came from; purge it instead"));
        }
        Map<String, Object> props = new LinkedHashMap<>();
        letter.properties().forEach((k, v) -> {
            if (k != null && v != null && !DROPPED.contains(k) && !k.startsWith("_AMQ") && !k.startsWith("__AMQ") && !k.startsWith("JMS") && !k.startsWith("Camel")
                    && !k.startsWith("x-opt-")) {
                props.put(k, v);
            }
        });
        props.put(DeadLetter.RETRY_COUNT, 0);
        props.put(DeadLetter.REPLAY_COUNT, letter.replayCount() + 1);
        // kept from the first dead letter when this one was itself a replay that failed again
        props.putIfAbsent(DeadLetter.ORIGINAL_REASON, letter.reason());
        if (origin.kind() == OpsQueues.Kind.SUBSCRIPTION) {
            props.put(Transport.SUBSCRIBER_PROPERTY, origin.subscription());
            if (letter.entity() != null && !letter.entity().isEmpty()) {
                props.put(Transport.ENTITY_PROPERTY, letter.entity());
            }
            return new ReplayPlan(null, origin.topic(), origin.subscription(), props);
        }
        props.remove(Transport.SUBSCRIBER_PROPERTY);
        return new ReplayPlan(origin.name(), null, null, props);
    }
}
