package io.dataversesync.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Ends a run, whatever its outcome: its report (kept in the {@link ReportStore}), its metrics and its log line. */
final class RunReport {
    // the run's log line keeps the name it has always had: operators find (and filter) it by the Reconciler's logger
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

    private final ReportStore store;
    private final ReconcileMetrics metrics;
    private final ObjectMapper json;
    private final Clock clock;

    RunReport(ReportStore store, ReconcileMetrics metrics, ObjectMapper json, Clock clock) {
        this.store = store;
        this.metrics = metrics;
        this.json = json;
        this.clock = clock;
    }

    /** The report of a request that could not even be read (it has no request to show). */
    ObjectNode failedBeforeStart(String message, String trigger) {
        ReconcileRun run = new ReconcileRun(UUID.randomUUID().toString(), new ReconcileRequest(null, null, ReconcileRequest.Mode.FULL, false,
                ReconcileRequest.Compare.AUTO, trigger));
        run.fail(message);
        ObjectNode report = finish(run, clock.instant());
        report.remove("request");
        return report;
    }

    ObjectNode finish(ReconcileRun run, Instant started) {
        Instant finished = clock.instant();
        boolean succeeded = "succeeded".equals(run.outcome);
        ObjectNode report = json.createObjectNode();
        report.put("runId", run.runId);
        report.set("request", run.request.toJson(json));
        report.put("outcome", run.outcome);
        if (run.error != null) {
            report.put("error", run.error);
        }
        report.put("dryRun", run.request.dryRun());
        report.put("startedAt", started.toString());
        report.put("finishedAt", finished.toString());
        report.put("durationMs", Duration.between(started, finished).toMillis());
        report.put("rowsRead", run.rowsRead);
        report.put("dataverseRequests", run.dataverseRequests.get());
        report.put("targetRequests", run.targetRequests);
        ObjectNode counts = report.putObject("counts");
        for (DriftClass c : DriftClass.values()) {
            counts.put(c.key(), run.counts.getOrDefault(c, 0L));
        }
        report.put("driftRatio", run.compared == 0 ? 0.0 : (double) run.drifted / run.compared);
        ObjectNode corrections = report.putObject("corrections");
        corrections.put("needed", run.corrections.size());
        corrections.put("sent", run.sent);
        corrections.put("complete", run.request.dryRun() || run.sent == run.corrections.size());
        if (run.request.dryRun()) {
            corrections.put("note", "dry run: nothing corrected");
        } else if (!succeeded && run.sent > 0) {
            corrections.put("note", "the run failed after " + run.sent + " of " + run.corrections.size()
                    + " corrections were sent: those are on their way through the pipeline, the others were not sent");
        } else if (!succeeded) {
            corrections.put("note", "the run failed before any correction was sent: nothing was corrected");
        }
        ArrayNode entityReports = report.putArray("entities");
        run.entities.forEach(entityReports::add);
        if (succeeded) {
            run.pending.forEach(Runnable::run);
        }
        metrics.finished(succeeded, finished.getEpochSecond());
        try {
            store.save(report, started, run.runId);
        } catch (RuntimeException e) {
            LOG.warn("Reconciliation {}: the report could not be stored: {}", run.runId, e.getMessage());
        }
        String line = "Reconciliation " + run.runId + " " + run.outcome + (run.request.dryRun() ? " (dry run)" : "") + ": missing="
                + counts.path("missing").asLong() + " different=" + counts.path("different").asLong() + " orphan=" + counts.path("orphan").asLong()
                + " neverSynced=" + counts.path("neverSynced").asLong() + ", " + run.rowsRead + " rows read with " + run.dataverseRequests.get()
                + " Dataverse requests, " + run.sent + " corrections sent, " + report.path("durationMs").asLong() + " ms"
                + (run.error != null ? ": " + run.error : "");
        if (succeeded) {
            LOG.info(line);
        } else {
            LOG.warn(line);
        }
        return report;
    }
}
