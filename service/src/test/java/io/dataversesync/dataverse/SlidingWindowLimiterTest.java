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

    @Test
    void unitsOfDifferentSizeShareTheWindow() {
        SlidingWindowLimiter limiter = new SlidingWindowLimiter(100, 1000); // e.g. execution ms
        assertThat(limiter.reserve(0, 60, 0)).isEqualTo(0);
        assertThat(limiter.reserve(200, 30, 200)).isEqualTo(200);
        assertThat(limiter.earliest(300, 10)).isEqualTo(300);
        assertThat(limiter.earliest(300, 20)).isEqualTo(1000); // when the 60 of t=0 leave
        assertThat(limiter.earliest(300, 80)).isEqualTo(1200); // the 30 of t=200 must leave too
        assertThat(limiter.earliest(300, 500)).as("more than the limit waits for an empty window").isEqualTo(1200);
        assertThat(limiter.reserve(300, 20, 1100)).as("not before the time asked for").isEqualTo(1100);
        assertThat(limiter.used(300)).isEqualTo(110);
        assertThat(limiter.used(1000)).isEqualTo(50);
        assertThat(limiter.freedTotal(1000)).isEqualTo(60);
    }

    @Test
    void bookedUnitsCountWithoutWaitingAndMayTakeTheWindowOverItsLimit() {
        SlidingWindowLimiter limiter = new SlidingWindowLimiter(100, 1000);
        limiter.reserve(0, 50, 0);
        limiter.book(10, 80); // the server reported spending the gate had not reserved
        assertThat(limiter.used(10)).isEqualTo(130);
        assertThat(limiter.earliest(10, 1)).isEqualTo(1000); // 130 > 100: the 50 of t=0 must leave first
        assertThat(limiter.earliest(10, 30)).isEqualTo(1010); // and for 30 more, the 80 booked at t=10 too
        assertThat(limiter.freedTotal(1010)).isEqualTo(130);
        assertThat(limiter.earliest(1010, 100)).isEqualTo(1010);
    }

    @Test
    void noTrailingWindowEverHoldsMoreUnitsThanTheLimit() {
        SlidingWindowLimiter limiter = new SlidingWindowLimiter(100, 300);
        java.util.Random random = new java.util.Random(7);
        java.util.List<long[]> sent = new java.util.ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            long units = 1 + random.nextInt(30);
            sent.add(new long[] {limiter.reserve(i / 2, units, i / 2), units});
        }
        for (long[] s : sent) {
            long inWindow = sent.stream().filter(o -> o[0] > s[0] - 300 && o[0] <= s[0]).mapToLong(o -> o[1]).sum();
            assertThat(inWindow).as("window ending at %d", s[0]).isLessThanOrEqualTo(100);
        }
    }
}
