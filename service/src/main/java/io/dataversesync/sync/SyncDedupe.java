package io.dataversesync.sync;

import io.dataversesync.exchange.SyncProperties;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.camel.Exchange;

/**
 * No duplicate work. Two checks, keyed by row (on the outbound queue: what was published) and by row and target
 * (on a target's queue: what that target received):
 * <ul>
 * <li>{@link #alreadyDelivered}: a notification announced before a read of its row that was delivered to the
 * target is covered by that read (last snapshot delivery: a read returns every earlier change), so it needs no
 * read of its own. The clock-skew margin guards against the announcing clock running ahead of ours.</li>
 * <li>{@link #unchanged}: a mapped payload whose hash equals the one last delivered (stored on the row by the
 * write-back, or remembered here until that write-back lands) is not sent again. This is also what stops the
 * echo of our own write-back from calling the target.</li>
 * </ul>
 * Memory is bounded (least recently used rows are forgotten; forgetting only costs a read).
 */
public class SyncDedupe {
    private record Delivered(long readAt, String payloadHash) {
    }

    private final boolean enabled;
    private final long clockSkewMillis;
    private final Map<String, Delivered> delivered;

    public SyncDedupe(boolean enabled, long clockSkewMillis, int maxRows) {
        this.enabled = enabled;
        this.clockSkewMillis = clockSkewMillis;
        this.delivered = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Delivered> eldest) {
                return size() > maxRows;
            }
        };
    }

    /** Before enrich: was this change already delivered by a later read of the same row? */
    public boolean alreadyDelivered(Exchange exchange) {
        if (!enabled || exchange.getProperty(SyncProperties.RESEND) != null) {
            return false;
        }
        Long requestedAt = exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class);
        Delivered last = get(key(exchange));
        if (requestedAt == null || last == null) {
            return false;
        }
        // A published change stands for every notification its own read covered (the outbound hop skipped them on
        // its behalf): only a delivered read that started after that read covers it too. Without this, a change
        // published from a newer read but queued behind an older one (e.g. re-read after a restart while the older
        // copy still waited on the target's queue) was skipped, and the newest version never reached the target.
        Long coveredUntil = exchange.getProperty(SyncProperties.COVERED_UNTIL, Long.class);
        long horizon = coveredUntil == null ? requestedAt : Math.max(requestedAt, coveredUntil);
        return horizon + clockSkewMillis < last.readAt();
    }

    /** After transform: is the payload the one already delivered? If so, this read counts as delivered too. */
    public boolean unchanged(Exchange exchange) {
        if (!enabled || exchange.getProperty(SyncProperties.RESEND) != null) {
            return false;
        }
        String hash = exchange.getProperty(SyncProperties.PAYLOAD_HASH, String.class);
        if (hash == null) {
            return false;
        }
        Delivered last = get(key(exchange));
        boolean same = hash.equals(exchange.getProperty(SyncProperties.ROW_SYNCED_HASH, String.class))
                || (last != null && hash.equals(last.payloadHash()));
        if (same) {
            recordDelivered(exchange);
        }
        return same;
    }

    /** After the target accepted the payload: remember when its row was read and what was sent. */
    public void recordDelivered(Exchange exchange) {
        if (!enabled) {
            return;
        }
        Long readAt = exchange.getProperty(SyncProperties.READ_AT, Long.class);
        if (readAt == null) {
            return;
        }
        String hash = exchange.getProperty(SyncProperties.PAYLOAD_HASH, String.class);
        String key = key(exchange);
        synchronized (delivered) {
            Delivered previous = delivered.get(key);
            if (previous == null || previous.readAt() <= readAt) {
                delivered.put(key, new Delivered(readAt, hash));
            }
        }
    }

    private Delivered get(String key) {
        synchronized (delivered) {
            return delivered.get(key);
        }
    }

    /** Per row, and per target on a target's copy (the outbound consumer's key is the row: what was published). */
    private static String key(Exchange exchange) {
        String target = exchange.getProperty(SyncProperties.TARGET, String.class);
        return exchange.getProperty(SyncProperties.ENTITY, String.class) + ":" + exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class)
                + (target == null ? "" : ":" + target);
    }
}
