package io.dataversesync.ops;

/** A request the operations API refuses, with its HTTP status (4xx) and a message safe to show the caller. */
public class OpsException extends RuntimeException {
    private final int status;

    public OpsException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
