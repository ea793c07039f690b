package io.dataversesync.ops;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.broker.EmbeddedBroker;
import jakarta.jms.BytesMessage;
import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.Destination;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.QueueBrowser;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;

/**
 * Dead letters on the embedded Artemis broker, over JMS in the service's own JVM: {@code QUEUE.DLQ} per queue
 * (EmbeddedBroker). Browsing is a JMS {@link QueueBrowser} (nothing is consumed). A replay and a purge consume the
 * selected messages by id ({@code JMSMessageID IN (...)}, chunks of {@value #CHUNK}) in a <em>transacted</em>
 * session; a replay sends each one's new message on the same session before the commit, so the original is removed
 * exactly when its replay is sent (a crash before the commit leaves both as they were).
 */
public class ArtemisDeadLetters implements DeadLetterStore {
    static final int CHUNK = 100;
    private static final String SCHEDULED_DELIVERY = "_AMQ_SCHED_DELIVERY";

    private final Supplier<ConnectionFactory> connections;
    private final Supplier<EmbeddedBroker> broker;
    private final ObjectMapper json;

    /** Suppliers: the broker and its connection factory are bound after the beans (EmbeddedBrokerConfiguration). */
    public ArtemisDeadLetters(Supplier<ConnectionFactory> connections, Supplier<EmbeddedBroker> broker, ObjectMapper json) {
        this.connections = connections;
        this.broker = broker;
        this.json = json;
    }

    static String deadLetterQueue(OpsQueues.OpsQueue queue) {
        return EmbeddedBroker.deadLetterQueue(queue.name());
    }

    @Override
    public Depth depth(OpsQueues.OpsQueue queue) {
        long messages = queue.kind() == OpsQueues.Kind.TOPIC ? -1 : broker.get().messageCount(queue.name());
        return new Depth(queue.name(), messages, broker.get().messageCount(deadLetterQueue(queue)));
    }

    @Override
    public List<DeadLetter> browse(OpsQueues.OpsQueue queue, int max) throws Exception {
        List<DeadLetter> out = new ArrayList<>();
        try (Connection c = connections.get().createConnection()) {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            try (QueueBrowser browser = s.createBrowser(s.createQueue(deadLetterQueue(queue)))) {
                Enumeration<?> e = browser.getEnumeration();
                while (e.hasMoreElements() && out.size() < max) {
                    out.add(toDeadLetter(queue, (Message) e.nextElement()));
                }
            }
        }
        return out;
    }

    DeadLetter toDeadLetter(OpsQueues.OpsQueue queue, Message m) throws Exception {
        Map<String, Object> props = new LinkedHashMap<>();
        for (Enumeration<?> names = m.getPropertyNames(); names.hasMoreElements();) {
            String name = String.valueOf(names.nextElement());
            Object v = m.getObjectProperty(name);
            props.put(name, v instanceof byte[] || v instanceof org.apache.activemq.artemis.api.core.SimpleString ? String.valueOf(v) : v);
        }
        String body = body(m);
        String[] keys = DeadLetter.keysOf(json, body);
        String description = DeadLetter.normalizeDescription((String) props.get(DeadLetter.DESCRIPTION));
        Object source = props.get(DeadLetter.SOURCE);
        if (source == null) {
            source = props.getOrDefault(ReplayPlan.ARTEMIS_ORIGINAL_QUEUE, queue.name());
        }
        String id = m.getJMSMessageID();
        String rowId = keys[1].isEmpty() ? String.valueOf(props.getOrDefault("JMSXGroupID", "")) : keys[1];
        return new DeadLetter(id != null && id.startsWith("ID:") ? id.substring(3) : id, null, queue.name(), String.valueOf(source),
                DeadLetter.normalizeReason((String) props.get(DeadLetter.REASON)), description, DeadLetter.hopOf(description),
                DeadLetter.intOf(props.get(DeadLetter.RETRY_COUNT)), DeadLetter.intOf(props.get(DeadLetter.REPLAY_COUNT)),
                m.getJMSCorrelationID(), keys[0], rowId, m.getJMSTimestamp() > 0 ? Instant.ofEpochMilli(m.getJMSTimestamp()) : null,
                DeadLetter.exceptionTypeOf(description), Collections.unmodifiableMap(props), body);
    }

    private static String body(Message m) throws Exception {
        if (m instanceof TextMessage t) {
            return t.getText();
        }
        if (m instanceof BytesMessage b) {
            byte[] bytes = new byte[(int) b.getBodyLength()];
            b.readBytes(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return null;
    }

    @Override
    public int replay(OpsQueues.OpsQueue queue, List<DeadLetter> selected, List<ReplayPlan> plans, long[] dueAt) throws Exception {
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < selected.size(); i++) {
            index.put("ID:" + selected.get(i).id(), i);
        }
        return consumeSelected(queue, selected, (session, producer, m) -> {
            int i = index.get(m.getJMSMessageID());
            ReplayPlan plan = plans.get(i);
            TextMessage copy = session.createTextMessage(body(m));
            copy.setJMSCorrelationID(m.getJMSCorrelationID());
            for (Map.Entry<String, Object> p : plan.properties().entrySet()) {
                copy.setObjectProperty(p.getKey(), p.getValue());
            }
            Object group = selected.get(i).properties().get("JMSXGroupID");
            if (group != null) {
                copy.setStringProperty("JMSXGroupID", String.valueOf(group)); // per-row ordering, as every message of the row
            }
            if (dueAt[i] > System.currentTimeMillis()) {
                copy.setLongProperty(SCHEDULED_DELIVERY, dueAt[i]);
            }
            Destination to = plan.queue() != null ? session.createQueue(plan.queue()) : session.createTopic(plan.topic());
            producer.send(to, copy);
        });
    }

    @Override
    public int purge(OpsQueues.OpsQueue queue, List<DeadLetter> selected) throws Exception {
        return consumeSelected(queue, selected, (session, producer, m) -> { });
    }

    private interface Handler {
        void handle(Session session, MessageProducer producer, Message m) throws Exception;
    }

    /** Consumes the selected messages chunk by chunk; each chunk's handling and removal commit together. */
    private int consumeSelected(OpsQueues.OpsQueue queue, List<DeadLetter> selected, Handler handler) throws Exception {
        int done = 0;
        try (Connection c = connections.get().createConnection()) {
            c.start();
            Session s = c.createSession(true, Session.SESSION_TRANSACTED);
            Queue dlq = s.createQueue(deadLetterQueue(queue));
            try (MessageProducer producer = s.createProducer(null)) {
                for (int from = 0; from < selected.size(); from += CHUNK) {
                    List<DeadLetter> chunk = selected.subList(from, Math.min(selected.size(), from + CHUNK));
                    StringBuilder selector = new StringBuilder("JMSMessageID IN (");
                    for (int i = 0; i < chunk.size(); i++) {
                        // ids are validated GUIDs (OpsRequests) or came from the broker itself: no quote can be in them
                        selector.append(i == 0 ? "" : ",").append("'ID:").append(chunk.get(i).id().replace("'", "''")).append('\'');
                    }
                    selector.append(')');
                    int got = 0;
                    try (MessageConsumer consumer = s.createConsumer(dlq, selector.toString())) {
                        Message m;
                        while (got < chunk.size() && (m = consumer.receive(1000)) != null) {
                            handler.handle(s, producer, m);
                            got++;
                        }
                    }
                    s.commit();
                    done += got;
                }
            } catch (Exception e) {
                s.rollback();
                throw e;
            }
        }
        return done;
    }
}
