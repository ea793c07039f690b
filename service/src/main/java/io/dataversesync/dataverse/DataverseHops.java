package io.dataversesync.dataverse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.ToIntFunction;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetSettings;
import org.apache.camel.Exchange;

/**
 * The Dataverse side of the hops, called from the routes: enrich, write back, mark failed.
 * With batching on, concurrent reads of one table go out as one In-filter query and concurrent write-backs as
 * one $batch ({@link MicroBatcher}); each message still gets its own row, its own 404 or its own error. A batch is
 * sized by what it costs, not only by its count: it is cut before its estimated execution time would exceed
 * {@link DataverseClient#maxRequestCostMs()} (Dataverse charges each operation of a $batch in full).
 */
public class DataverseHops {
    public static final String STATUS_SYNCED = "Synced";
    public static final String STATUS_FAILED = "Failed";
    /** A saga step undone by its compensation; the row's overall status once a saga's compensation finished. */
    public static final String STATUS_COMPENSATED = "Compensated";
    /** A saga step whose compensation failed for good (its dead letter carries the saga id). */
    public static final String STATUS_COMPENSATION_FAILED = "CompensationFailed";
    /** Overall status while some of a row's targets have this change and others not yet. */
    public static final String STATUS_SYNCING = "Syncing";
    /** A target's delivery failed transiently and is scheduled again (sync.writeback.retrying-status.enabled). */
    public static final String STATUS_RETRYING = "Retrying";

    /**
     * How reads and write-backs are grouped; maxRows 1 (or window 0 with maxRows 1) sends each on its own.
     * lateWindow: reads only, the window of a read that comes late anyway (a retry's or a replay's read at its
     * target, see {@link #enrich}); write-backs use window.
     */
    public record Batching(boolean enabled, Duration window, Duration lateWindow, int maxRows, Duration maxWait) {
        public Batching(boolean enabled, Duration window, int maxRows, Duration maxWait) {
            this(enabled, window, window, maxRows, maxWait);
        }
    }

    private record Read(String rowId, String correlationId) {
    }

    private record Write(DataverseClient.RowUpdate update, String correlationId) {
    }

    private final DataverseClient client;
    private final EntityCatalog entities;
    private final TargetCatalog targets;
    private final WriteBackColumns columns;
    private final ObjectMapper json;
    private final Clock clock;
    private final Batching reads;
    private final Batching writes;
    /** true: the overall status is a formula column Dataverse computes (sync.writeback.overall-status = formula). */
    private boolean overallByFormula;
    /** The column of the next attempt's time with the Retrying status on; null when it is off. */
    private String nextAttemptColumn;
    private final ScheduledExecutorService timer;
    private final ExecutorService workers;
    private final Map<String, MicroBatcher<Read, Optional<ObjectNode>>> readers = new ConcurrentHashMap<>();
    private final Map<String, List<String>> selects = new ConcurrentHashMap<>();
    private final MicroBatcher<Write, DataverseException> writer;
    private volatile BatchWait batchWait = BatchWait.wholeWindows();
    private volatile int maxInFlight;
    /** Consumer threads of a queue whose messages read late (see {@link #lateReadThreads}); unknown: no bound. */
    private volatile ToIntFunction<String> lateReadThreads = queue -> Integer.MAX_VALUE;

    public DataverseHops(DataverseClient client, EntityCatalog entities, TargetCatalog targets, WriteBackColumns columns, ObjectMapper json,
            Clock clock, Batching reads, Batching writes, ScheduledExecutorService timer, ExecutorService workers) {
        this.client = client;
        this.entities = entities;
        this.targets = targets;
        this.columns = columns;
        this.json = json;
        this.clock = clock;
        this.reads = reads;
        this.writes = writes;
        this.timer = timer;
        this.workers = workers;
        this.writer = writes.enabled()
                ? new MicroBatcher<>("dataverse-write-back", writes.maxRows(), writes.window(), this::sendWrites, timer, workers,
                        client::millisUntilSendable, (batch, next) -> fitsOneRequest(batch.size() + 1,
                                rows -> client.estimatedCost(DataverseCostEstimator.Kind.WRITE, rows), client.maxRequestCostMs()))
                : null;
    }

    /**
     * sync.writeback.overall-status = formula: Dataverse computes the overall status from the targets' status
     * columns (a formula column), so the write-backs never read nor write it: no read per write-back.
     */
    public void overallStatusByFormula(boolean byFormula) {
        this.overallByFormula = byFormula;
    }

    /**
     * How many consumer threads each queue has (sync.consumers.*). A late read waits for its batch up to the late
     * window (sync.coalesce.retry-window-ms) and its consumer thread waits with it, so a batch of one queue's late
     * reads that holds all of that queue's threads can grow no more: it goes at once. Without that, a backlog of
     * late reads (a target's copies too old to trust after a long delay, retries after an outage) went at most one
     * batch of a queue's threads per window, e.g. 32 copies a second, however long the backlog (README, "Late
     * reads"). Late reads are therefore batched per queue and table; the window still gathers a trickle.
     */
    public void lateReadThreads(ToIntFunction<String> threadsOfQueue) {
        this.lateReadThreads = threadsOfQueue;
    }

    /**
     * sync.batching.*: how long a fresh change may hold its read or write-back batch ({@link BatchWait}) and how many
     * batches of one batcher may be out before the next keeps collecting (group commit, MicroBatcher#maxInFlight).
     */
    public void batchWait(BatchWait wait, int maxInFlightPerBatcher) {
        this.batchWait = wait;
        this.maxInFlight = maxInFlightPerBatcher;
        if (writer != null) {
            writer.maxInFlight(maxInFlightPerBatcher);
        }
        readers.values().forEach(r -> r.maxInFlight(maxInFlightPerBatcher));
    }

    /** How long this exchange's change may hold a batch of {@code window} open (see {@link BatchWait}). */
    private long allowance(Exchange exchange, Duration window) {
        Long requestedAt = exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class);
        long age = requestedAt == null ? 0 : clock.millis() - requestedAt;
        return batchWait.allowanceMillis(window.toMillis(), age, client::budgetUsed);
    }

    /**
     * sync.writeback.retrying-status.enabled: Retrying write-backs fill {@code column} with the next attempt's time,
     * and Synced and Failed write-backs clear it. Off (null): the column is never written (it may not exist).
     */
    public void retryingStatus(String column) {
        this.nextAttemptColumn = column == null || column.isBlank() ? null : column.trim();
    }

    /** Hop 2: the body becomes the row as Dataverse has it now; a missing row sets syncRowDeleted. */
    public void enrich(Exchange exchange) throws Exception {
        EntitySettings entity = entity(exchange);
        String rowId = rowId(exchange);
        // a read that starts now returns every change announced before now: the de-duplication relies on it
        exchange.setProperty(SyncProperties.READ_AT, clock.millis());
        boolean late = isLateRead(exchange);
        Optional<ObjectNode> row = reads.enabled()
                ? reader(entity, late ? exchange.getProperty(SyncProperties.QUEUE, "", String.class) : null).submit(new Read(rowId, correlationId(exchange)),
                        allowance(exchange, late ? reads.lateWindow() : reads.window()), reads.maxWait())
                : client.retrieve(entity, readColumns(entity), rowId, correlationId(exchange));
        exchange.setProperty(SyncProperties.ROW_DELETED, row.isEmpty());
        if (row.isPresent()) {
            exchange.setProperty(SyncProperties.ROW_ETAG, row.get().path("@odata.etag").asText(null));
            exchange.getMessage().setBody(json.writeValueAsString(row.get()));
        } else {
            exchange.getMessage().setBody(null);
        }
    }

    /**
     * Hop 6: the target's row id, the hash of what it now holds and its status, and the row's overall status:
     * Synced when every target subscribed to the table is, Failed if one is, Syncing otherwise. With one target the
     * overall status is its status; with several, the other targets' statuses are read first (coalesced with the
     * other reads of the table), which is exact because one row's acknowledgements are handled one at a time (the
     * ack queue is ordered per row) and only this service writes these columns. A write-back that would change
     * nothing is skipped.
     */
    public void writeBackSynced(Exchange exchange) throws Exception {
        EntitySettings entity = entity(exchange);
        TargetSettings target = targets.get(exchange.getProperty(SyncProperties.WRITE_BACK_TARGET, String.class));
        List<TargetSettings> subscribers = targets.subscribersOf(entity.logicalName());
        ObjectNode update = json.createObjectNode();
        update.put(target.writeBack().targetIdColumn(), exchange.getProperty(SyncProperties.TARGET_ROW_ID, String.class));
        String hash = exchange.getProperty(SyncProperties.PAYLOAD_HASH, String.class);
        if (hash != null) {
            update.put(target.writeBack().hashColumn(), hash);
        }
        if (target.writeBack().statusColumn() != null) {
            update.put(target.writeBack().statusColumn(), STATUS_SYNCED);
        }
        if (overallByFormula) {
            if (nextAttemptColumn != null && subscribers.size() == 1) {
                update.putNull(nextAttemptColumn);
            }
            update.put(columns.syncedAt(), clock.instant().toString());
            write(entity, exchange, update);
            return;
        }
        String overall = STATUS_SYNCED;
        if (subscribers.size() > 1) {
            Optional<ObjectNode> current = read(entity, exchange);
            if (current.isEmpty()) {
                return; // deleted meanwhile: nothing to write back to
            }
            overall = overallStatus(subscribers, target, STATUS_SYNCED, current.get());
            update.put(columns.status(), overall);
            if (unchanged(update, current.get())) {
                return;
            }
        }
        update.put(columns.status(), overall);
        update.put(columns.syncedAt(), clock.instant().toString());
        if (STATUS_SYNCED.equals(overall)) {
            update.putNull(columns.error());
            if (nextAttemptColumn != null) {
                update.putNull(nextAttemptColumn);
            }
        }
        write(entity, exchange, update);
    }

    /**
     * Hop 6 of a Retrying status (sync.writeback.retrying-status.enabled): the target's delivery failed transiently and
     * its retry is scheduled. The target's status and the row's overall status say Retrying (unless another target
     * failed for good: Failed stays), the next-attempt column when, the error column why. It came through the ack
     * queue behind the row's earlier acknowledgements, and the retry's own acknowledgement comes after it, so it never
     * overwrites a later Synced. A row that is gone has nothing to show it on.
     */
    public void writeBackRetrying(Exchange exchange) throws Exception {
        EntitySettings entity = entity(exchange);
        TargetSettings target = targets.get(exchange.getProperty(SyncProperties.WRITE_BACK_TARGET, String.class));
        List<TargetSettings> subscribers = targets.subscribersOf(entity.logicalName());
        Long nextAttempt = exchange.getProperty(SyncProperties.RETRY_AT, Long.class);
        String at = nextAttempt == null ? null : java.time.Instant.ofEpochMilli(nextAttempt).toString();
        ObjectNode update = json.createObjectNode();
        if (target.writeBack().statusColumn() != null) {
            update.put(target.writeBack().statusColumn(), STATUS_RETRYING);
        }
        if (nextAttemptColumn != null) {
            update.put(nextAttemptColumn, at);
        }
        String text = target.name() + ": " + exchange.getProperty(SyncProperties.FAILURE_REASON, String.class) + ", retry "
                + exchange.getProperty(SyncProperties.NEXT_RETRY_COUNT, Integer.class) + " at " + at + ": "
                + exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, "", String.class);
        update.put(columns.error(), text.length() > columns.errorMaxLength() ? text.substring(0, columns.errorMaxLength()) : text);
        if (!overallByFormula) {
            String overall = STATUS_RETRYING;
            if (subscribers.size() > 1) {
                Optional<ObjectNode> current = read(entity, exchange);
                if (current.isEmpty()) {
                    return;
                }
                overall = overallStatus(subscribers, target, STATUS_RETRYING, current.get());
            }
            update.put(columns.status(), overall);
        }
        try {
            write(entity, exchange, update);
        } catch (DataverseException e) {
            if (e.statusCode() != 404) {
                throw e;
            }
            // the row is gone: nothing to show the retry on (the retry itself finds that out)
        }
    }

    /**
     * Hop 6 of a compensation: the step's row id and hash are cleared (what it held is undone, so the next change is
     * sent again) and its status is Compensated; after the last compensation (the saga's first step) the row's
     * overall status is Compensated, and its error says which step failed and why.
     */
    public void writeBackCompensated(Exchange exchange) throws Exception {
        EntitySettings entity = entity(exchange);
        TargetSettings target = targets.get(exchange.getProperty(SyncProperties.WRITE_BACK_TARGET, String.class));
        ObjectNode update = json.createObjectNode();
        update.putNull(target.writeBack().targetIdColumn());
        update.putNull(target.writeBack().hashColumn());
        if (target.writeBack().statusColumn() != null) {
            update.put(target.writeBack().statusColumn(), STATUS_COMPENSATED);
        }
        if (exchange.getProperty(SyncProperties.PREVIOUS_STEP) == null) {
            String text = "saga " + exchange.getProperty(SyncProperties.SAGA, String.class) + " " + exchange.getProperty(SyncProperties.SAGA_ID, String.class)
                    + ": step " + exchange.getProperty(SyncProperties.SAGA_FAILED_STEP, String.class) + " failed ("
                    + exchange.getProperty(SyncProperties.SAGA_FAILURE, String.class) + "); the steps before it were compensated";
            if (!overallByFormula) {
                update.put(columns.status(), STATUS_COMPENSATED);
            }
            update.put(columns.error(), text.length() > columns.errorMaxLength() ? text.substring(0, columns.errorMaxLength()) : text);
            update.put(columns.syncedAt(), clock.instant().toString());
        }
        write(entity, exchange, update);
    }

    /** The row's overall status once {@code target} has {@code status}: every other subscriber's as the row says. */
    static String overallStatus(List<TargetSettings> subscribers, TargetSettings target, String status, ObjectNode row) {
        List<String> statuses = new ArrayList<>();
        for (TargetSettings t : subscribers) {
            statuses.add(t.name().equals(target.name()) ? status
                    : t.writeBack().statusColumn() == null ? null : row.path(t.writeBack().statusColumn()).asText(null));
        }
        return overallStatus(statuses);
    }

    /**
     * The overall status of a row from its targets' statuses, the rule of sync.writeback.overall-status = service and
     * of the formula column of the formula mode (README, "Overall status"): a failed compensation makes it Failed; a
     * compensated saga Compensated; a failed target Failed; a target retrying Retrying; Synced when every target is;
     * Syncing in between.
     */
    public static String overallStatus(List<String> statuses) {
        if (statuses.contains(STATUS_COMPENSATION_FAILED)) {
            return STATUS_FAILED;
        }
        if (statuses.contains(STATUS_COMPENSATED)) {
            return STATUS_COMPENSATED;
        }
        if (statuses.contains(STATUS_FAILED)) {
            return STATUS_FAILED;
        }
        if (statuses.contains(STATUS_RETRYING)) {
            return STATUS_RETRYING;
        }
        return statuses.stream().allMatch(STATUS_SYNCED::equals) ? STATUS_SYNCED : STATUS_SYNCING;
    }

    private static boolean unchanged(ObjectNode update, ObjectNode current) {
        var fields = update.fields();
        while (fields.hasNext()) {
            var f = fields.next();
            if (!f.getValue().equals(current.path(f.getKey()).isMissingNode() ? json().nullNode() : current.get(f.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static com.fasterxml.jackson.databind.node.JsonNodeFactory json() {
        return com.fasterxml.jackson.databind.node.JsonNodeFactory.instance;
    }

    private Optional<ObjectNode> read(EntitySettings entity, Exchange exchange) throws Exception {
        String rowId = rowId(exchange);
        return reads.enabled()
                ? reader(entity, null).submit(new Read(rowId, correlationId(exchange)), allowance(exchange, reads.window()), reads.maxWait())
                : client.retrieve(entity, readColumns(entity), rowId, correlationId(exchange));
    }

    /**
     * A read that comes late anyway: a retry (it has waited seconds of backoff) or a target's read of a replayed
     * or old copy (sync-prepare-delivery). Such reads trickle in one by one, so they wait for the longer late window
     * (sync.coalesce.retry-window-ms) to share their In-filter query: a failing target's retries would otherwise
     * cost one request each, the largest Dataverse cost of a fan-out with one unhealthy target (README, fan-out).
     */
    static boolean isLateRead(Exchange exchange) {
        return exchange.getProperty(SyncProperties.RETRY_COUNT, 0, Integer.class) > 0 || exchange.getProperty(SyncProperties.TARGET) != null;
    }

    private void write(EntitySettings entity, Exchange exchange, ObjectNode update) throws Exception {
        DataverseClient.RowUpdate rowUpdate = new DataverseClient.RowUpdate(entity, rowId(exchange), update);
        if (writer == null) {
            client.update(rowUpdate.entity(), rowUpdate.rowId(), update, correlationId(exchange));
            return;
        }
        DataverseException failure = writer.submit(new Write(rowUpdate, correlationId(exchange)), allowance(exchange, writes.window()), writes.maxWait());
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Best effort after dead-lettering: the target's status and the row's overall status Failed, with a short reason
     * naming the target. Only for messages that passed validation (a known entity and a GUID); a row that is gone
     * has nothing to mark.
     */
    public void markFailed(Exchange exchange) throws Exception {
        String entityName = exchange.getProperty(SyncProperties.ENTITY, String.class);
        String rowId = exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
        String reason = exchange.getProperty(SyncProperties.FAILURE_REASON, String.class);
        if (entityName == null || rowId == null || "RowDeleted".equals(reason) || entities.find(entityName).isEmpty()) {
            return;
        }
        String targetName = exchange.getProperty(SyncProperties.TARGET, String.class);
        if (targetName == null) {
            targetName = exchange.getProperty(SyncProperties.WRITE_BACK_TARGET, String.class);
        }
        Optional<TargetSettings> target = targets.find(targetName);
        String text = (target.isPresent() ? target.get().name() + ": " : "") + reason + ": "
                + exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, "", String.class);
        boolean compensating = exchange.getProperty(SyncProperties.COMPENSATING, false, Boolean.class);
        if (compensating) {
            text = "compensation of " + text + " (saga " + exchange.getProperty(SyncProperties.SAGA_ID, String.class) + ")";
        }
        ObjectNode update = json.createObjectNode();
        if (target.isPresent() && target.get().writeBack().statusColumn() != null) {
            update.put(target.get().writeBack().statusColumn(), compensating ? STATUS_COMPENSATION_FAILED : STATUS_FAILED);
        }
        if (!overallByFormula) {
            update.put(columns.status(), STATUS_FAILED);
        }
        update.put(columns.error(), text.length() > columns.errorMaxLength() ? text.substring(0, columns.errorMaxLength()) : text);
        if (nextAttemptColumn != null) {
            update.putNull(nextAttemptColumn);
        }
        try {
            client.update(entities.get(entityName), rowId, update, correlationId(exchange));
        } catch (DataverseException e) {
            if (e.statusCode() != 404) {
                throw e;
            }
            // the row is gone (or never existed): there is nothing to mark
        }
    }

    /**
     * The $select of an entity: its mapped columns, its key, and per subscribed target the hash of what it holds
     * (echo suppression) and its status (the overall status).
     */
    public List<String> readColumns(EntitySettings entity) {
        return selects.computeIfAbsent(entity.logicalName(), name -> {
            Set<String> select = new LinkedHashSet<>();
            select.add(entity.idColumn());
            select.addAll(entity.columns());
            for (TargetSettings t : targets.subscribersOf(name)) {
                select.add(t.writeBack().hashColumn());
                if (t.writeBack().statusColumn() != null) {
                    select.add(t.writeBack().statusColumn());
                }
            }
            return List.copyOf(select);
        });
    }

    /** The batcher of fresh reads of a table ({@code lateQueue} null), or of the late reads of one queue. */
    private MicroBatcher<Read, Optional<ObjectNode>> reader(EntitySettings entity, String lateQueue) {
        boolean late = lateQueue != null;
        String name = entity.logicalName() + (late ? "-late-" + lateQueue : "");
        int maxRows = late ? Math.max(1, Math.min(reads.maxRows(), lateReadThreads.applyAsInt(lateQueue))) : reads.maxRows();
        return readers.computeIfAbsent(name, n -> new MicroBatcher<Read, Optional<ObjectNode>>("dataverse-read-" + n,
                maxRows, late ? reads.lateWindow() : reads.window(), batch -> sendReads(entity, batch), timer, workers, client::millisUntilSendable,
                (batch, next) -> fitsOneRequest(distinctRows(batch, next),
                        rows -> client.estimatedCost(DataverseCostEstimator.Kind.READ, rows), client.maxRequestCostMs()))
                .maxInFlight(maxInFlight));
    }

    /** The rows one In-filter query would ask for with {@code next} added (a row asked twice is read once). */
    private static int distinctRows(List<Read> batch, Read next) {
        Set<String> ids = new java.util.HashSet<>();
        batch.forEach(r -> ids.add(r.rowId()));
        ids.add(next.rowId());
        return ids.size();
    }

    /**
     * Whether one request of {@code rows} rows stays within the cost cap: its estimated execution time at most
     * {@code capMs} (dataverse.limits.max-request-cost-ms, never more than the window admits). A single row always
     * goes: it cannot be split further. The batchers' max-rows still bound the count.
     */
    static boolean fitsOneRequest(int rows, java.util.function.IntToLongFunction estimatedCost, long capMs) {
        return rows <= 1 || estimatedCost.applyAsLong(rows) <= capMs;
    }

    private List<Optional<ObjectNode>> sendReads(EntitySettings entity, List<Read> batch) {
        try {
            List<Optional<ObjectNode>> rows = new ArrayList<>(batch.size());
            Set<String> distinct = new LinkedHashSet<>();
            batch.forEach(r -> distinct.add(r.rowId()));
            if (distinct.size() == 1) {
                // one row: a plain GET by key is the same one request and keeps Dataverse's own 404
                Optional<ObjectNode> row = client.retrieve(entity, readColumns(entity), batch.get(0).rowId(), batch.get(0).correlationId());
                batch.forEach(r -> rows.add(row.map(ObjectNode::deepCopy)));
                return rows;
            }
            Map<String, ObjectNode> found = client.retrieveMany(entity, readColumns(entity), distinct, null);
            batch.forEach(r -> rows.add(Optional.ofNullable(found.get(r.rowId())).map(ObjectNode::deepCopy)));
            return rows;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading from Dataverse", e);
        }
    }

    private List<DataverseException> sendWrites(List<Write> batch) {
        try {
            if (batch.size() == 1) {
                Write only = batch.get(0);
                try {
                    client.update(only.update().entity(), only.update().rowId(), only.update().columns(), only.correlationId());
                    return java.util.Collections.singletonList(null);
                } catch (DataverseException e) {
                    return java.util.Collections.singletonList(e);
                }
            }
            return client.updateMany(batch.stream().map(Write::update).toList(), null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing to Dataverse", e);
        }
    }

    private EntitySettings entity(Exchange exchange) {
        return entities.get(exchange.getProperty(SyncProperties.ENTITY, String.class));
    }

    private static String rowId(Exchange exchange) {
        return exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
    }

    private static String correlationId(Exchange exchange) {
        return exchange.getProperty(SyncProperties.CORRELATION_ID, String.class);
    }
}
