package io.dataversesync.ops;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import io.dataversesync.sync.Guids;

/**
 * Which dead letters of a queue a request means (pure, unit-tested): by ids, or by reason, exception type, entity
 * and dead-lettered time (from/to), every given criterion must hold. Each value is validated here before anything
 * uses it: a malformed one is a 400 and nothing is touched.
 */
public record DeadLetterQuery(Set<String> ids, String reason, String exceptionType, String entity, Instant from, Instant to) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.:$ ()/-]{1,200}");
    /** Service Bus message ids we send are GUIDs; Dataverse's own and other senders' ids: up to 128 plain characters. */
    private static final Pattern MESSAGE_ID = Pattern.compile("[A-Za-z0-9_.:@-]{1,128}");

    public static final DeadLetterQuery ALL = new DeadLetterQuery(null, null, null, null, null, null);

    /**
     * @param guidIds ids must be GUIDs (Artemis: the JMSMessageID's UUID); else plain message ids (Service Bus)
     */
    public static DeadLetterQuery of(List<String> ids, String reason, String exceptionType, String entity, String from, String to,
            boolean guidIds, int maxIds) {
        Set<String> idSet = null;
        if (ids != null) {
            if (ids.isEmpty()) {
                throw new OpsException(400, "ids is empty: name at least one dead letter");
            }
            if (ids.size() > maxIds) {
                throw new OpsException(400, "at most " + maxIds + " ids per request (sync.ops.max-ids); select a group by reason instead");
            }
            idSet = new LinkedHashSet<>();
            for (String id : ids) {
                String normalized = guidIds ? Guids.normalize(id) : (id != null && MESSAGE_ID.matcher(id).matches() ? id : null);
                if (normalized == null) {
                    throw new OpsException(400, "not a dead-letter id" + (guidIds ? " (a GUID)" : "") + ": " + OpsJson.abbreviate(id));
                }
                idSet.add(normalized);
            }
        }
        return new DeadLetterQuery(idSet, name(reason, "reason"), name(exceptionType, "exceptionType"), name(entity, "entity"),
                time(from, "from"), time(to, "to"));
    }

    private static String name(String value, String what) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        if (!NAME.matcher(value).matches()) {
            throw new OpsException(400, what + " has characters or a length a " + what + " never has: " + OpsJson.abbreviate(value));
        }
        return value;
    }

    private static Instant time(String value, String what) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw new OpsException(400, what + " must be an ISO-8601 instant such as 2026-11-25T10:00:00Z, was " + OpsJson.abbreviate(value));
        }
    }

    public boolean selectsAll() {
        return ids == null && reason == null && exceptionType == null && entity == null && from == null && to == null;
    }

    public boolean matches(DeadLetter d) {
        return (ids == null || ids.contains(d.id().toLowerCase()) || ids.contains(d.id()))
                && (reason == null || reason.equals(d.reason()))
                && (exceptionType == null || exceptionType.equals(d.exceptionType()))
                && (entity == null || entity.equalsIgnoreCase(d.entity()))
                && (from == null || (d.deadLetteredAt() != null && !d.deadLetteredAt().isBefore(from)))
                && (to == null || (d.deadLetteredAt() != null && d.deadLetteredAt().isBefore(to)));
    }
}
