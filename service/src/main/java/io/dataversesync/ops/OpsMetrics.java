package io.dataversesync.ops;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The console's chart: recent throughput (rows synced end to end per second, dead letters per second) and mean
 * end-to-end latency per interval, sampled from the service's own meters (the ones /observe/metrics shows) by the
 * route {@code ops-metrics-sample}; the last {@code keep} samples are held in memory (a chart, not a history: that
 * is Prometheus' job).
 */
public class OpsMetrics {
    public record Sample(long at, double syncedPerSecond, double deadLetteredPerSecond, double meanLatencyMs) {
    }

    private final MeterRegistry registry;
    private final Clock clock;
    private final int keep;
    private final ArrayDeque<Sample> samples = new ArrayDeque<>();
    private long lastAt = -1;
    private long lastCount;
    private double lastTotalMs;
    private double lastDeadLettered;

    public OpsMetrics(MeterRegistry registry, Clock clock, int keep) {
        this.registry = registry;
        this.clock = clock;
        this.keep = keep;
    }

    public synchronized void sample() {
        long now = clock.millis();
        Timer e2e = registry.find("dataverse.sync.end.to.end").timer();
        long count = e2e == null ? 0 : e2e.count();
        double totalMs = e2e == null ? 0 : e2e.totalTime(TimeUnit.MILLISECONDS);
        double deadLettered = registry.find("dataverse.sync.consumed").tag("outcome", "dead_lettered").counters().stream()
                .mapToDouble(Counter::count).sum();
        if (lastAt >= 0 && now > lastAt) {
            double seconds = (now - lastAt) / 1000.0;
            long n = count - lastCount;
            samples.addLast(new Sample(now, n / seconds, (deadLettered - lastDeadLettered) / seconds, n > 0 ? (totalMs - lastTotalMs) / n : 0));
            while (samples.size() > keep) {
                samples.removeFirst();
            }
        }
        lastAt = now;
        lastCount = count;
        lastTotalMs = totalMs;
        lastDeadLettered = deadLettered;
    }

    public synchronized List<Sample> samples() {
        return new ArrayList<>(samples);
    }
}
