package io.dataversesync.transport;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import com.azure.messaging.servicebus.ServiceBusMessage;
import com.azure.messaging.servicebus.ServiceBusSenderClient;
import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.azure.servicebus.ServiceBusEndpoint;
import org.apache.camel.component.azure.servicebus.ServiceBusType;
import org.apache.camel.component.azure.servicebus.client.ServiceBusClientFactory;
import org.apache.camel.support.service.ServiceSupport;

/**
 * Azure Service Bus through camel-azure-servicebus 4.17 (peek-lock consumers) and the Azure SDK's sender.
 *
 * <h2>Receiving</h2>
 * The consumers are Camel's {@code azure-servicebus:} endpoints (sync.endpoint.outbound / ack, sessionEnabled,
 * enableDeadLettering). 4.17's consumer sets the application properties as the map header
 * {@code CamelAzureServiceBusApplicationProperties} (and, filtered, as plain headers), the MessageId, CorrelationId,
 * SessionId and EnqueuedTime as {@code CamelAzureServiceBus*} headers, and the body as {@code BinaryData}.
 * {@link #readEnvelope} reads RetryCount / SyncRequestedAt / Diagnostic-Id / traceparent from the application
 * properties. Consumer routes must stay synchronous: 4.17's consumer loses lock renewal when a route goes
 * asynchronous (docs/decisions.md, "Service Bus consumers stay synchronous").
 *
 * <h2>Sending</h2>
 * The steps of routes/transport/servicebus.camel.yaml call {@link #send(Exchange, String)} (a queue) or
 * {@link #sendToTopic(Exchange, String)} (the changes topic): the message is built here with MessageId, SessionId,
 * CorrelationId, application properties and the scheduled enqueue time, and sent with a
 * {@link ServiceBusSenderClient} that Camel's own {@link ServiceBusClientFactory} builds from
 * {@code sync.servicebus.common-options} plus {@code serviceBusType} of the destination (the factory builds a
 * queue sender or a topic sender from it); one sender per destination, closed when Camel stops. The route file names
 * every destination and whether it is a queue or a topic. Why not Camel's producer: docs/decisions.md,
 * "Service Bus sends".
 * <ul>
 * <li>Retry copy: scheduled enqueue time (SyncRetryAt), a new MessageId derived from the received one and the new
 * RetryCount (duplicate detection would silently drop a copy that kept the old id, while a copy sent twice for the
 * same received message - redelivery after a lost settlement - keeps the same id and is dropped as the duplicate it
 * is), same CorrelationId, SessionId = Source Row ID, RetryCount as an application property.</li>
 * <li>Follow-up (ack) and notification: same correlation, new MessageId, same session key.</li>
 * <li>Change on the topic: same correlation, new MessageId, SessionId = the row (every subscription is
 * session-enabled), {@code syncEntity} for the subscriptions' rules. A target's retry copy goes to the topic too,
 * with {@code syncSubscriber} = the target, which only that target's subscription rule accepts (docs/decisions.md,
 * "Fan-out through a topic"). Every target receives the same change message (same MessageId), so the ids derived
 * for a target's retry copy and acknowledgement include the target: otherwise duplicate detection on the topic or
 * the ack queue would drop one target's copy as a duplicate of another's.</li>
 * <li>Tracing: the W3C {@code traceparent} of the current span (set as a header by camel-opentelemetry2) or, without
 * tracing, the received one is written as {@code traceparent} and {@code Diagnostic-Id} (the SDK's own names; its
 * tracer leaves a message that already has one alone), so Application Insights links the hops.</li>
 * </ul>
 *
 * <h2>Dead letters</h2>
 * {@link #deadLetterNatively} fails the exchange with a {@link DeadLetterRequested}, and the consumer dead-letters the
 * received message natively with the policy's reason and description: docs/decisions.md, "Service Bus dead letters".
 */
public class ServiceBusTransport implements Transport {
    public static final String APPLICATION_PROPERTIES = "CamelAzureServiceBusApplicationProperties";
    public static final String CORRELATION_ID = "CamelAzureServiceBusCorrelationId";
    public static final String MESSAGE_ID = "CamelAzureServiceBusMessageId";
    public static final String SESSION_ID = "CamelAzureServiceBusSessionId";
    public static final String SCHEDULED_ENQUEUE_TIME = "CamelAzureServiceBusScheduledEnqueueTime";
    public static final String ENQUEUED_TIME = "CamelAzureServiceBusEnqueuedTime";
    /** Application property the Azure SDKs use for the trace context (same value as traceparent). */
    public static final String DIAGNOSTIC_ID = "Diagnostic-Id";
    public static final String TRACEPARENT = "traceparent";
    public static final String RETRY_COUNT = "RetryCount";
    public static final String REQUESTED_AT = "SyncRequestedAt";
    /** Exchange properties set by readEnvelope. */
    public static final String RECEIVED_MESSAGE_ID = "syncMessageId";
    public static final String RECEIVED_DIAGNOSTIC_ID = "syncDiagnosticId";
    /** Endpoint options of the senders (namespace, credential), resolved from the Camel properties. */
    public static final String SENDER_OPTIONS_PROPERTY = "sync.servicebus.common-options";
    static final int MAX_DEAD_LETTER_TEXT = 4000;
    /** A W3C traceparent (version 00), the form the Azure SDKs write as Diagnostic-Id. */
    static final java.util.regex.Pattern TRACE_CONTEXT = java.util.regex.Pattern.compile("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

    /** A queue or a topic: Service Bus senders are built for one entity of one type. */
    public record Destination(String name, ServiceBusType type) {
        public Destination {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a Service Bus destination needs a name");
            }
            if (type == null) {
                throw new IllegalArgumentException("a Service Bus destination needs a type (queue or topic)");
            }
        }

        public static Destination queue(String name) {
            return new Destination(name, ServiceBusType.queue);
        }

        public static Destination topic(String name) {
            return new Destination(name, ServiceBusType.topic);
        }

        @Override
        public String toString() {
            return type + ":" + name;
        }
    }

    /** Sends a prepared message to a queue or topic: the only part that talks to Service Bus. */
    public interface Sender {
        void send(Destination to, ServiceBusMessage message);

        void schedule(Destination to, ServiceBusMessage message, OffsetDateTime at);
    }

    private final Clock clock;
    private volatile Sender sender;

    public ServiceBusTransport(Clock clock) {
        this(clock, null);
    }

    /** With a given sender (tests); null = senders built by Camel's client factory on first use. */
    public ServiceBusTransport(Clock clock, Sender sender) {
        this.clock = clock;
        this.sender = sender;
    }

    @Override
    public void readEnvelope(Exchange exchange) {
        Message in = exchange.getMessage();
        Map<?, ?> props = in.getHeader(APPLICATION_PROPERTIES, Map.class);
        Object retryCount = props == null ? null : props.get(RETRY_COUNT);
        Object requestedAt = props == null ? null : props.get(REQUESTED_AT);
        Object diagnosticId = props == null ? null : props.get(DIAGNOSTIC_ID);
        if (diagnosticId == null && props != null) {
            diagnosticId = props.get(TRACEPARENT);
        }
        // copied into the application properties of every follow-up: only a W3C trace context passes, as such
        exchange.setProperty(RECEIVED_DIAGNOSTIC_ID, traceContext(diagnosticId == null ? null : String.valueOf(diagnosticId)));
        exchange.setProperty(RECEIVED_MESSAGE_ID, in.getHeader(MESSAGE_ID, String.class));
        OffsetDateTime enqueued = in.getHeader(ENQUEUED_TIME, OffsetDateTime.class);
        Envelope.read(exchange, in.getHeader(CORRELATION_ID, String.class), retryCount, requestedAt,
                enqueued != null ? enqueued.toInstant().toEpochMilli() : clock.millis());
        Envelope.readReplay(exchange, props == null ? null : props.get(REPLAY_COUNT_PROPERTY), props == null ? null : props.get(ORIGINAL_REASON_PROPERTY));
    }

    @Override
    public void prepareRetryCopy(Exchange exchange) {
        int next = exchange.getProperty(SyncProperties.NEXT_RETRY_COUNT, Integer.class);
        Message m = fresh(exchange, exchange.getProperty(SyncProperties.ORIGINAL_BODY), "retry-" + next);
        applicationProperties(m).put(RETRY_COUNT, next);
        Envelope.writeReplay(exchange, applicationProperties(m)::put);
        long at = exchange.getProperty(SyncProperties.RETRY_AT, Long.class);
        m.setHeader(SCHEDULED_ENQUEUE_TIME, OffsetDateTime.ofInstant(Instant.ofEpochMilli(at), ZoneOffset.UTC));
        String subscription = exchange.getProperty(SyncProperties.SUBSCRIPTION, String.class);
        if (subscription != null) {
            // goes back through the topic: only this subscription's rule takes it
            applicationProperties(m).put(SUBSCRIBER_PROPERTY, subscription);
            applicationProperties(m).put(ENTITY_PROPERTY, exchange.getProperty(SyncProperties.ENTITY, String.class));
        }
    }

    @Override
    public void prepareDirected(Exchange exchange) {
        String to = exchange.getProperty(SyncProperties.NEXT_SUBSCRIPTION, String.class);
        Message m = fresh(exchange, exchange.getMessage().getBody(), "to-" + to);
        applicationProperties(m).put(SUBSCRIBER_PROPERTY, to);
        applicationProperties(m).put(ENTITY_PROPERTY, exchange.getProperty(SyncProperties.ENTITY, String.class));
    }

    @Override
    public void prepareChange(Exchange exchange) {
        Message m = fresh(exchange, exchange.getMessage().getBody(), "change");
        applicationProperties(m).put(ENTITY_PROPERTY, exchange.getProperty(SyncProperties.ENTITY, String.class));
    }

    @Override
    public void prepareFollowUp(Exchange exchange) {
        // a Retrying status is a follow-up too, of the same received message as a later acknowledgement might be
        // (redelivery): its own purpose keeps duplicate detection from taking one for the other
        String kind = exchange.getProperty(SyncProperties.FOLLOW_UP_KIND, String.class);
        fresh(exchange, exchange.getMessage().getBody(), kind == null ? "follow-up" : "follow-up-" + kind);
    }

    @Override
    public void prepareDeadLetter(Exchange exchange) {
        // nothing is sent: deadLetterNatively fails the exchange and the consumer dead-letters the received message
        // (reason and description travel in the exception, see the class comment)
    }

    /** The dead-letter "endpoint" on Service Bus: fail the exchange so the consumer dead-letters the received message. */
    public void deadLetterNatively(Exchange exchange) {
        throw new DeadLetterRequested(exchange.getProperty(SyncProperties.FAILURE_REASON, String.class),
                exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, String.class));
    }

    /**
     * Sends the prepared message (prepareRetryCopy / prepareFollowUp / prepareNotification) to a queue; scheduled
     * when the message has a scheduled enqueue time. Step: {@code method: "send(*, 'queue-name')"}.
     */
    public void send(Exchange exchange, String queue) {
        send(exchange, Destination.queue(queue));
    }

    /**
     * Sends the prepared message (prepareChange, or a target's prepareRetryCopy) to a topic: every subscription whose
     * rule matches gets a copy. Step: {@code method: "sendToTopic(*, 'topic-name')"}.
     */
    public void sendToTopic(Exchange exchange, String topic) {
        send(exchange, Destination.topic(topic));
    }

    private void send(Exchange exchange, Destination to) {
        Message m = exchange.getMessage();
        ServiceBusMessage message = toServiceBusMessage(m);
        OffsetDateTime at = m.getHeader(SCHEDULED_ENQUEUE_TIME, OffsetDateTime.class);
        Sender s = sender(exchange.getContext());
        if (at != null) {
            s.schedule(to, message, at);
        } else {
            s.send(to, message);
        }
    }

    /** The Service Bus message for a prepared exchange message: body, ids, session, application properties. */
    public static ServiceBusMessage toServiceBusMessage(Message m) {
        String body = m.getBody(String.class);
        ServiceBusMessage message = new ServiceBusMessage(body == null ? "" : body);
        message.setMessageId(m.getHeader(MESSAGE_ID, String.class));
        message.setCorrelationId(m.getHeader(CORRELATION_ID, String.class));
        String session = m.getHeader(SESSION_ID, String.class);
        if (session != null) {
            message.setSessionId(session);
        }
        message.setContentType("application/json");
        Map<?, ?> props = m.getHeader(APPLICATION_PROPERTIES, Map.class);
        if (props != null) {
            props.forEach((k, v) -> {
                if (k != null && v != null) {
                    message.getApplicationProperties().put(String.valueOf(k), v);
                }
            });
        }
        // camel-opentelemetry2 sets the current span's W3C trace context as a header before the send
        String traceparent = traceContext(m.getHeader(TRACEPARENT, String.class));
        if (traceparent != null) {
            message.getApplicationProperties().put(TRACEPARENT, traceparent);
            message.getApplicationProperties().put(DIAGNOSTIC_ID, traceparent);
        }
        return message;
    }

    private Message fresh(Exchange exchange, Object body, String purpose) {
        Message m = exchange.getMessage();
        String diagnosticId = exchange.getProperty(RECEIVED_DIAGNOSTIC_ID, String.class);
        // the current span's (camel-opentelemetry2), or a received application property of that name: 4.17's consumer
        // copies those to plain headers too, so it is checked like any received value
        String traceparent = traceContext(m.getHeader(TRACEPARENT, String.class));
        m.removeHeaders("*");
        m.setBody(body);
        // all targets receive the same change message: what one target (or a saga step's compensation) derives from
        // it must differ from another's
        String subscription = exchange.getProperty(SyncProperties.SUBSCRIPTION, String.class);
        String derivedFor = subscription == null ? purpose : purpose + "@" + subscription;
        m.setHeader(MESSAGE_ID, newMessageId(exchange.getProperty(RECEIVED_MESSAGE_ID, String.class), derivedFor));
        m.setHeader(CORRELATION_ID, Envelope.ensureCorrelationId(exchange));
        String session = Envelope.orderingKey(exchange);
        if (session != null) {
            m.setHeader(SESSION_ID, session);
        }
        Map<String, Object> props = applicationProperties(m);
        props.put(REQUESTED_AT, exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class));
        if (diagnosticId != null) {
            props.put(DIAGNOSTIC_ID, diagnosticId);
            if (diagnosticId.startsWith("00-")) {
                props.put(TRACEPARENT, diagnosticId);
            }
        }
        if (traceparent != null) {
            m.setHeader(TRACEPARENT, traceparent);
        }
        return m;
    }

    /**
     * A new MessageId: derived from the received one and the purpose (retry-N, follow-up), so it differs from the
     * received id but is the same if the same received message is handled twice; random without a received id.
     */
    static String newMessageId(String receivedMessageId, String purpose) {
        if (receivedMessageId == null || receivedMessageId.isBlank()) {
            return UUID.randomUUID().toString();
        }
        return UUID.nameUUIDFromBytes((receivedMessageId + "/" + purpose).getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** The value when it is a W3C traceparent, else null: a trace context is copied on, nothing else is. */
    static String traceContext(String value) {
        return value != null && TRACE_CONTEXT.matcher(value).matches() ? value : null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> applicationProperties(Message m) {
        Map<String, Object> props = m.getHeader(APPLICATION_PROPERTIES, Map.class);
        if (props == null) {
            props = new HashMap<>();
            m.setHeader(APPLICATION_PROPERTIES, props);
        }
        return props;
    }

    private Sender sender(CamelContext context) {
        Sender s = sender;
        if (s == null) {
            synchronized (this) {
                s = sender;
                if (s == null) {
                    CamelSenders created = new CamelSenders(context);
                    // stopped (senders closed) with the Camel context
                    try {
                        context.addService(created, true, true);
                    } catch (Exception e) {
                        throw new IllegalStateException("cannot start the Service Bus senders", e);
                    }
                    sender = s = created;
                }
            }
        }
        return s;
    }


    /**
     * One ServiceBusSenderClient per destination, built by camel-azure-servicebus' client factory from an endpoint
     * {@code azure-servicebus:<name>?serviceBusType=<queue|topic>&<sync.servicebus.common-options>}. The type matters:
     * 4.17's factory builds {@code sender().queueName(name)} for serviceBusType=queue (the endpoint's default) and
     * {@code sender().topicName(name)} for topic, so each sender is built as what its entity is (docs/decisions.md,
     * "Fan-out through a topic").
     */
    public static final class CamelSenders extends ServiceSupport implements Sender {
        private final CamelContext context;
        private final Map<Destination, ServiceBusSenderClient> clients = new ConcurrentHashMap<>();

        public CamelSenders(CamelContext context) {
            this.context = context;
        }

        @Override
        public void send(Destination to, ServiceBusMessage message) {
            client(to).sendMessage(message);
        }

        @Override
        public void schedule(Destination to, ServiceBusMessage message, OffsetDateTime at) {
            client(to).scheduleMessage(message, at);
        }

        /** The endpoint whose configuration a destination's sender is built from (namespace, identity, type). */
        public ServiceBusEndpoint endpoint(Destination to) {
            String options = context.resolvePropertyPlaceholders("{{" + SENDER_OPTIONS_PROPERTY + "}}");
            return context.getEndpoint("azure-servicebus:" + to.name() + "?serviceBusType=" + to.type().name() + "&" + options,
                    ServiceBusEndpoint.class);
        }

        /** A new sender client for a destination (not cached: the caller closes it). Connects on first send only. */
        public ServiceBusSenderClient create(Destination to) {
            return new ServiceBusClientFactory().createServiceBusSenderClient(endpoint(to).getConfiguration());
        }

        private ServiceBusSenderClient client(Destination to) {
            return clients.computeIfAbsent(to, this::create);
        }

        @Override
        protected void doStop() {
            clients.values().forEach(ServiceBusSenderClient::close);
            clients.clear();
        }
    }

    /**
     * Thrown on purpose: 4.17's Service Bus consumer turns it into a native dead-letter with DeadLetterReason
     * {@code <this class>: <reason>} and DeadLetterErrorDescription {@code dead-letter.description(<description>)}.
     */
    public static class DeadLetterRequested extends RuntimeException {
        private final String reason;
        private final String description;

        public DeadLetterRequested(String reason, String description) {
            super(truncate(reason), null, false, false);
            this.reason = truncate(reason);
            this.description = truncate(description);
        }

        /**
         * The consumer joins these frames into DeadLetterErrorDescription: one synthetic frame that carries the
         * description (the stack is not recorded: writableStackTrace=false).
         */
        @Override
        public StackTraceElement[] getStackTrace() {
            return new StackTraceElement[] {
                new StackTraceElement("dead-letter", "description", description == null ? "" : description, -1)
            };
        }

        public String reason() {
            return reason;
        }

        public String description() {
            return description;
        }

        private static String truncate(String s) {
            return s == null || s.length() <= MAX_DEAD_LETTER_TEXT ? s : s.substring(0, MAX_DEAD_LETTER_TEXT);
        }
    }
}
