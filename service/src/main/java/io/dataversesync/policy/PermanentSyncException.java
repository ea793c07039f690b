package io.dataversesync.policy;

/**
 * A failure that no retry can cure. The reason is a short code that ends up as the dead-letter reason.
 * Subclasses name the common cases so routes and tests can refer to them.
 */
public class PermanentSyncException extends RuntimeException {
    private final String reason;

    public PermanentSyncException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    public PermanentSyncException(String reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}
