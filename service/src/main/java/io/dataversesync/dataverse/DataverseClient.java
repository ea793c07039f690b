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
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.dataverse.odata.ODataBatch;
import io.dataversesync.policy.RetryAfter;
import io.dataversesync.sync.EntitySettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * A small Dataverse Web API v9.2 client: read rows ($select, one by key or many with the In filter), update
 * rows (PATCH, or many PATCHes in one $batch). Every request carries a bearer token of one of the configured
 * application users (round robin), the OData version headers and the correlation id, and passes that user's
 * pacing gate. A 401 refreshes the token and retries once; any other failure becomes a
 * {@link DataverseException} (status, OData error code, Retry-After) for the retry policy to classify.
 * Transport failures surface as IOExceptions (transient).
 */
public class DataverseClient {
    public static final String API_PATH = "/api/data/v9.2/";

    private final HttpClient http;
    private final String baseUrl;
    private final List<DataverseUser> users;
    private final AtomicInteger nextUser = new AtomicInteger();
    private final ObjectMapper json;
    private final Duration timeout;
    private final Clock clock;
    private final MeterRegistry meters;
    private final Counter throttled;
    private final Map<String, Counter> requestsByKind = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, DistributionSummary> rowsByKind = new java.util.concurrent.ConcurrentHashMap<>();

    public DataverseClient(HttpClient http, String baseUrl, List<DataverseUser> users, ObjectMapper json, Duration timeout,
            Clock clock, MeterRegistry meters) {
        if (users.isEmpty()) {
            throw new IllegalArgumentException("at least one Dataverse application user is needed");
        }
        this.http = http;
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.users = List.copyOf(users);
        this.json = json;
        this.timeout = timeout;
        this.clock = clock;
        this.meters = meters;
        this.throttled = Counter.builder("dataverse.throttled").description("429 answers received from Dataverse").register(meters);
    }

    /** The latest version of a row, or empty when Dataverse says it does not exist (404). */
    public Optional<ObjectNode> retrieve(EntitySettings entity, Collection<String> columns, String rowId, String correlationId)
            throws IOException, InterruptedException {
        URI uri = URI.create(baseUrl + API_PATH + entity.entitySet() + "(" + rowId + ")?$select=" + select(columns));
        HttpResponse<String> response = send("read", 1, (user, b) -> b.uri(uri).GET(), correlationId);
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
     * Many rows in one request: $filter=Microsoft.Dynamics.CRM.In(PropertyName='id',PropertyValues=[...]).
     * Rows Dataverse does not return do not exist (the caller treats them as deleted).
     */
    public Map<String, ObjectNode> retrieveMany(EntitySettings entity, Collection<String> columns, Collection<String> rowIds,
            String correlationId) throws IOException, InterruptedException {
        StringBuilder values = new StringBuilder();
        for (String id : rowIds) {
            values.append(values.length() == 0 ? "" : ",").append('\'').append(id).append('\'');
        }
        String filter = "Microsoft.Dynamics.CRM.In(PropertyName='" + entity.idColumn() + "',PropertyValues=[" + values + "])";
        URI uri = URI.create(baseUrl + API_PATH + entity.entitySet() + "?$select=" + select(columns)
                + "&$filter=" + URLEncoder.encode(filter, StandardCharsets.UTF_8).replace("+", "%20"));
        HttpResponse<String> response = send("read-many", rowIds.size(),
                (user, b) -> b.uri(uri).header("Prefer", "odata.maxpagesize=" + Math.max(rowIds.size(), 1)).GET(), correlationId);
        requireSuccess(response);
        Map<String, ObjectNode> rows = new HashMap<>();
        for (JsonNode row : json.readTree(response.body()).path("value")) {
            if (row instanceof ObjectNode o) {
                rows.put(o.path(entity.idColumn()).asText().toLowerCase(), o);
            }
        }
        return rows;
    }

    /**
     * Updates columns of an existing row. If-Match: * makes Dataverse refuse to create the row when it was deleted
     * meanwhile (404) instead of upserting a ghost.
     */
    public void update(EntitySettings entity, String rowId, ObjectNode columns, String correlationId) throws IOException, InterruptedException {
        URI uri = URI.create(baseUrl + API_PATH + entity.entitySet() + "(" + rowId + ")");
        String body = json.writeValueAsString(columns);
        HttpResponse<String> response = send("write", 1, (user, b) -> b.uri(uri)
                .header("Content-Type", "application/json")
                .header("If-Match", "*")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body)), correlationId);
        requireSuccess(response);
    }

    /** One row update inside a $batch. */
    public record RowUpdate(EntitySettings entity, String rowId, ObjectNode columns) {
    }

    /**
     * Many updates in one $batch (one request toward the limits). Operations are independent (no change set) and
     * Prefer: odata.continue-on-error lets every one run: each gets its own result, null for success or the
     * {@link DataverseException} of that row alone. A failure of the whole $batch is thrown.
     */
    public List<DataverseException> updateMany(List<RowUpdate> updates, String correlationId) throws IOException, InterruptedException {
        List<ODataBatch.Item> items = new ArrayList<>();
        for (RowUpdate u : updates) {
            items.add(ODataBatch.Item.single(ODataBatch.Operation.of("PATCH",
                    baseUrl + API_PATH + u.entity().entitySet() + "(" + u.rowId() + ")", json.writeValueAsString(u.columns()))
                    .withHeader("If-Match", "*")));
        }
        String boundary = ODataBatch.newBatchBoundary();
        String body = ODataBatch.writeRequest(boundary, items);
        HttpResponse<String> response = send("write-batch", updates.size(), (user, b) -> b.uri(URI.create(baseUrl + API_PATH + "$batch"))
                .header("Content-Type", "multipart/mixed; boundary=" + boundary)
                .header("Prefer", "odata.continue-on-error")
                .POST(HttpRequest.BodyPublishers.ofString(body)), correlationId);
        requireSuccess(response);
        List<ODataBatch.ItemResult> results;
        try {
            results = ODataBatch.parseResponse(response.headers().firstValue("Content-Type").orElse(""),
                    response.body().getBytes(StandardCharsets.UTF_8));
        } catch (ODataBatch.FormatException e) {
            throw new DataverseException(502, null, "unreadable $batch answer: " + e.getMessage(), null);
        }
        List<DataverseException> outcomes = new ArrayList<>();
        for (int i = 0; i < updates.size(); i++) {
            if (i >= results.size() || results.get(i).results().isEmpty()) {
                outcomes.add(new DataverseException(502, null, "no answer for operation " + (i + 1) + " in the $batch", null));
                continue;
            }
            ODataBatch.OperationResult r = results.get(i).results().get(0);
            outcomes.add(r.status() < 300 ? null : error(r.status(), r.body(), r.header("Retry-After")));
        }
        return outcomes;
    }

    private interface RequestShape {
        HttpRequest.Builder shape(DataverseUser user, HttpRequest.Builder builder);
    }

    private HttpResponse<String> send(String kind, int rows, RequestShape shape, String correlationId) throws IOException, InterruptedException {
        DataverseUser user = users.get(Math.floorMod(nextUser.getAndIncrement(), users.size()));
        HttpResponse<String> response = sendAs(user, kind, rows, shape, correlationId);
        if (response.statusCode() == 401) {
            // the cached token may have expired or been revoked early: one fresh token, one more try
            user.tokens().refresh();
            response = sendAs(user, kind, rows, shape, correlationId);
        }
        return response;
    }

    private HttpResponse<String> sendAs(DataverseUser user, String kind, int rows, RequestShape shape, String correlationId)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder()
                .timeout(timeout)
                .header("Authorization", "Bearer " + user.tokens().token())
                .header("Accept", "application/json")
                .header("OData-MaxVersion", "4.0")
                .header("OData-Version", "4.0");
        if (correlationId != null) {
            b.header("X-Correlation-ID", correlationId);
        }
        HttpRequest request = shape.shape(user, b).build();
        DataverseRequestGate gate = user.gate();
        if (gate != null) {
            gate.acquire();
        }
        try {
            requestsByKind.computeIfAbsent(kind, k -> Counter.builder("dataverse.requests")
                    .description("Requests sent to the Dataverse Web API").tag("kind", k).register(meters)).increment();
            rowsByKind.computeIfAbsent(kind, k -> DistributionSummary.builder("dataverse.rows.per.request")
                    .description("Rows read or written per Dataverse request").tag("kind", k).register(meters)).record(rows);
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 429) {
                throttled.increment();
                Duration retryAfter = RetryAfter.parse(response.headers().firstValue("Retry-After").orElse(null), clock.instant());
                if (gate != null) {
                    gate.pauseFor(retryAfter != null ? retryAfter : Duration.ofSeconds(1));
                }
            }
            return response;
        } finally {
            if (gate != null) {
                gate.release();
            }
        }
    }

    private static String select(Collection<String> columns) {
        return URLEncoder.encode(String.join(",", columns), StandardCharsets.UTF_8).replace("%2C", ",");
    }

    private void requireSuccess(HttpResponse<String> response) {
        int status = response.statusCode();
        if (status < 200 || status >= 300) {
            throw error(status, response.body(), response.headers().firstValue("Retry-After").orElse(null));
        }
    }

    private DataverseException error(int status, String body, String retryAfterHeader) {
        String code = null;
        String message = null;
        try {
            JsonNode error = json.readTree(body).path("error");
            code = error.path("code").asText(null);
            message = error.path("message").asText(null);
        } catch (IOException | RuntimeException notOData) {
            message = body == null || body.isEmpty() ? null : body.substring(0, Math.min(200, body.length()));
        }
        return new DataverseException(status, code, message, RetryAfter.parse(retryAfterHeader, clock.instant()));
    }

    /** How long the next request would wait for pacing, on the user that could send soonest (0 without pacing). */
    public long millisUntilSendable() {
        long best = Long.MAX_VALUE;
        for (DataverseUser user : users) {
            best = Math.min(best, user.gate() == null ? 0 : user.gate().millisUntilSendable());
        }
        return best;
    }
}
