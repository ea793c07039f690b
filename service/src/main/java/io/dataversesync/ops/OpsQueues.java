package io.dataversesync.ops;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.dataversesync.target.Sagas;

/**
 * The queues whose dead letters the operations API serves, named the same in both transports: the outbound and
 * ack queues, and one per subscription of the changes topic ({@code <topic>.<subscription>}: a target's, a saga
 * step's compensation). On Artemis the topic itself has one more, the broker's safety net for the whole address
 * (a message delivered too often without a commit): {@code <topic>}. Anything else is an unknown queue (404).
 */
public class OpsQueues {
    public enum Kind { QUEUE, SUBSCRIPTION, TOPIC }

    /**
     * @param subscription for a SUBSCRIPTION: its name on the topic (a replay sets syncSubscriber to it)
     */
    public record OpsQueue(String name, Kind kind, String topic, String subscription) {
    }

    private final Map<String, OpsQueue> byName = new LinkedHashMap<>();
    private final String topic;

    public OpsQueues(List<String> queues, String topic, List<Sagas.Subscription> subscriptions, boolean topicSafetyNet) {
        this.topic = topic;
        for (String q : queues) {
            byName.put(q, new OpsQueue(q, Kind.QUEUE, null, null));
        }
        for (Sagas.Subscription s : subscriptions) {
            String name = topic + "." + s.name();
            byName.put(name, new OpsQueue(name, Kind.SUBSCRIPTION, topic, s.name()));
        }
        if (topicSafetyNet) {
            byName.put(topic, new OpsQueue(topic, Kind.TOPIC, topic, null));
        }
    }

    public Optional<OpsQueue> find(String name) {
        return Optional.ofNullable(name == null ? null : byName.get(name));
    }

    public List<OpsQueue> all() {
        return new ArrayList<>(byName.values());
    }

    /** The subscription a queue name on the topic stands for ({@code <topic>.<sub>}), if it is one of ours. */
    public Optional<OpsQueue> subscriptionQueue(String queueName) {
        return find(queueName).filter(q -> q.kind() == Kind.SUBSCRIPTION);
    }

    public String topic() {
        return topic;
    }
}
