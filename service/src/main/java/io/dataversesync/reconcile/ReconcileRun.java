package io.dataversesync.reconcile;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What a run found and did, while it runs: the totals, the corrections it needs, and the metrics it publishes once
 * it has succeeded ({@link RunReport} turns it into the report).
 */
final class ReconcileRun {
    /** One correction: a notification for one key and target. */
    record Correction(String entity, String key, String operation, String target) {
    }

    final String runId;
    final ReconcileRequest request;
    final List<ObjectNode> entities = new ArrayList<>();
    final Map<DriftClass, Long> counts = new EnumMap<>(DriftClass.class);
    final List<Correction> corrections = new ArrayList<>();
    final List<Runnable> pending = new ArrayList<>();
    String outcome = "failed";
    String error;
    long rowsRead;
    /** Counted on the read-ahead thread too (DataverseRowReader), so atomic. */
    final java.util.concurrent.atomic.AtomicLong dataverseRequests = new java.util.concurrent.atomic.AtomicLong();
    long targetRequests;
    long drifted;
    long compared;
    long sent;

    ReconcileRun(String runId, ReconcileRequest request) {
        this.runId = runId;
        this.request = request;
    }

    void fail(String message) {
        outcome = "failed";
        error = message;
    }

    /** Records what one target's comparison found: in its report (within the entity's), the run's totals, corrections and metrics. */
    void record(ObjectNode targetReport, String entity, String target, TargetComparer.Result result, boolean viaTarget, boolean full,
            long compareStarted, int examplesKept, ReconcileMetrics metrics) {
        targetReport.put("target", target);
        targetReport.put("compare", viaTarget ? "target" : "hash");
        if (!viaTarget && full) {
            targetReport.put("orphans", "not checked: without a read contract only change tracking (incremental runs) reports deleted rows");
        }
        targetReport.put("rowsCompared", result.rowsCompared);
        targetReport.put("compareMs", (System.nanoTime() - compareStarted) / 1_000_000);
        if (viaTarget) {
            targetReport.put("targetRecords", result.targetRecords);
        }
        if (result.unmappable > 0) {
            targetReport.put("unmappable", result.unmappable);
            targetReport.put("mappingError", result.firstMappingError);
        }
        if (result.foreign > 0) {
            targetReport.put("foreignKeys", result.foreign);
        }
        ObjectNode countsReport = targetReport.putObject("counts");
        ObjectNode examples = targetReport.putObject("examples");
        long targetDrifted = 0;
        for (DriftClass c : DriftClass.values()) {
            List<String> keys = result.drift.getOrDefault(c, List.of());
            countsReport.put(c.key(), keys.size());
            targetDrifted += keys.size();
            ArrayNode list = examples.putArray(c.key());
            keys.stream().limit(examplesKept).forEach(list::add);
            counts.merge(c, (long) keys.size(), Long::sum);
            for (String key : keys) {
                corrections.add(new Correction(entity, key, c == DriftClass.ORPHAN ? "Delete" : "Update", target));
            }
            pending.add(() -> metrics.count(entity, target, c, keys.size()));
        }
        long comparedKeys = Math.max(1, result.compared);
        double ratio = (double) targetDrifted / comparedKeys;
        targetReport.put("driftRatio", ratio);
        drifted += targetDrifted;
        compared += result.compared;
        pending.add(() -> metrics.ratio(entity, target, ratio));
    }
}
