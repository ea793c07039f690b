package io.dataversesync.sync;

import io.dataversesync.exchange.SyncProperties;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.policy.InvalidMessageException;
import io.dataversesync.policy.MappingException;
import io.dataversesync.policy.RowDeletedException;
import io.dataversesync.security.CorrelationIds;
import io.dataversesync.security.SafeText;
import io.dataversesync.target.Sagas;
import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetNames;
import io.dataversesync.target.TargetSettings;
import org.apache.camel.Exchange;

/**
 * Reads and writes the JSON messages of the sync: the change notification on the outbound queue (our own small
 * form, or the RemoteExecutionContext Dataverse posts itself) and the acknowledgement on the ack queue.
 * Everything read from a queue is validated here before any hop uses it.
 */
public class SyncMessages {
    private static final int MAX_BODY_CHARS = 1024 * 1024;

    private final ObjectMapper json;
    private final EntityCatalog entities;
    private final TargetCatalog targets;
    private final Sagas sagas;
    private final Clock clock;
    private final long snapshotMaxAgeMs;

    public SyncMessages(ObjectMapper json, EntityCatalog entities, TargetCatalog targets, Sagas sagas, Clock clock) {
        this(json, entities, targets, sagas, clock, Long.MAX_VALUE);
    }

    /**
     * @param snapshotMaxAgeMs a row carried by a change older than this is read again (a replayed dead letter, a
     *                         long backlog): an old snapshot could otherwise reach a target after a newer one
     */
    public SyncMessages(ObjectMapper json, EntityCatalog entities, TargetCatalog targets, Sagas sagas, Clock clock, long snapshotMaxAgeMs) {
        this.json = json;
        this.entities = entities;
        this.targets = targets;
        this.sagas = sagas;
        this.clock = clock;
        this.snapshotMaxAgeMs = snapshotMaxAgeMs;
    }

    /** Hop 1: validate the notification and put entity, row id and operation on the exchange. */
    public void readNotification(Exchange exchange) {
        JsonNode body = parseObject(exchange.getProperty(SyncProperties.ORIGINAL_BODY, String.class), "notification");
        String entity;
        String rowId;
        String operation;
        if (body.has("PrimaryEntityName") || body.has("PrimaryEntityId")) {
            // RemoteExecutionContext as posted by a Dataverse service endpoint (message format JSON)
            entity = text(body, "PrimaryEntityName");
            rowId = text(body, "PrimaryEntityId");
            operation = text(body, "MessageName");
            if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null) {
                CorrelationIds.adopt(exchange, text(body, "CorrelationId"));
            }
        } else {
            entity = text(body, "entity");
            rowId = text(body, "sourceRowId");
            operation = text(body, "operation");
        }
        EntitySettings settings = requireEntity(entity);
        exchange.setProperty(SyncProperties.ENTITY, settings.logicalName());
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, requireGuid(rowId, "sourceRowId"));
        exchange.setProperty(SyncProperties.OPERATION, normalizeOperation(operation));
        readCorrection(exchange, body, settings);
    }

    /**
     * A correction (reconciliation, replay): {@code "target"} names the one target it is for (declared, subscribed
     * to the table), {@code "resend": true} makes it reach the target even if the payload looks delivered.
     */
    private void readCorrection(Exchange exchange, JsonNode body, EntitySettings entity) {
        String target = text(body, "target");
        if (target != null) {
            if (!TargetNames.isValid(target) || targets.find(target).isEmpty()) {
                throw new InvalidMessageException("notification names no declared target (declared: " + targets.names() + "), was '"
                        + abbreviate(target) + "'");
            }
            if (!targets.get(target).subscribes(entity.logicalName())) {
                throw new InvalidMessageException("target " + target + " does not subscribe to " + entity.logicalName());
            }
            exchange.setProperty(SyncProperties.ONLY_TARGET, target);
        }
        if (body.path("resend").asBoolean(false)) {
            String correlationId = exchange.getProperty(SyncProperties.CORRELATION_ID, String.class);
            if (correlationId == null) {
                correlationId = java.util.UUID.randomUUID().toString();
                exchange.setProperty(SyncProperties.CORRELATION_ID, correlationId);
            }
            exchange.setProperty(SyncProperties.RESEND, "-resend-" + correlationId);
        }
    }

    /**
     * The row exists (it was read), yet the message says Delete: the row was restored (recycle bin) or the delete
     * notification is older than the row's re-creation. The row as read is the truth: it is sent, not deleted.
     */
    public void onRowPresent(Exchange exchange) {
        exchange.setProperty(SyncProperties.OPERATION, "Update");
    }

    /**
     * A change notification as the plug-in step sends it (the outbox relay sends one per record): entity, Source Row
     * ID and operation from the exchange; the correlation id travels in the message's envelope.
     */
    public String notificationBody(Exchange exchange) {
        ObjectNode n = json.createObjectNode();
        n.put("entity", exchange.getProperty(SyncProperties.ENTITY, String.class));
        n.put("sourceRowId", exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class));
        n.put("operation", exchange.getProperty(SyncProperties.OPERATION, String.class));
        return n.toString();
    }

    /**
     * The intake relay: what Dataverse's built-in service endpoint posts, a RemoteExecutionContext, validated like a
     * notification (a synced entity, a GUID row id, Create / Update / Delete) before it is relayed. Only that shape is
     * accepted on the intake queue: our own notifications go to the outbound queue directly.
     */
    public void readIntake(Exchange exchange) {
        JsonNode body = parseObject(exchange.getProperty(SyncProperties.ORIGINAL_BODY, String.class), "RemoteExecutionContext");
        if (!body.has("PrimaryEntityName") || !body.has("PrimaryEntityId")) {
            throw new InvalidMessageException("the intake queue takes the RemoteExecutionContext Dataverse posts (PrimaryEntityName, "
                    + "PrimaryEntityId, MessageName); this message lacks PrimaryEntityName or PrimaryEntityId");
        }
        readNotification(exchange);
    }

    /**
     * The fan-out: what every target receives on the changes topic. The row as read (null when it is gone) and
     * when it was read, so a target's first attempt needs no read of its own; a retry reads again.
     */
    public String changeBody(Exchange exchange) throws JsonProcessingException {
        ObjectNode change = changeKeys(exchange);
        change.put("readAt", exchange.getProperty(SyncProperties.READ_AT, Long.class));
        if (exchange.getProperty(SyncProperties.ONLY_TARGET) != null) {
            change.put("target", exchange.getProperty(SyncProperties.ONLY_TARGET, String.class));
        }
        if (exchange.getProperty(SyncProperties.RESEND) != null) {
            change.put("resend", true);
        }
        String row = exchange.getMessage().getBody(String.class);
        if (row == null || row.isBlank() || exchange.getProperty(SyncProperties.ROW_DELETED, false, Boolean.class)) {
            change.putNull("row");
        } else {
            change.set("row", json.readTree(row));
        }
        return change.toString();
    }

    /**
     * A target's copy of a change: validated like a notification (it may also be one: a replay or an on-demand
     * sync sends plain notifications to one target); the row it carries becomes the body. Sets syncSubscribed.
     */
    public void readChange(Exchange exchange) {
        String target = exchange.getProperty(SyncProperties.TARGET, String.class);
        TargetSettings settings = targets.get(target);
        JsonNode body = parseObject(exchange.getProperty(SyncProperties.ORIGINAL_BODY, String.class), "change");
        if (!body.has("readAt")) {
            readNotification(exchange);
        } else {
            readSnapshot(exchange, body);
            readCorrection(exchange, body, requireEntity(exchange.getProperty(SyncProperties.ENTITY, String.class)));
        }
        // a correction for another target (e.g. a dead letter replayed to the whole topic) is not this target's
        String onlyTarget = exchange.getProperty(SyncProperties.ONLY_TARGET, String.class);
        exchange.setProperty(SyncProperties.SUBSCRIBED, settings.subscribes(exchange.getProperty(SyncProperties.ENTITY, String.class))
                && (onlyTarget == null || onlyTarget.equals(target)));
        Optional<Sagas.Saga> saga = sagas.of(target);
        if (saga.isPresent()) {
            readSaga(exchange, body.get("saga"), saga.get(), target);
        }
    }

    /** A published change: its keys, and its row unless the snapshot is too old to trust (then it is read again). */
    private void readSnapshot(Exchange exchange, JsonNode body) {
        EntitySettings entity = requireEntity(text(body, "entity"));
        exchange.setProperty(SyncProperties.ENTITY, entity.logicalName());
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, requireGuid(text(body, "sourceRowId"), "sourceRowId"));
        exchange.setProperty(SyncProperties.OPERATION, normalizeOperation(text(body, "operation")));
        if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null) {
            CorrelationIds.adopt(exchange, text(body, "correlationId"));
        }
        JsonNode readAt = body.get("readAt");
        if (readAt == null || !readAt.canConvertToLong()) {
            throw new InvalidMessageException("change needs readAt as epoch milliseconds");
        }
        exchange.setProperty(SyncProperties.COVERED_UNTIL, readAt.asLong());
        if (clock.millis() - readAt.asLong() > snapshotMaxAgeMs) {
            // too old to trust: no snapshot, the row is read again (sync-prepare-delivery)
            exchange.setProperty(SyncProperties.READ_AT, null);
            exchange.getMessage().setBody(null);
            return;
        }
        exchange.setProperty(SyncProperties.READ_AT, readAt.asLong());
        JsonNode row = body.get("row");
        if (row != null && row.isObject()) {
            exchange.setProperty(SyncProperties.ROW_DELETED, false);
            exchange.setProperty(SyncProperties.ROW_ETAG, row.path("@odata.etag").asText(null));
            exchange.getMessage().setBody(row.toString());
        } else {
            exchange.setProperty(SyncProperties.ROW_DELETED, true);
            exchange.setProperty(SyncProperties.OPERATION, "Delete");
            exchange.getMessage().setBody(null);
        }
    }

    /**
     * A saga step's state, as the step before it forwarded it (the first step starts the saga: a new saga id, no
     * results yet). The results are row ids earlier targets answered: they may go into this step's path and mapping,
     * so they are checked like any input.
     */
    private void readSaga(Exchange exchange, JsonNode block, Sagas.Saga saga, String step) {
        Map<String, String> results = new LinkedHashMap<>();
        String id = null;
        if (block != null && !block.isNull()) {
            if (!block.isObject() || !saga.name().equals(text(block, "name"))) {
                throw new InvalidMessageException("the saga state names another saga than " + saga.name() + ", the saga of step " + step);
            }
            id = requireGuid(text(block, "id"), "saga id");
            JsonNode r = block.get("results");
            if (r != null && r.isObject()) {
                r.fields().forEachRemaining(f -> {
                    int index = saga.indexOf(f.getKey());
                    boolean compensating = exchange.getProperty(SyncProperties.COMPENSATING, false, Boolean.class);
                    // forward: only the steps before this one have answered; a compensation carries every result
                    if (index < 0 || (!compensating && index >= saga.indexOf(step))) {
                        throw new InvalidMessageException("saga result for '" + abbreviate(f.getKey()) + "', which is not a step "
                                + (compensating ? "of saga " + saga.name() : "before " + step));
                    }
                    results.put(f.getKey(), requireRowId(f.getValue().isValueNode() ? f.getValue().asText() : null, "saga result " + f.getKey()));
                });
            }
            exchange.setProperty(SyncProperties.SAGA_FAILED_STEP, text(block, "failedStep"));
            String failure = text(block, "failure");
            exchange.setProperty(SyncProperties.SAGA_FAILURE, failure == null ? null : abbreviate(failure, 1000));
        }
        if (id == null) {
            if (saga.indexOf(step) > 0 || exchange.getProperty(SyncProperties.COMPENSATING, false, Boolean.class)) {
                throw new InvalidMessageException("step " + step + " of saga " + saga.name() + " needs the saga state the step before it forwards");
            }
            id = java.util.UUID.randomUUID().toString();
        }
        exchange.setProperty(SyncProperties.SAGA, saga.name());
        exchange.setProperty(SyncProperties.SAGA_ID, id);
        exchange.setProperty(SyncProperties.SAGA_RESULTS, results);
        exchange.setProperty(SyncProperties.NEXT_STEP, saga.next(step).orElse(null));
        exchange.setProperty(SyncProperties.PREVIOUS_STEP, saga.previous(step).orElse(null));
    }

    /**
     * A compensation: the saga state of a failed saga, for one of the steps that had succeeded. The row id its target
     * answered then is what the compensation call addresses ({targetRowId}).
     */
    public void readCompensation(Exchange exchange) {
        String step = exchange.getProperty(SyncProperties.TARGET, String.class);
        Sagas.Saga saga = sagas.of(step).orElseThrow(() -> new IllegalStateException(step + " is no saga step"));
        JsonNode body = parseObject(exchange.getProperty(SyncProperties.ORIGINAL_BODY, String.class), "compensation");
        EntitySettings entity = requireEntity(text(body, "entity"));
        exchange.setProperty(SyncProperties.ENTITY, entity.logicalName());
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, requireGuid(text(body, "sourceRowId"), "sourceRowId"));
        exchange.setProperty(SyncProperties.OPERATION, "Compensate");
        if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null) {
            CorrelationIds.adopt(exchange, text(body, "correlationId"));
        }
        readSaga(exchange, body.get("saga"), saga, step);
        @SuppressWarnings("unchecked")
        Map<String, String> results = exchange.getProperty(SyncProperties.SAGA_RESULTS, Map.class);
        exchange.setProperty(SyncProperties.TARGET_ROW_ID, results.get(step));
    }

    /** The next saga step's message: the change and row as this step had them, and the results so far with its own. */
    public String sagaForwardBody(Exchange exchange) throws JsonProcessingException {
        @SuppressWarnings("unchecked")
        Map<String, String> results = new LinkedHashMap<>(exchange.getProperty(SyncProperties.SAGA_RESULTS, Map.class));
        String targetRowId = exchange.getProperty(SyncProperties.TARGET_ROW_ID, String.class);
        if (targetRowId != null) {
            results.put(exchange.getProperty(SyncProperties.TARGET, String.class), targetRowId);
        }
        exchange.setProperty(SyncProperties.SAGA_RESULTS, results);
        exchange.setProperty(SyncProperties.NEXT_SUBSCRIPTION, exchange.getProperty(SyncProperties.NEXT_STEP));
        ObjectNode change = sagaMessage(exchange, results);
        String row = exchange.getProperty(SyncProperties.ROW_JSON, String.class);
        change.put("readAt", exchange.getProperty(SyncProperties.READ_AT, Long.class));
        if (row == null) {
            change.putNull("row");
        } else {
            change.set("row", json.readTree(row));
        }
        return change.toString();
    }

    /**
     * The compensation of the step before this one: after this step failed for good, or after this step's own
     * compensation succeeded. The failure (which step, why) travels on to the end.
     */
    public String compensationBody(Exchange exchange) {
        @SuppressWarnings("unchecked")
        Map<String, String> results = exchange.getProperty(SyncProperties.SAGA_RESULTS, Map.class);
        if (exchange.getProperty(SyncProperties.SAGA_FAILED_STEP) == null) {
            exchange.setProperty(SyncProperties.SAGA_FAILED_STEP, exchange.getProperty(SyncProperties.TARGET));
            exchange.setProperty(SyncProperties.SAGA_FAILURE, abbreviate(exchange.getProperty(SyncProperties.FAILURE_REASON, String.class) + ": "
                    + exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, "", String.class), 1000));
        }
        exchange.setProperty(SyncProperties.NEXT_SUBSCRIPTION, exchange.getProperty(SyncProperties.PREVIOUS_STEP) + Sagas.COMPENSATION_SUFFIX);
        return sagaMessage(exchange, results).toString();
    }

    /** What every message about a change carries: the row's keys, the operation, correlation id and first-request time. */
    private ObjectNode changeKeys(Exchange exchange) {
        ObjectNode change = json.createObjectNode();
        change.put("entity", exchange.getProperty(SyncProperties.ENTITY, String.class));
        change.put("sourceRowId", exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class));
        change.put("operation", exchange.getProperty(SyncProperties.OPERATION, String.class));
        change.put("correlationId", exchange.getProperty(SyncProperties.CORRELATION_ID, String.class));
        change.put("requestedAt", exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class));
        return change;
    }

    private ObjectNode sagaMessage(Exchange exchange, Map<String, String> results) {
        ObjectNode message = changeKeys(exchange);
        if ("Compensate".equals(exchange.getProperty(SyncProperties.OPERATION))) {
            message.put("operation", "Update");
        }
        ObjectNode saga = message.putObject("saga");
        saga.put("name", exchange.getProperty(SyncProperties.SAGA, String.class));
        saga.put("id", exchange.getProperty(SyncProperties.SAGA_ID, String.class));
        ObjectNode r = saga.putObject("results");
        results.forEach(r::put);
        String failedStep = exchange.getProperty(SyncProperties.SAGA_FAILED_STEP, String.class);
        if (failedStep != null) {
            saga.put("failedStep", failedStep);
            saga.put("failure", exchange.getProperty(SyncProperties.SAGA_FAILURE, String.class));
        }
        return message;
    }

    /** Before mapping: the hash of what this target holds, as the row's write-back column says (echo suppression). */
    public void targetRowState(Exchange exchange) throws JsonProcessingException {
        TargetSettings target = targets.get(exchange.getProperty(SyncProperties.TARGET, String.class));
        String row = exchange.getMessage().getBody(String.class);
        String hash = null;
        String knownTargetRowId = null;
        if (row != null && !row.isBlank() && !exchange.getProperty(SyncProperties.ROW_DELETED, false, Boolean.class)) {
            JsonNode node = json.readTree(row);
            hash = node.path(target.writeBack().hashColumn()).asText(null);
            knownTargetRowId = node.path(target.writeBack().targetIdColumn()).asText(null);
        }
        // what the target answered last time: a saga step with nothing to send still passes it to the next step
        exchange.setProperty(SyncProperties.TARGET_ROW_ID, knownTargetRowId);
        exchange.setProperty(SyncProperties.ROW_SYNCED_HASH, hash);
        exchange.setProperty(SyncProperties.ROW_JSON, row);
        @SuppressWarnings("unchecked")
        Map<String, String> results = exchange.getProperty(SyncProperties.SAGA_RESULTS, Map.class);
        if (row != null && !row.isBlank() && results != null && !results.isEmpty()) {
            // a saga step maps the row together with what the steps before it answered: _saga.<step> = their row id
            ObjectNode withSaga = (ObjectNode) json.readTree(row);
            ObjectNode saga = withSaga.putObject("_saga");
            results.forEach(saga::put);
            exchange.getMessage().setBody(withSaga.toString());
        }
    }

    /** The input of a soft-delete mapping (ENTITY.deleted.jsonata): the row is gone, its key and entity remain. */
    public String deletedRowBody(Exchange exchange) {
        ObjectNode body = json.createObjectNode();
        body.put("entity", exchange.getProperty(SyncProperties.ENTITY, String.class));
        body.put("sourceRowId", exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class));
        body.put("deletedAt", clock.instant().toString());
        return body.toString();
    }

    /** The row was gone at enrich time: delete at the target, or dead-letter, as the entity is configured. */
    public void onRowDeleted(Exchange exchange) {
        EntitySettings settings = entities.get(exchange.getProperty(SyncProperties.ENTITY, String.class));
        String id = exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
        if (settings.onDeleted() == EntitySettings.OnDeleted.DEAD_LETTER) {
            throw new RowDeletedException(settings.logicalName() + " " + id + " no longer exists in Dataverse");
        }
        exchange.setProperty(SyncProperties.OPERATION, "Delete");
    }

    /** Hop 3's guard: a mapping must yield one JSON object; its hash keys the target call's idempotency. */
    public void checkMappedPayload(Exchange exchange) {
        String entity = exchange.getProperty(SyncProperties.ENTITY, String.class);
        String mapped = exchange.getMessage().getBody(String.class);
        JsonNode node;
        try {
            node = mapped == null || mapped.isBlank() ? null : json.readTree(mapped);
        } catch (JsonProcessingException e) {
            throw new MappingException("mapping for " + entity + " did not produce JSON: " + SafeText.escape(e.getOriginalMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new MappingException("mapping for " + entity + " must produce a JSON object, produced: "
                    + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase(Locale.ROOT)));
        }
        String canonical = node.toString();
        exchange.getMessage().setBody(canonical);
        String hash = sha256(canonical);
        exchange.setProperty(SyncProperties.PAYLOAD_HASH, hash);
    }

    /** Hop 5: the acknowledgement, carrying both keys and what was synced. */
    public String ackBody(Exchange exchange) {
        ObjectNode ack = changeKeys(exchange);
        ack.put("target", exchange.getProperty(SyncProperties.TARGET, String.class));
        ack.put("targetRowId", exchange.getProperty(SyncProperties.TARGET_ROW_ID, String.class));
        ack.put("rowEtag", exchange.getProperty(SyncProperties.ROW_ETAG, String.class));
        ack.put("payloadHash", exchange.getProperty(SyncProperties.PAYLOAD_HASH, String.class));
        ack.put("syncedAt", clock.instant().toString());
        if ("compensated".equals(exchange.getProperty(SyncProperties.OUTCOME))) {
            ack.put("operation", "Update");
            ack.put("outcome", "compensated");
            ack.put("final", exchange.getProperty(SyncProperties.PREVIOUS_STEP) == null);
            ack.put("saga", exchange.getProperty(SyncProperties.SAGA, String.class));
            ack.put("sagaId", exchange.getProperty(SyncProperties.SAGA_ID, String.class));
            ack.put("failedStep", exchange.getProperty(SyncProperties.SAGA_FAILED_STEP, String.class));
            ack.put("failure", exchange.getProperty(SyncProperties.SAGA_FAILURE, String.class));
        }
        return ack.toString();
    }

    /** Hop 6's first step: validate the acknowledgement (it goes into a Dataverse URL and body). */
    public void readAck(Exchange exchange) {
        JsonNode body = parseObject(exchange.getProperty(SyncProperties.ORIGINAL_BODY, String.class), "acknowledgement");
        EntitySettings settings = requireEntity(text(body, "entity"));
        exchange.setProperty(SyncProperties.ENTITY, settings.logicalName());
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, requireGuid(text(body, "sourceRowId"), "sourceRowId"));
        String target = text(body, "target");
        boolean rowLevelFailure = "failed".equals(text(body, "outcome")) && target == null;
        if (!rowLevelFailure && (!TargetNames.isValid(target) || targets.find(target).isEmpty())) {
            throw new InvalidMessageException("acknowledgement names no declared target (declared: " + targets.names() + "), was '"
                    + abbreviate(target) + "'");
        }
        exchange.setProperty(SyncProperties.WRITE_BACK_TARGET, target);
        String operation = normalizeOperation(text(body, "operation"));
        exchange.setProperty(SyncProperties.OPERATION, operation);
        String outcome = text(body, "outcome");
        if (outcome != null && !outcome.equals("synced") && !outcome.equals("compensated") && !outcome.equals("failed")
                && !outcome.equals("retrying")) {
            throw new InvalidMessageException("acknowledgement outcome must be synced, compensated, failed or retrying, was '"
                    + abbreviate(outcome) + "'");
        }
        boolean compensated = "compensated".equals(outcome);
        boolean failed = "failed".equals(outcome);
        exchange.setProperty(SyncProperties.OUTCOME, outcome == null ? "synced" : outcome);
        if (failed) {
            readFailedMark(exchange, body);
            return;
        }
        if ("retrying".equals(outcome)) {
            readRetrying(exchange, body);
            return;
        }
        String targetRowId = text(body, "targetRowId");
        if (!"Delete".equals(operation) && !compensated && (targetRowId == null || targetRowId.isBlank() || targetRowId.length() > 100)) {
            throw new InvalidMessageException("acknowledgement needs a targetRowId of 1..100 characters");
        }
        if (compensated) {
            exchange.setProperty(SyncProperties.SAGA, abbreviate(text(body, "saga"), 40));
            exchange.setProperty(SyncProperties.SAGA_ID, requireGuid(text(body, "sagaId"), "sagaId"));
            String failedStep = text(body, "failedStep");
            exchange.setProperty(SyncProperties.SAGA_FAILED_STEP, TargetNames.isValid(failedStep) ? failedStep : null);
            String failure = text(body, "failure");
            exchange.setProperty(SyncProperties.SAGA_FAILURE, failure == null ? null : abbreviate(failure, 1000));
            exchange.setProperty(SyncProperties.PREVIOUS_STEP, body.path("final").asBoolean(false) ? null : "?");
        }
        exchange.setProperty(SyncProperties.TARGET_ROW_ID, targetRowId);
        exchange.setProperty(SyncProperties.PAYLOAD_HASH, text(body, "payloadHash"));
        if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null) {
            CorrelationIds.adopt(exchange, text(body, "correlationId"));
        }
        if (body.hasNonNull("requestedAt") && exchange.getProperty(SyncProperties.REQUESTED_AT) == null) {
            exchange.setProperty(SyncProperties.REQUESTED_AT, body.get("requestedAt").asLong());
        }
    }

    /**
     * Whether a dead-lettered message's Failed mark can go on the ack queue (behind the row's earlier
     * acknowledgements): it passed validation (a configured entity, a row id), its row still exists, and it does not
     * come from the ack queue itself (a write-back that failed for good marks directly).
     */
    public boolean queuesFailedMark(Exchange exchange) {
        String entity = exchange.getProperty(SyncProperties.ENTITY, String.class);
        return entity != null && entities.find(entity).isPresent()
                && exchange.getProperty(SyncProperties.SOURCE_ROW_ID) != null
                && !"RowDeleted".equals(exchange.getProperty(SyncProperties.FAILURE_REASON))
                && exchange.getProperty(SyncProperties.WRITE_BACK_TARGET) == null
                && !"ack-writeback-consumer".equals(exchange.getFromRouteId());
    }

    /** The Failed mark as an acknowledgement: which target (none: the row itself), why, and for a saga its id. */
    public String failedAckBody(Exchange exchange) {
        ObjectNode ack = changeKeys(exchange);
        if ("Compensate".equals(exchange.getProperty(SyncProperties.OPERATION))) {
            ack.put("operation", "Update");
        }
        ack.put("outcome", "failed");
        ack.put("target", exchange.getProperty(SyncProperties.TARGET, String.class));
        ack.put("reason", exchange.getProperty(SyncProperties.FAILURE_REASON, String.class));
        ack.put("description", exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, String.class));
        ack.put("compensating", exchange.getProperty(SyncProperties.COMPENSATING, false, Boolean.class));
        ack.put("saga", exchange.getProperty(SyncProperties.SAGA, String.class));
        ack.put("sagaId", exchange.getProperty(SyncProperties.SAGA_ID, String.class));
        return ack.toString();
    }

    /**
     * The Retrying status as an acknowledgement (sync.writeback.retrying-status.enabled): the policy scheduled a retry
     * of this target's delivery; it goes on the ack queue behind the row's earlier acknowledgements, in the same
     * transaction as the retry copy.
     */
    public String retryingAckBody(Exchange exchange) {
        ObjectNode ack = changeKeys(exchange);
        ack.put("outcome", "retrying");
        ack.put("target", exchange.getProperty(SyncProperties.TARGET, String.class));
        ack.put("nextAttemptAt", exchange.getProperty(SyncProperties.RETRY_AT, Long.class));
        ack.put("retry", exchange.getProperty(SyncProperties.NEXT_RETRY_COUNT, Integer.class));
        ack.put("reason", exchange.getProperty(SyncProperties.FAILURE_REASON, String.class));
        ack.put("description", exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, String.class));
        return ack.toString();
    }

    private void readRetrying(Exchange exchange, JsonNode body) {
        JsonNode at = body.get("nextAttemptAt");
        if (at == null || !at.canConvertToLong() || at.asLong() <= 0) {
            throw new InvalidMessageException("a retrying acknowledgement needs nextAttemptAt as epoch milliseconds");
        }
        exchange.setProperty(SyncProperties.RETRY_AT, at.asLong());
        JsonNode retry = body.get("retry");
        exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, retry != null && retry.canConvertToInt() ? retry.asInt() : null);
        String reason = text(body, "reason");
        exchange.setProperty(SyncProperties.FAILURE_REASON, reason == null ? "Transient" : abbreviate(reason, 100));
        String description = text(body, "description");
        exchange.setProperty(SyncProperties.FAILURE_DESCRIPTION, description == null ? "" : abbreviate(description, 2000));
        if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null) {
            exchange.setProperty(SyncProperties.CORRELATION_ID, text(body, "correlationId"));
        }
    }

    private void readFailedMark(Exchange exchange, JsonNode body) {
        String reason = text(body, "reason");
        exchange.setProperty(SyncProperties.FAILURE_REASON, reason == null ? "Failed" : abbreviate(reason, 100));
        String description = text(body, "description");
        exchange.setProperty(SyncProperties.FAILURE_DESCRIPTION, description == null ? "" : abbreviate(description, 2000));
        exchange.setProperty(SyncProperties.COMPENSATING, body.path("compensating").asBoolean(false));
        String sagaId = text(body, "sagaId");
        exchange.setProperty(SyncProperties.SAGA_ID, sagaId == null ? null : requireGuid(sagaId, "sagaId"));
        exchange.setProperty(SyncProperties.SAGA, abbreviate(text(body, "saga"), 40));
    }

    private JsonNode parseObject(String raw, String what) {
        if (raw == null || raw.isBlank()) {
            throw new InvalidMessageException("empty " + what + " body");
        }
        if (raw.length() > MAX_BODY_CHARS) {
            throw new InvalidMessageException(what + " body is " + raw.length() + " characters, over the limit of " + MAX_BODY_CHARS);
        }
        try {
            JsonNode node = json.readTree(raw);
            if (node == null || !node.isObject()) {
                throw new InvalidMessageException("malformed " + what + ": expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new InvalidMessageException("malformed JSON in " + what + ": " + SafeText.escape(e.getOriginalMessage()), e);
        }
    }

    private EntitySettings requireEntity(String entity) {
        if (entity == null || entity.isBlank()) {
            throw new InvalidMessageException("no entity named in the message");
        }
        return entities.find(entity).orElseThrow(() -> new InvalidMessageException(
                "unknown entity '" + abbreviate(entity) + "': not configured for sync (configured: " + entities.names() + ")"));
    }

    private static String requireGuid(String value, String field) {
        String id = Guids.normalize(value);
        if (id == null) {
            throw new InvalidMessageException(field + " must be a GUID, was '" + abbreviate(value) + "'");
        }
        return id;
    }

    private static String normalizeOperation(String operation) {
        if (operation == null || operation.isBlank()) {
            return "Update";
        }
        return switch (operation.trim().toLowerCase(Locale.ROOT)) {
            case "create" -> "Create";
            case "update" -> "Update";
            case "delete" -> "Delete";
            default -> throw new InvalidMessageException("unsupported operation '" + abbreviate(operation) + "' (Create, Update or Delete)");
        };
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.isValueNode() ? v.asText() : v.toString();
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "null";
        }
        return abbreviate(s, 80);
    }

    /** Every value quoted into a message or exception is escaped here (SafeText): they end up in logs and dead letters. */
    private static String abbreviate(String s, int max) {
        return SafeText.abbreviate(s, max);
    }

    /** A row id a target answered: 1..100 characters (it may go into a path, URL-encoded, and into a Dataverse column). */
    private static String requireRowId(String value, String field) {
        if (value == null || value.isBlank() || value.length() > 100) {
            throw new InvalidMessageException(field + " must be 1..100 characters");
        }
        return value;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
