package io.dataversesync.reconcile;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.dataverse.BudgetShare;
import io.dataversesync.dataverse.DataverseClient;
import io.dataversesync.dataverse.DataverseException;
import io.dataversesync.dataverse.DataverseHops;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetSettings;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One reconciliation run, per entity and target: read every Dataverse row or only what changed since the last run
 * ({@link DataverseRowReader}), read what the target holds (its read contract) or take the hash stored on the row,
 * classify each key ({@link TargetComparer}, {@link DriftClassifier}), then correct through the normal pipeline
 * ({@link CorrectionSender}, {@link Corrector}: one notification per drifted key and target, on the outbound queue).
 * Reads only, paced within the reconciliation's share of the Dataverse budget ({@link BudgetShare}). Every run leaves
 * a report ({@link RunReport}, {@link ReportStore}), metrics and a log line, whatever its outcome. This class
 * coordinates a run; the jobs are planned by {@link RunPlanner}, the run's bookkeeping is {@link ReconcileRun}.
 *
 * <p>Nothing is corrected before every entity and target has been read and classified: a run that fails while
 * reading corrects nothing; one that fails while sending corrections says in its report how many went out.
 * One run at a time: a second one asked meanwhile fails at once (its report says so).
 */
public class Reconciler {
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

    /** Settings of the runs (sync.reconcile.*). */
    public record Settings(int pageSize, int examples, String overallStatusColumn, int correctionSenders) {
    }

    /** What sends corrections (the normal pipeline's notification step). */
    public interface Corrector {
        void send(String entity, String sourceRowId, String operation, String target, String runId) throws Exception;
    }

    private final Map<String, TargetReadContract> contracts;
    private final RunPlanner planner;
    private final DataverseRowReader rowReader;
    private final TargetComparer comparer;
    private final CorrectionSender correctionSender;
    private final RunReport reports;
    private final ReportStore store;
    private final ReconcileMetrics metrics;
    private final ObjectMapper json;
    private final Clock clock;
    private final Settings settings;
    private final ReentrantLock running = new ReentrantLock();

    public Reconciler(DataverseClient dataverse, DataverseHops hops, EntityCatalog entities, TargetCatalog targets,
            Map<String, TargetReadContract> contracts, io.dataversesync.target.Sagas sagas, TargetReader targetReader, PayloadMapper mapper, Corrector corrector,
            BudgetShare share, ReportStore store, ReconcileMetrics metrics, ObjectMapper json, Clock clock, Settings settings) {
        this.contracts = contracts;
        this.planner = new RunPlanner(entities, targets, contracts, sagas, json);
        this.rowReader = new DataverseRowReader(dataverse, hops, mapper, share, store, clock, settings);
        this.comparer = new TargetComparer(targetReader, json);
        this.correctionSender = new CorrectionSender(corrector, settings.correctionSenders());
        this.reports = new RunReport(store, metrics, json, clock);
        this.store = store;
        this.metrics = metrics;
        this.json = json;
        this.clock = clock;
        this.settings = settings;
    }

    /** The route's entry ({@code direct:reconcile}): the body is the request JSON, the answer the report JSON. */
    public String run(Exchange exchange) throws Exception {
        String trigger = exchange.getMessage().getHeader("reconcileTrigger", "on-demand", String.class);
        ObjectNode report;
        try {
            report = run(ReconcileRequest.parse(exchange.getMessage().getBody(String.class), json, trigger));
        } catch (ReconcileRequest.InvalidRequestException bad) {
            report = reports.failedBeforeStart(bad.getMessage(), trigger);
        }
        exchange.setProperty("reconcileOutcome", report.path("outcome").asText());
        return json.writeValueAsString(report);
    }

    /** Whether a run is under way now (a second one would be refused). */
    public boolean isRunning() {
        return running.isLocked();
    }

    /** The reports kept, newest first (the operations API can show them). */
    public List<ObjectNode> latestReports(int count) {
        return store.latest(count);
    }

    /** One run; never throws: the report says what happened. */
    public ObjectNode run(ReconcileRequest request) {
        String runId = UUID.randomUUID().toString();
        Instant started = clock.instant();
        ReconcileRun run = new ReconcileRun(runId, request);
        if (!running.tryLock()) {
            run.fail("another reconciliation run is under way; try again when it has finished");
            return reports.finish(run, started);
        }
        try {
            List<ReconcileJob> jobs = planner.plan(request);
            for (ReconcileJob job : jobs) {
                reconcile(job, run);
            }
            if (!request.dryRun()) {
                correctionSender.correct(run);
            }
            for (ReconcileJob job : jobs) {
                if (job.deltaLink != null && !request.dryRun()) {
                    rowReader.saveDeltaLink(job);
                }
            }
            run.outcome = "succeeded";
        } catch (ReconcileRequest.InvalidRequestException bad) {
            run.fail(bad.getMessage());
        } catch (Exception e) {
            LOG.warn("Reconciliation {} failed", runId, e);
            run.fail(e instanceof DataverseException || e instanceof TargetReader.TargetReadException ? e.getMessage()
                    : e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            running.unlock();
        }
        return reports.finish(run, started);
    }

    /** One entity: its rows read, then compared with each of its targets. */
    private void reconcile(ReconcileJob job, ReconcileRun run) throws Exception {
        job.report.put("entity", job.entity.logicalName());
        DataverseRowReader.Rows rows = rowReader.read(job, run);
        ArrayNode targetReports = job.report.putArray("targets");
        for (TargetSettings t : job.targets) {
            long compareStarted = System.nanoTime();
            boolean viaTarget = job.compare.get(t.name()) == ReconcileRequest.Compare.TARGET;
            TargetComparer.Result result = comparer.compare(job.entity.logicalName(), contracts.get(t.name()), viaTarget, rows.full(),
                    rows.byTarget().get(t.name()), rows.deleted(), run);
            run.record(targetReports.addObject(), job.entity.logicalName(), t.name(), result, viaTarget, rows.full(), compareStarted,
                    settings.examples(), metrics);
        }
        run.entities.add(job.report);
    }
}
