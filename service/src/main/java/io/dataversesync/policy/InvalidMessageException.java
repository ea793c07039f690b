package io.dataversesync.policy;

/** The queue message itself is unusable: malformed JSON, unknown entity, a row id that is not a GUID. */
public class InvalidMessageException extends PermanentSyncException {
    public InvalidMessageException(String message) {
        super("InvalidMessage", message);
    }

    public InvalidMessageException(String message, Throwable cause) {
        super("InvalidMessage", message, cause);
    }
}
