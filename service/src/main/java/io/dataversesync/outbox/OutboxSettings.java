package io.dataversesync.outbox;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.dataversesync.sync.EntitySettings;

/**
 * The outbox table the Dataverse side (the plug-in) writes before it sends a notification, as this service reads it
 * (sync.outbox.*; the contract: README, "Outbox relay and intake relay").
 *
 * @param table               the table: its entity set and primary key (the logical name is only a label)
 * @param entityColumn        the synced table's logical name, e.g. account
 * @param rowIdColumn         the changed row's id (a GUID)
 * @param correlationIdColumn the change's correlation id (may be empty: the relay gives it one)
 * @param statusColumn        pending (written before the send), failed (the send failed); invalid is the relay's own
 * @param errorColumn         why the send failed (the plug-in) or why the relay refused the record
 * @param createdColumn       when the record was written (Dataverse's createdon): a pending record older than
 *                            staleAfter is relayed (the plug-in died between writing and deleting it)
 * @param pendingStatus       the status value of a record written before the send
 * @param failedStatus        the status value of a record whose send failed
 * @param invalidStatus       the status value the relay writes on a record it cannot relay (never read again)
 * @param staleAfter          how old a pending record must be before the relay sends it
 * @param pageSize            rows per page (Prefer: odata.maxpagesize)
 * @param maxPerRun           the most records one run reads (bounds the requests of a run: pages, sends, deletes)
 * @param errorMaxLength      the error column's length in Dataverse (longer reasons are cut)
 */
public record OutboxSettings(EntitySettings table, String entityColumn, String rowIdColumn, String correlationIdColumn,
        String statusColumn, String errorColumn, String createdColumn, String pendingStatus, String failedStatus,
        String invalidStatus, Duration staleAfter, int pageSize, int maxPerRun, int errorMaxLength) {

    public OutboxSettings {
        if (pageSize < 1 || pageSize > 5000) {
            throw new IllegalArgumentException("sync.outbox.page-size must be 1..5000 (Dataverse's largest page), was " + pageSize);
        }
        if (maxPerRun < 1) {
            throw new IllegalArgumentException("sync.outbox.max-per-run must be at least 1, was " + maxPerRun);
        }
        if (staleAfter.isNegative()) {
            throw new IllegalArgumentException("sync.outbox.stale-after-ms must not be negative");
        }
        if (new java.util.HashSet<>(List.of(pendingStatus, failedStatus, invalidStatus)).size() != 3) {
            throw new IllegalArgumentException("sync.outbox.status.pending, .failed and .invalid must be three different values: "
                    + "a record the relay refused must never be read again");
        }
    }

    /** The $select of a read: the key and every column the relay uses. */
    public List<String> columns() {
        Set<String> columns = new LinkedHashSet<>(List.of(table.idColumn(), entityColumn, rowIdColumn, correlationIdColumn,
                statusColumn, errorColumn, createdColumn));
        return List.copyOf(columns);
    }

    /**
     * The records worth reading: failed and pending ones (pending ones are relayed once stale). Built from the
     * settings only; the In function is Dataverse's query function for "one of these values"
     * (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/in), which takes text for a
     * text column and for a choice column's values alike.
     */
    public String filter() {
        return "Microsoft.Dynamics.CRM.In(PropertyName='" + statusColumn + "',PropertyValues=['" + quote(failedStatus) + "','"
                + quote(pendingStatus) + "'])";
    }

    private static String quote(String literal) {
        return literal.replace("'", "''");
    }
}
