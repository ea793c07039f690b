package io.dataversesync.sync;

import java.util.List;

/**
 * What the service knows about one Dataverse table it syncs.
 *
 * @param logicalName      e.g. account (what notifications name)
 * @param entitySet        e.g. accounts (what the Web API URL names)
 * @param idColumn         primary key column, e.g. accountid
 * @param columns          columns read at enrich time ($select)
 * @param onDeleted        what to do when the row is gone at enrich time
 */
public record EntitySettings(String logicalName, String entitySet, String idColumn, List<String> columns,
        OnDeleted onDeleted) {

    public enum OnDeleted {
        /** Send a delete to the target (the row was deleted in Dataverse). */
        DELETE,
        /** Dead-letter the message with reason RowDeleted. */
        DEAD_LETTER;

        public static OnDeleted parse(String value) {
            return switch (value == null ? "" : value.trim().toLowerCase()) {
                case "delete" -> DELETE;
                case "dead-letter", "deadletter" -> DEAD_LETTER;
                default -> throw new IllegalArgumentException("on-deleted must be 'delete' or 'dead-letter', was '" + value + "'");
            };
        }
    }
}
