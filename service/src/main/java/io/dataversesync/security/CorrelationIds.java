package io.dataversesync.security;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.regex.Pattern;

import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The one gate a correlation id passes when a message is read (the transport's correlation id, or one a body carries:
 * a RemoteExecutionContext's CorrelationId, a change's correlationId). It goes into outgoing HTTP headers
 * (X-Correlation-ID to Dataverse and the targets), into the broker's correlation id of every follow-up message and
 * into every log line (MDC), so it must be harmless there: 1..128 characters of letters, digits and {@code ._:@/+={}-}
 * (GUIDs, with or without braces, and the usual trace ids). Anything else never stops the change: it is replaced by
 * a name-based UUID of the original (the same odd id always gets the same replacement, so its retries and follow-ups
 * stay correlated) and the original is kept, escaped and abbreviated, in {@code syncOriginalCorrelationId} (dead-letter
 * descriptions) and in one WARN line.
 */
public final class CorrelationIds {
    /** Exchange property: the received correlation id that was replaced (escaped, abbreviated); null when kept. */
    public static final String ORIGINAL = "syncOriginalCorrelationId";
    public static final String MDC_KEY = "correlationId";
    public static final int MAX_LENGTH = 128;
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._:@/+={}-]{1," + MAX_LENGTH + "}");
    private static final int MAX_ORIGINAL_KEPT = 200;
    private static final Logger LOG = LoggerFactory.getLogger(CorrelationIds.class);

    private CorrelationIds() {
    }

    public static boolean isValid(String id) {
        return id != null && VALID.matcher(id).matches();
    }

    /** The id to use for a received one: itself when valid, null when absent, else its replacement. */
    public static String checked(String received) {
        if (received == null || received.isBlank()) {
            return null;
        }
        return isValid(received) ? received : replacement(received);
    }

    static String replacement(String received) {
        return UUID.nameUUIDFromBytes(("correlation-id:" + received).getBytes(StandardCharsets.UTF_8)).toString();
    }

    /**
     * Adopts a received correlation id as the message's (property and MDC), checked; a replaced one is logged once
     * with its original, escaped. Returns what was adopted (null when absent).
     */
    public static String adopt(Exchange exchange, String received) {
        String id = checked(received);
        exchange.setProperty(SyncProperties.CORRELATION_ID, id);
        if (id != null && !id.equals(received)) {
            String original = SafeText.abbreviate(received, MAX_ORIGINAL_KEPT);
            exchange.setProperty(ORIGINAL, original);
            MDC.put(MDC_KEY, id);
            LOG.warn("Correlation id replaced by {}: the received one is not a valid header value (original, escaped: '{}')", id, original);
        } else if (id != null) {
            MDC.put(MDC_KEY, id);
        }
        return id;
    }
}
