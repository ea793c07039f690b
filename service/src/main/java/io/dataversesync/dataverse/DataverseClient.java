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
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.dataverse.odata.ODataBatch;
import io.dataversesync.policy.RetryAfter;
import io.dataversesync.security.CorrelationIds;
import io.dataversesync.sync.EntitySettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * A small Dataverse Web API v9.2 client: read rows ($select, one by key or many with the In filter), update
 * rows (PATCH, or many PATCHes in one $batch). Every request carries a bearer token of one of the configured
 * application users (the one that can send it soonest), the OData version headers and the correlation id, and
 * passes that user's pacing gate with its estimated execution time; the rate-limit headers of its answer
 * reconcile the gate and teach the user's cost estimator. A 401 refreshes the token and retries once; any other
 * failure becomes a {@link DataverseException} (status, OData error code, Retry-After) for the retry policy to
 * classify. Transport failures surface as IOExceptions (transient).
 */
public class DataverseClient {
    public static final String API_PATH = "/api/data/v9.2/";

    private final HttpClient http;
    private final String baseUrl;
    private final List<Lane> lanes;
    private final long maxRequestCostMs;
    private final long timeRemainingUnitMs;
    private final AtomicInteger nextUser = new AtomicInteger();
    private final ObjectMapper json;
    private final Duration timeout;
    private final Clock clock;
    private final MeterRegistry meters;
    private final Counter throttled;
    private final Map<String, Counter> requestsByKind = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, DistributionSummary> rowsByKind = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile DataverseBreaker breaker;
    /** The last reading of budgetUsed() and when it was taken (see there). */
    private volatile BudgetReading budgetReading;
    private static final long BUDGET_READING_NANOS = 10_000_000;

    private record BudgetReading(double used, long atNanos) {
    }

    /**
     * @param maxRequestCostMs    the most estimated execution time one request may carry (batches are cut below it)
     * @param timeRemainingUnitMs milliseconds per unit of the x-ms-ratelimit-time-remaining-xrm-requests header
     *                            (1000: Dataverse reports seconds)
     */
    public DataverseClient(HttpClient http, String baseUrl, List<DataverseUser> users, ObjectMapper json, Duration timeout,
            long maxRequestCostMs, long timeRemainingUnitMs, Clock clock, MeterRegistry meters) {
        if (users.isEmpty()) {
            throw new IllegalArgumentException("at least one Dataverse application user is needed");
        }
        this.http = http;
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        if (maxRequestCostMs < 1) {
            throw new IllegalArgumentException("the request cost cap must be positive, was " + maxRequestCostMs);
        }
        this.maxRequestCostMs = maxRequestCostMs;
        if (timeRemainingUnitMs < 1) {
            throw new IllegalArgumentException("the time-remaining header's unit must be at least 1 ms, was " + timeRemainingUnitMs);
        }
        this.timeRemainingUnitMs = timeRemainingUnitMs;
        this.json = json;
        this.timeout = timeout;
        this.clock = clock;
        this.meters = meters;
        this.throttled = Counter.builder("dataverse.throttled").description("429 answers received from Dataverse").register(meters);
        List<Lane> lanes = new ArrayList<>();
        for (DataverseUser user : users) {
            Lane lane = new Lane(user, meters);
            Gauge.builder("dataverse.execution.ms.remaining", lane, this::executionMsRemaining)
                    .description("Execution time left in the user's window, in ms (last reported by Dataverse, else the gate's estimate)")
                    .tag("user", user.name()).register(meters);
            lanes.add(lane);
        }
        this.lanes = List.copyOf(lanes);
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

    /** Deletes a row by key; false when Dataverse says it does not exist (404: already gone). */
    public boolean delete(EntitySettings table, String rowId, String correlationId) throws IOException, InterruptedException {
        URI uri = URI.create(baseUrl + API_PATH + table.entitySet() + "(" + rowId + ")");
        HttpResponse<String> response = send("delete", 1, (user, b) -> b.uri(uri).DELETE(), correlationId);
        if (response.statusCode() == 404) {
            return false;
        }
        requireSuccess(response);
        return true;
    }

    /**
     * The ids of the rows an OData filter matches (on-demand sync), page by page: {@code Prefer: odata.maxpagesize}
     * and each {@code @odata.nextLink} followed unchanged (Dataverse's server-driven paging; it ignores $top with
     * paging and has no $skip). Stops after {@code limit} ids, so a caller that asks for one more than it accepts
     * learns the filter matches too many. The filter must be validated by the caller; it is URL-encoded here. A
     * nextLink that leaves the configured Dataverse URL is refused (it would carry our token elsewhere).
     */
    public List<String> retrieveIds(EntitySettings entity, String filter, int pageSize, int limit, String correlationId)
            throws IOException, InterruptedException {
        List<String> ids = new ArrayList<>();
        Page page = queryPage(entity, List.of(entity.idColumn()), filter, pageSize, correlationId);
        while (true) {
            for (ObjectNode row : page.rows()) {
                if (ids.size() < limit) {
                    ids.add(row.path(entity.idColumn()).asText());
                }
            }
            if (page.nextLink() == null || ids.size() >= limit) {
                return ids;
            }
            page = readPage(page.nextLink(), pageSize, correlationId);
        }
    }

    /**
     * One page of a paged read: its rows, the ids change tracking reports deleted ({@code $deletedEntity}), the
     * next page's link (null on the last page) and, on the last page of a tracked read, the delta link.
     */
    public record Page(List<ObjectNode> rows, List<String> deletedIds, String nextLink, String deltaLink) {
    }

    /**
     * The first page of a read of every row of the table, with server-driven paging ({@code Prefer:
     * odata.maxpagesize}, at most 5,000; Dataverse has no {@code $skip}): then {@link #readPage} with the
     * {@code @odata.nextLink} as returned. With {@code trackChanges} ({@code Prefer: odata.track-changes}) the last
     * page carries the {@code @odata.deltaLink} a later {@link #readPage} returns the changes since with.
     */
    public Page readFirstPage(EntitySettings entity, Collection<String> columns, int maxPageSize, boolean trackChanges, String correlationId)
            throws IOException, InterruptedException {
        return readPage(URI.create(baseUrl + API_PATH + entity.entitySet() + "?$select=" + select(columns)), maxPageSize,
                trackChanges, correlationId);
    }

    /**
     * The first page of the rows an OData $filter matches, paged the same way (then {@link #readPage} with each
     * {@code @odata.nextLink}). {@code filter} is validated by the caller (built from its own settings, or checked
     * like on-demand sync's) and URL-encoded here; null for none.
     */
    public Page queryPage(EntitySettings table, Collection<String> columns, String filter, int maxPageSize, String correlationId)
            throws IOException, InterruptedException {
        String uri = baseUrl + API_PATH + table.entitySet() + "?$select=" + select(columns)
                + (filter == null ? "" : "&$filter=" + URLEncoder.encode(filter, StandardCharsets.UTF_8).replace("+", "%20"));
        return readPage(URI.create(uri), maxPageSize, false, correlationId);
    }

    /**
     * A page by the link Dataverse returned ({@code @odata.nextLink} or {@code @odata.deltaLink}), used exactly as
     * returned; it must point at this client's Web API (our token goes with it). An expired or unknown delta token
     * is a {@link DataverseException} with code {@link #EXPIRED_VERSION_STAMP}.
     */
    public Page readPage(String link, int maxPageSize, String correlationId) throws IOException, InterruptedException {
        if (link == null || !link.startsWith(baseUrl + API_PATH)) {
            throw new DataverseException(502, null, "a paging link that does not point at " + baseUrl + API_PATH, null);
        }
        return readPage(URI.create(link), maxPageSize, false, correlationId);
    }

    /** Dataverse's ExpiredVersionStamp: a change tracking token too old (or unknown); a full read is needed. */
    public static final String EXPIRED_VERSION_STAMP = "0x80044352";

    /** The most rows a page may hold (Dataverse ignores a larger odata.maxpagesize). */
    public static final int MAX_PAGE_SIZE = 5000;

    private Page readPage(URI uri, int maxPageSize, boolean trackChanges, String correlationId) throws IOException, InterruptedException {
        if (maxPageSize < 1 || maxPageSize > MAX_PAGE_SIZE) {
            throw new IllegalArgumentException("a page holds 1.." + MAX_PAGE_SIZE + " rows, was " + maxPageSize);
        }
        String prefer = (trackChanges ? "odata.track-changes," : "") + "odata.maxpagesize=" + maxPageSize;
        HttpResponse<String> response = send("read-page", maxPageSize, (user, b) -> b.uri(uri).header("Prefer", prefer).GET(), correlationId);
        requireSuccess(response);
        JsonNode body = json.readTree(response.body());
        List<ObjectNode> rows = new ArrayList<>();
        List<String> deleted = new ArrayList<>();
        for (JsonNode item : body.path("value")) {
            if (item.path("@odata.context").asText("").endsWith("$deletedEntity")) {
                deleted.add(item.path("id").asText().toLowerCase());
            } else if (item instanceof ObjectNode row) {
                rows.add(row);
            }
        }
        return new Page(rows, deleted, body.path("@odata.nextLink").asText(null), body.path("@odata.deltaLink").asText(null));
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

    /** One application user and what the client tracks for it. */
    private static final class Lane {
        final DataverseUser user;
        final Counter executionMs;
        final AtomicLong lastTimeRemaining = new AtomicLong(RateLimitHeaders.UNKNOWN);
        final AtomicLong lastTimeRemainingAt = new AtomicLong();
        /**
         * One request of a kind at a time until the first answer of that kind is in: until then its cost is the
         * prior's guess, and many guessed requests in flight together could cross the execution-time limit before
         * any answer corrected it (the first answer seeds the estimate: DataverseCostEstimator).
         */
        final java.util.concurrent.Semaphore[] untilFirstAnswer = {new java.util.concurrent.Semaphore(1), new java.util.concurrent.Semaphore(1)};
        final java.util.concurrent.atomic.AtomicBoolean[] answeredOnce = {new java.util.concurrent.atomic.AtomicBoolean(),
                new java.util.concurrent.atomic.AtomicBoolean()};

        Lane(DataverseUser user, MeterRegistry meters) {
            this.user = user;
            this.executionMs = Counter.builder("dataverse.execution.ms")
                    .description("Execution time charged by Dataverse for the requests sent, in ms (as reported, else estimated)")
                    .tag("user", user.name()).register(meters);
        }
    }

    /**
     * Every request passes the Dataverse circuit breaker when there is one (dataverseBreaker, SyncBeans): refused
     * while it is open, its answer recorded.
     */
    public void guardWith(DataverseBreaker breaker) {
        this.breaker = breaker;
    }

    private HttpResponse<String> send(String kind, int rows, RequestShape shape, String correlationId) throws IOException, InterruptedException {
        DataverseBreaker guard = breaker;
        if (guard == null) {
            return sendUnguarded(kind, rows, shape, correlationId);
        }
        guard.acquire();
        long started = System.nanoTime();
        HttpResponse<String> response;
        try {
            response = sendUnguarded(kind, rows, shape, correlationId);
        } catch (Exception e) {
            guard.recordNoAnswer(e, System.nanoTime() - started);
            throw e;
        }
        guard.record(response.statusCode(), System.nanoTime() - started);
        return response;
    }

    private HttpResponse<String> sendUnguarded(String kind, int rows, RequestShape shape, String correlationId) throws IOException, InterruptedException {
        DataverseCostEstimator.Kind costKind = kind.startsWith("read") ? DataverseCostEstimator.Kind.READ : DataverseCostEstimator.Kind.WRITE;
        Lane lane = pick(costKind, rows);
        HttpResponse<String> response = sendAs(lane, kind, costKind, rows, shape, correlationId);
        if (response.statusCode() == 401) {
            // the cached token may have expired or been revoked early: one fresh token, one more try
            lane.user.tokens().refresh();
            response = sendAs(lane, kind, costKind, rows, shape, correlationId);
        }
        return response;
    }

    /**
     * The user to send as: the one whose gate admits this request soonest (its own estimate of the cost), then the
     * one with the most free concurrent slots, ties taken round robin. Any user may serve any request: per-row
     * ordering comes from the broker (message groups, sessions: one message of a row at a time, and each message
     * waits for its own answer), not from the user.
     */
    private Lane pick(DataverseCostEstimator.Kind kind, int rows) {
        int start = Math.floorMod(nextUser.getAndIncrement(), lanes.size());
        if (lanes.size() == 1) {
            return lanes.get(0);
        }
        long[] waits = new long[lanes.size()];
        int[] free = new int[lanes.size()];
        for (int i = 0; i < lanes.size(); i++) {
            DataverseUser user = lanes.get(i).user;
            waits[i] = user.gate() == null ? 0 : user.gate().millisUntilSendable(user.costs().estimate(kind, rows));
            free[i] = user.gate() == null ? 0 : user.gate().availableConcurrentCalls();
        }
        return lanes.get(pickUser(waits, free, start));
    }

    /** The index with the shortest wait, then the most free slots; among equals the first from {@code start} on. */
    static int pickUser(long[] waits, int[] freeSlots, int start) {
        int best = -1;
        for (int k = 0; k < waits.length; k++) {
            int i = (start + k) % waits.length;
            if (best < 0 || waits[i] < waits[best] || (waits[i] == waits[best] && freeSlots[i] > freeSlots[best])) {
                best = i;
            }
        }
        return best;
    }

    private HttpResponse<String> sendAs(Lane lane, String kind, DataverseCostEstimator.Kind costKind, int rows, RequestShape shape,
            String correlationId) throws IOException, InterruptedException {
        DataverseUser user = lane.user;
        HttpRequest.Builder b = HttpRequest.newBuilder()
                .timeout(timeout)
                .header("Authorization", "Bearer " + user.tokens().token())
                .header("Accept", "application/json")
                .header("OData-MaxVersion", "4.0")
                .header("OData-Version", "4.0");
        // checked when the message was read (CorrelationIds); a value that is not valid here is never sent
        if (CorrelationIds.isValid(correlationId)) {
            b.header("X-Correlation-ID", correlationId);
        }
        HttpRequest request = shape.shape(user, b).build();
        DataverseRequestGate gate = user.gate();
        java.util.concurrent.Semaphore first = null;
        if (gate != null && !lane.answeredOnce[costKind.ordinal()].get()) {
            first = lane.untilFirstAnswer[costKind.ordinal()];
            first.acquire();
            if (lane.answeredOnce[costKind.ordinal()].get()) { // answered while this one waited
                first.release();
                first = null;
            }
        }
        long cost = user.costs().estimate(costKind, rows);
        DataverseRequestGate.Ticket ticket;
        try {
            ticket = gate != null ? gate.acquire(cost) : null;
        } catch (RuntimeException | InterruptedException e) {
            if (first != null) {
                first.release();
            }
            throw e;
        }
        boolean answered = false;
        try {
            requestsByKind.computeIfAbsent(kind, k -> Counter.builder("dataverse.requests")
                    .description("Requests sent to the Dataverse Web API").tag("kind", k).register(meters)).increment();
            rowsByKind.computeIfAbsent(kind, k -> DistributionSummary.builder("dataverse.rows.per.request")
                    .description("Rows read or written per Dataverse request").tag("kind", k).register(meters)).record(rows);
            long sent = System.nanoTime();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            long durationMs = (System.nanoTime() - sent) / 1_000_000;
            answered = true;
            int status = response.statusCode();
            RateLimitHeaders.Remaining remaining = RateLimitHeaders.read(response.headers(), timeRemainingUnitMs);
            if (remaining.hasExecutionMs()) {
                lane.lastTimeRemaining.set(remaining.executionMs());
                lane.lastTimeRemainingAt.set(clock.millis());
            }
            OptionalLong reported = gate != null ? gate.onResponse(ticket, remaining) : OptionalLong.empty();
            if (status == 429) {
                throttled.increment();
                Duration retryAfter = RetryAfter.parse(response.headers().firstValue("Retry-After").orElse(null), clock.instant());
                if (gate != null) {
                    gate.pauseFor(retryAfter != null ? retryAfter : Duration.ofSeconds(1));
                }
            } else if (status != 401) { // a 401 or a 429 ran nothing
                if (status < 300 || status == 404) {
                    if (reported.isPresent()) {
                        user.costs().learnFromServer(costKind, rows, reported.getAsLong());
                    } else {
                        user.costs().learnFromDuration(costKind, rows, durationMs);
                    }
                }
                lane.executionMs.increment(reported.orElse(cost));
            }
            return response;
        } finally {
            if (!answered) {
                lane.executionMs.increment(cost); // no answer: it may have run
                if (gate != null) {
                    gate.onNoAnswer(ticket);
                }
            }
            if (gate != null) {
                gate.release();
            }
            if (first != null) {
                if (answered) {
                    lane.answeredOnce[costKind.ordinal()].set(true);
                }
                first.release();
            }
        }
    }

    /** The execution time Dataverse last reported for the user, else (with pacing) the gate's own estimate. */
    private double executionMsRemaining(Lane lane) {
        DataverseRequestGate gate = lane.user.gate();
        long reported = lane.lastTimeRemaining.get();
        if (reported >= 0 && (gate == null || clock.millis() - lane.lastTimeRemainingAt.get() < gate.windowMillis())) {
            return reported;
        }
        return gate != null ? gate.executionMsRemainingEstimate() : Double.NaN;
    }

    /**
     * The estimated execution time of one request of {@code rows} rows: the highest of the users' estimates, as
     * the batch is formed before it is known which user sends it.
     */
    public long estimatedCost(DataverseCostEstimator.Kind kind, int rows) {
        long cost = 0;
        for (Lane lane : lanes) {
            cost = Math.max(cost, lane.user.costs().estimate(kind, rows));
        }
        return cost;
    }

    /**
     * The most execution time one request may be estimated at: dataverse.limits.max-request-cost-ms (well under
     * the client's and Dataverse's 2-minute request timeouts), and never more than a user's window can admit.
     */
    public long maxRequestCostMs() {
        long cap = maxRequestCostMs;
        for (Lane lane : lanes) {
            if (lane.user.gate() != null) {
                cap = Math.min(cap, lane.user.gate().executionMsBudget());
            }
        }
        return cap;
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

    /** How many application users send the requests. */
    public int userCount() {
        return lanes.size();
    }

    /**
     * How much of the budget is used, 0..1, on the user with the most left (requests go as the user that can send
     * soonest): see DataverseRequestGate#budgetUsed; 0 without pacing.
     */
    public double budgetUsed() {
        // read again at most every BUDGET_READING_NANOS: it locks every user's gate and walks its windows, and a
        // fresh change asks it before each of its batch waits (BatchWait); what it decides (spare budget or not) moves
        // over a window of minutes. The reading's age is real time (nanoTime), not the injected clock's.
        BudgetReading last = budgetReading;
        long now = System.nanoTime();
        if (last != null && now - last.atNanos() < BUDGET_READING_NANOS) {
            return last.used();
        }
        double used = readBudgetUsed();
        budgetReading = new BudgetReading(used, now);
        return used;
    }

    private double readBudgetUsed() {
        double least = 1;
        for (Lane lane : lanes) {
            least = Math.min(least, lane.user.gate() == null ? 0 : lane.user.gate().budgetUsed());
        }
        return least;
    }

    /** How long the next request would wait for pacing, on the user that could send soonest (0 without pacing). */
    public long millisUntilSendable() {
        long best = Long.MAX_VALUE;
        for (Lane lane : lanes) {
            best = Math.min(best, lane.user.gate() == null ? 0 : lane.user.gate().millisUntilSendable());
        }
        return best;
    }
}
