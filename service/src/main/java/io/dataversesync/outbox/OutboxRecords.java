package io.dataversesync.outbox;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.Guids;

/**
 * What the relay does with one outbox record, decided from the record alone (pure, unit-tested): relay it (a failed
 * record, or a pending one older than stale-after), leave it (a pending one the plug-in may still be sending), or
 * refuse it (an entity that is not synced, a row id that is no GUID, a correlation id that is not one): a refused
 * record is never sent, since what it names would go into a message, a URL and a log line.
 */
public class OutboxRecords {
    /** Correlation ids are GUIDs in Dataverse; other systems use similar tokens. Nothing else goes into headers and logs. */
    private static final Pattern CORRELATION_ID = Pattern.compile("[A-Za-z0-9{}._:-]{1,100}");

    public sealed interface Decision permits Relay, Wait, Refuse {
        /** The record's own key (a GUID), or null when even that is unusable. */
        String recordId();
    }

    /** Send the notification, then delete the record. {@code correlationId} null = the relay makes one. */
    public record Relay(String recordId, String entity, String rowId, String correlationId, Long createdAt) implements Decision {
    }

    /** Leave the record as it is (pending and not stale yet, another status, or no usable key). */
    public record Wait(String recordId, String why) implements Decision {
    }

    /** Mark the record invalid with the reason; never send it. */
    public record Refuse(String recordId, String reason) implements Decision {
    }

    private final OutboxSettings settings;
    private final EntityCatalog entities;

    public OutboxRecords(OutboxSettings settings, EntityCatalog entities) {
        this.settings = settings;
        this.entities = entities;
    }

    public Decision decide(ObjectNode record, Instant now) {
        String recordId = Guids.normalize(text(record, settings.table().idColumn()));
        if (recordId == null) {
            return new Wait(null, "the record has no GUID key in " + settings.table().idColumn());
        }
        String status = text(record, settings.statusColumn());
        Long createdAt = instant(text(record, settings.createdColumn()));
        if (settings.pendingStatus().equals(status)) {
            if (createdAt == null) {
                return new Refuse(recordId, "pending record without a readable " + settings.createdColumn()
                        + ": cannot tell whether it is stale");
            }
            if (now.toEpochMilli() - createdAt < settings.staleAfter().toMillis()) {
                return new Wait(recordId, "pending, not stale yet");
            }
        } else if (!settings.failedStatus().equals(status)) {
            return new Wait(recordId, "status is neither pending nor failed");
        }
        String entity = text(record, settings.entityColumn());
        if (entity == null || entity.isBlank()) {
            return new Refuse(recordId, settings.entityColumn() + " is empty");
        }
        if (entities.find(entity.trim()).isEmpty()) {
            return new Refuse(recordId, settings.entityColumn() + " '" + printable(entity) + "' is not a synced table (sync.entities: "
                    + entities.names() + ")");
        }
        String rowId = Guids.normalize(text(record, settings.rowIdColumn()));
        if (rowId == null) {
            return new Refuse(recordId, settings.rowIdColumn() + " must be a GUID, was '" + printable(text(record, settings.rowIdColumn())) + "'");
        }
        String correlationId = text(record, settings.correlationIdColumn());
        if (correlationId != null && !correlationId.isBlank()) {
            correlationId = correlationId.trim();
            if (!CORRELATION_ID.matcher(correlationId).matches()) {
                return new Refuse(recordId, settings.correlationIdColumn() + " must be 1..100 letters, digits or {}._:-, was '"
                        + printable(correlationId) + "'");
            }
        } else {
            correlationId = null;
        }
        return new Relay(recordId, entities.get(entity.trim()).logicalName(), rowId, correlationId, createdAt);
    }

    private static Long instant(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text.trim()).toInstant().toEpochMilli();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static String text(JsonNode record, String column) {
        JsonNode v = record.get(column);
        return v == null || v.isNull() || !v.isValueNode() ? null : v.asText();
    }

    /** At most 80 characters, control characters replaced: a refused value is quoted in the error column and the log. */
    static String printable(String value) {
        if (value == null) {
            return "null";
        }
        String cut = value.length() <= 80 ? value : value.substring(0, 80) + "...";
        StringBuilder out = new StringBuilder(cut.length());
        cut.codePoints().forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return out.toString();
    }
}
