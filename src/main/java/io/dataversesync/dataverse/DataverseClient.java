package io.dataversesync.dataverse;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.policy.RetryAfter;
import io.dataversesync.sync.EntitySettings;

/**
 * A small Dataverse Web API v9.2 client: read one row with $select, update one row with PATCH. Every request
 * carries a bearer token, the OData version headers and the correlation id. A 401 refreshes the token and
 * retries once; any other failure becomes a {@link DataverseException} (status, OData error code, Retry-After)
 * for the retry policy to classify. Transport failures surface as IOExceptions (transient).
 */
public class DataverseClient {
    public static final String API_PATH = "/api/data/v9.2/";

    private final HttpClient http;
    private final String baseUrl;
    private final DataverseTokenProvider tokens;
    private final ObjectMapper json;
    private final Duration timeout;
    private final Clock clock;

    public DataverseClient(HttpClient http, String baseUrl, DataverseTokenProvider tokens, ObjectMapper json, Duration timeout, Clock clock) {
        this.http = http;
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.tokens = tokens;
        this.json = json;
        this.timeout = timeout;
        this.clock = clock;
    }

    /** The latest version of a row, or empty when Dataverse says it does not exist (404). */
    public Optional<ObjectNode> retrieve(EntitySettings entity, String rowId, String correlationId) throws IOException, InterruptedException {
        String select = String.join(",", entity.columns());
        URI uri = URI.create(baseUrl + API_PATH + entity.entitySet() + "(" + rowId + ")?$select="
                + URLEncoder.encode(select, StandardCharsets.UTF_8).replace("%2C", ","));
        HttpResponse<String> response = send(() -> request(uri, correlationId).GET().build());
        if (response.statusCode() == 404) {
            return Optional.empty();
        }
        requireSuccess(response);
        JsonNode node = json.readTree(response.body());
        if (!(node instanceof ObjectNode row)) {
            throw new DataverseException(502, null, "row answer was not a JSON object", null);
        }
        return Optional.of(row);
    }

    /**
     * Updates columns of an existing row. If-Match: * makes Dataverse refuse to create the row when it was deleted
     * meanwhile (404) instead of upserting a ghost.
     */
    public void update(EntitySettings entity, String rowId, ObjectNode columns, String correlationId) throws IOException, InterruptedException {
        URI uri = URI.create(baseUrl + API_PATH + entity.entitySet() + "(" + rowId + ")");
        String body = json.writeValueAsString(columns);
        HttpResponse<String> response = send(() -> request(uri, correlationId)
                .header("Content-Type", "application/json")
                .header("If-Match", "*")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body)).build());
        requireSuccess(response);
    }

    private HttpRequest.Builder request(URI uri, String correlationId) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Authorization", "Bearer " + tokens.token())
                .header("Accept", "application/json")
                .header("OData-MaxVersion", "4.0")
                .header("OData-Version", "4.0");
        if (correlationId != null) {
            b.header("X-Correlation-ID", correlationId);
        }
        return b;
    }

    private HttpResponse<String> send(java.util.function.Supplier<HttpRequest> request) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request.get(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 401) {
            // the cached token may have expired or been revoked early: one fresh token, one more try
            tokens.refresh();
            response = http.send(request.get(), HttpResponse.BodyHandlers.ofString());
        }
        return response;
    }

    private void requireSuccess(HttpResponse<String> response) {
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
            return;
        }
        String code = null;
        String message = null;
        try {
            JsonNode error = json.readTree(response.body()).path("error");
            code = error.path("code").asText(null);
            message = error.path("message").asText(null);
        } catch (IOException | RuntimeException notOData) {
            message = response.body() == null || response.body().isEmpty() ? null
                    : response.body().substring(0, Math.min(200, response.body().length()));
        }
        Duration retryAfter = RetryAfter.parse(response.headers().firstValue("Retry-After").orElse(null), clock.instant());
        throw new DataverseException(status, code, message, retryAfter);
    }
}
