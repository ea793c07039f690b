package io.dataversesync.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.dataverse.BudgetShare;
import io.dataversesync.dataverse.DataverseClient;
import io.dataversesync.dataverse.DataverseCostEstimator;
import io.dataversesync.dataverse.DataverseException;
import io.dataversesync.dataverse.DataverseHops;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.sync.Guids;
import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetSettings;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One reconciliation run, per entity and target: read every Dataverse row (server-driven paging, change tracking
 * on, so a full run leaves the delta link an incremental run continues from) or only what changed since the last
 * run (the stored delta link), read what the target holds (its read contract) or take the hash stored on the row,
 * classify each key ({@link DriftClassifier}), then correct through the normal pipeline ({@link Corrector}: one
 * notification per drifted key and target, on the outbound queue). Reads only, paced within the reconciliation's
 * share of the Dataverse budget ({@link BudgetShare}). Every run leaves a report ({@link ReportStore}), metrics and a
 * log line, whatever its outcome.
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

    private final DataverseClient dataverse;
    private final DataverseHops hops;
    private final EntityCatalog entities;
    private final TargetCatalog targets;
    private final Map<String, TargetReadContract> contracts;
    private final io.dataversesync.target.Sagas sagas;
    private final TargetReader targetReader;
    private final PayloadMapper mapper;
    private final Corrector corrector;
    private final BudgetShare share;
    private final ReportStore store;
    private final ReconcileMetrics metrics;
    private final ObjectMapper json;
    private final Clock clock;
    private final Settings settings;
    private final ReentrantLock running = new ReentrantLock();

    public Reconciler(DataverseClient dataverse, DataverseHops hops, EntityCatalog entities, TargetCatalog targets,
            Map<String, TargetReadContract> contracts, io.dataversesync.target.Sagas sagas, TargetReader targetReader, PayloadMapper mapper, Corrector corrector,
            BudgetShare share, ReportStore store, ReconcileMetrics metrics, ObjectMapper json, Clock clock, Settings settings) {
        this.dataverse = dataverse;
        this.hops = hops;
        this.entities = entities;
        this.targets = targets;
        this.contracts = contracts;
        this.sagas = sagas;
        this.targetReader = targetReader;
        this.mapper = mapper;
        this.corrector = corrector;
        this.share = share;
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
            report = failedBeforeStart(bad.getMessage(), trigger);
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
        Run run = new Run(runId, request);
        if (!running.tryLock()) {
            run.fail("another reconciliation run is under way; try again when it has finished");
            return finish(run, started);
        }
        try {
            List<Job> jobs = plan(request);
            for (Job job : jobs) {
                reconcile(job, run);
            }
            if (!request.dryRun()) {
                correct(run);
            }
            for (Job job : jobs) {
                if (job.deltaLink != null && !request.dryRun()) {
                    try {
                        store.saveDeltaLink(job.deltaKey(), job.deltaLink, clock.instant());
                        job.report.put("deltaLinkSaved", true);
                    } catch (RuntimeException e) {
                        // not fatal: the next incremental run falls back to a full one
                        job.report.put("deltaLinkSaved", false);
                        job.report.put("deltaLinkError", e.getMessage());
                    }
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
        return finish(run, started);
    }

    // ------------------------------------------------------------------ planning: bad configuration fails here

    /** One entity with the targets to compare it with. */
    private final class Job {
        final EntitySettings entity;
        final List<TargetSettings> targets;
        final Map<String, ReconcileRequest.Compare> compare = new LinkedHashMap<>();
        final ObjectNode report = json.createObjectNode();
        String deltaLink;

        Job(EntitySettings entity, List<TargetSettings> targets) {
            this.entity = entity;
            this.targets = targets;
        }

        String deltaKey() {
            StringBuilder key = new StringBuilder(entity.logicalName());
            targets.stream().map(TargetSettings::name).sorted().forEach(t -> key.append('-').append(t));
            return key.toString();
        }
    }

    private List<Job> plan(ReconcileRequest request) {
        List<EntitySettings> chosen = new ArrayList<>();
        if (request.entity() != null) {
            chosen.add(entities.find(request.entity()).orElseThrow(() -> new ReconcileRequest.InvalidRequestException(
                    "unknown entity '" + request.entity().replaceAll("[^A-Za-z0-9_]", "?") + "': not configured for sync (configured: "
                            + entities.names() + ")")));
        } else {
            entities.all().forEach(chosen::add);
        }
        if (request.target() != null && targets.find(request.target()).isEmpty()) {
            throw new ReconcileRequest.InvalidRequestException("unknown target '" + request.target().replaceAll("[^A-Za-z0-9_-]", "?")
                    + "' (declared: " + targets.names() + ")");
        }
        List<Job> jobs = new ArrayList<>();
        for (EntitySettings entity : chosen) {
            // a later saga step maps the row with what the steps before it answered and takes only what its saga
            // forwards: it is reconciled through its saga's first step (whose correction runs the saga again)
            List<TargetSettings> subscribed = targets.subscribersOf(entity.logicalName()).stream()
                    .filter(t -> request.target() == null || t.name().equals(request.target()))
                    .filter(t -> !sagas.isLaterStep(t.name())).toList();
            if (subscribed.isEmpty()) {
                if (request.entity() != null) {
                    throw new ReconcileRequest.InvalidRequestException("no target " + (request.target() == null ? "" : request.target() + " ")
                            + "subscribes to " + entity.logicalName() + (request.target() != null && sagas.isLaterStep(request.target())
                                    ? " that can be reconciled on its own: a later saga step is reconciled through its saga's first step" : ""));
                }
                continue;
            }
            Job job = new Job(entity, subscribed);
            for (TargetSettings t : subscribed) {
                TargetReadContract contract = contracts.get(t.name());
                boolean canRead = request.mode() == ReconcileRequest.Mode.FULL ? contract.canList() : contract.canList() || contract.canReadByIds();
                if (request.compare() == ReconcileRequest.Compare.TARGET && !canRead) {
                    throw new ReconcileRequest.InvalidRequestException("target " + t.name() + " declares no read contract for a "
                            + request.mode().name().toLowerCase() + " compare with what it holds: set sync.target." + t.name()
                            + ".read.list-path" + (request.mode() == ReconcileRequest.Mode.FULL ? "" : " or .read.by-ids-path")
                            + ", or ask for compare=hash");
                }
                job.compare.put(t.name(), request.compare() == ReconcileRequest.Compare.HASH || !canRead
                        ? ReconcileRequest.Compare.HASH : ReconcileRequest.Compare.TARGET);
            }
            jobs.add(job);
        }
        if (jobs.isEmpty()) {
            throw new ReconcileRequest.InvalidRequestException("nothing to reconcile: no configured entity has a subscribed target");
        }
        return jobs;
    }

    // ------------------------------------------------------------------ reading and classifying

    /** A Dataverse row as one target sees it. */
    private record RowState(String mappedPayload, String mappedHash, String storedHash, String status) {
        /** The payload is parsed only when it is compared with a record (most rows of a hash compare never are). */
        DriftClassifier.Row toRow(ObjectMapper json, boolean compared) throws Exception {
            return new DriftClassifier.Row(compared ? json.readTree(mappedPayload) : null, mappedHash, storedHash, status);
        }
    }

    /** What one target's comparison found. */
    private static final class TargetResult {
        final Map<DriftClass, List<String>> drift = new EnumMap<>(DriftClass.class);
        long compared;
        long targetRecords;
        long unmappable;
        long foreign;
        String firstMappingError;

        void add(DriftClass c, String key) {
            drift.computeIfAbsent(c, k -> new ArrayList<>()).add(key);
        }
    }

    private void reconcile(Job job, Run run) throws Exception {
        EntitySettings entity = job.entity;
        Set<String> columns = new LinkedHashSet<>(hops.readColumns(entity));
        columns.add(settings.overallStatusColumn());
        job.targets.forEach(t -> columns.add(t.writeBack().targetIdColumn()));
        Map<String, Map<String, RowState>> rows = new HashMap<>();
        Map<String, TargetResult> results = new LinkedHashMap<>();
        job.targets.forEach(t -> {
            rows.put(t.name(), new HashMap<>());
            results.put(t.name(), new TargetResult());
        });
        Set<String> deleted = new LinkedHashSet<>();
        String mode = run.request.mode() == ReconcileRequest.Mode.FULL ? "full" : "incremental";
        job.report.put("entity", entity.logicalName());
        String correlationId = "reconcile-" + run.runId;

        long readStarted = System.nanoTime();
        DataverseClient.Page page = null;
        if (run.request.mode() == ReconcileRequest.Mode.INCREMENTAL) {
            Optional<String> link = store.deltaLink(job.deltaKey());
            if (link.isEmpty()) {
                mode = "full";
                job.report.put("fellBackToFull", "no delta link stored yet for " + job.deltaKey());
            } else {
                try {
                    page = readPage(run, () -> dataverse.readPage(link.get(), settings.pageSize(), correlationId));
                } catch (DataverseException e) {
                    if (!DataverseClient.EXPIRED_VERSION_STAMP.equals(e.errorCode())) {
                        throw e;
                    }
                    mode = "full";
                    job.report.put("fellBackToFull", "the delta token expired or is unknown (" + e.errorCode() + "): every row read again");
                }
            }
        }
        if (page == null) {
            page = readPage(run, () -> dataverse.readFirstPage(entity, columns, settings.pageSize(), true, correlationId));
        }
        long rowsRead = 0;
        // the next page is read while this one is mapped (Dataverse takes seconds for 5,000 rows)
        java.util.concurrent.ExecutorService readAhead = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "reconcile-read-ahead");
            thread.setDaemon(true);
            return thread;
        });
        try {
            while (true) {
                java.util.concurrent.Future<DataverseClient.Page> nextPage = null;
                if (page.nextLink() != null) {
                    String next = page.nextLink();
                    nextPage = readAhead.submit(() -> readPage(run, () -> dataverse.readPage(next, settings.pageSize(), correlationId)));
                }
                for (ObjectNode row : page.rows()) {
                    rowsRead++;
                    String id = row.path(entity.idColumn()).asText().toLowerCase();
                    String rowJson = row.toString();
                    for (TargetSettings t : job.targets) {
                        PayloadMapper.Mapped mapped = mapper.map(t.name(), entity.logicalName(), rowJson);
                        if (mapped.error() != null) {
                            TargetResult r = results.get(t.name());
                            r.unmappable++;
                            r.firstMappingError = r.firstMappingError == null ? mapped.error() : r.firstMappingError;
                            continue;
                        }
                        String status = t.writeBack().statusColumn() != null ? text(row, t.writeBack().statusColumn())
                                : text(row, settings.overallStatusColumn());
                        rows.get(t.name()).put(id, new RowState(mapped.payload(), mapped.hash(), text(row, t.writeBack().hashColumn()), status));
                    }
                }
                page.deletedIds().forEach(deleted::add);
                if (nextPage == null) {
                    job.deltaLink = page.deltaLink();
                    break;
                }
                try {
                    page = nextPage.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
            }
        } finally {
            readAhead.shutdownNow();
        }
        job.report.put("mode", mode);
        job.report.put("rowsRead", rowsRead);
        job.report.put("readAndMapMs", (System.nanoTime() - readStarted) / 1_000_000);
        job.report.put("deletedReported", deleted.size());
        run.rowsRead += rowsRead;

        boolean full = mode.equals("full");
        ArrayNode targetReports = job.report.putArray("targets");
        for (TargetSettings t : job.targets) {
            long compareStarted = System.nanoTime();
            TargetResult result = results.get(t.name());
            Map<String, RowState> byKey = rows.get(t.name());
            boolean viaTarget = job.compare.get(t.name()) == ReconcileRequest.Compare.TARGET;
            TargetReadContract contract = contracts.get(t.name());
            if (viaTarget && (full || !contract.canReadByIds())) {
                // the whole listing: every record the target holds, checked against the rows read
                Set<String> seen = new HashSet<>();
                run.targetRequests += targetReader.list(contract, job.entity.logicalName(), records -> {
                    for (TargetReader.Record record : records) {
                        result.targetRecords++;
                        if (!seen.add(record.key())) {
                            continue;
                        }
                        RowState row = byKey.get(record.key());
                        if (!full && row == null && !deleted.contains(record.key())) {
                            continue; // incremental: only what changed since the last run
                        }
                        classify(result, record.key(), row, record.held(), true);
                    }
                });
                for (Map.Entry<String, RowState> row : byKey.entrySet()) {
                    if (!seen.contains(row.getKey())) {
                        classify(result, row.getKey(), row.getValue(), null, true);
                    }
                }
            } else if (viaTarget) {
                Set<String> keys = new LinkedHashSet<>(byKey.keySet());
                keys.addAll(deleted);
                Map<String, DriftClassifier.Held> held = targetReader.byIds(contract, job.entity.logicalName(), keys);
                run.targetRequests += (keys.size() + contract.pageSize() - 1) / contract.pageSize();
                result.targetRecords = held.size();
                for (String key : keys) {
                    classify(result, key, byKey.get(key), held.get(key), true);
                }
            } else {
                for (Map.Entry<String, RowState> row : byKey.entrySet()) {
                    classify(result, row.getKey(), row.getValue(), null, false);
                }
                for (String key : deleted) {
                    if (!byKey.containsKey(key)) {
                        classify(result, key, null, null, false);
                    }
                }
            }
            result.compared = byKey.size() + (full ? 0 : deleted.size());
            ObjectNode targetReport = targetReports.addObject();
            targetReport.put("target", t.name());
            targetReport.put("compare", viaTarget ? "target" : "hash");
            if (!viaTarget && full) {
                targetReport.put("orphans", "not checked: without a read contract only change tracking (incremental runs) reports deleted rows");
            }
            targetReport.put("rowsCompared", byKey.size());
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
            ObjectNode counts = targetReport.putObject("counts");
            ObjectNode examples = targetReport.putObject("examples");
            long drifted = 0;
            for (DriftClass c : DriftClass.values()) {
                List<String> keys = result.drift.getOrDefault(c, List.of());
                counts.put(c.key(), keys.size());
                drifted += keys.size();
                ArrayNode list = examples.putArray(c.key());
                keys.stream().limit(settings.examples()).forEach(list::add);
                run.counts.merge(c, (long) keys.size(), Long::sum);
                for (String key : keys) {
                    run.corrections.add(new Correction(job.entity.logicalName(), key, c == DriftClass.ORPHAN ? "Delete" : "Update", t.name()));
                }
                run.pending.add(() -> metrics.count(job.entity.logicalName(), t.name(), c, keys.size()));
            }
            long comparedKeys = Math.max(1, result.compared);
            double ratio = (double) drifted / comparedKeys;
            targetReport.put("driftRatio", ratio);
            run.drifted += drifted;
            run.compared += result.compared;
            run.pending.add(() -> metrics.ratio(job.entity.logicalName(), t.name(), ratio));
        }
        run.entities.add(job.report);
    }

    private void classify(TargetResult result, String key, RowState row, DriftClassifier.Held held, boolean targetRead) throws Exception {
        if (row == null && !Guids.isGuid(key)) {
            result.foreign++; // not a Dataverse row id: a record the sync never wrote
            return;
        }
        boolean compared = targetRead && held != null && !held.deleted();
        DriftClassifier.classify(row == null ? null : row.toRow(json, compared), held, targetRead).ifPresent(c -> result.add(c, key));
    }

    private interface PageRead {
        DataverseClient.Page read() throws Exception;
    }

    /** One Dataverse request within the reconciliation's share of the budget. */
    private DataverseClient.Page readPage(Run run, PageRead read) throws Exception {
        share.acquire(dataverse.estimatedCost(DataverseCostEstimator.Kind.READ, settings.pageSize()));
        run.dataverseRequests++;
        return read.read();
    }

    private static String text(JsonNode row, String column) {
        JsonNode v = row.get(column);
        return v == null || v.isNull() ? null : v.asText();
    }

    // ------------------------------------------------------------------ correcting

    private record Correction(String entity, String key, String operation, String target) {
    }

    /**
     * Sends the corrections, several at once (each is one persistent send to the outbound queue; there is no order
     * to keep: one correction per key and target). Stops at the first failure; what was sent is counted.
     */
    private void correct(Run run) throws Exception {
        java.util.concurrent.ExecutorService senders = java.util.concurrent.Executors.newFixedThreadPool(
                Math.max(1, Math.min(settings.correctionSenders(), run.corrections.size())));
        java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicReference<Exception> failure = new java.util.concurrent.atomic.AtomicReference<>();
        try {
            List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
            for (Correction c : run.corrections) {
                futures.add(senders.submit(() -> {
                    if (failure.get() != null) {
                        return;
                    }
                    try {
                        corrector.send(c.entity(), c.key(), c.operation(), c.target(), run.runId);
                        sent.incrementAndGet();
                    } catch (Exception e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (java.util.concurrent.Future<?> f : futures) {
                f.get();
            }
        } finally {
            senders.shutdownNow();
            run.sent = sent.get();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("sending corrections failed: " + failure.get().getMessage(), failure.get());
        }
    }

    // ------------------------------------------------------------------ the report

    /** What a run found and did, while it runs. */
    private final class Run {
        final String runId;
        final ReconcileRequest request;
        final List<ObjectNode> entities = new ArrayList<>();
        final Map<DriftClass, Long> counts = new EnumMap<>(DriftClass.class);
        final List<Correction> corrections = new ArrayList<>();
        final List<Runnable> pending = new ArrayList<>();
        String outcome = "failed";
        String error;
        long rowsRead;
        long dataverseRequests;
        long targetRequests;
        long drifted;
        long compared;
        long sent;

        Run(String runId, ReconcileRequest request) {
            this.runId = runId;
            this.request = request;
        }

        void fail(String message) {
            outcome = "failed";
            error = message;
        }
    }

    private ObjectNode failedBeforeStart(String message, String trigger) {
        Run run = new Run(UUID.randomUUID().toString(), new ReconcileRequest(null, null, ReconcileRequest.Mode.FULL, false,
                ReconcileRequest.Compare.AUTO, trigger));
        run.fail(message);
        ObjectNode report = finish(run, clock.instant());
        report.remove("request");
        return report;
    }

    private ObjectNode finish(Run run, Instant started) {
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
        report.put("dataverseRequests", run.dataverseRequests);
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
                + " neverSynced=" + counts.path("neverSynced").asLong() + ", " + run.rowsRead + " rows read with " + run.dataverseRequests
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
