package io.dataversesync.dataverse;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Keeps one Dataverse application user under the service protection limits, on the client side:
 * requests per sliding window with headroom ({@link SlidingWindowLimiter}: bursts as Dataverse allows them,
 * never more than the window holds), a concurrency cap (52 in Dataverse; Resilience4j Bulkhead), and after a 429
 * a pause for every request of that user until Retry-After has passed
 * (sending during the wait prolongs it). Requests waiting longer than maxWait fail as {@link PacingTimeoutException},
 * which the retry policy treats as transient.
 */
public class DataverseRequestGate {
    private final String user;
    private final SlidingWindowLimiter rate;
    private final Bulkhead concurrency;
    private final AtomicLong pausedUntil = new AtomicLong();
    private final Duration maxWait;
    private final Clock clock;
    private final Timer waited;

    public DataverseRequestGate(String user, int requestsPerWindow, Duration window, double headroom, int maxConcurrent,
            Duration maxWait, Clock clock, MeterRegistry meters) {
        this.user = user;
        this.maxWait = maxWait;
        this.clock = clock;
        this.rate = new SlidingWindowLimiter(Math.max(1, (int) Math.floor(requestsPerWindow * headroom)), window.toMillis());
        this.concurrency = Bulkhead.of("dataverse-" + user, BulkheadConfig.custom()
                .maxConcurrentCalls(maxConcurrent)
                .maxWaitDuration(maxWait)
                .build());
        this.waited = Timer.builder("dataverse.limiter.wait")
                .description("Time Dataverse requests waited in the client-side limiter")
                .tag("user", user)
                .register(meters);
    }

    /** Blocks until this user may send one request; call {@link #release()} when its answer is in. */
    public void acquire() throws InterruptedException {
        long start = System.nanoTime();
        long pause = pausedUntil.get() - clock.millis();
        if (pause > maxWait.toMillis()) {
            throw new PacingTimeoutException("Dataverse user " + user + " is paused by a 429 for " + pause + " ms more");
        }
        if (pause > 0) {
            Thread.sleep(pause);
        }
        long now = clock.millis();
        if (rate.earliest(now) - now > maxWait.toMillis()) {
            throw new PacingTimeoutException("Dataverse user " + user + ": no request slot within " + maxWait.toMillis() + " ms");
        }
        long sendAt = rate.reserve(now);
        if (sendAt > now) {
            Thread.sleep(sendAt - now);
        }
        try {
            concurrency.acquirePermission();
        } catch (io.github.resilience4j.bulkhead.BulkheadFullException full) {
            throw new PacingTimeoutException("Dataverse user " + user + ": over " + concurrency.getBulkheadConfig().getMaxConcurrentCalls()
                    + " concurrent requests for " + maxWait.toMillis() + " ms");
        }
        waited.record(Duration.ofNanos(System.nanoTime() - start));
    }

    /** How long a request of this user would wait now (rate window or a 429 pause); nothing is reserved. */
    public long millisUntilSendable() {
        long now = clock.millis();
        return Math.max(0, Math.max(pausedUntil.get(), rate.earliest(now)) - now);
    }

    public void release() {
        concurrency.onComplete();
    }

    /** After a 429: nobody sends for this user until Retry-After has passed. */
    public void pauseFor(Duration retryAfter) {
        long until = clock.millis() + retryAfter.toMillis();
        pausedUntil.accumulateAndGet(until, Math::max);
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
