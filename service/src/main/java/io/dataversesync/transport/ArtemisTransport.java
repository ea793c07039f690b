package io.dataversesync.transport;

import java.time.Clock;

import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

/**
 * JMS on the embedded ActiveMQ Artemis broker. Retry copies are scheduled with Artemis' _AMQ_SCHED_DELIVERY;
 * JMSXGroupID pins one row's messages to one consumer at a time; dead letters go to QUEUE.DLQ with the
 * reason as message properties (the broker's own dead-letter address for that queue, see EmbeddedBroker).
 * Consumers are transacted, so sending a copy and settling the original commit together.
 */
public class ArtemisTransport implements Transport {
    public static final String RETRY_COUNT = "RetryCount";
    public static final String REQUESTED_AT = "SyncRequestedAt";
    public static final String CORRELATION_ID = "JMSCorrelationID";
    public static final String GROUP_ID = "JMSXGroupID";
    public static final String SCHEDULED_DELIVERY = "_AMQ_SCHED_DELIVERY";
    public static final String DEAD_LETTER_REASON = "DeadLetterReason";
    public static final String DEAD_LETTER_DESCRIPTION = "DeadLetterErrorDescription";
    public static final String DEAD_LETTER_SOURCE = "DeadLetterSource";

    private final Clock clock;

    public ArtemisTransport(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void readEnvelope(Exchange exchange) {
        Message in = exchange.getMessage();
        Long jmsTimestamp = in.getHeader("JMSTimestamp", Long.class);
        Envelope.read(exchange, in.getHeader(CORRELATION_ID, String.class), in.getHeader(RETRY_COUNT),
                in.getHeader(REQUESTED_AT), jmsTimestamp != null && jmsTimestamp > 0 ? jmsTimestamp : clock.millis());
        Envelope.readReplay(exchange, in.getHeader(REPLAY_COUNT_PROPERTY), in.getHeader(ORIGINAL_REASON_PROPERTY));
        detachFromJms(exchange);
    }

    /**
     * Once the envelope is read nothing needs the received JMS message any more: the exchange carries on with a
     * plain message of the same body and headers. Why: every copy of an exchange whose message is a JmsMessage
     * (each bean expression of a route copies the exchange) throws and catches NullPointerExceptions in Camel 4.17
     * (docs/decisions.md "CPU per change"). The transacted consumer settles through its session, not through the
     * message, so settlement is unchanged.
     */
    static void detachFromJms(Exchange exchange) {
        Message in = exchange.getMessage();
        if (in instanceof org.apache.camel.component.jms.JmsMessage) {
            org.apache.camel.support.DefaultMessage plain = new org.apache.camel.support.DefaultMessage(exchange);
            plain.copyFrom(in);
            exchange.setMessage(plain);
        }
    }

    @Override
    public void prepareRetryCopy(Exchange exchange) {
        Message m = fresh(exchange, exchange.getProperty(SyncProperties.ORIGINAL_BODY));
        m.setHeader(RETRY_COUNT, exchange.getProperty(SyncProperties.NEXT_RETRY_COUNT, Integer.class));
        m.setHeader(SCHEDULED_DELIVERY, exchange.getProperty(SyncProperties.RETRY_AT, Long.class));
        Envelope.writeReplay(exchange, m::setHeader);
        String subscription = exchange.getProperty(SyncProperties.SUBSCRIPTION, String.class);
        if (subscription != null) {
            // goes back through the topic: only this subscription's queue takes it (Sagas.Subscription#filter)
            m.setHeader(SUBSCRIBER_PROPERTY, subscription);
            m.setHeader(ENTITY_PROPERTY, exchange.getProperty(SyncProperties.ENTITY, String.class));
        }
        // JMS gives every sent message a new JMSMessageID; the copy is a new message with the same correlation id
    }

    @Override
    public void prepareFollowUp(Exchange exchange) {
        fresh(exchange, exchange.getMessage().getBody());
    }

    @Override
    public void prepareChange(Exchange exchange) {
        fresh(exchange, exchange.getMessage().getBody()).setHeader(ENTITY_PROPERTY, exchange.getProperty(SyncProperties.ENTITY, String.class));
    }

    @Override
    public void prepareDirected(Exchange exchange) {
        Message m = fresh(exchange, exchange.getMessage().getBody());
        m.setHeader(SUBSCRIBER_PROPERTY, exchange.getProperty(SyncProperties.NEXT_SUBSCRIPTION, String.class));
        m.setHeader(ENTITY_PROPERTY, exchange.getProperty(SyncProperties.ENTITY, String.class));
    }

    @Override
    public void prepareDeadLetter(Exchange exchange) {
        Message m = fresh(exchange, exchange.getProperty(SyncProperties.ORIGINAL_BODY));
        m.setHeader(RETRY_COUNT, exchange.getProperty(SyncProperties.RETRY_COUNT, Integer.class));
        m.setHeader(DEAD_LETTER_REASON, exchange.getProperty(SyncProperties.FAILURE_REASON, String.class));
        m.setHeader(DEAD_LETTER_DESCRIPTION, exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, String.class));
        m.setHeader(DEAD_LETTER_SOURCE, exchange.getProperty(SyncProperties.QUEUE, String.class));
        Envelope.writeReplay(exchange, m::setHeader);
    }

    private Message fresh(Exchange exchange, Object body) {
        Message m = exchange.getMessage();
        m.removeHeaders("*");
        m.setBody(body);
        m.setHeader(CORRELATION_ID, Envelope.ensureCorrelationId(exchange));
        m.setHeader(REQUESTED_AT, exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class));
        String group = Envelope.orderingKey(exchange);
        if (group != null) {
            m.setHeader(GROUP_ID, group);
        }
        return m;
    }

}
