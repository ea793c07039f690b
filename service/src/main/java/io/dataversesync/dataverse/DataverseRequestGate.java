package io.dataversesync.dataverse;

import java.time.Clock;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Keeps one Dataverse application user under the service protection limits, on the client side, so that the
 * service causes no 429 of any kind. Dataverse counts per user over a sliding window (300 s): requests (6,000),
 * combined execution time (1,200,000 ms; a $batch is one request but pays for each operation in full) and
 * concurrent requests (52). The gate keeps:
 * <ul>
 * <li>two budgets on the same sliding window ({@link SlidingWindowLimiter}, bursts as Dataverse allows them, never
 * more than the window holds), each the limit times the headroom: one unit per request, and execution
 * milliseconds; a request is admitted when both have room for it (its cost estimated by
 * {@link DataverseCostEstimator});</li>
 * <li>a concurrency cap (Resilience4j Bulkhead);</li>
 * <li>after a 429, a pause for every request of that user until Retry-After has passed (sending during the wait
 * prolongs it).</li>
 * </ul>
 * <b>Estimate.</b> {@link #acquire} reserves the estimate at the send time; when the answer is in, {@link #onResponse}
 * moves it to the time of the answer (Dataverse charges execution time when a request has run, so it leaves the
 * server's window then, not at the send time). Until then, no other request counts on the reservation leaving the
 * window before its send time plus the window plus how long requests take (the longest recent duration, decaying
 * by 5% an answer; nothing before the first answer: only a window whose whole budget is in flight at once, before
 * any answer, could count on it). The budget holds estimates, not the charges the headers report per answer: with
 * requests in flight together those come in lumps (one answer carries another's charge, the other none), and a
 * budget that dropped a charge until a later answer brought it would admit too much meanwhile (measured against
 * the emulator). The reported charges teach the estimator instead, and the reconciliation books what the estimates
 * missed.
 *
 * <p><b>Reconcile.</b> Then both budgets are compared with what the server reported ({@link RateLimitHeaders}): when
 * it says less remains than the gate believes (other clients on the same application user, estimates too low),
 * the gate trusts the server and books the difference at the time of the answer. Booked there, it leaves the
 * window at the latest moment the unseen spending could: the gate may hold longer than needed, never shorter.
 * Differences within a tolerance (1% of the limit) are timing noise and are not booked, unless the server reports
 * less than the next request needs.
 *
 * <p><b>Hold.</b> The hold is the budget itself: when the headers report less time or fewer requests than the next
 * request needs, the booked difference fills the window and the next request waits until enough of the recorded
 * costs, oldest first, have left it ("until the oldest recorded cost leaves the window", repeated until it fits).
 * A wait beyond maxWait fails as {@link PacingTimeoutException}, which the retry policy treats as transient.
 */
public class DataverseRequestGate {
    /** Dataverse's service protection limits for one user, and what the gate does with them. */
    public record Limits(int requestsPerWindow, long executionMsPerWindow, Duration window, double headroom, int maxConcurrent,
            Duration maxWait) {
    }

    private final String user;
    private final long requestLimit;
    private final long executionLimit;
    private final SlidingWindowLimiter requests;
    private final SlidingWindowLimiter executionMs;
    /** The charges the server reported, as its window holds them (only what leaves it is read). */
    private final SlidingWindowLimiter charges;
    private final Bulkhead concurrency;
    private final AtomicLong pausedUntil = new AtomicLong();
    private final Duration maxWait;
    private final Clock clock;
    private final Timer waited;
    // the last execution-time header, what of the reported charges had left the window then, and the attribution
    // carried over (guarded by this)
    private long lastTimeRemaining = RateLimitHeaders.UNKNOWN;
    private long freedAtLastTimeRemaining;
    private long carried;
    private long carriedAt;
    private double answerLag; // how long requests take: the longest recent duration, decaying (guarded by this)

    /** How long a negative drop (answers overtaking each other, the server freeing before the gate) is carried over. */
    static final long CARRY_MILLIS = 2000;

    /** What {@link #acquire} reserved: the send time and the estimated execution milliseconds. */
    public record Ticket(long sendAt, long costMs) {
    }

    public DataverseRequestGate(String user, Limits limits, Clock clock, MeterRegistry meters) {
        this.user = user;
        this.maxWait = limits.maxWait();
        this.clock = clock;
        this.requestLimit = limits.requestsPerWindow();
        this.executionLimit = limits.executionMsPerWindow();
        long window = limits.window().toMillis();
        this.requests = new SlidingWindowLimiter(Math.max(1, (long) Math.floor(limits.requestsPerWindow() * limits.headroom())), window);
        this.executionMs = new SlidingWindowLimiter(Math.max(1, (long) Math.floor(limits.executionMsPerWindow() * limits.headroom())), window);
        this.charges = new SlidingWindowLimiter(Long.MAX_VALUE, window);
        this.concurrency = Bulkhead.of("dataverse-" + user, BulkheadConfig.custom()
                .maxConcurrentCalls(limits.maxConcurrent())
                .maxWaitDuration(limits.maxWait())
                .build());
        this.waited = Timer.builder("dataverse.limiter.wait")
                .description("Time Dataverse requests waited in the client-side limiter")
                .tag("user", user)
                .register(meters);
    }

    /**
     * Blocks until this user may send one request of an estimated {@code costMs} execution milliseconds. When its
     * answer is in, call {@link #onResponse} (or {@link #onNoAnswer}) with the ticket, and {@link #release()}.
     */
    public Ticket acquire(long costMs) throws InterruptedException {
        long start = System.nanoTime();
        long pause = pausedUntil.get() - clock.millis();
        if (pause > maxWait.toMillis()) {
            throw new PacingTimeoutException("Dataverse user " + user + " is paused by a 429 for " + pause + " ms more");
        }
        if (pause > 0) {
            Thread.sleep(pause);
        }
        long now;
        long sendAt;
        synchronized (this) {
            now = clock.millis();
            long byRequests = requests.earliest(now, 1);
            long byTime = executionMs.earliest(now, costMs);
            sendAt = Math.max(byRequests, byTime);
            if (sendAt - now > maxWait.toMillis()) {
                throw new PacingTimeoutException("Dataverse user " + user + ": " + (byTime > byRequests
                        ? "no execution time for a request of ~" + costMs + " ms"
                        : "no request slot") + " within " + maxWait.toMillis() + " ms");
            }
            // both budgets have room at sendAt (room only grows as the window slides): reserve it in both
            requests.reserve(now, 1, sendAt);
            executionMs.reserve(now, costMs, sendAt);
        }
        if (sendAt > now) {
            Thread.sleep(sendAt - now);
        }
        try {
            concurrency.acquirePermission();
        } catch (io.github.resilience4j.bulkhead.BulkheadFullException full) {
            synchronized (this) { // it is not sent: its reservations go back
                requests.cancel(sendAt, 1);
                executionMs.cancel(sendAt, costMs);
            }
            throw new PacingTimeoutException("Dataverse user " + user + ": over " + concurrency.getBulkheadConfig().getMaxConcurrentCalls()
                    + " concurrent requests for " + maxWait.toMillis() + " ms");
        }
        waited.record(Duration.ofNanos(System.nanoTime() - start));
        return new Ticket(sendAt, costMs);
    }

    /** How long a request of this user would wait now (windows or a 429 pause) for a minimal request. */
    public long millisUntilSendable() {
        return millisUntilSendable(1);
    }

    /** How long a request of {@code costMs} execution milliseconds would wait now; nothing is reserved. */
    public long millisUntilSendable(long costMs) {
        long now = clock.millis();
        long windows;
        synchronized (this) {
            windows = Math.max(requests.earliest(now, 1), executionMs.earliest(now, costMs));
        }
        return Math.max(0, Math.max(pausedUntil.get(), windows) - now);
    }

    /**
     * How much of this user's sliding-window budget is spent or reserved, 0..1: the larger share of the request
     * budget and the execution-time budget (each with its headroom), so the one closer to its limit decides.
     */
    public double budgetUsed() {
        long now = clock.millis();
        synchronized (this) {
            return Math.max((double) requests.used(now) / requests.limit(), (double) executionMs.used(now) / executionMs.limit());
        }
    }

    /** Requests this user may still start at once under its concurrency cap. */
    public int availableConcurrentCalls() {
        return concurrency.getMetrics().getAvailableConcurrentCalls();
    }

    public void release() {
        concurrency.onComplete();
    }

    /** After a 429: nobody sends for this user until Retry-After has passed. */
    public void pauseFor(Duration retryAfter) {
        long until = clock.millis() + retryAfter.toMillis();
        pausedUntil.accumulateAndGet(until, Math::max);
    }

    /**
     * The answer to the request of {@code ticket} is in: moves its estimate to the time of the answer and reconciles
     * the budgets with what the answer reported (see the class comment). Returns the execution time the server
     * reported charging since its previous answer, attributed to this request (absent without a time-remaining
     * header, and on the first one): the drop of that header plus what left the server's window meanwhile, as the
     * gate's record of the reported charges tells (the budget holds estimates, which would keep their own errors).
     * With several requests in flight, answers overtake each other (an older answer reports more remaining than a
     * newer one already did) and the server frees its window a little before the gate does (it charged a little
     * before the answer arrived): a negative drop is carried over, for {@value #CARRY_MILLIS} ms, and taken from the
     * next charges, so that the charges add up to what the server charged. Each charge is rough, their sum is not:
     * the estimator learns from them several answers at a time.
     */
    public synchronized OptionalLong onResponse(Ticket ticket, RateLimitHeaders.Remaining remaining) {
        long now = clock.millis();
        answered(ticket, now);
        OptionalLong charged = OptionalLong.empty();
        if (remaining.hasExecutionMs()) {
            long freed = charges.freedTotal(now);
            if (lastTimeRemaining >= 0) {
                long carry = now - carriedAt <= CARRY_MILLIS ? carried : 0;
                long drop = lastTimeRemaining - remaining.executionMs() + (freed - freedAtLastTimeRemaining) + carry;
                if (drop < 0 && carry > drop) {
                    carriedAt = now; // a new negative: carried from now on
                }
                carried = Math.min(0, drop);
                charged = OptionalLong.of(Math.max(0, drop));
            }
            lastTimeRemaining = remaining.executionMs();
            freedAtLastTimeRemaining = freed;
            charges.book(now, charged.orElse(ticket.costMs()));
        }
        executionMs.book(now, ticket.costMs());
        if (remaining.hasExecutionMs()) {
            executionMs.book(now, correction(executionLimit, executionMs.used(now), remaining.executionMs(), ticket.costMs()));
        }
        if (remaining.hasRequests()) {
            requests.book(now, correction(requestLimit, requests.used(now), remaining.requests(), 1));
        }
        return charged;
    }

    /** The request of {@code ticket} got no answer (timeout, connection lost): it may have run, its estimate stays. */
    public synchronized void onNoAnswer(Ticket ticket) {
        long now = clock.millis();
        answered(ticket, now);
        executionMs.book(now, ticket.costMs());
    }

    /** The reservation of {@code ticket} goes; how long it took updates how long reservations are held. */
    private void answered(Ticket ticket, long now) {
        executionMs.cancel(ticket.sendAt(), ticket.costMs());
        answerLag = Math.max(now - ticket.sendAt(), answerLag * 0.95);
        executionMs.pendingLag((long) Math.ceil(answerLag));
    }

    /**
     * What to book into a budget after the server reported {@code reported} remaining of {@code limit}, when the
     * gate holds {@code used} in its window: the part of the server's usage the gate does not know of, if it is
     * beyond timing noise (1% of the limit) or the server has less left than the next request {@code needs}; else 0.
     */
    static long correction(long limit, long used, long reported, long needs) {
        long unknown = (limit - reported) - used;
        long tolerance = Math.max(1, limit / 100);
        return unknown > tolerance || (unknown > 0 && reported < needs) ? unknown : 0;
    }

    /** Execution milliseconds left in the window as the gate sees it (the configured limit minus what it holds). */
    public long executionMsRemainingEstimate() {
        return Math.max(0, executionLimit - executionMs.used(clock.millis()));
    }

    /** The most execution time one request can ever be admitted with: the window's budget with headroom. */
    public long executionMsBudget() {
        return executionMs.limit();
    }

    public long windowMillis() {
        return executionMs.windowMillis();
    }

    public String user() {
        return user;
    }

    /** The limiter could not give a slot in time: transient, the message is retried later. */
    public static class PacingTimeoutException extends RuntimeException implements io.dataversesync.policy.HttpStatusFailure {
        public PacingTimeoutException(String message) {
            super(message);
        }

        @Override
        public int statusCode() {
            return 429;
        }

        @Override
        public Duration retryAfter() {
            return null;
        }

        @Override
        public String service() {
            return "DataverseLimiter";
        }
    }
}
