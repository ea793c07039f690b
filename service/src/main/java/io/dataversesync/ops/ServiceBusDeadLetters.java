package io.dataversesync.ops;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.messaging.servicebus.ServiceBusClientBuilder;
import com.azure.messaging.servicebus.ServiceBusMessage;
import com.azure.messaging.servicebus.ServiceBusReceivedMessage;
import com.azure.messaging.servicebus.ServiceBusReceiverClient;
import com.azure.messaging.servicebus.ServiceBusSenderClient;
import com.azure.messaging.servicebus.administration.ServiceBusAdministrationClient;
import com.azure.messaging.servicebus.administration.ServiceBusAdministrationClientBuilder;
import com.azure.messaging.servicebus.models.ServiceBusReceiveMode;
import com.azure.messaging.servicebus.models.SubQueue;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Dead letters on Azure Service Bus: every queue's and every subscription's dead-letter subqueue
 * ({@code <queue>/$deadletterqueue}, {@code <topic>/Subscriptions/<sub>/$deadletterqueue}), with the SDK's
 * {@link ServiceBusReceiverClient} ({@link SubQueue#DEAD_LETTER_QUEUE}, peek-lock).
 *
 * <p>Service Bus cannot receive one message of a dead-letter queue by id. So:
 * <ol>
 * <li><b>browse</b>: peek (no lock, nothing changes) from sequence number 0 on, page by page, up to the scan bound;
 * the caller selects on what it sees (ids = MessageIds);</li>
 * <li><b>replay / purge</b>: receive in peek-lock from the head of the subqueue; a selected message is replayed
 * (its new message sent, or scheduled for its paced time, by the sender of the queue or topic it came from) and
 * <em>then</em> completed, a purge completes it; an unselected one is held locked (not settled) so the next receive
 * moves past it, and every held one is abandoned at the end (its delivery count goes up by one: a dead-letter queue
 * ignores it). Messages are matched by sequence number (unique; a MessageId need not be). The scan stops when every
 * selected message was settled, nothing more arrives, or it passed the highest selected sequence number. A crash
 * between send and complete leaves the dead letter in place and its lock expires: it may be replayed twice (the
 * pipeline is idempotent), never lost.</li>
 * </ol>
 * Held locks last the entity's lock duration: keep selections near the head or purge what is not needed; a
 * message whose lock expired during a long scan is simply not touched. See docs/decisions.md, "Dead letters on
 * Service Bus".
 */
public class ServiceBusDeadLetters implements DeadLetterStore {
    private static final int PAGE = 250;
    private static final Duration RECEIVE_WAIT = Duration.ofSeconds(5);

    /** What the store needs from Service Bus (so the pure parts are testable without a namespace). */
    public interface Clients {
        ServiceBusReceiverClient deadLetterReceiver(OpsQueues.OpsQueue queue);

        ServiceBusSenderClient sender(String queue, String topic);

        ServiceBusAdministrationClient admin();
    }

    /** Clients of a namespace with the pod's Azure identity (workload / managed identity, DefaultAzureCredential). */
    public static Clients clients(String namespace) {
        var credential = new DefaultAzureCredentialBuilder().build();
        Map<String, ServiceBusSenderClient> senders = new java.util.concurrent.ConcurrentHashMap<>();
        ServiceBusAdministrationClient[] admin = new ServiceBusAdministrationClient[1];
        return new Clients() {
            @Override
            public ServiceBusReceiverClient deadLetterReceiver(OpsQueues.OpsQueue queue) {
                var b = new ServiceBusClientBuilder().fullyQualifiedNamespace(namespace).credential(credential).receiver()
                        .subQueue(SubQueue.DEAD_LETTER_QUEUE).receiveMode(ServiceBusReceiveMode.PEEK_LOCK).prefetchCount(0);
                if (queue.kind() == OpsQueues.Kind.SUBSCRIPTION) {
                    b.topicName(queue.topic()).subscriptionName(queue.subscription());
                } else {
                    b.queueName(queue.name());
                }
                return b.buildClient();
            }

            @Override
            public ServiceBusSenderClient sender(String queue, String topic) {
                String key = queue != null ? "q:" + queue : "t:" + topic;
                return senders.computeIfAbsent(key, k -> {
                    var b = new ServiceBusClientBuilder().fullyQualifiedNamespace(namespace).credential(credential).sender();
                    return (queue != null ? b.queueName(queue) : b.topicName(topic)).buildClient();
                });
            }

            @Override
            public synchronized ServiceBusAdministrationClient admin() {
                if (admin[0] == null) {
                    admin[0] = new ServiceBusAdministrationClientBuilder().endpoint("https://" + namespace).credential(credential).buildClient();
                }
                return admin[0];
            }
        };
    }

    private final Clients clients;
    private final ObjectMapper json;

    public ServiceBusDeadLetters(Clients clients, ObjectMapper json) {
        this.clients = clients;
        this.json = json;
    }

    @Override
    public Depth depth(OpsQueues.OpsQueue queue) {
        try {
            if (queue.kind() == OpsQueues.Kind.SUBSCRIPTION) {
                var p = clients.admin().getSubscriptionRuntimeProperties(queue.topic(), queue.subscription());
                return new Depth(queue.name(), p.getActiveMessageCount(), p.getDeadLetterMessageCount());
            }
            var p = clients.admin().getQueueRuntimeProperties(queue.name());
            return new Depth(queue.name(), p.getActiveMessageCount(), p.getDeadLetterMessageCount());
        } catch (RuntimeException e) {
            // the identity may lack the Manage right the runtime properties need: depths unknown, the rest works
            return new Depth(queue.name(), -1, -1);
        }
    }

    @Override
    public List<DeadLetter> browse(OpsQueues.OpsQueue queue, int max) {
        List<DeadLetter> out = new ArrayList<>();
        try (ServiceBusReceiverClient receiver = clients.deadLetterReceiver(queue)) {
            long from = 0;
            while (out.size() < max) {
                int before = out.size();
                for (ServiceBusReceivedMessage m : receiver.peekMessages(Math.min(PAGE, max - out.size()), from)) {
                    out.add(toDeadLetter(queue, m));
                    from = m.getSequenceNumber() + 1;
                }
                if (out.size() == before) {
                    break;
                }
            }
        }
        return out;
    }

    DeadLetter toDeadLetter(OpsQueues.OpsQueue queue, ServiceBusReceivedMessage m) {
        return deadLetter(json, queue.name(), m.getMessageId(), m.getSequenceNumber(), m.getCorrelationId(), m.getDeadLetterReason(),
                m.getDeadLetterErrorDescription(), m.getDeadLetterSource(), m.getEnqueuedTime(), m.getSessionId(),
                m.getApplicationProperties(), m.getBody() == null ? null : m.getBody().toString());
    }

    /** A dead letter from what Service Bus reports about it (pure: unit-tested). */
    static DeadLetter deadLetter(ObjectMapper json, String queue, String messageId, long sequenceNumber, String correlationId, String reason,
            String description, String source, OffsetDateTime enqueuedTime, String sessionId, Map<String, Object> applicationProperties,
            String body) {
        Map<String, Object> props = new LinkedHashMap<>(applicationProperties == null ? Map.of() : applicationProperties);
        if (sessionId != null) {
            props.put("SessionId", sessionId);
        }
        String normalized = DeadLetter.normalizeDescription(description);
        String[] keys = DeadLetter.keysOf(json, body);
        return new DeadLetter(messageId, sequenceNumber, queue, source == null ? queue : source, DeadLetter.normalizeReason(reason),
                normalized, DeadLetter.hopOf(normalized), DeadLetter.intOf(props.get(DeadLetter.RETRY_COUNT)),
                DeadLetter.intOf(props.get(DeadLetter.REPLAY_COUNT)), correlationId, keys[0], keys[1].isEmpty() && sessionId != null ? sessionId : keys[1],
                enqueuedTime == null ? null : enqueuedTime.toInstant(), DeadLetter.exceptionTypeOf(normalized),
                Collections.unmodifiableMap(props), body);
    }

    /**
     * The replay's message (pure: unit-tested): same body, correlation id and session (the row: per-row ordering), a
     * new MessageId (duplicate detection would drop a resend with the old one), the plan's properties.
     */
    static ServiceBusMessage replayMessage(DeadLetter letter, ReplayPlan plan) {
        ServiceBusMessage out = new ServiceBusMessage(letter.body() == null ? "" : letter.body());
        out.setMessageId(UUID.randomUUID().toString());
        out.setCorrelationId(letter.correlationId());
        out.setContentType("application/json");
        Object session = letter.properties().get("SessionId");
        if (session != null) {
            out.setSessionId(String.valueOf(session));
        }
        plan.properties().forEach((k, v) -> {
            if (!"SessionId".equals(k)) {
                out.getApplicationProperties().put(k, v);
            }
        });
        return out;
    }

    @Override
    public int replay(OpsQueues.OpsQueue queue, List<DeadLetter> selected, List<ReplayPlan> plans, long[] dueAt) {
        Map<Long, Integer> index = new HashMap<>();
        for (int i = 0; i < selected.size(); i++) {
            index.put(selected.get(i).sequenceNumber(), i);
        }
        return settleSelected(queue, index.keySet(), m -> {
            int i = index.get(m.getSequenceNumber());
            ReplayPlan plan = plans.get(i);
            ServiceBusMessage message = replayMessage(selected.get(i), plan);
            ServiceBusSenderClient sender = clients.sender(plan.queue(), plan.topic());
            if (dueAt[i] > System.currentTimeMillis()) {
                sender.scheduleMessage(message, OffsetDateTime.ofInstant(Instant.ofEpochMilli(dueAt[i]), ZoneOffset.UTC));
            } else {
                sender.sendMessage(message);
            }
        });
    }

    @Override
    public int purge(OpsQueues.OpsQueue queue, List<DeadLetter> selected) {
        Set<Long> sequenceNumbers = new HashSet<>();
        selected.forEach(d -> sequenceNumbers.add(d.sequenceNumber()));
        return settleSelected(queue, sequenceNumbers, m -> { });
    }

    private interface BeforeComplete {
        void handle(ServiceBusReceivedMessage m);
    }

    /**
     * Receives from the head until every selected sequence number (found by peeking) is settled, the subqueue has
     * nothing more, or the receive passed the highest selected sequence number (what lies behind it is not touched).
     */
    private int settleSelected(OpsQueues.OpsQueue queue, Set<Long> selected, BeforeComplete action) {
        if (selected.isEmpty()) {
            return 0;
        }
        long last = selected.stream().mapToLong(Long::longValue).max().orElseThrow();
        int done = 0;
        Set<Long> remaining = new HashSet<>(selected);
        List<ServiceBusReceivedMessage> held = new ArrayList<>();
        try (ServiceBusReceiverClient receiver = clients.deadLetterReceiver(queue)) {
            try {
                boolean passed = false;
                while (!remaining.isEmpty() && !passed) {
                    boolean any = false;
                    for (ServiceBusReceivedMessage m : receiver.receiveMessages(PAGE, RECEIVE_WAIT)) {
                        any = true;
                        passed |= m.getSequenceNumber() > last;
                        if (remaining.remove(m.getSequenceNumber())) {
                            action.handle(m); // sent first ...
                            receiver.complete(m); // ... then the original removed
                            done++;
                        } else {
                            held.add(m);
                        }
                    }
                    if (!any) {
                        break;
                    }
                }
            } finally {
                for (ServiceBusReceivedMessage m : held) {
                    try {
                        receiver.abandon(m);
                    } catch (RuntimeException e) {
                        // its lock expired: it is back in the subqueue already
                    }
                }
            }
        }
        return done;
    }
}
