package io.dataversesync.dataverse;

import java.time.Duration;

import io.dataversesync.policy.HttpStatusFailure;

/** A Dataverse Web API answer that was not a success, with the OData error code and message it carried. */
public class DataverseException extends RuntimeException implements HttpStatusFailure {
    private final int status;
    private final String errorCode;
    private final Duration retryAfter;

    public DataverseException(int status, String errorCode, String message, Duration retryAfter) {
        super("Dataverse answered HTTP " + status + (errorCode == null ? "" : " (" + errorCode + ")") + (message == null ? "" : ": " + message));
        this.status = status;
        this.errorCode = errorCode;
        this.retryAfter = retryAfter;
    }

    @Override
    public int statusCode() {
        return status;
    }

    @Override
    public Duration retryAfter() {
        return retryAfter;
    }

    @Override
    public String service() {
        return "Dataverse";
    }

    public String errorCode() {
        return errorCode;
    }
}
