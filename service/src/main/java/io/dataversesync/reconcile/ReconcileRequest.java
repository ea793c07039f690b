package io.dataversesync.reconcile;

import java.util.Locale;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What one reconciliation run is asked to do. JSON (the body of {@code direct:reconcile}, later the operations API):
 * {@code {"entity": "account", "target": "customers", "mode": "full" | "incremental", "dryRun": true,
 * "compare": "auto" | "target" | "hash"}}, every field optional: every configured entity, every target subscribed to
 * it, a full run, corrections sent, the target read where it declares a read contract.
 *
 * @param entity  one entity (logical name), or null for every configured entity
 * @param target  one target, or null for every target subscribed to the entity
 * @param mode    full: every row and the target's listing; incremental: what change tracking reports since the last run
 * @param dryRun  report only, correct nothing
 * @param compare target: compare with what the target holds (its read contract is required); hash: with the hash
 *                stored on the row; auto: the target where it can be read, else the hash
 * @param trigger who asked (schedule, on-demand), for the report
 */
public record ReconcileRequest(String entity, String target, Mode mode, boolean dryRun, Compare compare, String trigger) {

    public enum Mode { FULL, INCREMENTAL }

    public enum Compare { AUTO, TARGET, HASH }

    /** A request the caller got wrong (unknown entity, target, mode...): the run fails with this message. */
    public static class InvalidRequestException extends IllegalArgumentException {
        public InvalidRequestException(String message) {
            super(message);
        }
    }

    public static ReconcileRequest parse(String body, ObjectMapper json, String trigger) {
        JsonNode node;
        try {
            node = body == null || body.isBlank() ? json.createObjectNode() : json.readTree(body);
        } catch (JsonProcessingException e) {
            throw new InvalidRequestException("malformed reconciliation request: " + e.getOriginalMessage());
        }
        if (!(node instanceof ObjectNode)) {
            throw new InvalidRequestException("a reconciliation request is a JSON object");
        }
        return new ReconcileRequest(text(node, "entity"), text(node, "target"),
                choice(Mode.class, text(node, "mode"), Mode.FULL, "mode"),
                node.path("dryRun").asBoolean(false),
                choice(Compare.class, text(node, "compare"), Compare.AUTO, "compare"),
                trigger);
    }

    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode node = json.createObjectNode();
        node.put("entity", entity);
        node.put("target", target);
        node.put("mode", mode.name().toLowerCase(Locale.ROOT));
        node.put("dryRun", dryRun);
        node.put("compare", compare.name().toLowerCase(Locale.ROOT));
        node.put("trigger", trigger);
        return node;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual() || v.asText().length() > 100) {
            throw new InvalidRequestException(field + " must be a text of at most 100 characters");
        }
        return v.asText().isBlank() ? null : v.asText().trim();
    }

    private static <E extends Enum<E>> E choice(Class<E> type, String value, E fallback, String field) {
        if (value == null) {
            return fallback;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(value)) {
                return e;
            }
        }
        StringBuilder allowed = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            allowed.append(allowed.length() == 0 ? "" : ", ").append(e.name().toLowerCase(Locale.ROOT));
        }
        throw new InvalidRequestException(field + " must be one of " + allowed + ", was '" + value.replaceAll("[^A-Za-z0-9_-]", "?") + "'");
    }
}
