package io.dataversesync.emulator;

import java.util.List;

/**
 * The outbox table of Microsoft's reliable-sync reference architecture, as the service's defaults name it
 * (sync.outbox.*): the Dataverse side (a plug-in) writes a record before it sends a change notification, deletes it
 * once Service Bus accepted the notification, and marks it failed with the reason when it could not; the service's
 * outbox relay reads the failed and stale pending records. A custom table in a real organisation; here a table with
 * declared columns, so a misspelt column is answered 400 as Dataverse answers it. {@code createdon} is stamped by the
 * emulator like every system column.
 */
public final class SyncOutboxTable {
    public static final String ENTITY_SET = "new_syncoutboxes";
    public static final String LOGICAL_NAME = "new_syncoutbox";
    public static final String ID_COLUMN = "new_syncoutboxid";
    public static final String ENTITY = "new_entity";
    public static final String ROW_ID = "new_rowid";
    public static final String CORRELATION_ID = "new_correlationid";
    public static final String STATUS = "new_status";
    public static final String ERROR = "new_error";
    public static final List<String> COLUMNS = List.of(ENTITY, ROW_ID, CORRELATION_ID, STATUS, ERROR);

    private SyncOutboxTable() {
    }

    /** Registers the table with the default names and its declared columns on an emulator. */
    public static DataverseEmulator register(DataverseEmulator dataverse) {
        return dataverse.registerTable(ENTITY_SET, LOGICAL_NAME, ID_COLUMN, COLUMNS);
    }
}
