package io.dataversesync.dataverse;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * At most {@code limit} requests in any trailing window: the way Dataverse counts its service protection limit
 * (6,000 requests per 300 s sliding window per user). Written here because the rate limiters at hand count
 * fixed periods: a period of one second forbids the bursts Dataverse allows, a period of the whole window
 * allows twice the limit across a period boundary. Callers reserve a send time and sleep until it.
 */
final class SlidingWindowLimiter {
    private final int limit;
    private final long windowMillis;
    /** Send times handed out, oldest first (non-decreasing); at most {@code limit} are kept. */
    private final ArrayDeque<Long> reservations = new ArrayDeque<>();

    SlidingWindowLimiter(int limit, long windowMillis) {
        if (limit < 1 || windowMillis < 1) {
            throw new IllegalArgumentException("limit and window must be positive");
        }
        this.limit = limit;
        this.windowMillis = windowMillis;
    }

    /** Reserves the earliest send time at or after {@code now} that keeps the window within the limit. */
    synchronized long reserve(long now) {
        long at = now;
        if (!reservations.isEmpty()) {
            at = Math.max(at, reservations.peekLast());
        }
        if (reservations.size() >= limit) {
            // the request that would be the (limit+1)-th inside the window must wait until the oldest leaves it
            at = Math.max(at, nthFromEnd(limit) + windowMillis);
        }
        reservations.addLast(at);
        while (reservations.size() > limit) {
            reservations.pollFirst();
        }
        return at;
    }

    /** Whether a request now would have to wait longer than {@code maxWaitMillis} (nothing is reserved). */
    synchronized long earliest(long now) {
        if (reservations.size() < limit) {
            return Math.max(now, reservations.isEmpty() ? now : reservations.peekLast());
        }
        return Math.max(Math.max(now, reservations.peekLast()), nthFromEnd(limit) + windowMillis);
    }

    private long nthFromEnd(int n) {
        Iterator<Long> it = reservations.descendingIterator();
        long value = 0;
        for (int i = 0; i < n && it.hasNext(); i++) {
            value = it.next();
        }
        return value;
    }
}
