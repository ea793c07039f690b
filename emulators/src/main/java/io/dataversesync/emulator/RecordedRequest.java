package io.dataversesync.emulator;

import java.time.Instant;
import java.util.Map;

/**
 * One request an emulator answered, as tests see it.
 *
 * @param at         when its answer was ready (just before it was written)
 * @param headers    lower-case header names, first value only
 * @param query      raw (still URL-encoded) query string, null when absent
 * @param status     the status the emulator answered with
 * @param receivedAt when the emulator had read the whole request: from then until {@code at} the request was the
 *                   emulator's (its injected latency, its work, and any wait of its own JVM)
 */
public record RecordedRequest(Instant at, String method, String path, String query,
                              Map<String, String> headers, String body, int status, Instant receivedAt) {

    public RecordedRequest {
        headers = Map.copyOf(headers);
    }

    /** How long the emulator held the request, from {@code receivedAt} to {@code at}, in milliseconds. */
    public long heldMillis() {
        return java.time.Duration.between(receivedAt, at).toMillis();
    }

    /** Header value by case-insensitive name, or null. */
    public String header(String name) {
        return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }
}
