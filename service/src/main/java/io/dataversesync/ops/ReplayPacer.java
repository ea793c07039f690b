package io.dataversesync.ops;

import java.time.Clock;

/**
 * Paces replays: the i-th replayed message is due at most {@code ratePerSecond} per second after the ones replayed
 * before it (also by other requests), as the broker's scheduled delivery (Artemis {@code _AMQ_SCHED_DELIVERY},
 * Service Bus scheduled enqueue time). A replay of 50,000 dead letters is therefore moved at once (nothing is held in
 * the service) but reaches the consumers at the set rate, and the pipeline's own Dataverse pacing holds as it does for
 * live changes.
 */
public class ReplayPacer {
    private final Clock clock;
    private final double ratePerSecond;
    private long nextFreeMicros;

    public ReplayPacer(Clock clock, double ratePerSecond) {
        if (!(ratePerSecond > 0)) {
            throw new IllegalArgumentException("sync.ops.replay.rate-per-second must be positive, was " + ratePerSecond);
        }
        this.clock = clock;
        this.ratePerSecond = ratePerSecond;
    }

    /** Due times (epoch ms) for {@code n} messages replayed now; a due time not after now means "deliver at once". */
    public synchronized long[] reserve(int n) {
        long nowMicros = clock.millis() * 1000;
        long start = Math.max(nowMicros, nextFreeMicros);
        double step = 1_000_000.0 / ratePerSecond;
        long[] due = new long[n];
        for (int i = 0; i < n; i++) {
            due[i] = (long) (start + i * step) / 1000;
        }
        nextFreeMicros = (long) (start + n * step);
        return due;
    }
}
