package io.dataversesync.reconcile;

import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The one decision of a reconciliation, pure: given what Dataverse has for a key and what the target has, which
 * drift (if any). The order of the checks is the order of what a correction must fix first: a row the sync never
 * finished is "never synced" whatever the target holds (its write-back is part of the drift); then the target's
 * side; a target that cannot be read is compared through the hash stored on the row.
 */
public final class DriftClassifier {
    private DriftClassifier() {
    }

    /**
     * A Dataverse row as the reconciliation sees it for one target.
     *
     * @param mappedPayload the row mapped with the target's mapping (canonical JSON)
     * @param mappedHash    its hash, by the function the write-back stores (SyncMessages)
     * @param storedHash    the target's hash column on the row (null: never written back)
     * @param status        the target's status on the row (its own column, else the row's overall status)
     */
    public record Row(JsonNode mappedPayload, String mappedHash, String storedHash, String status) {
    }

    /** What the target holds for the key: present (or a tombstone / soft-deleted record) and its fields. */
    public record Held(boolean deleted, JsonNode record) {
    }

    /**
     * @param row          the Dataverse row, null when the key is not (or no longer) in Dataverse
     * @param held         what the target holds, null when it holds nothing for the key
     * @param targetRead   whether the target was read for this key (otherwise {@code held} means nothing: compare by hash)
     */
    public static Optional<DriftClass> classify(Row row, Held held, boolean targetRead) {
        if (row == null) {
            if (!targetRead) {
                return Optional.of(DriftClass.ORPHAN); // a delete at Dataverse we cannot check: deleting again is harmless
            }
            return held != null && !held.deleted() ? Optional.of(DriftClass.ORPHAN) : Optional.empty();
        }
        if (row.storedHash() == null || row.storedHash().isBlank() || "Failed".equals(row.status())) {
            return Optional.of(DriftClass.NEVER_SYNCED);
        }
        if (!targetRead) {
            return row.mappedHash().equals(row.storedHash()) ? Optional.empty() : Optional.of(DriftClass.DIFFERENT);
        }
        if (held == null || held.deleted()) {
            return Optional.of(DriftClass.MISSING);
        }
        return holds(held.record(), row.mappedPayload()) ? Optional.empty() : Optional.of(DriftClass.DIFFERENT);
    }

    /**
     * Whether the target's record holds the payload: every field of the payload, with an equal value (numbers by
     * value, 1 = 1.0). Fields the target adds itself (its id, version, timestamps) are not drift.
     */
    public static boolean holds(JsonNode record, JsonNode payload) {
        if (record == null || !record.isObject()) {
            return false;
        }
        Iterator<Map.Entry<String, JsonNode>> fields = payload.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!same(record.get(field.getKey()), field.getValue())) {
                return false;
            }
        }
        return true;
    }

    private static boolean same(JsonNode held, JsonNode wanted) {
        boolean heldNull = held == null || held.isNull() || held.isMissingNode();
        boolean wantedNull = wanted == null || wanted.isNull();
        if (heldNull || wantedNull) {
            return heldNull && wantedNull;
        }
        if (held.isNumber() && wanted.isNumber()) {
            return held.decimalValue().compareTo(wanted.decimalValue()) == 0;
        }
        if (held.isObject() && wanted.isObject()) {
            return holds(held, wanted) && held.size() == wanted.size();
        }
        return held.equals(wanted);
    }
}
