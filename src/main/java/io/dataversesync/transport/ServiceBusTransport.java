package io.dataversesync.transport;

import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import io.dataversesync.sync.SyncProperties;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

/**
 * Azure Service Bus through camel-azure-servicebus 4.17 (peek-lock). Retry copies use the scheduled enqueue
 * time and a new MessageId (duplicate detection would silently drop a copy that kept the old one); RetryCount
 * travels as an application property; the SessionId is the Source Row ID so one row is never processed twice
 * at once. Dead letters go to the queue's native dead-letter subqueue: 4.17's consumer dead-letters a failed
 * exchange when enableDeadLettering=true, with DeadLetterReason "exception class: message", so
 * {@link #deadLetterNatively} fails the exchange with a {@link DeadLetterRequested} whose message is our reason
 * and description.
 */
public class ServiceBusTransport implements Transport {
    public static final String APPLICATION_PROPERTIES = "CamelAzureServiceBusApplicationProperties";
    public static final String CORRELATION_ID = "CamelAzureServiceBusCorrelationId";
    public static final String MESSAGE_ID = "CamelAzureServiceBusMessageId";
    public static final String SESSION_ID = "CamelAzureServiceBusSessionId";
    public static final String SCHEDULED_ENQUEUE_TIME = "CamelAzureServiceBusScheduledEnqueueTime";
    public static final String ENQUEUED_TIME = "CamelAzureServiceBusEnqueuedTime";
    public static final String DIAGNOSTIC_ID = "Diagnostic-Id";
    public static final String RETRY_COUNT = "RetryCount";
    public static final String REQUESTED_AT = "SyncRequestedAt";

    private final Clock clock;

    public ServiceBusTransport(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void readEnvelope(Exchange exchange) {
        Message in = exchange.getMessage();
        Map<?, ?> props = in.getHeader(APPLICATION_PROPERTIES, Map.class);
        Object retryCount = props == null ? null : props.get(RETRY_COUNT);
        Object requestedAt = props == null ? null : props.get(REQUESTED_AT);
        if (props != null && props.get(DIAGNOSTIC_ID) != null) {
            exchange.setProperty("syncDiagnosticId", String.valueOf(props.get(DIAGNOSTIC_ID)));
        }
        OffsetDateTime enqueued = in.getHeader(ENQUEUED_TIME, OffsetDateTime.class);
        Envelope.read(exchange, in.getHeader(CORRELATION_ID, String.class), retryCount, requestedAt,
                enqueued != null ? enqueued.toInstant().toEpochMilli() : clock.millis());
    }

    @Override
    public void prepareRetryCopy(Exchange exchange) {
        Message m = fresh(exchange, exchange.getProperty(SyncProperties.ORIGINAL_BODY));
        applicationProperties(m).put(RETRY_COUNT, exchange.getProperty(SyncProperties.NEXT_RETRY_COUNT, Integer.class));
        long at = exchange.getProperty(SyncProperties.RETRY_AT, Long.class);
        m.setHeader(SCHEDULED_ENQUEUE_TIME, OffsetDateTime.ofInstant(Instant.ofEpochMilli(at), ZoneOffset.UTC));
    }

    @Override
    public void prepareFollowUp(Exchange exchange) {
        fresh(exchange, exchange.getMessage().getBody());
    }

    @Override
    public void prepareDeadLetter(Exchange exchange) {
        Message m = exchange.getMessage();
        m.setHeader("CamelAzureServiceBusDeadLetterReason", exchange.getProperty(SyncProperties.FAILURE_REASON, String.class));
        m.setHeader("CamelAzureServiceBusDeadLetterErrorDescription", exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, String.class));
    }

    /** The dead-letter "endpoint" on Service Bus: fail the exchange so the consumer dead-letters the received message. */
    public void deadLetterNatively(Exchange exchange) {
        throw new DeadLetterRequested(exchange.getProperty(SyncProperties.FAILURE_REASON, String.class),
                exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, String.class));
    }

    private Message fresh(Exchange exchange, Object body) {
        Message m = exchange.getMessage();
        Object diagnosticId = exchange.getProperty("syncDiagnosticId");
        m.removeHeaders("*");
        m.setBody(body);
        m.setHeader(MESSAGE_ID, UUID.randomUUID().toString());
        m.setHeader(CORRELATION_ID, Envelope.ensureCorrelationId(exchange));
        String session = Envelope.orderingKey(exchange);
        if (session != null) {
            m.setHeader(SESSION_ID, session);
        }
        Map<String, Object> props = applicationProperties(m);
        props.put(REQUESTED_AT, exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class));
        if (diagnosticId != null) {
            props.put(DIAGNOSTIC_ID, diagnosticId);
        }
        return m;
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

    @Override
    public String name() {
        return "servicebus";
    }

    /** Thrown on purpose: the Service Bus consumer turns it into a native dead-letter with this reason. */
    public static class DeadLetterRequested extends RuntimeException {
        public DeadLetterRequested(String reason, String description) {
            super(reason + " | " + description, null, false, false);
        }
    }
}
