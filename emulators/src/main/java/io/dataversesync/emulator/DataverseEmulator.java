package io.dataversesync.emulator;

import io.dataversesync.dataverse.odata.ODataBatch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Dataverse Web API v9.2 stand-in, with an Entra ID client-credentials token endpoint. Follows Microsoft's
 * documented status codes, headers and OData shapes for the subset it supports: single-row GET/PATCH/POST/DELETE,
 * collection GET with $select, $top, the {@code Microsoft.Dynamics.CRM.In} filter and server-driven paging
 * ({@code Prefer: odata.maxpagesize}, {@code @odata.nextLink}; see {@link ServerDrivenPaging}), and {@code $batch}.
 * Service protection limits (request budget over a sliding window, concurrent requests) are enforced per caller.
 */
public final class DataverseEmulator extends EmulatorServer {

    public static final String API_ROOT = "/api/data/v9.2/";
    public static final String TOKEN_PATH = "/oauth2/v2.0/token";
    public static final String JSON_CONTENT_TYPE = "application/json; odata.metadata=minimal";

    static final String CODE_NOT_FOUND_ROW = "0x80040217";
    static final String CODE_BAD_SEGMENT = "0x8006088a";
    static final String CODE_VERSION_MISMATCH = "0x80060882";
    static final String CODE_DUPLICATE = "0x80040237";
    static final String CODE_BAD_PAYLOAD = "0x80048d19";
    static final String CODE_BATCH_FORMAT = "0x80060888";
    static final String CODE_REQUEST_LIMIT = "0x80072322";
    static final String CODE_CONCURRENCY_LIMIT = "0x80072326";
    static final String CODE_UNEXPECTED = "0x80040216";
    static final String CODE_INVALID_ARGUMENT = "0x80040203";
    static final String CODE_QUERY_NOT_SUPPORTED = "0x80060888";

    private static final Pattern GUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern RESOURCE = Pattern.compile("([^()/]+)(?:\\(([^)]*)\\))?(/.*)?");
    private static final Pattern IN_FILTER = Pattern.compile(
            "\\s*Microsoft\\.Dynamics\\.CRM\\.In\\s*\\(\\s*PropertyName\\s*=\\s*'([^']+)'\\s*,"
                    + "\\s*PropertyValues\\s*=\\s*\\[(.*)]\\s*\\)\\s*");
    private static final Pattern QUOTED = Pattern.compile("\\s*'((?:[^']|'')*)'\\s*");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Mutable settings with fluent setters; read once by the constructor. */
    public static final class Settings {
        private int port = 0;
        private int threads = 64;
        private String clientId = "local-sync-app";
        private String clientSecret = "local-secret";
        private Duration tokenLifetime = Duration.ofHours(1);
        private int requestBudget = 0;
        private Duration budgetWindow = Duration.ofSeconds(300);
        private int maxConcurrentRequests = 0;

        public int port() { return port; }
        public Settings port(int value) { port = value; return this; }
        public int threads() { return threads; }
        public Settings threads(int value) { threads = value; return this; }
        public String clientId() { return clientId; }
        public Settings clientId(String value) { clientId = value; return this; }
        public String clientSecret() { return clientSecret; }
        public Settings clientSecret(String value) { clientSecret = value; return this; }
        public Duration tokenLifetime() { return tokenLifetime; }
        public Settings tokenLifetime(Duration value) { tokenLifetime = value; return this; }
        /** Requests per caller per {@link #budgetWindow()}; 0 = unlimited (Dataverse: 6000 per 300 s). */
        public int requestBudget() { return requestBudget; }
        public Settings requestBudget(int value) { requestBudget = value; return this; }
        public Duration budgetWindow() { return budgetWindow; }
        public Settings budgetWindow(Duration value) { budgetWindow = value; return this; }
        /** Concurrent requests per caller; 0 = unlimited (Dataverse: 52). */
        public int maxConcurrentRequests() { return maxConcurrentRequests; }
        public Settings maxConcurrentRequests(int value) { maxConcurrentRequests = value; return this; }
    }

    private record Table(String entitySet, String logicalName, String primaryIdColumn,
                         ConcurrentHashMap<String, ObjectNode> rows) {
    }

    private record Token(String clientId, long expiresAtNanos) {
    }

    private record RowKey(Table table, String id) {
    }

    private enum WriteMode { UPSERT, UPDATE_ONLY, CREATE_ONLY }

    private enum Outcome { CREATED, UPDATED, DELETED, NOT_FOUND, VERSION_MISMATCH, DUPLICATE }

    private record WriteResult(Outcome outcome, ObjectNode row) {
    }

    /** An answer before the service-wide headers are added; also used for operations inside a $batch. */
    private static final class ApiError extends Exception {
        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }
    }

    private final String clientId;
    private final String clientSecret;
    private final Duration tokenLifetime;
    private final int requestBudget;
    private final long budgetWindowNanos;
    private final int maxConcurrentRequests;

    private final Map<String, Table> tables = new ConcurrentHashMap<>();
    private final Map<String, Token> tokens = new ConcurrentHashMap<>();
    private final Map<String, Deque<Long>> requestWindows = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong versionNumbers = new AtomicLong(1_000_000);
    private final AtomicLong apiRequests = new AtomicLong();
    private final AtomicLong throttled = new AtomicLong();
    /** Single writes share it; a change set takes it exclusively so its rollback cannot clobber other writes. */
    private final ReentrantReadWriteLock storeLock = new ReentrantReadWriteLock();
    /** Pre-images of rows a change set touched on this thread, for rollback; null outside change sets. */
    private final ThreadLocal<Map<RowKey, Optional<ObjectNode>>> changeSetJournal = new ThreadLocal<>();

    public DataverseEmulator(Settings settings) {
        super("dataverse-emulator", settings.port(), settings.threads());
        this.clientId = settings.clientId();
        this.clientSecret = settings.clientSecret();
        this.tokenLifetime = settings.tokenLifetime();
        this.requestBudget = settings.requestBudget();
        this.budgetWindowNanos = settings.budgetWindow().toNanos();
        this.maxConcurrentRequests = settings.maxConcurrentRequests();
    }

    public DataverseEmulator() {
        this(new Settings());
    }

    // ================================================================ Java access for tests and the demo

    /** Registers a table, e.g. ("accounts", "account", "accountid"). Re-registering keeps existing rows. */
    public DataverseEmulator registerTable(String entitySetName, String logicalName, String primaryIdColumn) {
        tables.putIfAbsent(entitySetName,
                new Table(entitySetName, logicalName, primaryIdColumn, new ConcurrentHashMap<>()));
        return this;
    }

    /** Merges the columns into the row (created when absent; id null = new GUID) and returns its id. */
    public String upsertRow(String entitySet, String id, ObjectNode columns) {
        Table table = requireTable(entitySet);
        String rowId = id == null ? UUID.randomUUID().toString() : normaliseId(id);
        write(table, rowId, columns == null ? JSON.createObjectNode() : columns, WriteMode.UPSERT, null);
        return rowId;
    }

    /** Deep copy of the row including {@code @odata.etag}. */
    public Optional<ObjectNode> row(String entitySet, String id) {
        ObjectNode row = requireTable(entitySet).rows().get(normaliseId(id));
        return Optional.ofNullable(row).map(DataverseEmulator::withEtag);
    }

    /** Deep copies of all rows, ordered by id. */
    public List<ObjectNode> rows(String entitySet) {
        Table table = requireTable(entitySet);
        return sortedRows(table).stream().map(DataverseEmulator::withEtag).toList();
    }

    public boolean deleteRow(String entitySet, String id) {
        return delete(requireTable(entitySet), normaliseId(id), null).outcome() == Outcome.DELETED;
    }

    /**
     * Puts rows back exactly as given (e.g. {@link #rows(String)} of an emulator that ran before a restart of the
     * service: Dataverse itself does not lose data when the service stops). Existing rows with the same id are
     * replaced; version numbers go on growing from the highest restored one.
     */
    public void restoreRows(String entitySet, java.util.Collection<ObjectNode> rows) {
        Table table = requireTable(entitySet);
        storeLock.readLock().lock();
        try {
            for (ObjectNode row : rows) {
                ObjectNode copy = row.deepCopy();
                List<String> annotations = new ArrayList<>();
                copy.fieldNames().forEachRemaining(name -> {
                    if (name.startsWith("@odata.")) {
                        annotations.add(name);
                    }
                });
                copy.remove(annotations);
                String id = normaliseId(copy.path(table.primaryIdColumn()).asText());
                copy.put(table.primaryIdColumn(), id);
                table.rows().put(id, copy);
                versionNumbers.accumulateAndGet(copy.path("versionnumber").asLong(), Math::max);
            }
        } finally {
            storeLock.readLock().unlock();
        }
    }

    /** Invalidates every issued token, as if they had expired: clients see 401 until they fetch a new one. */
    public void revokeTokens() {
        tokens.clear();
    }

    /** API requests answered (a $batch counts once), the token endpoint excluded. */
    public long requestCount() {
        return apiRequests.get();
    }

    /** 429 answers given (service protection and injected). */
    public long throttledCount() {
        return throttled.get();
    }

    public void resetCounters() {
        apiRequests.set(0);
        throttled.set(0);
    }

    private Table requireTable(String entitySet) {
        Table table = tables.get(entitySet);
        if (table == null) {
            throw new IllegalArgumentException("unknown entity set: " + entitySet);
        }
        return table;
    }

    // ================================================================ request pipeline

    @Override
    protected String jsonContentType() {
        return JSON_CONTENT_TYPE;
    }

    @Override
    protected Response handle(Request request) throws Exception {
        if (request.path().endsWith(TOKEN_PATH)) {
            return token(request);
        }
        apiRequests.incrementAndGet();
        Response response = apiRequest(request);
        if (response.status() == 429) {
            throttled.incrementAndGet();
        }
        return response.header("OData-Version", "4.0");
    }

    private Response apiRequest(Request request) throws Exception {
        String caller = authenticate(request);
        if (caller == null) {
            return unauthorized();
        }
        if (!request.path().startsWith(API_ROOT)) {
            return error(404, CODE_BAD_SEGMENT, "Resource not found for the segment '" + request.path() + "'.");
        }
        AtomicInteger callerInFlight = null;
        if (maxConcurrentRequests > 0) {
            callerInFlight = inFlight.computeIfAbsent(caller, c -> new AtomicInteger());
            if (callerInFlight.incrementAndGet() > maxConcurrentRequests) {
                callerInFlight.decrementAndGet();
                return error(429, CODE_CONCURRENCY_LIMIT, "Number of concurrent requests exceeded the limit of "
                        + maxConcurrentRequests + ".").header("Retry-After", "1");
            }
        }
        try {
            Response refused = chargeBudget(caller);
            if (refused != null) {
                return refused;
            }
            Optional<Response> fault = injectFaults(request);
            if (fault.isPresent()) {
                return fault.get();
            }
            return remaining(caller, route(request));
        } finally {
            // released before the answer is written, so a client's next request never sees its own old slot
            if (callerInFlight != null) {
                callerInFlight.decrementAndGet();
            }
        }
    }

    private Response route(Request request) {
        String relative = decode(request.path().substring(API_ROOT.length()), false);
        try {
            if (relative.equals("$batch")) {
                if (!request.method().equals("POST")) {
                    throw new ApiError(405, CODE_BAD_SEGMENT, "The $batch endpoint only accepts POST.");
                }
                return batch(request);
            }
            return dispatch(request.method(), relative, request.queryParameters(), request);
        } catch (ApiError e) {
            return error(e.status, e.code, e.getMessage());
        }
    }

    // ---------------------------------------------------------------- auth and service protection

    private String authenticate(Request request) {
        String authorization = request.header("authorization");
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        Token token = tokens.get(authorization.substring(7).trim());
        if (token == null) {
            return null;
        }
        if (System.nanoTime() - token.expiresAtNanos() >= 0) {
            tokens.values().remove(token);
            return null;
        }
        return token.clientId();
    }

    private Response unauthorized() {
        return empty(401).header("WWW-Authenticate",
                "Bearer authorization_uri=" + baseUrl() + "/oauth2/authorize, resource_id=" + baseUrl() + "/");
    }

    /** Sliding-window request budget; returns the 429 when the caller has none left. */
    private Response chargeBudget(String caller) {
        if (requestBudget <= 0) {
            return null;
        }
        Deque<Long> window = requestWindows.computeIfAbsent(caller, c -> new ArrayDeque<>());
        synchronized (window) {
            long now = System.nanoTime();
            while (!window.isEmpty() && now - window.peekFirst() >= budgetWindowNanos) {
                window.pollFirst();
            }
            if (window.size() >= requestBudget) {
                long waitNanos = window.peekFirst() + budgetWindowNanos - now;
                long retryAfter = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
                return error(429, CODE_REQUEST_LIMIT, "Number of requests exceeded the limit of " + requestBudget
                        + " over time window of " + Duration.ofNanos(budgetWindowNanos).toSeconds() + " seconds.")
                        .header("Retry-After", String.valueOf(retryAfter));
            }
            window.addLast(now);
        }
        return null;
    }

    /** Dataverse reports the remaining budget so clients can slow down before they are throttled. */
    private Response remaining(String caller, Response response) {
        if (requestBudget > 0) {
            Deque<Long> window = requestWindows.get(caller);
            int used;
            synchronized (window) {
                used = window.size();
            }
            response.header("x-ms-ratelimit-burst-remaining-xrm-requests", String.valueOf(Math.max(0, requestBudget - used)));
        }
        return response;
    }

    private Response token(Request request) {
        if (!request.method().equals("POST")) {
            return tokenError(405, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.", 900561);
        }
        Map<String, String> form = parseForm(request.bodyText(), true);
        String grantType = form.get("grant_type");
        if (grantType == null || grantType.isEmpty()) {
            return tokenError(400, "invalid_request",
                    "AADSTS900144: The request body must contain the following parameter: 'grant_type'.", 900144);
        }
        if (!grantType.equals("client_credentials")) {
            return tokenError(400, "unsupported_grant_type",
                    "AADSTS70003: The app requested an unsupported grant type '" + grantType + "'.", 70003);
        }
        String id = form.get("client_id");
        String secret = form.get("client_secret");
        String basic = request.header("authorization");
        if (basic != null && basic.regionMatches(true, 0, "Basic ", 0, 6)) {
            // client_secret_basic: the credentials come in the Authorization header instead of the form
            String decoded = new String(Base64.getDecoder().decode(basic.substring(6).trim()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            if (colon > 0) {
                id = decode(decoded.substring(0, colon), true);
                secret = decode(decoded.substring(colon + 1), true);
            }
        }
        if (!clientId.equals(id) || !clientSecret.equals(secret)) {
            return tokenError(401, "invalid_client",
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is "
                            + "the client secret value, not the client secret ID, for a secret added to app '" + id + "'.",
                    7000215);
        }
        if (form.get("scope") == null || form.get("scope").isBlank()) {
            return tokenError(400, "invalid_request",
                    "AADSTS900144: The request body must contain the following parameter: 'scope'.", 900144);
        }
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        String accessToken = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        tokens.put(accessToken, new Token(id, System.nanoTime() + tokenLifetime.toNanos()));
        long seconds = Math.max(1, tokenLifetime.toSeconds());
        ObjectNode body = JSON.createObjectNode()
                .put("token_type", "Bearer")
                .put("expires_in", seconds)
                .put("ext_expires_in", seconds)
                .put("access_token", accessToken);
        return tokenJson(200, body).header("Cache-Control", "no-store, no-cache").header("Pragma", "no-cache");
    }

    private Response tokenError(int status, String error, String description, int errorCode) {
        ObjectNode body = JSON.createObjectNode().put("error", error).put("error_description", description);
        body.putArray("error_codes").add(errorCode);
        body.put("timestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        return tokenJson(status, body);
    }

    private Response tokenJson(int status, ObjectNode body) {
        return new Response(status, body.toString().getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "application/json; charset=utf-8");
    }

    // ---------------------------------------------------------------- errors

    private Response error(int status, String code, String message) {
        ObjectNode body = JSON.createObjectNode();
        body.putObject("error").put("code", code).put("message", message);
        return json(status, body);
    }

    @Override
    protected Response faultResponse(Request request, FaultInjector.Fault fault) {
        return switch (fault.status()) {
            case 401 -> unauthorized();
            case 429 -> error(429, CODE_REQUEST_LIMIT, "Number of requests exceeded the limit of 6000 over time "
                    + "window of 300 seconds. (injected fault)");
            case 412 -> error(412, CODE_VERSION_MISMATCH,
                    "The version of the existing record doesn't match the RowVersion property provided. (injected fault)");
            case 404 -> error(404, CODE_NOT_FOUND_ROW, "Does Not Exist (injected fault)");
            case 400 -> error(400, CODE_INVALID_ARGUMENT, "Invalid argument. (injected fault)");
            default -> error(fault.status(), CODE_UNEXPECTED, "An unexpected error occurred. (injected fault: HTTP "
                    + fault.status() + ")");
        };
    }

    @Override
    protected Response internalError(Request request, Exception failure) {
        return error(500, CODE_UNEXPECTED, "An unexpected error occurred: " + failure);
    }

    // ---------------------------------------------------------------- routing of one operation

    /**
     * Serves one operation on a resource path relative to the service root (decoded), for direct requests
     * and for the operations inside a $batch alike.
     */
    private Response dispatch(String method, String relative, Map<String, String> query, Request request)
            throws ApiError {
        if (relative.equals("WhoAmI") && method.equals("GET")) {
            return whoAmI();
        }
        Matcher resource = RESOURCE.matcher(relative);
        if (relative.isEmpty() || !resource.matches()) {
            throw new ApiError(404, CODE_BAD_SEGMENT, "Resource not found for the segment '" + relative + "'.");
        }
        String entitySet = resource.group(1);
        Table table = tables.get(entitySet);
        if (table == null) {
            throw new ApiError(404, CODE_BAD_SEGMENT, "Resource not found for the segment '" + entitySet + "'.");
        }
        if (resource.group(3) != null) {
            throw new ApiError(400, CODE_BAD_SEGMENT, "The segment '" + resource.group(3).substring(1)
                    + "' is not supported by the Dataverse emulator.");
        }
        String key = resource.group(2);
        if (key == null) {
            return switch (method) {
                case "GET" -> queryRows(table, query, request);
                case "POST" -> create(table, request, query);
                default -> throw new ApiError(405, CODE_BAD_SEGMENT,
                        "The requested resource does not support http method '" + method + "'.");
            };
        }
        String id = parseKey(key);
        return switch (method) {
            case "GET" -> getRow(table, id, query);
            case "PATCH" -> patch(table, id, request, query);
            case "DELETE" -> deleteRequest(table, id, request);
            default -> throw new ApiError(405, CODE_BAD_SEGMENT,
                    "The requested resource does not support http method '" + method + "'.");
        };
    }

    private Response whoAmI() {
        ObjectNode body = JSON.createObjectNode()
                .put("@odata.context", baseUrl() + API_ROOT + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
                .put("BusinessUnitId", "5c5e3a1f-1b2e-ee11-9966-000d3a5b8c11")
                .put("UserId", "0e3d2b1a-7c9f-ee11-9966-000d3a5b8c22")
                .put("OrganizationId", "7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d");
        return json(200, body);
    }

    private static String parseKey(String key) throws ApiError {
        String trimmed = key.trim();
        if (!GUID.matcher(trimmed).matches()) {
            throw new ApiError(400, CODE_BAD_SEGMENT, "Bad Request - Error in query syntax. Key '" + key
                    + "' is not a valid GUID.");
        }
        return trimmed.toLowerCase(Locale.ROOT);
    }

    private static String normaliseId(String id) {
        return id.trim().toLowerCase(Locale.ROOT);
    }

    // ---------------------------------------------------------------- reads

    private Response getRow(Table table, String id, Map<String, String> query) throws ApiError {
        rejectUnsupportedOptions(query, Set.of("$select"));
        List<String> select = parseSelect(query);
        ObjectNode row = table.rows().get(id);
        if (row == null) {
            throw notFound(table, id);
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("@odata.context", context(table, select) + "/$entity");
        body.setAll(project(table, row, select));
        return json(200, body).header("ETag", etag(row));
    }

    /**
     * A page of the matching rows in primary key order (Dataverse's order when the query has no $orderby), so that
     * paging is deterministic. With {@code Prefer: odata.maxpagesize} the page size is the client's and $top is
     * ignored ("If you include both, $top is ignored": the "Page results" doc cited on {@link ServerDrivenPaging});
     * with $top alone the answer holds at most $top rows and no next link; otherwise a page holds up to 5,000 rows.
     */
    private Response queryRows(Table table, Map<String, String> query, Request request) throws ApiError {
        if (query.containsKey("$skip")) {
            // Dataverse pages with $skiptoken only: "Dataverse doesn't support the $skip query option"
            throw new ApiError(400, CODE_QUERY_NOT_SUPPORTED, "The query parameter $skip is not supported");
        }
        rejectUnsupportedOptions(query, Set.of("$select", "$filter", "$top", ServerDrivenPaging.SKIP_TOKEN));
        List<String> select = parseSelect(query);
        OptionalInt preferredPageSize = ServerDrivenPaging.requestedPageSize(request.header("prefer"));
        int pageSize = preferredPageSize.orElse(ServerDrivenPaging.MAX_PAGE_SIZE);
        boolean clientLimited = preferredPageSize.isEmpty() && query.containsKey("$top");
        if (clientLimited) {
            pageSize = Math.min(parseTop(query.get("$top")), ServerDrivenPaging.MAX_PAGE_SIZE);
        }
        String filter = query.get("$filter");
        List<ObjectNode> matches = filter == null ? sortedRows(table) : inFilter(table, filter);
        String after = query.containsKey(ServerDrivenPaging.SKIP_TOKEN)
                ? lastKeyOf(query.get(ServerDrivenPaging.SKIP_TOKEN)) : null;

        ObjectNode body = JSON.createObjectNode();
        body.put("@odata.context", context(table, select));
        ArrayNode value = body.putArray("value");
        String lastServed = null;
        boolean more = false;
        for (ObjectNode row : matches) {
            String key = row.path(table.primaryIdColumn()).asText();
            if (after != null && key.compareTo(after) <= 0) {
                continue;
            }
            if (value.size() == pageSize) {
                more = true;
                break;
            }
            value.add(project(table, row, select));
            lastServed = key;
        }
        if (more && !clientLimited) {
            body.put("@odata.nextLink", ServerDrivenPaging.nextLink(baseUrl() + API_ROOT + table.entitySet(),
                    request.rawQuery(), ServerDrivenPaging.skipToken(lastServed)));
        }
        Response response = json(200, body);
        preferredPageSize.ifPresent(size -> response.header("Preference-Applied", "odata.maxpagesize=" + size));
        return response;
    }

    private static int parseTop(String text) throws ApiError {
        int top;
        try {
            top = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            top = -1;
        }
        if (top < 0) {
            throw new ApiError(400, CODE_BAD_SEGMENT, "Invalid value '" + text + "' for $top query option.");
        }
        return top;
    }

    private static String lastKeyOf(String skipToken) throws ApiError {
        try {
            return ServerDrivenPaging.lastKey(skipToken);
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, CODE_QUERY_NOT_SUPPORTED, "The $skiptoken value '" + skipToken
                    + "' is not valid: use the @odata.nextLink URL exactly as returned.");
        }
    }

    /** Only {@code Microsoft.Dynamics.CRM.In(PropertyName='col',PropertyValues=['a','b'])} is supported. */
    private List<ObjectNode> inFilter(Table table, String filter) throws ApiError {
        Matcher in = IN_FILTER.matcher(filter);
        if (!in.matches()) {
            throw new ApiError(400, CODE_BAD_SEGMENT, "The $filter '" + filter + "' is not supported by the "
                    + "Dataverse emulator; only Microsoft.Dynamics.CRM.In(PropertyName='...',PropertyValues=[...]) is.");
        }
        String property = in.group(1);
        Set<String> wanted = new LinkedHashSet<>();
        String list = in.group(2).trim();
        if (!list.isEmpty()) {
            for (String item : splitValues(list)) {
                Matcher quoted = QUOTED.matcher(item);
                if (!quoted.matches()) {
                    throw new ApiError(400, CODE_BAD_SEGMENT, "PropertyValues items must be quoted strings: " + item);
                }
                wanted.add(quoted.group(1).replace("''", "'").toLowerCase(Locale.ROOT));
            }
        }
        if (property.equals(table.primaryIdColumn())) {
            List<ObjectNode> rows = new ArrayList<>();
            for (String id : new LinkedHashSet<>(wanted)) {
                ObjectNode row = table.rows().get(id);
                if (row != null) {
                    rows.add(row);
                }
            }
            rows.sort(Comparator.comparing(row -> row.path(table.primaryIdColumn()).asText()));
            return rows;
        }
        return sortedRows(table).stream()
                .filter(row -> row.hasNonNull(property) && wanted.contains(row.get(property).asText().toLowerCase(Locale.ROOT)))
                .toList();
    }

    /** Splits on commas outside single-quoted literals. */
    private static List<String> splitValues(String list) {
        List<String> items = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (char c : list.toCharArray()) {
            if (c == '\'') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                items.add(current.toString());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        items.add(current.toString());
        return items;
    }

    private static void rejectUnsupportedOptions(Map<String, String> query, Set<String> supported) throws ApiError {
        for (String name : query.keySet()) {
            if (name.startsWith("$") && !supported.contains(name)) {
                throw new ApiError(400, CODE_BAD_SEGMENT, "The query parameter '" + name
                        + "' is not supported by the Dataverse emulator here.");
            }
        }
    }

    private static List<String> parseSelect(Map<String, String> query) {
        String select = query.get("$select");
        if (select == null || select.isBlank()) {
            return null;
        }
        List<String> columns = new ArrayList<>();
        for (String column : select.split(",")) {
            if (!column.isBlank()) {
                columns.add(column.trim());
            }
        }
        return columns;
    }

    private String context(Table table, List<String> select) {
        return baseUrl() + API_ROOT + "$metadata#" + table.entitySet()
                + (select == null ? "" : "(" + String.join(",", select) + ")");
    }

    /** A row as the API returns it: etag, the selected columns (absent = null) and always the primary id. */
    private static ObjectNode project(Table table, ObjectNode row, List<String> select) {
        ObjectNode out = JSON.createObjectNode();
        out.put("@odata.etag", etag(row));
        if (select == null) {
            out.setAll(row.deepCopy());
            return out;
        }
        for (String column : select) {
            JsonNode value = row.get(column);
            out.set(column, value == null ? NullNode.getInstance() : value.deepCopy());
        }
        out.set(table.primaryIdColumn(), row.get(table.primaryIdColumn()).deepCopy());
        return out;
    }

    private static ObjectNode withEtag(ObjectNode row) {
        ObjectNode copy = row.deepCopy();
        copy.put("@odata.etag", etag(row));
        return copy;
    }

    private static String etag(ObjectNode row) {
        return "W/\"" + row.path("versionnumber").asLong() + "\"";
    }

    private static List<ObjectNode> sortedRows(Table table) {
        List<ObjectNode> rows = new ArrayList<>(table.rows().values());
        rows.sort(Comparator.comparing(row -> row.path(table.primaryIdColumn()).asText()));
        return rows;
    }

    private ApiError notFound(Table table, String id) {
        return new ApiError(404, CODE_NOT_FOUND_ROW, table.logicalName() + " With Id = " + id + " Does Not Exist");
    }

    // ---------------------------------------------------------------- writes

    private Response patch(Table table, String id, Request request, Map<String, String> query) throws ApiError {
        ObjectNode columns = parseBody(table, request);
        String ifMatch = request.header("if-match");
        String ifNoneMatch = request.header("if-none-match");
        WriteMode mode = WriteMode.UPSERT;
        String expectedEtag = null;
        if (ifNoneMatch != null && ifNoneMatch.trim().equals("*")) {
            mode = WriteMode.CREATE_ONLY;
        } else if (ifMatch != null) {
            mode = WriteMode.UPDATE_ONLY;
            expectedEtag = ifMatch.trim().equals("*") ? null : ifMatch.trim();
        }
        WriteResult result = write(table, id, columns, mode, expectedEtag);
        return writeAnswer(table, id, result, request, query, 200);
    }

    private Response create(Table table, Request request, Map<String, String> query) throws ApiError {
        ObjectNode columns = parseBody(table, request);
        JsonNode givenId = columns.get(table.primaryIdColumn());
        String id;
        if (givenId == null || givenId.isNull()) {
            id = UUID.randomUUID().toString();
        } else if (GUID.matcher(givenId.asText().trim()).matches()) {
            id = normaliseId(givenId.asText());
        } else {
            throw new ApiError(400, CODE_BAD_PAYLOAD, "Cannot convert the literal '" + givenId.asText()
                    + "' to the expected type 'Edm.Guid'.");
        }
        WriteResult result = write(table, id, columns, WriteMode.CREATE_ONLY, null);
        return writeAnswer(table, id, result, request, query, 201);
    }

    private Response writeAnswer(Table table, String id, WriteResult result, Request request,
                                 Map<String, String> query, int representationStatus) throws ApiError {
        switch (result.outcome()) {
            case NOT_FOUND -> throw notFound(table, id);
            case VERSION_MISMATCH -> throw new ApiError(412, CODE_VERSION_MISMATCH,
                    "The version of the existing record doesn't match the RowVersion property provided.");
            case DUPLICATE -> throw new ApiError(412, CODE_DUPLICATE, "A record with matching key values already exists.");
            default -> {
            }
        }
        String entityUrl = baseUrl() + API_ROOT + table.entitySet() + "(" + id + ")";
        String prefer = request.header("prefer");
        if (prefer != null && prefer.toLowerCase(Locale.ROOT).contains("return=representation")) {
            rejectUnsupportedOptions(query, Set.of("$select"));
            List<String> select = parseSelect(query);
            ObjectNode body = JSON.createObjectNode();
            body.put("@odata.context", context(table, select) + "/$entity");
            body.setAll(project(table, result.row(), select));
            return json(representationStatus, body).header("OData-EntityId", entityUrl)
                    .header("ETag", etag(result.row())).header("Preference-Applied", "return=representation");
        }
        return empty(204).header("OData-EntityId", entityUrl);
    }

    private Response deleteRequest(Table table, String id, Request request) throws ApiError {
        String ifMatch = request.header("if-match");
        String expected = ifMatch == null || ifMatch.trim().equals("*") ? null : ifMatch.trim();
        WriteResult result = delete(table, id, expected);
        return switch (result.outcome()) {
            case NOT_FOUND -> throw notFound(table, id);
            case VERSION_MISMATCH -> throw new ApiError(412, CODE_VERSION_MISMATCH,
                    "The version of the existing record doesn't match the RowVersion property provided.");
            default -> empty(204);
        };
    }

    private static ObjectNode parseBody(Table table, Request request) throws ApiError {
        JsonNode body;
        try {
            body = request.body().length == 0 ? null : JSON.readTree(request.body());
        } catch (JsonProcessingException e) {
            body = null;
        } catch (java.io.IOException e) {
            body = null;
        }
        if (!(body instanceof ObjectNode object)) {
            throw new ApiError(400, CODE_BAD_PAYLOAD, "Error identified in Payload provided by the user for Entity :'"
                    + table.logicalName() + "', the request body must be a JSON object.");
        }
        return object;
    }

    /** Atomic per row: checks and the merge happen inside {@code compute}, so concurrent writers never interleave. */
    private WriteResult write(Table table, String id, ObjectNode columns, WriteMode mode, String expectedEtag) {
        Outcome[] outcome = new Outcome[1];
        ObjectNode written;
        storeLock.readLock().lock();
        try {
            written = table.rows().compute(id, (key, existing) -> {
                if (existing == null && mode == WriteMode.UPDATE_ONLY) {
                    outcome[0] = Outcome.NOT_FOUND;
                    return null;
                }
                if (existing != null && mode == WriteMode.CREATE_ONLY) {
                    outcome[0] = Outcome.DUPLICATE;
                    return existing;
                }
                if (existing != null && expectedEtag != null && !sameEtag(expectedEtag, etag(existing))) {
                    outcome[0] = Outcome.VERSION_MISMATCH;
                    return existing;
                }
                ObjectNode next = existing == null ? JSON.createObjectNode() : existing.deepCopy();
                columns.fields().forEachRemaining(field -> {
                    if (!field.getKey().startsWith("@odata.")) {
                        next.set(field.getKey(), field.getValue().deepCopy());
                    }
                });
                String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
                next.put(table.primaryIdColumn(), id);
                next.put("versionnumber", versionNumbers.incrementAndGet());
                next.put("modifiedon", now);
                if (existing == null) {
                    next.put("createdon", now);
                }
                journal(table, id, existing);
                outcome[0] = existing == null ? Outcome.CREATED : Outcome.UPDATED;
                return next;
            });
        } finally {
            storeLock.readLock().unlock();
        }
        return new WriteResult(outcome[0], written);
    }

    private WriteResult delete(Table table, String id, String expectedEtag) {
        Outcome[] outcome = new Outcome[1];
        storeLock.readLock().lock();
        try {
            table.rows().compute(id, (key, existing) -> {
                if (existing == null) {
                    outcome[0] = Outcome.NOT_FOUND;
                    return null;
                }
                if (expectedEtag != null && !sameEtag(expectedEtag, etag(existing))) {
                    outcome[0] = Outcome.VERSION_MISMATCH;
                    return existing;
                }
                journal(table, id, existing);
                outcome[0] = Outcome.DELETED;
                return null;
            });
        } finally {
            storeLock.readLock().unlock();
        }
        return new WriteResult(outcome[0], null);
    }

    private void journal(Table table, String id, ObjectNode previous) {
        Map<RowKey, Optional<ObjectNode>> journal = changeSetJournal.get();
        if (journal != null) {
            journal.putIfAbsent(new RowKey(table, id), Optional.ofNullable(previous));
        }
    }

    /** ETags are opaque; tolerate a missing weak prefix from clients. */
    private static boolean sameEtag(String given, String current) {
        return stripWeak(given).equals(stripWeak(current));
    }

    private static String stripWeak(String etag) {
        String value = etag.trim();
        if (value.startsWith("W/")) {
            value = value.substring(2);
        }
        return value.replace("\"", "");
    }

    // ---------------------------------------------------------------- $batch

    private Response batch(Request request) throws ApiError {
        List<ODataBatch.Item> items;
        try {
            items = ODataBatch.parseRequest(request.header("content-type"), request.body());
        } catch (ODataBatch.FormatException e) {
            throw new ApiError(400, CODE_BATCH_FORMAT, e.getMessage());
        }
        if (ODataBatch.operationCount(items) > ODataBatch.MAX_OPERATIONS) {
            throw new ApiError(400, CODE_BATCH_FORMAT, "The number of requests in a batch exceeded the limit of "
                    + ODataBatch.MAX_OPERATIONS + ".");
        }
        for (ODataBatch.Item item : items) {
            for (ODataBatch.Operation op : item.operations()) {
                if (item.changeSet() && op.method().equals("GET")) {
                    throw new ApiError(400, CODE_BATCH_FORMAT, "GET requests are not allowed inside a change set.");
                }
            }
        }
        String prefer = request.header("prefer");
        boolean continueOnError = prefer != null && prefer.toLowerCase(Locale.ROOT).contains("odata.continue-on-error");
        List<ODataBatch.ItemResult> results = new ArrayList<>();
        for (ODataBatch.Item item : items) {
            ODataBatch.ItemResult result = item.changeSet()
                    ? executeChangeSet(item.operations())
                    : ODataBatch.ItemResult.single(execute(item.operations().get(0), Map.of()));
            results.add(result);
            boolean failed = !result.changeSet() && result.results().get(0).status() >= 400;
            // Dataverse stops at the first failure unless the client prefers to continue
            if (failed && !continueOnError) {
                break;
            }
        }
        String boundary = ODataBatch.newResponseBoundary();
        Response response = new Response(200, ODataBatch.writeResponse(boundary, results))
                .header("Content-Type", "multipart/mixed; boundary=" + boundary);
        if (continueOnError) {
            response.header("Preference-Applied", "odata.continue-on-error");
        }
        return response;
    }

    /**
     * All or nothing: runs exclusively, and on the first failure restores every row it touched and answers
     * with that failure alone (no change set response), as Dataverse does.
     */
    private ODataBatch.ItemResult executeChangeSet(List<ODataBatch.Operation> operations) {
        storeLock.writeLock().lock();
        Map<RowKey, Optional<ObjectNode>> journal = new LinkedHashMap<>();
        changeSetJournal.set(journal);
        try {
            Map<String, String> entityUrls = new HashMap<>();
            List<ODataBatch.OperationResult> results = new ArrayList<>();
            for (ODataBatch.Operation op : operations) {
                ODataBatch.OperationResult result = execute(op, entityUrls);
                if (result.status() >= 400) {
                    journal.forEach((key, previous) -> {
                        if (previous.isPresent()) {
                            key.table().rows().put(key.id(), previous.get());
                        } else {
                            key.table().rows().remove(key.id());
                        }
                    });
                    return ODataBatch.ItemResult.single(result);
                }
                String entityUrl = result.header("OData-EntityId");
                if (op.contentId() != null && entityUrl != null) {
                    entityUrls.put(op.contentId(), entityUrl);
                }
                results.add(result);
            }
            return new ODataBatch.ItemResult(results, true);
        } finally {
            changeSetJournal.remove();
            storeLock.writeLock().unlock();
        }
    }

    /** Runs one operation of a batch; {@code $n} at the start of its URL refers to an earlier Content-ID. */
    private ODataBatch.OperationResult execute(ODataBatch.Operation op, Map<String, String> entityUrls) {
        Response response;
        try {
            String url = resolveContentIdReference(op.url(), entityUrls);
            int apiRoot = url.indexOf(API_ROOT);
            String relativeWithQuery = apiRoot >= 0 ? url.substring(apiRoot + API_ROOT.length())
                    : url.startsWith("/") ? url.substring(1) : url;
            int questionMark = relativeWithQuery.indexOf('?');
            String relative = decode(questionMark < 0 ? relativeWithQuery : relativeWithQuery.substring(0, questionMark), false);
            String rawQuery = questionMark < 0 ? null : relativeWithQuery.substring(questionMark + 1);
            if (relative.equals("$batch")) {
                throw new ApiError(400, CODE_BATCH_FORMAT, "A batch cannot contain another batch.");
            }
            Request inner = new Request(op.method(), API_ROOT + relative, rawQuery, op.headers(),
                    op.body().getBytes(StandardCharsets.UTF_8));
            response = dispatch(op.method(), relative, inner.queryParameters(), inner);
        } catch (ApiError e) {
            response = error(e.status, e.code, e.getMessage());
        } catch (RuntimeException e) {
            response = internalError(null, e);
        }
        Map<String, String> headers = new LinkedHashMap<>(response.headers());
        headers.put("OData-Version", "4.0");
        return new ODataBatch.OperationResult(response.status(), headers,
                new String(response.body(), StandardCharsets.UTF_8), op.contentId());
    }

    private static String resolveContentIdReference(String url, Map<String, String> entityUrls) throws ApiError {
        if (!url.startsWith("$")) {
            return url;
        }
        int end = 1;
        while (end < url.length() && Character.isLetterOrDigit(url.charAt(end))) {
            end++;
        }
        String target = entityUrls.get(url.substring(1, end));
        if (target == null) {
            throw new ApiError(400, CODE_BATCH_FORMAT, "Content-ID reference '" + url.substring(0, end)
                    + "' does not match an earlier request in the change set.");
        }
        return target + url.substring(end);
    }
}
