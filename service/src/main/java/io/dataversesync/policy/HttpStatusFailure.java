package io.dataversesync.policy;

import java.time.Duration;

/**
 * An HTTP answer that was not a success, from any service we call. The classifier turns it into a
 * verdict by status alone, so every client reports failures the same way.
 */
public interface HttpStatusFailure {
    int statusCode();

    /** The service's Retry-After, or null when it sent none. */
    Duration retryAfter();

    /** Which service answered, e.g. "Dataverse" or "Target". */
    String service();
}
