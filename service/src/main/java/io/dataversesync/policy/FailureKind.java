package io.dataversesync.policy;

/** How the retry policy treats a failure. */
public enum FailureKind {
    /** Worth trying again later: timeouts, throttling, server errors, broker hiccups. */
    TRANSIENT,
    /** Trying again cannot help: bad input, missing configuration, a client error from a service. */
    PERMANENT
}
