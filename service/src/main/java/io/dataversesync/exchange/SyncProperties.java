package io.dataversesync.exchange;

/**
 * Names of the exchange properties that carry one message's journey through the routes. Routes refer to
 * them as ${exchangeProperty.NAME}; state lives here, never in headers, so transport and HTTP headers can be
 * cleared freely between hops.
 */
public final class SyncProperties {
    /** Queue the message was consumed from: retry copies go back there, dead letters to its dead-letter queue. */
    public static final String QUEUE = "syncQueue";
    public static final String ENTITY = "syncEntity";
    public static final String SOURCE_ROW_ID = "syncSourceRowId";
    /** Create, Update or Delete (what changed in Dataverse; Delete also when the row is gone at enrich time). */
    public static final String OPERATION = "syncOperation";
    public static final String CORRELATION_ID = "syncCorrelationId";
    public static final String RETRY_COUNT = "syncRetryCount";
    /** Epoch millis when the change was first announced; kept across retries for end-to-end latency. */
    public static final String REQUESTED_AT = "syncRequestedAt";
    /** The body as received, re-sent unchanged in a retry copy. */
    public static final String ORIGINAL_BODY = "syncOriginalBody";
    /**
     * The hop being executed, for metrics and dead-letter descriptions: the hop route's id (sync-enrich, ...), set
     * once on entering it (routeConfiguration sync-hop); {@link #hopName} reports it without the prefix.
     */
    public static final String HOP = "syncHop";
    public static final String ROW_DELETED = "syncRowDeleted";
    public static final String ROW_ETAG = "syncRowEtag";
    /** Epoch millis when the enrich read started: the row read includes every change announced before it. */
    public static final String READ_AT = "syncReadAt";
    /**
     * On a target's copy of a published change: when the read it was published from started (its readAt, kept even
     * when the snapshot is too old to use). The outbound hop skipped every notification announced before that read on
     * this change's behalf, so only a delivered read that started later covers it (SyncDedupe.alreadyDelivered).
     */
    public static final String COVERED_UNTIL = "syncCoveredUntil";
    /** Hash of the payload last delivered, as stored on the row by the write-back. */
    public static final String ROW_SYNCED_HASH = "syncRowSyncedHash";
    /** The target this copy of a change is for (a target's route sets it); null on the outbound and ack queues. */
    public static final String TARGET = "syncTarget";
    /** The target an acknowledgement reports on (the write-back fills its columns). */
    public static final String WRITE_BACK_TARGET = "syncWriteBackTarget";
    /**
     * The subscription a message on the changes topic was consumed from: the target's name, or
     * <step>-compensation. A retry copy goes back to the topic addressed to it (syncSubscriber).
     */
    public static final String SUBSCRIPTION = "syncSubscription";
    /** The subscription a message is forwarded to (the next saga step, or a compensation). */
    public static final String NEXT_SUBSCRIPTION = "syncNextSubscription";
    /** The saga this step belongs to (null outside a saga). */
    public static final String SAGA = "syncSaga";
    public static final String SAGA_ID = "syncSagaId";
    /** A saga's results so far: step name -> the row id its target answered. */
    public static final String SAGA_RESULTS = "syncSagaResults";
    /** The step whose definitive error started the compensation, and why. */
    public static final String SAGA_FAILED_STEP = "syncSagaFailedStep";
    public static final String SAGA_FAILURE = "syncSagaFailure";
    /** true on a compensation's consumer. */
    public static final String COMPENSATING = "syncCompensating";
    /** The step to compensate after this one (null = this is the first step: the saga ends Compensated). */
    public static final String PREVIOUS_STEP = "syncPreviousStep";
    /** The next step of a saga after this one succeeded (null = the last step). */
    public static final String NEXT_STEP = "syncNextStep";
    /** On an acknowledgement: synced (default) or compensated. */
    public static final String OUTCOME = "syncOutcome";
    /** The row as read (JSON), kept for forwarding it to the next saga step. */
    public static final String ROW_JSON = "syncRowJson";
    /** false when the target does not subscribe to the change's entity (the copy is skipped). */
    public static final String SUBSCRIBED = "syncSubscribed";
    /** The target's delete mode (delete, soft-delete, ignore), from its declaration. */
    public static final String DELETE_MODE = "syncDeleteMode";
    public static final String TARGET_ROW_ID = "syncTargetRowId";
    public static final String PAYLOAD_HASH = "syncPayloadHash";
    /** A correction for one target only (a notification naming it): published with syncSubscriber = that target. */
    public static final String ONLY_TARGET = "syncOnlyTarget";
    /**
     * A correction that must reach the target even if its payload looks unchanged (the target drifted): not skipped
     * by the de-duplication; its value ends the target call's Idempotency-Key, so it is not taken for a repeat.
     */
    public static final String RESEND = "syncResend";

    // set by the retry policy
    public static final String DECISION = "syncDecision";
    public static final String RETRY_DELAY_MS = "syncRetryDelayMs";
    public static final String RETRY_AT = "syncRetryAt";
    public static final String NEXT_RETRY_COUNT = "syncNextRetryCount";
    public static final String FAILURE_REASON = "syncFailureReason";
    public static final String FAILURE_DESCRIPTION = "syncFailureDescription";

    // the outbox relay (routes/outbox-relay.camel.yaml)
    /** The outbox record being relayed (its key, a GUID). */
    public static final String OUTBOX_RECORD_ID = "syncOutboxRecordId";
    /** relay, wait or refuse (OutboxRelay). */
    public static final String OUTBOX_DECISION = "syncOutboxDecision";
    /** Why a record waits or is refused. */
    public static final String OUTBOX_REASON = "syncOutboxReason";
    /** The @odata.nextLink of the page just read (null: the last page). */
    public static final String OUTBOX_NEXT_LINK = "syncOutboxNextLink";
    /** Records read in this run so far. */
    public static final String OUTBOX_READ = "syncOutboxRead";
    /** Whether the run reads another page. */
    public static final String OUTBOX_MORE = "syncOutboxMore";
    /**
     * What a follow-up message on the ack queue is besides an acknowledgement (retrying-N: a Retrying status): Service
     * Bus derives its MessageId from it, so it never equals the id of the same received message's acknowledgement.
     */
    public static final String FOLLOW_UP_KIND = "syncFollowUpKind";

    /** The hop of a target's own call (set just before it; the target's breaker counts its failures). */
    public static final String TARGET_HOP = "sync-call-target";

    /** Prefix of the hop routes' ids (routes/outbound-sync.camel.yaml, routes/ack-writeback.camel.yaml). */
    public static final String HOP_ROUTE_PREFIX = "sync-";

    private SyncProperties() {
    }

    /** The hop's name for people: sync-enrich -> enrich; no hop yet (the consumer itself) -> consume. */
    public static String hopName(String hop) {
        if (hop == null || hop.isBlank()) {
            return "consume";
        }
        return hop.startsWith(HOP_ROUTE_PREFIX) ? hop.substring(HOP_ROUTE_PREFIX.length()) : hop;
    }

    /** A replayed dead letter (operations API): how often it was replayed, carried by its retry copies and dead letters. */
    public static final String REPLAY_COUNT = "syncReplayCount";
    /** A replayed dead letter: the reason of the dead letter it was first replayed from. */
    public static final String ORIGINAL_DEAD_LETTER_REASON = "syncOriginalDeadLetterReason";
}
