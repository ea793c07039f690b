package io.dataversesync.policy;

import java.time.Duration;

/**
 * The verdict on one failure.
 *
 * @param kind       transient or permanent
 * @param reason     a short, stable code (becomes the dead-letter reason)
 * @param detail     a human-readable description
 * @param retryAfter the minimum wait a service asked for (429 Retry-After), or null
 */
public record Classification(FailureKind kind, String reason, String detail, Duration retryAfter) {

    public static Classification transientFailure(String reason, String detail, Duration retryAfter) {
        return new Classification(FailureKind.TRANSIENT, reason, detail, retryAfter);
    }

    public static Classification permanentFailure(String reason, String detail) {
        return new Classification(FailureKind.PERMANENT, reason, detail, null);
    }

    public boolean isTransient() {
        return kind == FailureKind.TRANSIENT;
    }
}
