package io.dataversesync.policy;

import java.time.Duration;

/**
 * Tuning of the retry policy for one consumer route.
 *
 * @param maxRetries  retry copies allowed before the message is dead-lettered
 * @param baseDelay   delay before the first retry
 * @param multiplier  growth factor per retry
 * @param maxDelay    cap on any single delay
 * @param jitter      fraction (0..1) of random spread around the computed delay, to avoid retry stampedes
 */
public record RetrySettings(int maxRetries, Duration baseDelay, double multiplier, Duration maxDelay, double jitter) {
    public RetrySettings {
        if (maxRetries < 0) {
            throw new IllegalArgumentException("maxRetries must be >= 0");
        }
        if (baseDelay.isNegative() || maxDelay.isNegative()) {
            throw new IllegalArgumentException("delays must be >= 0");
        }
        if (multiplier < 1.0) {
            throw new IllegalArgumentException("multiplier must be >= 1");
        }
        if (jitter < 0 || jitter > 1) {
            throw new IllegalArgumentException("jitter must be within 0..1");
        }
    }
}
