package io.dataversesync.reconcile;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * What the last reconciliation found, as metrics (/observe/metrics): per entity and target the drift ratio (drifted
 * keys / keys compared) and the count per class, the last run's time and outcome, and the runs by outcome.
 */
public class ReconcileMetrics {
    private final MeterRegistry meters;
    private final Map<String, AtomicLong> ratios = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
    private final AtomicLong lastRunSeconds = new AtomicLong();
    private final AtomicLong lastRunSucceeded = new AtomicLong(-1);

    public ReconcileMetrics(MeterRegistry meters) {
        this.meters = meters;
        Gauge.builder("dataverse.sync.reconcile.last.run.timestamp.seconds", lastRunSeconds, AtomicLong::get)
                .description("When the last reconciliation run finished (epoch seconds; 0: none since the start)").register(meters);
        Gauge.builder("dataverse.sync.reconcile.last.run.success", lastRunSucceeded, AtomicLong::get)
                .description("Outcome of the last reconciliation run: 1 succeeded, 0 failed, -1 none since the start").register(meters);
    }

    public void ratio(String entity, String target, double ratio) {
        ratios.computeIfAbsent(entity + "|" + target, k -> {
            AtomicLong value = new AtomicLong(); // the double's bits
            Gauge.builder("dataverse.sync.reconcile.drift.ratio", value, v -> Double.longBitsToDouble(v.get()))
                    .description("Drifted keys / keys compared, last reconciliation run").tag("entity", entity).tag("target", target).register(meters);
            return value;
        }).set(Double.doubleToLongBits(ratio));
    }

    public void count(String entity, String target, DriftClass drift, long count) {
        counts.computeIfAbsent(entity + "|" + target + "|" + drift.key(), k -> {
            AtomicLong value = new AtomicLong();
            Gauge.builder("dataverse.sync.reconcile.drift", value, AtomicLong::get)
                    .description("Keys found drifted by the last reconciliation run, per class").tag("entity", entity).tag("target", target)
                    .tag("class", drift.key()).register(meters);
            return value;
        }).set(count);
    }

    public void finished(boolean succeeded, long epochSeconds) {
        lastRunSeconds.set(epochSeconds);
        lastRunSucceeded.set(succeeded ? 1 : 0);
        Counter.builder("dataverse.sync.reconcile.runs").description("Reconciliation runs by outcome")
                .tag("outcome", succeeded ? "succeeded" : "failed").register(meters).increment();
    }
}
