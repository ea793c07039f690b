package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SlidingWindowLimiterTest {

    @Test
    void aBurstUpToTheLimitGoesAtOnceThenRequestsWaitForTheWindowToSlide() {
        SlidingWindowLimiter limiter = new SlidingWindowLimiter(3, 1000);
        assertThat(limiter.reserve(0)).isEqualTo(0);
        assertThat(limiter.reserve(10)).isEqualTo(10);
        assertThat(limiter.reserve(20)).isEqualTo(20);
        assertThat(limiter.reserve(30)).isEqualTo(1000); // the first leaves the window at 1000
        assertThat(limiter.reserve(40)).isEqualTo(1010);
        assertThat(limiter.reserve(5000)).isEqualTo(5000);
    }

    @Test
    void noTrailingWindowEverHoldsMoreThanTheLimit() {
        SlidingWindowLimiter limiter = new SlidingWindowLimiter(50, 300);
        long[] sent = new long[1000];
        for (int i = 0; i < sent.length; i++) {
            sent[i] = limiter.reserve(i / 3); // asks far faster than the limit allows
        }
        for (int i = 50; i < sent.length; i++) {
            assertThat(sent[i] - sent[i - 50]).as("request %d", i).isGreaterThanOrEqualTo(300);
        }
    }

    @Test
    void earliestTellsTheWaitWithoutReserving() {
        SlidingWindowLimiter limiter = new SlidingWindowLimiter(1, 1000);
        assertThat(limiter.earliest(0)).isEqualTo(0);
        limiter.reserve(0);
        assertThat(limiter.earliest(100)).isEqualTo(1000);
        assertThat(limiter.earliest(100)).isEqualTo(1000);
    }
}
