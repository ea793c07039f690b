package io.dataversesync.policy;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Backoff arithmetic: delay(n) = min(maxDelay, base * multiplier^n), spread by +-jitter, never below a
 * service's Retry-After. n is the RetryCount of the message that just failed (0 for the first attempt).
 */
public final class RetrySchedule {
    private RetrySchedule() {
    }

    public static boolean hasRetriesLeft(RetrySettings settings, int retryCount) {
        return retryCount < settings.maxRetries();
    }

    /**
     * @param random a source of uniform values in [0,1); only used when jitter > 0
     */
    public static Duration delay(RetrySettings settings, int retryCount, Duration retryAfter, DoubleSupplier random) {
        double base = settings.baseDelay().toMillis();
        double exponential = base * Math.pow(settings.multiplier(), Math.max(0, retryCount));
        double capped = Math.min(settings.maxDelay().toMillis(), exponential);
        if (settings.jitter() > 0) {
            double spread = (random.getAsDouble() * 2 - 1) * settings.jitter();
            capped = Math.min(settings.maxDelay().toMillis(), capped * (1 + spread));
        }
        long millis = Math.max(0, Math.round(capped));
        if (retryAfter != null && retryAfter.toMillis() > millis) {
            // the service's own wait is a floor; the cap does not shorten it, sending earlier prolongs throttling
            millis = retryAfter.toMillis();
        }
        return Duration.ofMillis(millis);
    }
}
