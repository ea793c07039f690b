package io.dataversesync.transport;

import org.apache.camel.Exchange;

/**
 * The one small place where the local broker (Artemis over JMS) and Azure Service Bus differ: how a message's
 * envelope (correlation id, RetryCount, scheduled time, ordering key, dead-letter reason) maps to transport
 * headers. Routes and the retry policy only see exchange properties; the sends themselves are the routes of
 * routes/transport/NAME.camel.yaml (sync.transport picks one).
 */
public interface Transport {
    /** Reads correlation id, RetryCount and first-request time of the received message into exchange properties. */
    void readEnvelope(Exchange exchange);

    /** Turns the exchange into the retry copy: original body, fresh headers, RetryCount+1, scheduled enqueue time. */
    void prepareRetryCopy(Exchange exchange);

    /** Headers for a new message that continues this journey (the acknowledgement). */
    void prepareFollowUp(Exchange exchange);

    /**
     * A new change notification (body = the notification JSON): the correlation id, requested-at and the row (for
     * ordering) come from the exchange properties, as for a follow-up.
     */
    default void prepareNotification(Exchange exchange) {
        prepareFollowUp(exchange);
    }

    /**
     * A change for the targets (body = the change JSON) on the changes topic: like a follow-up, plus the entity
     * as a property subscriptions can filter on.
     */
    void prepareChange(Exchange exchange);

    /**
     * A message on the changes topic for one subscription only (syncNextSubscription: the next saga step, or a
     * compensation): like a follow-up, plus the entity and syncSubscriber its filter matches.
     */
    default void prepareDirected(Exchange exchange) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot address one subscription yet");
    }

    /** Message property naming the entity of a change (subscription filters). */
    String ENTITY_PROPERTY = "syncEntity";
    /** Message property naming the one target a message on the topic is for (retry copies, replays). */
    String SUBSCRIBER_PROPERTY = "syncSubscriber";

    /**
     * Message properties of a replayed dead letter (the operations API sets them): how often it was replayed and the
     * reason it was first dead-lettered for. Retry copies and a new dead letter carry them on (Envelope).
     */
    String REPLAY_COUNT_PROPERTY = "SyncReplayCount";
    String ORIGINAL_REASON_PROPERTY = "SyncOriginalDeadLetterReason";

    /** Turns the exchange into the dead letter: original body, reason and description. */
    void prepareDeadLetter(Exchange exchange);
}
