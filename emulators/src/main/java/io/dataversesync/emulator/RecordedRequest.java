package io.dataversesync.emulator;

import java.time.Instant;
import java.util.Map;

/**
 * One request an emulator answered, as tests see it.
 *
 * @param headers lower-case header names, first value only
 * @param query   raw (still URL-encoded) query string, null when absent
 * @param status  the status the emulator answered with
 */
public record RecordedRequest(Instant at, String method, String path, String query,
                              Map<String, String> headers, String body, int status) {

    public RecordedRequest {
        headers = Map.copyOf(headers);
    }

    /** Header value by case-insensitive name, or null. */
    public String header(String name) {
        return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }
}
