package io.dataversesync.sync;

import java.time.Clock;
import java.time.Duration;

import io.dataversesync.exchange.SyncProperties;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The sync's own meters, next to Camel's route metrics on /observe/metrics:
 * <ul>
 * <li>dataverse_sync_consumed_total{queue, outcome=delivered|retried|dead_lettered|skipped}: exactly one count per
 * consumed message, what the error-rate alert divides (k8s/base/prometheusrule.yaml);</li>
 * <li>dataverse_sync_messages_total{hop, outcome=ok|retried|dead_lettered|superseded|unchanged}: per hop, where
 * messages fail or are skipped (a message passes several hops, so these do not add up per message);</li>
 * <li>dataverse_sync_end_to_end_seconds (notification sent until write-back done; histogram for SLA alerts).</li>
 * </ul>
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

    /** One count per consumed message: delivered, retried, dead_lettered or skipped. */
    public void consumed(String queue, String outcome) {
        Counter.builder("dataverse.sync.consumed")
                .description("Consumed messages by how their handling ended: one count per message")
                .tag("queue", queue == null ? "unknown" : queue)
                .tag("outcome", outcome)
                .register(registry)
                .increment();
    }

    /** @param hop the hop's route id (syncHop) or name; null = the consumer itself, before any hop */
    public void outcome(String hop, String outcome) {
        Counter.builder("dataverse.sync.messages")
                .description("Messages per hop and outcome")
                .tag("hop", SyncProperties.hopName(hop))
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
