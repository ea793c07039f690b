package io.dataversesync.policy;

/** The Dataverse row no longer exists and the entity is configured to dead-letter such changes. */
public class RowDeletedException extends PermanentSyncException {
    public RowDeletedException(String message) {
        super("RowDeleted", message);
    }
}
