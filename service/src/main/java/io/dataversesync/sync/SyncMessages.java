package io.dataversesync.sync;

import io.dataversesync.exchange.SyncProperties;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Locale;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.policy.InvalidMessageException;
import io.dataversesync.policy.MappingException;
import io.dataversesync.policy.RowDeletedException;
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
    private final Clock clock;

    public SyncMessages(ObjectMapper json, EntityCatalog entities, TargetCatalog targets, Clock clock) {
        this.json = json;
        this.entities = entities;
        this.targets = targets;
        this.clock = clock;
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
            String bodyCorrelation = text(body, "CorrelationId");
            if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null && bodyCorrelation != null) {
                exchange.setProperty(SyncProperties.CORRELATION_ID, bodyCorrelation);
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
    }

    /**
     * The fan-out: what every target receives on the changes topic. The row as read (null when it is gone) and
     * when it was read, so a target's first attempt needs no read of its own; a retry reads again.
     */
    public String changeBody(Exchange exchange) throws JsonProcessingException {
        ObjectNode change = json.createObjectNode();
        change.put("entity", exchange.getProperty(SyncProperties.ENTITY, String.class));
        change.put("sourceRowId", exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class));
        change.put("operation", exchange.getProperty(SyncProperties.OPERATION, String.class));
        change.put("correlationId", exchange.getProperty(SyncProperties.CORRELATION_ID, String.class));
        change.put("requestedAt", exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class));
        change.put("readAt", exchange.getProperty(SyncProperties.READ_AT, Long.class));
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
            EntitySettings entity = requireEntity(text(body, "entity"));
            exchange.setProperty(SyncProperties.ENTITY, entity.logicalName());
            exchange.setProperty(SyncProperties.SOURCE_ROW_ID, requireGuid(text(body, "sourceRowId"), "sourceRowId"));
            exchange.setProperty(SyncProperties.OPERATION, normalizeOperation(text(body, "operation")));
            if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null) {
                exchange.setProperty(SyncProperties.CORRELATION_ID, text(body, "correlationId"));
            }
            JsonNode readAt = body.get("readAt");
            if (readAt == null || !readAt.canConvertToLong()) {
                throw new InvalidMessageException("change needs readAt as epoch milliseconds");
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
        exchange.setProperty(SyncProperties.SUBSCRIBED, settings.subscribes(exchange.getProperty(SyncProperties.ENTITY, String.class)));
    }

    /** Before mapping: the hash of what this target holds, as the row's write-back column says (echo suppression). */
    public void targetRowState(Exchange exchange) throws JsonProcessingException {
        TargetSettings target = targets.get(exchange.getProperty(SyncProperties.TARGET, String.class));
        String row = exchange.getMessage().getBody(String.class);
        String hash = null;
        if (row != null && !row.isBlank() && !exchange.getProperty(SyncProperties.ROW_DELETED, false, Boolean.class)) {
            hash = json.readTree(row).path(target.writeBack().hashColumn()).asText(null);
        }
        exchange.setProperty(SyncProperties.ROW_SYNCED_HASH, hash);
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
            throw new MappingException("mapping for " + entity + " did not produce JSON: " + e.getOriginalMessage());
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
        ObjectNode ack = json.createObjectNode();
        ack.put("target", exchange.getProperty(SyncProperties.TARGET, String.class));
        ack.put("entity", exchange.getProperty(SyncProperties.ENTITY, String.class));
        ack.put("sourceRowId", exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class));
        ack.put("targetRowId", exchange.getProperty(SyncProperties.TARGET_ROW_ID, String.class));
        ack.put("operation", exchange.getProperty(SyncProperties.OPERATION, String.class));
        ack.put("correlationId", exchange.getProperty(SyncProperties.CORRELATION_ID, String.class));
        ack.put("rowEtag", exchange.getProperty(SyncProperties.ROW_ETAG, String.class));
        ack.put("payloadHash", exchange.getProperty(SyncProperties.PAYLOAD_HASH, String.class));
        ack.put("requestedAt", exchange.getProperty(SyncProperties.REQUESTED_AT, Long.class));
        ack.put("syncedAt", clock.instant().toString());
        return ack.toString();
    }

    /** Hop 6's first step: validate the acknowledgement (it goes into a Dataverse URL and body). */
    public void readAck(Exchange exchange) {
        JsonNode body = parseObject(exchange.getProperty(SyncProperties.ORIGINAL_BODY, String.class), "acknowledgement");
        EntitySettings settings = requireEntity(text(body, "entity"));
        exchange.setProperty(SyncProperties.ENTITY, settings.logicalName());
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, requireGuid(text(body, "sourceRowId"), "sourceRowId"));
        String target = text(body, "target");
        if (!TargetNames.isValid(target) || targets.find(target).isEmpty()) {
            throw new InvalidMessageException("acknowledgement names no declared target (declared: " + targets.names() + "), was '"
                    + abbreviate(target) + "'");
        }
        exchange.setProperty(SyncProperties.WRITE_BACK_TARGET, target);
        String operation = normalizeOperation(text(body, "operation"));
        exchange.setProperty(SyncProperties.OPERATION, operation);
        String targetRowId = text(body, "targetRowId");
        if (!"Delete".equals(operation) && (targetRowId == null || targetRowId.isBlank() || targetRowId.length() > 100)) {
            throw new InvalidMessageException("acknowledgement needs a targetRowId of 1..100 characters");
        }
        exchange.setProperty(SyncProperties.TARGET_ROW_ID, targetRowId);
        exchange.setProperty(SyncProperties.PAYLOAD_HASH, text(body, "payloadHash"));
        if (exchange.getProperty(SyncProperties.CORRELATION_ID) == null) {
            exchange.setProperty(SyncProperties.CORRELATION_ID, text(body, "correlationId"));
        }
        if (body.hasNonNull("requestedAt") && exchange.getProperty(SyncProperties.REQUESTED_AT) == null) {
            exchange.setProperty(SyncProperties.REQUESTED_AT, body.get("requestedAt").asLong());
        }
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
            throw new InvalidMessageException("malformed JSON in " + what + ": " + e.getOriginalMessage(), e);
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
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
