package io.dataversesync.transport;

import java.util.UUID;

import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.security.CorrelationIds;
import org.apache.camel.Exchange;
import org.slf4j.MDC;

/** Transport-independent parts of reading and writing an envelope. */
final class Envelope {
    static final String MDC_CORRELATION_ID = CorrelationIds.MDC_KEY;
    /**
     * The highest RetryCount a received message may claim. No retry schedule comes near it; a larger, negative or
     * non-numeric value is not ours and counts as 0 (a first attempt): such metadata must never cost a valid change
     * its retries (a huge count would dead-letter it at its first transient failure).
     */
    static final int MAX_RETRY_COUNT = 1000;
    private static final long MAX_CLOCK_SKEW_MS = 60_000;

    private Envelope() {
    }

    static void read(Exchange exchange, String correlationId, Object retryCount, Object requestedAt, long fallbackRequestedAt) {
        // checked here, once: it goes into HTTP headers, follow-up messages and every log line (CorrelationIds)
        String id = CorrelationIds.adopt(exchange, correlationId);
        exchange.setProperty(SyncProperties.RETRY_COUNT, parseCount(retryCount));
        Long at = parseLong(requestedAt);
        // the first-request time decides whether a later read already covers the change (SyncDedupe): one that is
        // not a time, or later than the message itself was enqueued (plus a minute of clock skew), is not ours
        boolean plausible = at != null && at > 0 && at <= fallbackRequestedAt + MAX_CLOCK_SKEW_MS;
        exchange.setProperty(SyncProperties.REQUESTED_AT, plausible ? at : fallbackRequestedAt);
        exchange.setProperty(SyncProperties.ORIGINAL_BODY, exchange.getMessage().getBody(String.class));
        MDC.put(MDC_CORRELATION_ID, id == null ? "-" : id);
    }

    /** A replayed message's replay count and original reason (absent on any other message). */
    static void readReplay(Exchange exchange, Object replayCount, Object originalReason) {
        int count = parseCount(replayCount);
        exchange.setProperty(SyncProperties.REPLAY_COUNT, count > 0 ? count : null);
        exchange.setProperty(SyncProperties.ORIGINAL_DEAD_LETTER_REASON, originalReason == null ? null : String.valueOf(originalReason));
    }

    /** Carries them on to a retry copy or a dead letter, so a replayed message that fails again still says so. */
    static void writeReplay(Exchange exchange, java.util.function.BiConsumer<String, Object> put) {
        Integer count = exchange.getProperty(SyncProperties.REPLAY_COUNT, Integer.class);
        if (count != null) {
            put.accept(Transport.REPLAY_COUNT_PROPERTY, count);
            String reason = exchange.getProperty(SyncProperties.ORIGINAL_DEAD_LETTER_REASON, String.class);
            if (reason != null) {
                put.accept(Transport.ORIGINAL_REASON_PROPERTY, reason);
            }
        }
    }

    /**
     * A message without a correlation id (e.g. a RemoteExecutionContext that carried none) gets one here, after
     * validation had its chance to take it from the body; every later hop and message then carries it.
     */
    static String ensureCorrelationId(Exchange exchange) {
        String id = exchange.getProperty(SyncProperties.CORRELATION_ID, String.class);
        if (id == null) {
            id = UUID.randomUUID().toString();
            exchange.setProperty(SyncProperties.CORRELATION_ID, id);
        }
        MDC.put(MDC_CORRELATION_ID, id);
        return id;
    }

    /** Ordering key: all messages of one row share it (Artemis message group, Service Bus session). */
    static String orderingKey(Exchange exchange) {
        String row = exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
        return row == null ? null : row;
    }

    static int parseCount(Object value) {
        Long v = parseLong(value);
        return v == null || v < 0 || v > MAX_RETRY_COUNT ? 0 : v.intValue();
    }

    static Long parseLong(Object value) {
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof String s && !s.isBlank()) {
            try {
                return Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }
}
