package io.dataversesync.reconcile;

import java.time.Clock;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.dataverse.BudgetShare;
import io.dataversesync.dataverse.DataverseClient;
import io.dataversesync.dataverse.DataverseCostEstimator;
import io.dataversesync.dataverse.DataverseException;
import io.dataversesync.dataverse.DataverseHops;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.target.TargetSettings;

/**
 * Walks one entity's Dataverse rows page by page: every row (server-driven paging, change tracking on, so a full run
 * leaves the delta link an incremental run continues from) or only what changed since the last run (the stored delta
 * link), paced within the reconciliation's share of the Dataverse budget ({@link BudgetShare}); maps each row as
 * every target of the job sees it. Also keeps the delta links ({@link ReportStore}).
 */
final class DataverseRowReader {
    /** A Dataverse row as one target sees it. */
    record RowState(String mappedPayload, String mappedHash, String storedHash, String status) {
        /** The payload is parsed only when it is compared with a record (most rows of a hash compare never are). */
        DriftClassifier.Row toRow(ObjectMapper json, boolean compared) throws Exception {
            return new DriftClassifier.Row(compared ? json.readTree(mappedPayload) : null, mappedHash, storedHash, status);
        }
    }

    /** The rows read for one target, by key, and the rows its mapping could not map. */
    static final class TargetRows {
        final Map<String, RowState> byKey = new HashMap<>();
        long unmappable;
        String firstMappingError;
    }

    /** What one entity's reading found: whether it read every row, the rows per target, the ids reported deleted. */
    record Rows(boolean full, Map<String, TargetRows> byTarget, Set<String> deleted) {
    }

    private interface PageRead {
        DataverseClient.Page read() throws Exception;
    }

    private final DataverseClient dataverse;
    private final DataverseHops hops;
    private final PayloadMapper mapper;
    private final BudgetShare share;
    private final ReportStore store;
    private final Clock clock;
    private final Reconciler.Settings settings;

    DataverseRowReader(DataverseClient dataverse, DataverseHops hops, PayloadMapper mapper, BudgetShare share, ReportStore store, Clock clock,
            Reconciler.Settings settings) {
        this.dataverse = dataverse;
        this.hops = hops;
        this.mapper = mapper;
        this.share = share;
        this.store = store;
        this.clock = clock;
        this.settings = settings;
    }

    Rows read(ReconcileJob job, ReconcileRun run) throws Exception {
        EntitySettings entity = job.entity;
        Set<String> columns = new LinkedHashSet<>(hops.readColumns(entity));
        columns.add(settings.overallStatusColumn());
        job.targets.forEach(t -> columns.add(t.writeBack().targetIdColumn()));
        Map<String, TargetRows> rows = new HashMap<>();
        job.targets.forEach(t -> rows.put(t.name(), new TargetRows()));
        Set<String> deleted = new LinkedHashSet<>();
        String mode = run.request.mode() == ReconcileRequest.Mode.FULL ? "full" : "incremental";
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
        ExecutorService readAhead = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "reconcile-read-ahead");
            thread.setDaemon(true);
            return thread;
        });
        try {
            while (true) {
                Future<DataverseClient.Page> nextPage = null;
                if (page.nextLink() != null) {
                    String next = page.nextLink();
                    nextPage = readAhead.submit(() -> readPage(run, () -> dataverse.readPage(next, settings.pageSize(), correlationId)));
                }
                for (ObjectNode row : page.rows()) {
                    rowsRead++;
                    map(job, row, rows);
                }
                page.deletedIds().forEach(deleted::add);
                if (nextPage == null) {
                    job.deltaLink = page.deltaLink();
                    break;
                }
                try {
                    page = nextPage.get();
                } catch (ExecutionException e) {
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
        return new Rows(mode.equals("full"), rows, deleted);
    }

    /** Keeps the delta link the job's reading left, for the next incremental run; says in the job's report whether it could. */
    void saveDeltaLink(ReconcileJob job) {
        try {
            store.saveDeltaLink(job.deltaKey(), job.deltaLink, clock.instant());
            job.report.put("deltaLinkSaved", true);
        } catch (RuntimeException e) {
            // not fatal: the next incremental run falls back to a full one
            job.report.put("deltaLinkSaved", false);
            job.report.put("deltaLinkError", e.getMessage());
        }
    }

    /** One row as each target of the job sees it. */
    private void map(ReconcileJob job, ObjectNode row, Map<String, TargetRows> rows) {
        String id = row.path(job.entity.idColumn()).asText().toLowerCase();
        String rowJson = row.toString();
        for (TargetSettings t : job.targets) {
            TargetRows target = rows.get(t.name());
            PayloadMapper.Mapped mapped = mapper.map(t.name(), job.entity.logicalName(), rowJson);
            if (mapped.error() != null) {
                target.unmappable++;
                target.firstMappingError = target.firstMappingError == null ? mapped.error() : target.firstMappingError;
                continue;
            }
            String status = t.writeBack().statusColumn() != null ? text(row, t.writeBack().statusColumn())
                    : text(row, settings.overallStatusColumn());
            target.byKey.put(id, new RowState(mapped.payload(), mapped.hash(), text(row, t.writeBack().hashColumn()), status));
        }
    }

    /** One Dataverse request within the reconciliation's share of the budget. */
    private DataverseClient.Page readPage(ReconcileRun run, PageRead read) throws Exception {
        share.acquire(dataverse.estimatedCost(DataverseCostEstimator.Kind.READ, settings.pageSize()));
        run.dataverseRequests.incrementAndGet();
        return read.read();
    }

    private static String text(JsonNode row, String column) {
        JsonNode v = row.get(column);
        return v == null || v.isNull() ? null : v.asText();
    }
}
