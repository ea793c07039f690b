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
    private final Clock clock;

    public SyncMessages(ObjectMapper json, EntityCatalog entities, Clock clock) {
        this.json = json;
        this.entities = entities;
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
        exchange.setProperty(SyncProperties.TARGET_COLLECTION, settings.targetCollection());
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
