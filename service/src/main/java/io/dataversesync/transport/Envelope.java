package io.dataversesync.transport;

import java.util.UUID;

import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;
import org.slf4j.MDC;

/** Transport-independent parts of reading and writing an envelope. */
final class Envelope {
    static final String MDC_CORRELATION_ID = "correlationId";

    private Envelope() {
    }

    static void read(Exchange exchange, String correlationId, Object retryCount, Object requestedAt, long fallbackRequestedAt) {
        String id = correlationId == null || correlationId.isBlank() ? null : correlationId;
        exchange.setProperty(SyncProperties.CORRELATION_ID, id);
        exchange.setProperty(SyncProperties.RETRY_COUNT, parseCount(retryCount));
        Long at = parseLong(requestedAt);
        exchange.setProperty(SyncProperties.REQUESTED_AT, at != null ? at : fallbackRequestedAt);
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
        return v == null || v < 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, v);
    }

    static Long parseLong(Object value) {
        if (value instanceof Number n) {
            return n.longValue();
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
