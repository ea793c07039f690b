package io.dataversesync.sync;

import java.time.Clock;
import java.time.Duration;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The sync's own meters, next to Camel's route metrics on /observe/metrics:
 * dataverse_sync_messages_total{hop, outcome=ok|retried|dead_lettered} and
 * dataverse_sync_end_to_end_seconds (notification sent until write-back done; histogram for SLA alerts).
 */
public class SyncMetrics {
    private final MeterRegistry registry;
    private final Clock clock;
    private final Timer endToEnd;

    public SyncMetrics(MeterRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        this.endToEnd = Timer.builder("dataverse.sync.end.to.end")
                .description("Time from the change notification until the Dataverse row was written back")
                .publishPercentileHistogram()
                .publishPercentiles(0.5, 0.95, 0.99)
                .distributionStatisticExpiry(Duration.ofMinutes(10))
                .distributionStatisticBufferLength(2)
                .minimumExpectedValue(Duration.ofMillis(5))
                .maximumExpectedValue(Duration.ofHours(1))
                .register(registry);
    }

    public void outcome(String hop, String outcome) {
        Counter.builder("dataverse.sync.messages")
                .description("Messages per hop and outcome")
                .tag("hop", hop == null ? "consume" : hop)
                .tag("outcome", outcome)
                .register(registry)
                .increment();
    }

    public void endToEnd(Long requestedAtEpochMs) {
        if (requestedAtEpochMs != null && requestedAtEpochMs > 0) {
            endToEnd.record(Duration.ofMillis(Math.max(0, clock.millis() - requestedAtEpochMs)));
        }
    }

    /** The end-to-end timer, for the benchmark's percentiles. */
    public Timer endToEndTimer() {
        return endToEnd;
    }

    public MeterRegistry registry() {
        return registry;
    }
}
