package io.dataversesync.dataverse;

import java.util.Map;
import java.util.TreeMap;

/**
 * At most {@code limit} units in any trailing window: the way Dataverse counts its service protection limits
 * per user (6,000 requests, 1,200,000 ms of execution time, per 300 s sliding window). A request is one unit of
 * the request budget and its estimated milliseconds of the execution-time budget. Written here because the rate
 * limiters at hand count fixed periods: a period of one second forbids the bursts Dataverse allows, a period of
 * the whole window allows twice the limit across a period boundary. Callers reserve a send time and sleep until
 * it; {@link #book} records what was spent without asking (e.g. what the server reported), {@link #cancel} takes a
 * reservation back (to book what it really cost when its answer is in).
 *
 * <p>An entry at time t counts in the windows (x - window, x] that contain t, i.e. it leaves at t + window.
 * Send times are handed out in order (never before an entry already held), so a new reservation only has to fit
 * the window that ends at it.
 */
final class SlidingWindowLimiter {
    private static final int SETTLED = 0;
    private static final int PENDING = 1;

    private final long limit;
    private final long windowMillis;
    private long pendingLagMillis; // guarded by this
    /** {settled, pending} units by time; entries that left the window are dropped lazily. */
    private final TreeMap<Long, long[]> entries = new TreeMap<>();
    /** Units of the entries held. */
    private long held;
    /** Units that have left the window so far (for what the server frees between two of its answers). */
    private long freed;
    /**
     * The latest entry's time (Long.MIN_VALUE when none), and a time before which no entry can leave the window (a
     * lower bound: the oldest entry's time plus the window). With them the usual question (units that fit, nothing
     * due to leave) is answered without walking the tree: asked for every user before every request and batch
     * timer, the walk's cache misses were 4 % of the service's CPU at steady load.
     */
    private long latest = Long.MIN_VALUE;
    private long nothingLeavesBefore = Long.MAX_VALUE;

    SlidingWindowLimiter(long limit, long windowMillis) {
        if (limit < 1 || windowMillis < 1) {
            throw new IllegalArgumentException("limit and window must be positive");
        }
        this.limit = limit;
        this.windowMillis = windowMillis;
    }

    long limit() {
        return limit;
    }

    long windowMillis() {
        return windowMillis;
    }

    /**
     * How much later than their time pending reservations may still be replaced by what they cost (how long a
     * request takes; 0 at first): they are assumed to stay in the window that much longer, so that no reservation
     * counts on one leaving before what replaces it does.
     */
    synchronized void pendingLag(long millis) {
        pendingLagMillis = Math.max(0, millis);
    }

    /** Reserves one unit: the earliest send time at or after {@code now} that keeps the window within the limit. */
    synchronized long reserve(long now) {
        return reserve(now, 1, now);
    }

    /**
     * Reserves {@code units} at the earliest time at or after {@code notBefore} (and not before any entry held)
     * that keeps every window within the limit. More units than the limit wait for an empty window instead of
     * forever. The reservation is pending until {@link #cancel cancelled} (or it leaves the window).
     */
    synchronized long reserve(long now, long units, long notBefore) {
        long at = earliest(now, units, notBefore);
        add(at, units, PENDING);
        return at;
    }

    /** When one unit could be sent (nothing is reserved). */
    synchronized long earliest(long now) {
        return earliest(now, 1, now);
    }

    /** When {@code units} could be sent (nothing is reserved). */
    synchronized long earliest(long now, long units) {
        return earliest(now, units, now);
    }

    private long earliest(long now, long units, long notBefore) {
        prune(now);
        long need = Math.min(Math.max(units, 0), limit);
        // not before the latest entry: every entry is then inside or before the window ending at the new one
        long at = Math.max(Math.max(now, notBefore), latest);
        if (held + need <= limit) {
            return at;
        }
        // drop the oldest entries (in thought) until the rest plus this one fit: it goes when the last dropped leaves
        long inWindow = held;
        for (Map.Entry<Long, long[]> oldest : entries.entrySet()) {
            if (inWindow + need <= limit) {
                break;
            }
            at = Math.max(at, leaves(oldest));
            inWindow -= oldest.getValue()[SETTLED] + oldest.getValue()[PENDING];
        }
        return at;
    }

    /**
     * Records units already spent at {@code now}, without waiting. May take the window over its limit: then
     * reservations wait until enough has left it.
     */
    synchronized void book(long now, long units) {
        prune(now);
        add(now, units, SETTLED);
    }

    /** Takes back a pending reservation made for {@code time} (to book what it really cost instead). */
    synchronized void cancel(long time, long units) {
        long[] there = entries.get(time);
        if (there == null || units <= 0) {
            return; // already left the window
        }
        long taken = Math.min(there[PENDING], units);
        there[PENDING] -= taken;
        held -= taken;
        if (there[SETTLED] == 0 && there[PENDING] == 0) {
            entries.remove(time);
            if (time == latest) {
                latest = entries.isEmpty() ? Long.MIN_VALUE : entries.lastKey();
            }
        }
    }

    /** Units in the window at {@code now}, reservations for later included. */
    synchronized long used(long now) {
        prune(now);
        return held;
    }

    /** Units that have left the window up to {@code now}, since this limiter was created (monotonic). */
    synchronized long freedTotal(long now) {
        prune(now);
        return freed;
    }

    private long leaves(Map.Entry<Long, long[]> entry) {
        return entry.getKey() + windowMillis + (entry.getValue()[PENDING] > 0 ? pendingLagMillis : 0);
    }

    private void add(long at, long units, int kind) {
        if (units <= 0) {
            return;
        }
        entries.computeIfAbsent(at, t -> new long[2])[kind] += units;
        held += units;
        latest = Math.max(latest, at);
        nothingLeavesBefore = Math.min(nothingLeavesBefore, at + windowMillis);
    }

    private void prune(long now) {
        if (now < nothingLeavesBefore) {
            return;
        }
        var it = entries.headMap(now - windowMillis, true).entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, long[]> entry = it.next();
            long[] units = entry.getValue();
            long gone = units[SETTLED];
            units[SETTLED] = 0;
            if (entry.getKey() + windowMillis + pendingLagMillis <= now) {
                gone += units[PENDING];
                units[PENDING] = 0;
            }
            held -= gone;
            freed += gone;
            if (units[PENDING] == 0) {
                it.remove();
            }
        }
        nothingLeavesBefore = entries.isEmpty() ? Long.MAX_VALUE : entries.firstKey() + windowMillis;
        latest = entries.isEmpty() ? Long.MIN_VALUE : entries.lastKey();
    }
}
