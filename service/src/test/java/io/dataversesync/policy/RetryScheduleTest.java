package io.dataversesync.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class RetryScheduleTest {
    private final RetrySettings noJitter = new RetrySettings(5, Duration.ofSeconds(2), 2.0, Duration.ofSeconds(60), 0);

    @Test
    void delayGrowsExponentiallyWithTheRetryCount() {
        assertThat(RetrySchedule.delay(noJitter, 0, null, () -> 0.5)).isEqualTo(Duration.ofSeconds(2));
        assertThat(RetrySchedule.delay(noJitter, 1, null, () -> 0.5)).isEqualTo(Duration.ofSeconds(4));
        assertThat(RetrySchedule.delay(noJitter, 3, null, () -> 0.5)).isEqualTo(Duration.ofSeconds(16));
    }

    @Test
    void delayIsCappedAtMaxDelay() {
        assertThat(RetrySchedule.delay(noJitter, 10, null, () -> 0.5)).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void jitterSpreadsTheDelayWithinItsFractionAndNeverAboveTheCap() {
        RetrySettings jitter = new RetrySettings(5, Duration.ofSeconds(10), 2.0, Duration.ofSeconds(60), 0.2);
        assertThat(RetrySchedule.delay(jitter, 0, null, () -> 0.0)).isEqualTo(Duration.ofSeconds(8));
        assertThat(RetrySchedule.delay(jitter, 0, null, () -> 0.999999)).isBetween(Duration.ofMillis(11_999), Duration.ofSeconds(12));
        assertThat(RetrySchedule.delay(jitter, 5, null, () -> 0.999999)).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void retryAfterIsTheFloorEvenAboveTheCap() {
        assertThat(RetrySchedule.delay(noJitter, 0, Duration.ofSeconds(30), () -> 0.5)).isEqualTo(Duration.ofSeconds(30));
        assertThat(RetrySchedule.delay(noJitter, 0, Duration.ofSeconds(90), () -> 0.5)).isEqualTo(Duration.ofSeconds(90));
        assertThat(RetrySchedule.delay(noJitter, 4, Duration.ofSeconds(1), () -> 0.5)).isEqualTo(Duration.ofSeconds(32));
    }

    @Test
    void retriesLeftUntilMaxRetries() {
        assertThat(RetrySchedule.hasRetriesLeft(noJitter, 4)).isTrue();
        assertThat(RetrySchedule.hasRetriesLeft(noJitter, 5)).isFalse();
    }

    @Test
    void settingsAreValidated() {
        assertThatThrownBy(() -> new RetrySettings(-1, Duration.ZERO, 2, Duration.ZERO, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetrySettings(1, Duration.ZERO, 0.5, Duration.ZERO, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetrySettings(1, Duration.ZERO, 2, Duration.ZERO, 1.5)).isInstanceOf(IllegalArgumentException.class);
    }
}
