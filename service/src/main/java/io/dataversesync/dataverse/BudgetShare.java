package io.dataversesync.dataverse;

import java.time.Clock;

/**
 * A share of the application users' Dataverse budget for background work (the reconciliation's paged reads): at
 * most {@code share} of the requests and of the execution time the pacing gates allow per window (limits x headroom
 * x users), counted over the same sliding window. It sits in front of the gates, which still pace every request
 * against the whole budget; so background work never takes more than its share, and the live sync keeps the rest
 * even while a reconciliation runs flat out.
 */
public class BudgetShare {
    private final SlidingWindowLimiter requests;
    private final SlidingWindowLimiter executionMs;
    private final Clock clock;
    private final double share;

    /**
     * @param share  the fraction (0, 1] of the budget background work may use
     * @param limits the gates' limits (per user)
     * @param users  how many application users share the work
     */
    public BudgetShare(double share, DataverseRequestGate.Limits limits, int users, Clock clock) {
        if (!(share > 0 && share <= 1)) {
            throw new IllegalArgumentException("the budget share must be in (0, 1], was " + share);
        }
        double scale = share * limits.headroom() * Math.max(1, users);
        long window = limits.window().toMillis();
        this.requests = new SlidingWindowLimiter(Math.max(1, (long) Math.floor(limits.requestsPerWindow() * scale)), window);
        this.executionMs = new SlidingWindowLimiter(Math.max(1, (long) Math.floor(limits.executionMsPerWindow() * scale)), window);
        this.clock = clock;
        this.share = share;
    }

    /** Waits until one request of about {@code costMs} fits the share, and books it. */
    public void acquire(long costMs) throws InterruptedException {
        long cost = Math.max(0, Math.min(costMs, executionMs.limit()));
        long now;
        long sendAt;
        synchronized (this) {
            now = clock.millis();
            sendAt = Math.max(requests.earliest(now, 1), cost == 0 ? now : executionMs.earliest(now, cost));
            requests.reserve(now, 1, sendAt);
            if (cost > 0) {
                executionMs.reserve(now, cost, sendAt);
            }
        }
        if (sendAt > now) {
            Thread.sleep(sendAt - now);
        }
    }

    /** How long a request of about {@code costMs} would wait for the share now (0: it may go at once). */
    public synchronized long millisUntilSendable(long costMs) {
        long cost = Math.max(0, Math.min(costMs, executionMs.limit()));
        long now = clock.millis();
        return Math.max(requests.earliest(now, 1), cost == 0 ? now : executionMs.earliest(now, cost)) - now;
    }

    public double share() {
        return share;
    }

    /** Requests the share allows per window. */
    public long requestsPerWindow() {
        return requests.limit();
    }
}
