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

    /**
     * The limiter answers most questions without walking its entries (nothing due to leave, the units fit): under
     * random reservations, bookings, cancellations and lags it answers exactly as the plain walk over every entry.
     */
    @Test
    void itsShortcutsAnswerAsTheWalkOverEveryEntry() {
        for (long seed = 1; seed <= 20; seed++) {
            java.util.Random random = new java.util.Random(seed);
            long limit = 20 + random.nextInt(200);
            long window = 100 + random.nextInt(2000);
            SlidingWindowLimiter limiter = new SlidingWindowLimiter(limit, window);
            Walk walk = new Walk(limit, window);
            java.util.List<long[]> reservations = new java.util.ArrayList<>();
            long now = 0;
            for (int i = 0; i < 3000; i++) {
                now += random.nextInt(10) == 0 ? random.nextInt((int) window * 2) : random.nextInt(20);
                long units = 1 + random.nextInt((int) Math.max(1, limit / 4));
                String step = "seed " + seed + " step " + i;
                switch (random.nextInt(7)) {
                    case 0, 1 -> {
                        long notBefore = now + (random.nextBoolean() ? 0 : random.nextInt(300));
                        long at = limiter.reserve(now, units, notBefore);
                        assertThat(at).as(step).isEqualTo(walk.reserve(now, units, notBefore));
                        reservations.add(new long[] {at, units});
                    }
                    case 2 -> {
                        limiter.book(now, units);
                        walk.book(now, units);
                    }
                    case 3 -> {
                        if (!reservations.isEmpty()) {
                            long[] r = reservations.remove(random.nextInt(reservations.size()));
                            limiter.cancel(r[0], r[1]);
                            walk.cancel(r[0], r[1]);
                        }
                    }
                    case 4 -> {
                        long lag = random.nextInt(200);
                        limiter.pendingLag(lag);
                        walk.lag = lag;
                    }
                    case 5 -> assertThat(limiter.earliest(now, units)).as(step).isEqualTo(walk.earliest(now, units, now));
                    default -> {
                        assertThat(limiter.used(now)).as(step).isEqualTo(walk.used(now));
                        assertThat(limiter.freedTotal(now)).as(step).isEqualTo(walk.freed);
                    }
                }
            }
        }
    }

    /** The limiter's rules as a plain walk over every entry at every question: the reference for its shortcuts. */
    private static final class Walk {
        final long limit;
        final long window;
        long lag;
        long freed;
        final java.util.TreeMap<Long, long[]> entries = new java.util.TreeMap<>(); // {settled, pending}

        Walk(long limit, long window) {
            this.limit = limit;
            this.window = window;
        }

        long held() {
            return entries.values().stream().mapToLong(u -> u[0] + u[1]).sum();
        }

        void prune(long now) {
            var it = entries.entrySet().iterator();
            while (it.hasNext()) {
                var e = it.next();
                if (e.getKey() + window > now) {
                    continue;
                }
                long[] u = e.getValue();
                freed += u[0];
                u[0] = 0;
                if (e.getKey() + window + lag <= now) {
                    freed += u[1];
                    u[1] = 0;
                }
                if (u[1] == 0) {
                    it.remove();
                }
            }
        }

        long earliest(long now, long units, long notBefore) {
            prune(now);
            long need = Math.min(Math.max(units, 0), limit);
            long at = Math.max(now, notBefore);
            if (!entries.isEmpty()) {
                at = Math.max(at, entries.lastKey());
            }
            long inWindow = held();
            for (var e : entries.entrySet()) {
                if (inWindow + need <= limit) {
                    break;
                }
                at = Math.max(at, e.getKey() + window + (e.getValue()[1] > 0 ? lag : 0));
                inWindow -= e.getValue()[0] + e.getValue()[1];
            }
            return at;
        }

        long reserve(long now, long units, long notBefore) {
            long at = earliest(now, units, notBefore);
            entries.computeIfAbsent(at, t -> new long[2])[1] += units;
            return at;
        }

        void book(long now, long units) {
            prune(now);
            entries.computeIfAbsent(now, t -> new long[2])[0] += units;
        }

        void cancel(long time, long units) {
            long[] u = entries.get(time);
            if (u == null) {
                return;
            }
            u[1] -= Math.min(u[1], units);
            if (u[0] == 0 && u[1] == 0) {
                entries.remove(time);
            }
        }

        long used(long now) {
            prune(now);
            return held();
        }
    }
}
