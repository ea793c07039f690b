package io.dataversesync.emulator;

import io.dataversesync.dataverse.odata.ODataBatch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Dataverse Web API v9.2 stand-in, with an Entra ID client-credentials token endpoint. Follows Microsoft's
 * documented status codes, headers and OData shapes for the subset it supports: single-row GET/PATCH/POST/DELETE
 * by primary key or declared alternate key, collection GET with $select, $top, $count, the
 * {@code Microsoft.Dynamics.CRM.In} filter and server-driven paging ({@code Prefer: odata.maxpagesize},
 * {@code @odata.nextLink}; see {@link ServerDrivenPaging}), and {@code $batch}. Tables may declare their columns,
 * and then unknown columns are refused as Dataverse refuses them.
 * <p>
 * The three service protection limits are enforced per caller (application user) over a sliding window
 * (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits): the number of requests, the combined
 * execution time (charged by a {@link CostModel}) and the concurrent requests; every API answer carries the
 * documented monitoring headers.
 */
public final class DataverseEmulator extends EmulatorServer {

    public static final String API_ROOT = "/api/data/v9.2/";
    public static final String TOKEN_PATH = "/oauth2/v2.0/token";
    public static final String JSON_CONTENT_TYPE = "application/json; odata.metadata=minimal";

    /** Keys of {@link #throttledByLimit()}. */
    public static final String LIMIT_REQUESTS = "requests";
    public static final String LIMIT_EXECUTION_TIME = "executionTime";
    public static final String LIMIT_CONCURRENCY = "concurrency";

    /**
     * The monitoring headers of "Service protection API limits" > "HTTP Response headers"
     * (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#http-response-headers).
     */
    public static final String HEADER_BURST_REMAINING = "x-ms-ratelimit-burst-remaining-xrm-requests";
    public static final String HEADER_TIME_REMAINING = "x-ms-ratelimit-time-remaining-xrm-requests";

    /** The columns the emulator itself stamps on every write; declared on every table that declares columns. */
    public static final List<String> SYSTEM_COLUMNS = List.of("versionnumber", "modifiedon", "createdon");

    static final String CODE_NOT_FOUND_ROW = "0x80040217";
    static final String CODE_BAD_SEGMENT = "0x8006088a";
    static final String CODE_VERSION_MISMATCH = "0x80060882";
    static final String CODE_DUPLICATE = "0x80040237";
    static final String CODE_BAD_PAYLOAD = "0x80048d19";
    static final String CODE_BATCH_FORMAT = "0x80060888";
    static final String CODE_REQUEST_LIMIT = "0x80072322";
    static final String CODE_EXECUTION_TIME_LIMIT = "0x80072321";
    static final String CODE_CONCURRENCY_LIMIT = "0x80072326";
    static final String CODE_UNEXPECTED = "0x80040216";
    static final String CODE_INVALID_ARGUMENT = "0x80040203";
    static final String CODE_QUERY_NOT_SUPPORTED = "0x80060888";
    /** What Dataverse answers for an unknown property (troubleshooting doc cited on {@link #requireColumn}). */
    static final String CODE_UNKNOWN_PROPERTY = "0x0";
    static final String CODE_BAD_KEY = "0x80060888";

    /** "$count ... up to 5,000" (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/count-rows). */
    static final int MAX_COUNT = 5000;

    private static final Pattern GUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern RESOURCE = Pattern.compile("([^()/]+)(?:\\(([^)]*)\\))?(/.*)?");
    private static final Pattern IN_FILTER = Pattern.compile(
            "\\s*Microsoft\\.Dynamics\\.CRM\\.In\\s*\\(\\s*PropertyName\\s*=\\s*'([^']+)'\\s*,"
                    + "\\s*PropertyValues\\s*=\\s*\\[(.*)]\\s*\\)\\s*");
    private static final Pattern QUOTED = Pattern.compile("\\s*'((?:[^']|'')*)'\\s*");
    private static final String DEFAULT_SCOPE_SUFFIX = "/.default";
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Mutable settings with fluent setters; read once by the constructor. */
    public static final class Settings {
        private int port = 0;
        private int threads = 64;
        private String clientId = "local-sync-app";
        private String clientSecret = "local-secret";
        private final Map<String, String> additionalClients = new LinkedHashMap<>();
        private Duration tokenLifetime = Duration.ofHours(1);
        private int requestBudget = 0;
        private Duration budgetWindow = Duration.ofSeconds(300);
        private int maxConcurrentRequests = 0;
        private CostModel costModel = CostModel.DEFAULT;
        private Duration executionTimeBudget = Duration.ofMillis(1_200_000);
        private boolean costAsLatency = false;
        private Duration changeTrackingTokenLifetime = Duration.ofDays(7);

        public int port() { return port; }
        public Settings port(int value) { port = value; return this; }
        public int threads() { return threads; }
        public Settings threads(int value) { threads = value; return this; }
        public String clientId() { return clientId; }
        public Settings clientId(String value) { clientId = value; return this; }
        public String clientSecret() { return clientSecret; }
        public Settings clientSecret(String value) { clientSecret = value; return this; }
        /**
         * One more application user the token endpoint accepts besides {@link #clientId()} (e.g. a service that
         * spreads its requests over several users; every user has its own service protection limits).
         */
        public Settings additionalClient(String id, String secret) {
            if (id == null || id.isBlank() || secret == null) {
                throw new IllegalArgumentException("a client needs an id and a secret");
            }
            additionalClients.put(id, secret);
            return this;
        }
        /** The users added with {@link #additionalClient}, id to secret. */
        public Map<String, String> additionalClients() { return Collections.unmodifiableMap(additionalClients); }
        public Duration tokenLifetime() { return tokenLifetime; }
        public Settings tokenLifetime(Duration value) { tokenLifetime = value; return this; }
        /** Requests per caller per {@link #budgetWindow()}; 0 = unlimited (Dataverse: 6000 per 300 s). */
        public int requestBudget() { return requestBudget; }
        public Settings requestBudget(int value) { requestBudget = value; return this; }
        /** The sliding window of both the request budget and the execution-time budget. */
        public Duration budgetWindow() { return budgetWindow; }
        public Settings budgetWindow(Duration value) { budgetWindow = value; return this; }
        /** Concurrent requests per caller; 0 = unlimited (Dataverse: 52). */
        public int maxConcurrentRequests() { return maxConcurrentRequests; }
        public Settings maxConcurrentRequests(int value) { maxConcurrentRequests = value; return this; }
        /** What each request costs in execution time; default {@link CostModel#DEFAULT}. */
        public CostModel costModel() { return costModel; }
        public Settings costModel(CostModel value) {
            costModel = java.util.Objects.requireNonNull(value, "costModel");
            return this;
        }
        /**
         * Combined execution time per caller per {@link #budgetWindow()} (Dataverse: 1,200,000 ms per 300 s, the
         * default); {@link Duration#ZERO} = no limit (costs are still counted).
         */
        public Duration executionTimeBudget() { return executionTimeBudget; }
        public Settings executionTimeBudget(Duration value) {
            if (value == null || value.isNegative()) {
                throw new IllegalArgumentException("executionTimeBudget must be zero or positive");
            }
            executionTimeBudget = value;
            return this;
        }
        /** When true, every answer is also delayed by the execution time it cost. Default false. */
        public boolean costAsLatency() { return costAsLatency; }
        public Settings costAsLatency(boolean value) { costAsLatency = value; return this; }
        /**
         * How long a change tracking token stays valid (Dataverse: the organization's ExpireChangeTrackingInDays,
         * 7 days by default); an older one is refused with ExpiredVersionStamp ({@link ChangeTracking}).
         */
        public Duration changeTrackingTokenLifetime() { return changeTrackingTokenLifetime; }
        public Settings changeTrackingTokenLifetime(Duration value) { changeTrackingTokenLifetime = value; return this; }
    }

    /** A table; columns null = any column (schemaless). */
    private static final class Table {
        private final String entitySet;
        private final String logicalName;
        private final String primaryIdColumn;
        private final ConcurrentHashMap<String, ObjectNode> rows = new ConcurrentHashMap<>();
        private volatile Set<String> columns;
        /** Declared alternate keys, each a set of column names. */
        private final List<Set<String>> alternateKeys = new CopyOnWriteArrayList<>();
        /** Formula columns: computed from the row's other columns, read-only. */
        private final Map<String, java.util.function.Function<ObjectNode, String>> formulas = new ConcurrentHashMap<>();
        /** Deletions by the data version they took, for change tracking's $deletedEntity entries. */
        private final java.util.concurrent.ConcurrentSkipListMap<Long, String> deletions = new java.util.concurrent.ConcurrentSkipListMap<>();

        Table(String entitySet, String logicalName, String primaryIdColumn) {
            this.entitySet = entitySet;
            this.logicalName = logicalName;
            this.primaryIdColumn = primaryIdColumn;
        }

        String entitySet() { return entitySet; }
        String logicalName() { return logicalName; }
        String primaryIdColumn() { return primaryIdColumn; }
        ConcurrentHashMap<String, ObjectNode> rows() { return rows; }

        boolean declares(String column) {
            Set<String> declared = columns;
            return declared == null || declared.contains(column);
        }
    }

    private record Token(String clientId, long expiresAtNanos) {
    }

    private record RowKey(Table table, String id) {
    }

    /**
     * A row as a URL addresses it: by primary key ({@code id} set) or by alternate key ({@code keyValues} set).
     * {@code segment} is the key text inside the parentheses, as given.
     */
    private record RowRef(String id, Map<String, String> keyValues, String segment) {
        boolean byAlternateKey() {
            return keyValues != null;
        }
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

    /** The operations one API request did (a $batch: all of its operations), for the cost model. */
    private static final class Meter {
        int rowsRead;
        int creates;
        int updates;
        int deletes;
    }

    /**
     * One caller's sliding windows: request times (while a request budget is set) and charged execution time
     * (while an execution-time budget is set), in nanoseconds and microseconds. Guarded by its own monitor.
     */
    private static final class UserWindow {
        final Deque<Long> requests = new ArrayDeque<>();
        /** {at nanos, cost micros}, oldest first. */
        final Deque<long[]> charges = new ArrayDeque<>();
        long chargedMicros;

        void expire(long now, long windowNanos) {
            while (!requests.isEmpty() && now - requests.peekFirst() >= windowNanos) {
                requests.pollFirst();
            }
            while (!charges.isEmpty() && now - charges.peekFirst()[0] >= windowNanos) {
                chargedMicros -= charges.pollFirst()[1];
            }
        }
    }

    private final Map<String, String> clients;
    private final Duration tokenLifetime;
    private final int requestBudget;
    private final long budgetWindowNanos;
    private final int maxConcurrentRequests;
    private final CostModel costModel;
    private final long executionBudgetMicros;
    private final boolean costAsLatency;
    private final Duration changeTrackingTokenLifetime;
    /** Tokens of a data version below this are expired whatever their age ({@link #expireChangeTrackingTokens()}). */
    private volatile long changeTrackingFloor;

    private final Map<String, Table> tables = new ConcurrentHashMap<>();
    private final Map<String, Token> tokens = new ConcurrentHashMap<>();
    private final Map<String, UserWindow> windows = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong versionNumbers = new AtomicLong(1_000_000);
    private final AtomicLong apiRequests = new AtomicLong();
    private final AtomicLong throttled = new AtomicLong();
    private final Map<String, AtomicLong> throttledByLimit = new LinkedHashMap<>();
    private final AtomicLong executionMicrosSpent = new AtomicLong();
    /** Single writes share it; a change set takes it exclusively so its rollback cannot clobber other writes. */
    private final ReentrantReadWriteLock storeLock = new ReentrantReadWriteLock();
    /** Pre-images of rows a change set touched on this thread, for rollback; null outside change sets. */
    private final ThreadLocal<Map<RowKey, Optional<ObjectNode>>> changeSetJournal = new ThreadLocal<>();
    /** What the API request served on this thread did; null outside API requests (e.g. Java access). */
    private final ThreadLocal<Meter> requestMeter = new ThreadLocal<>();

    public DataverseEmulator(Settings settings) {
        super("dataverse-emulator", settings.port(), settings.threads());
        Map<String, String> accepted = new LinkedHashMap<>(settings.additionalClients());
        accepted.put(settings.clientId(), settings.clientSecret());
        this.clients = Map.copyOf(accepted);
        this.tokenLifetime = settings.tokenLifetime();
        this.requestBudget = settings.requestBudget();
        this.budgetWindowNanos = settings.budgetWindow().toNanos();
        this.maxConcurrentRequests = settings.maxConcurrentRequests();
        this.costModel = settings.costModel();
        this.executionBudgetMicros = settings.executionTimeBudget().toNanos() / 1000;
        this.costAsLatency = settings.costAsLatency();
        this.changeTrackingTokenLifetime = settings.changeTrackingTokenLifetime();
        throttledByLimit.put(LIMIT_REQUESTS, new AtomicLong());
        throttledByLimit.put(LIMIT_EXECUTION_TIME, new AtomicLong());
        throttledByLimit.put(LIMIT_CONCURRENCY, new AtomicLong());
    }

    public DataverseEmulator() {
        this(new Settings());
    }

    // ================================================================ Java access for tests and the demo

    /**
     * Registers a schemaless table, e.g. ("accounts", "account", "accountid"): any column name is accepted and
     * stored. Re-registering keeps existing rows and any declared columns.
     */
    public DataverseEmulator registerTable(String entitySetName, String logicalName, String primaryIdColumn) {
        tables.putIfAbsent(entitySetName, new Table(entitySetName, logicalName, primaryIdColumn));
        return this;
    }

    /**
     * Registers a table with its columns. The primary id column and the {@link #SYSTEM_COLUMNS} the emulator
     * stamps are always declared. A {@code $select}, an In-filter or a write body (POST, PATCH) naming any other
     * column is answered 400, as Dataverse answers an unknown property (names are case sensitive). Java access
     * ({@link #upsertRow}, {@link #restoreRows}) is not checked: it stands for data already in Dataverse.
     * Re-registering keeps existing rows and replaces the declared columns.
     */
    public DataverseEmulator registerTable(String entitySetName, String logicalName, String primaryIdColumn,
                                           Collection<String> columns) {
        Set<String> declared = new LinkedHashSet<>();
        declared.add(primaryIdColumn);
        for (String column : columns) {
            if (column == null || column.isBlank()) {
                throw new IllegalArgumentException("blank column name for " + entitySetName);
            }
            declared.add(column.trim());
        }
        declared.addAll(SYSTEM_COLUMNS);
        registerTable(entitySetName, logicalName, primaryIdColumn);
        tables.get(entitySetName).columns = Collections.unmodifiableSet(declared);
        return this;
    }

    /**
     * Declares an alternate key of a registered table, one column or several (composite), so that
     * {@code accounts(accountnumber='ACC-00001')} addresses a row for GET, PATCH (upsert) and DELETE. A URL naming
     * key columns that do not form a declared key is answered 400. Uniqueness of key values is not enforced.
     */
    public DataverseEmulator registerAlternateKey(String entitySet, String... columns) {
        Table table = requireTable(entitySet);
        if (columns == null || columns.length == 0) {
            throw new IllegalArgumentException("an alternate key needs at least one column");
        }
        Set<String> key = new LinkedHashSet<>();
        for (String column : columns) {
            if (column == null || column.isBlank()) {
                throw new IllegalArgumentException("blank alternate key column for " + entitySet);
            }
            if (!table.declares(column.trim())) {
                throw new IllegalArgumentException("alternate key column '" + column + "' is not a declared column of "
                        + entitySet);
            }
            key.add(column.trim());
        }
        if (!table.alternateKeys.contains(key)) {
            table.alternateKeys.add(Collections.unmodifiableSet(key));
        }
        return this;
    }

    /**
     * Declares a formula column (Dataverse's Power Fx formula columns): its value is computed from the row's other
     * columns, it can be read and selected like any column, and a write naming it is answered 400 (formula columns
     * are read-only). Dataverse computes them when the row is read; the emulator computes them when the row is
     * written, which reads the same because the formula depends on the row's own columns only.
     * See "Work with formula columns" (https://learn.microsoft.com/power-apps/maker/data-platform/formula-columns).
     */
    public DataverseEmulator registerFormulaColumn(String entitySet, String column, java.util.function.Function<ObjectNode, String> formula) {
        Table table = requireTable(entitySet);
        table.formulas.put(column, formula);
        if (table.columns != null && !table.columns.contains(column)) {
            Set<String> declared = new LinkedHashSet<>(table.columns);
            declared.add(column);
            table.columns = Collections.unmodifiableSet(declared);
        }
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

    /**
     * Expires every change tracking token issued so far, as if they were older than the organization's
     * ExpireChangeTrackingInDays: a delta link then answers ExpiredVersionStamp and the client must read everything.
     */
    public void expireChangeTrackingTokens() {
        changeTrackingFloor = versionNumbers.incrementAndGet();
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

    /**
     * 429 answers given by each service protection limit: keys {@value #LIMIT_REQUESTS},
     * {@value #LIMIT_EXECUTION_TIME} and {@value #LIMIT_CONCURRENCY}, always all three. Injected 429s are not in it
     * (they are in {@link #throttledCount()}).
     */
    public Map<String, Long> throttledByLimit() {
        Map<String, Long> snapshot = new LinkedHashMap<>();
        throttledByLimit.forEach((limit, count) -> snapshot.put(limit, count.get()));
        return snapshot;
    }

    /** Execution time charged by the cost model to every caller since the start or the last reset, in ms. */
    public long executionMillisSpent() {
        return Math.round(executionMicrosSpent.get() / 1000.0);
    }

    /**
     * Zeroes the counters ({@link #requestCount()}, {@link #throttledCount()}, {@link #throttledByLimit()},
     * {@link #executionMillisSpent()}). The limits' sliding windows are not touched.
     */
    public void resetCounters() {
        apiRequests.set(0);
        throttled.set(0);
        throttledByLimit.values().forEach(count -> count.set(0));
        executionMicrosSpent.set(0);
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
        return monitoringHeaders(caller, limitedRequest(caller, request));
    }

    /** The three service protection limits around one request, and its charge to the caller's execution time. */
    private Response limitedRequest(String caller, Request request) throws Exception {
        AtomicInteger callerInFlight = null;
        if (maxConcurrentRequests > 0) {
            callerInFlight = inFlight.computeIfAbsent(caller, c -> new AtomicInteger());
            if (callerInFlight.incrementAndGet() > maxConcurrentRequests) {
                callerInFlight.decrementAndGet();
                throttledByLimit.get(LIMIT_CONCURRENCY).incrementAndGet();
                // refused at once: "exceeding the number of concurrent requests will immediately return an error"
                // (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#concurrent-requests)
                return error(429, CODE_CONCURRENCY_LIMIT, "Number of concurrent requests exceeded the limit of "
                        + maxConcurrentRequests + ".").header("Retry-After", "1");
            }
        }
        try {
            Response refused = admit(caller);
            if (refused != null) {
                return refused;
            }
            Meter meter = new Meter();
            requestMeter.set(meter);
            Response response;
            try {
                Optional<Response> fault = injectFaults(request);
                response = fault.isPresent() ? fault.get() : route(request);
            } finally {
                requestMeter.remove();
            }
            if (response.status() != 429) {
                double costMs = costModel.costOf(meter.rowsRead, meter.creates, meter.updates, meter.deletes);
                charge(caller, costMs);
                if (costAsLatency && costMs > 0) {
                    long nanos = Math.round(costMs * 1_000_000);
                    Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
                }
            }
            return response;
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

    private UserWindow window(String caller) {
        return windows.computeIfAbsent(caller, c -> new UserWindow());
    }

    /**
     * The request-count and execution-time limits over the sliding window; returns the 429 when either is spent
     * and otherwise counts the request. Both limits are evaluated on arrival from what earlier requests used, so
     * the request that crosses a limit completes and the next ones are refused: "you can expect to exceed the
     * number of requests and execution time limits for a 5 minute period before the service protection API limits
     * will take effect" (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#the-retry-after-duration).
     * A refused request neither counts nor costs.
     */
    private Response admit(String caller) {
        if (requestBudget <= 0 && executionBudgetMicros <= 0) {
            return null;
        }
        UserWindow window = window(caller);
        synchronized (window) {
            long now = System.nanoTime();
            window.expire(now, budgetWindowNanos);
            if (requestBudget > 0 && window.requests.size() >= requestBudget) {
                throttledByLimit.get(LIMIT_REQUESTS).incrementAndGet();
                // -2147015902 / 0x80072322, the message of the "Number of requests" table of the doc above
                return error(429, CODE_REQUEST_LIMIT, "Number of requests exceeded the limit of " + requestBudget
                        + " over time window of " + windowSeconds() + " seconds.")
                        .header("Retry-After", retryAfter(window.requests.peekFirst() + budgetWindowNanos - now));
            }
            if (executionBudgetMicros > 0 && window.chargedMicros >= executionBudgetMicros) {
                throttledByLimit.get(LIMIT_EXECUTION_TIME).incrementAndGet();
                // -2147015903 / 0x80072321, the message of the "Execution time" table of the doc above (which shows
                // two spaces before "milliseconds"; Dataverse's message and other copies have one)
                return error(429, CODE_EXECUTION_TIME_LIMIT, "Combined execution time of incoming requests exceeded "
                        + "limit of " + String.format(Locale.US, "%,d", executionBudgetMicros / 1000)
                        + " milliseconds over time window of " + windowSeconds() + " seconds. Decrease number of "
                        + "concurrent requests or reduce the duration of requests and try again later.")
                        .header("Retry-After", retryAfter(executionFreedAt(window) - now));
            }
            if (requestBudget > 0) {
                window.requests.addLast(now);
            }
        }
        return null;
    }

    /** When enough charges have left the window for the caller to be under the execution-time budget again. */
    private long executionFreedAt(UserWindow window) {
        long left = window.chargedMicros;
        for (long[] charge : window.charges) {
            left -= charge[1];
            if (left < executionBudgetMicros) {
                return charge[0] + budgetWindowNanos;
            }
        }
        return System.nanoTime();
    }

    private long windowSeconds() {
        return Duration.ofNanos(budgetWindowNanos).toSeconds();
    }

    /** Whole seconds, rounded up, at least 1 ("Retry-After ... with number of seconds"). */
    private static String retryAfter(long waitNanos) {
        return String.valueOf(Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L));
    }

    /** Adds a request's cost to the caller's window (while a budget is set) and to the total. */
    private void charge(String caller, double costMs) {
        long micros = Math.round(costMs * 1000);
        if (micros <= 0) {
            return;
        }
        executionMicrosSpent.addAndGet(micros);
        if (executionBudgetMicros <= 0) {
            return;
        }
        UserWindow window = window(caller);
        synchronized (window) {
            long now = System.nanoTime();
            window.expire(now, budgetWindowNanos);
            window.charges.addLast(new long[] {now, micros});
            window.chargedMicros += micros;
        }
    }

    /**
     * Dataverse reports what is left of the limits on every Web API answer, "HTTP Response headers" of
     * https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#http-response-headers:
     * {@value #HEADER_BURST_REMAINING} "The remaining number of requests" and {@value #HEADER_TIME_REMAINING}
     * "The remaining combined duration". That page shows no value; Microsoft's captured response in
     * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/use-ps-and-vscode-web-api (section
     * "Use Fiddler") shows {@code x-ms-ratelimit-time-remaining-xrm-requests: 1,200.00} next to
     * {@code x-ms-ratelimit-burst-remaining-xrm-requests: 5999} after the first request: the time is in SECONDS
     * (1,200 s = the 1,200,000 ms limit) with a thousands separator and two decimals, and the count includes the
     * request being answered. The emulator writes exactly that: {@code 5999} and {@code 1,199.46} (seconds, en-US
     * grouping, two decimals, rounded down). A header is left out while its limit is off (budget 0).
     */
    private Response monitoringHeaders(String caller, Response response) {
        if (requestBudget <= 0 && executionBudgetMicros <= 0) {
            return response;
        }
        int requestsLeft;
        long microsLeft;
        UserWindow window = window(caller);
        synchronized (window) {
            window.expire(System.nanoTime(), budgetWindowNanos);
            requestsLeft = Math.max(0, requestBudget - window.requests.size());
            microsLeft = Math.max(0, executionBudgetMicros - window.chargedMicros);
        }
        if (requestBudget > 0) {
            response.header(HEADER_BURST_REMAINING, String.valueOf(requestsLeft));
        }
        if (executionBudgetMicros > 0) {
            response.header(HEADER_TIME_REMAINING, formatSeconds(microsLeft));
        }
        return response;
    }

    /** e.g. 1199460000 micros -> "1,199.46" (seconds, rounded down). */
    static String formatSeconds(long micros) {
        long hundredths = micros / 10_000;
        return String.format(Locale.US, "%,d.%02d", hundredths / 100, hundredths % 100);
    }

    // ---------------------------------------------------------------- token endpoint

    /**
     * Entra ID's client-credentials grant (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
     * the scope must be the resource's identifier with {@code /.default}. The resource is this emulator, so the
     * accepted scopes are {@code <baseUrl>/.default} and {@code <baseUrl>//.default} (the resource written with a
     * trailing slash), with host 127.0.0.1 or localhost; the service sends {@code {{dataverse.url}}/.default}.
     * Other scopes get Entra ID's answers (codes of https://learn.microsoft.com/entra/identity-platform/reference-error-codes):
     * no {@code /.default} suffix: 400 {@code invalid_scope} AADSTS1002012; several scopes: 400 {@code invalid_scope}
     * AADSTS70011; another resource's {@code /.default}: 400 {@code invalid_resource} AADSTS500011 (the resource
     * principal is not found in the tenant).
     */
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
        if (id == null || secret == null || !secret.equals(clients.get(id))) {
            return tokenError(401, "invalid_client",
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is "
                            + "the client secret value, not the client secret ID, for a secret added to app '" + id + "'.",
                    7000215);
        }
        String scope = form.get("scope");
        if (scope == null || scope.isBlank()) {
            return tokenError(400, "invalid_request",
                    "AADSTS900144: The request body must contain the following parameter: 'scope'.", 900144);
        }
        Response badScope = checkScope(scope.trim(), request.path());
        if (badScope != null) {
            return badScope;
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

    private Response checkScope(String scope, String tokenPath) {
        if (scope.split("\\s+").length > 1) {
            return tokenError(400, "invalid_scope", "AADSTS70011: The provided request must include a 'scope' input "
                    + "parameter. The provided value for the input parameter 'scope' is not valid. One or more scopes in '"
                    + scope + "' are not compatible with each other.", 70011);
        }
        if (!scope.endsWith(DEFAULT_SCOPE_SUFFIX)) {
            return tokenError(400, "invalid_scope", "AADSTS1002012: The provided value for scope " + scope + " is not "
                    + "valid. Client credential flows must have a scope value with /.default suffixed to the resource "
                    + "identifier (application ID URI).", 1002012);
        }
        String resource = scope.substring(0, scope.length() - DEFAULT_SCOPE_SUFFIX.length());
        String withoutSlash = resource.endsWith("/") ? resource.substring(0, resource.length() - 1) : resource;
        for (String own : List.of(baseUrl(), "http://localhost:" + port())) {
            if (withoutSlash.equalsIgnoreCase(own)) {
                return null;
            }
        }
        int oauth = tokenPath.indexOf("/oauth2/");
        String tenant = oauth > 1 ? tokenPath.substring(1, oauth) : "the emulator's tenant";
        return tokenError(400, "invalid_resource", "AADSTS500011: The resource principal named " + resource
                + " was not found in the tenant named " + tenant + ". This can happen if the application has not been "
                + "installed by the administrator of the tenant or consented to by any user in the tenant. You might "
                + "have sent your authentication request to the wrong tenant. (The Dataverse emulator is the resource "
                + baseUrl() + ": ask for scope " + baseUrl() + "/.default.)", 500011);
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
        String key = resource.group(2);
        String segment = resource.group(3);
        if (segment != null) {
            if (key == null && segment.equals("/$count") && method.equals("GET")) {
                return countRows(table, query);
            }
            throw new ApiError(400, CODE_BAD_SEGMENT, "The segment '" + segment.substring(1)
                    + "' is not supported by the Dataverse emulator.");
        }
        if (key == null) {
            return switch (method) {
                case "GET" -> queryRows(table, query, request);
                case "POST" -> create(table, request, query);
                default -> throw new ApiError(405, CODE_BAD_SEGMENT,
                        "The requested resource does not support http method '" + method + "'.");
            };
        }
        RowRef ref = parseKey(table, key);
        return switch (method) {
            case "GET" -> getRow(table, ref, query, request);
            case "PATCH" -> patch(table, ref, request, query);
            case "DELETE" -> deleteRequest(table, ref, request);
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

    /**
     * The key inside {@code accounts(...)}: a GUID, the primary key by name ({@code accountid=<guid>}) or the
     * values of a declared alternate key, one column ({@code accountnumber='ACC-00001'}) or several
     * ({@code key1='a',key2=2}) in any order ("Use an alternate key to reference a record",
     * https://learn.microsoft.com/power-apps/developer/data-platform/use-alternate-key-reference-record). Key
     * columns that do not form a declared key get the documented 400.
     */
    private static RowRef parseKey(Table table, String key) throws ApiError {
        String trimmed = key.trim();
        if (GUID.matcher(trimmed).matches()) {
            return new RowRef(trimmed.toLowerCase(Locale.ROOT), null, trimmed);
        }
        if (!trimmed.contains("=")) {
            throw new ApiError(400, CODE_BAD_SEGMENT, "Bad Request - Error in query syntax. Key '" + key
                    + "' is not a valid GUID.");
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String part : splitValues(trimmed)) {
            int eq = part.indexOf('=');
            String name = eq < 0 ? "" : part.substring(0, eq).trim();
            String literal = eq < 0 ? "" : part.substring(eq + 1).trim();
            if (name.isEmpty() || literal.isEmpty() || values.put(name, literal) != null) {
                throw new ApiError(400, CODE_BAD_SEGMENT, "Bad Request - Error in query syntax. Key '" + key
                        + "' is not valid.");
            }
        }
        if (values.size() == 1 && values.containsKey(table.primaryIdColumn())) {
            String id = values.get(table.primaryIdColumn());
            if (!GUID.matcher(id).matches()) {
                throw new ApiError(400, CODE_BAD_SEGMENT, "Bad Request - Error in query syntax. Key '" + key
                        + "' is not a valid GUID.");
            }
            return new RowRef(id.toLowerCase(Locale.ROOT), null, trimmed);
        }
        if (!table.alternateKeys.contains(values.keySet())) {
            // the documented message of "Exceptions when using alternate keys with the Web API" (page above)
            throw new ApiError(400, CODE_BAD_KEY, "The key in the request URI is not valid for resource "
                    + "'Microsoft.Dynamics.CRM." + table.logicalName() + "'. Ensure that the names and number of key "
                    + "properties match the declared or alternate key properties for the resource "
                    + "'Microsoft.Dynamics.CRM." + table.logicalName() + "'.");
        }
        for (Map.Entry<String, String> value : values.entrySet()) {
            String literal = value.getValue();
            if (literal.startsWith("'") && !QUOTED.matcher(literal).matches()) {
                throw new ApiError(400, CODE_BAD_SEGMENT, "Bad Request - Error in query syntax. Key '" + key
                        + "' is not valid.");
            }
        }
        return new RowRef(null, values, trimmed);
    }

    /** The id of the row a key addresses, or null when there is none. */
    private static String resolve(Table table, RowRef ref) {
        if (!ref.byAlternateKey()) {
            return ref.id();
        }
        String found = null;
        for (ObjectNode row : table.rows().values()) {
            if (matchesKey(row, ref.keyValues())) {
                String id = row.path(table.primaryIdColumn()).asText();
                // key values are not kept unique: the lowest id wins, so the answer is deterministic
                if (found == null || id.compareTo(found) < 0) {
                    found = id;
                }
            }
        }
        return found;
    }

    private static boolean matchesKey(ObjectNode row, Map<String, String> keyValues) {
        for (Map.Entry<String, String> key : keyValues.entrySet()) {
            JsonNode value = row.get(key.getKey());
            if (value == null || value.isNull() || !literalMatches(key.getValue(), value)) {
                return false;
            }
        }
        return true;
    }

    /** A quoted literal matches text exactly; an unquoted one a number by value, or text (e.g. a GUID) ignoring case. */
    private static boolean literalMatches(String literal, JsonNode value) {
        Matcher quoted = QUOTED.matcher(literal);
        if (quoted.matches()) {
            return value.isTextual() && value.asText().equals(quoted.group(1).replace("''", "'"));
        }
        if (value.isNumber()) {
            try {
                return value.decimalValue().compareTo(new BigDecimal(literal)) == 0;
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return value.asText().equalsIgnoreCase(literal);
    }

    /** The key's value as a column value: text for a quoted literal, a number or boolean when it reads as one. */
    private static JsonNode literalValue(String literal) {
        Matcher quoted = QUOTED.matcher(literal);
        if (quoted.matches()) {
            return JSON.getNodeFactory().textNode(quoted.group(1).replace("''", "'"));
        }
        if (literal.equals("true") || literal.equals("false")) {
            return JSON.getNodeFactory().booleanNode(Boolean.parseBoolean(literal));
        }
        try {
            return JSON.getNodeFactory().numberNode(new BigDecimal(literal));
        } catch (NumberFormatException e) {
            return JSON.getNodeFactory().textNode(GUID.matcher(literal).matches() ? literal.toLowerCase(Locale.ROOT) : literal);
        }
    }

    private static String normaliseId(String id) {
        return id.trim().toLowerCase(Locale.ROOT);
    }

    private String entityUrl(Table table, RowRef ref, String id) {
        // an alternate key is echoed as addressed, as in the "Create with upsert" answer of
        // https://learn.microsoft.com/power-apps/developer/data-platform/use-upsert-insert-update-record
        return baseUrl() + API_ROOT + table.entitySet() + "(" + (ref != null && ref.byAlternateKey() ? ref.segment() : id) + ")";
    }

    // ---------------------------------------------------------------- reads

    private Response getRow(Table table, RowRef ref, Map<String, String> query, Request request) throws ApiError {
        rejectUnsupportedOptions(query, Set.of("$select"));
        List<String> select = parseSelect(table, query);
        String id = resolve(table, ref);
        ObjectNode row = id == null ? null : table.rows().get(id);
        if (row == null) {
            throw notFound(table, ref);
        }
        String etag = etag(row);
        // Conditional retrieval: If-None-Match with the current ETag answers 304 Not Modified with no body, never
        // when annotations are asked for ("Perform conditional operations using the Web API", Conditional
        // retrievals: https://learn.microsoft.com/power-apps/developer/data-platform/webapi/perform-conditional-operations-using-web-api)
        String ifNoneMatch = request.header("if-none-match");
        if (ifNoneMatch != null && !prefers(request, "odata.include-annotations") && anyEtagMatches(ifNoneMatch, etag)) {
            return empty(304).header("Content-Type", JSON_CONTENT_TYPE).header("ETag", etag);
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("@odata.context", context(table, select) + "/$entity");
        body.setAll(project(table, row, select));
        meter().rowsRead++;
        return json(200, body).header("ETag", etag);
    }

    private static boolean prefers(Request request, String preference) {
        String prefer = request.header("prefer");
        return prefer != null && prefer.toLowerCase(Locale.ROOT).contains(preference);
    }

    /** If-None-Match holds one ETag, a comma-separated list, or * (any current version, RFC 7232 section 3.2). */
    private static boolean anyEtagMatches(String header, String current) {
        for (String candidate : header.split(",")) {
            String value = candidate.trim();
            if (value.equals("*") || (!value.isEmpty() && sameEtag(value, current))) {
                return true;
            }
        }
        return false;
    }

    /** The meter of the API request being served, or a throwaway one (e.g. for Java access). */
    private Meter meter() {
        Meter meter = requestMeter.get();
        return meter != null ? meter : new Meter();
    }

    /**
     * A page of the matching rows in primary key order (Dataverse's order when the query has no $orderby), so that
     * paging is deterministic. With {@code Prefer: odata.maxpagesize} the page size is the client's and $top is
     * ignored ("If you include both, $top is ignored": the "Page results" doc cited on {@link ServerDrivenPaging});
     * with $top alone the answer holds at most $top rows and no next link; otherwise a page holds up to 5,000 rows.
     * {@code $count=true} adds {@code @odata.count}: the matching rows, up to 5,000, "irrespective of the page size
     * requested" (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/count-rows).
     */
    private Response queryRows(Table table, Map<String, String> query, Request request) throws ApiError {
        if (query.containsKey("$skip")) {
            // Dataverse pages with $skiptoken only: "Dataverse doesn't support the $skip query option"
            throw new ApiError(400, CODE_QUERY_NOT_SUPPORTED, "The query parameter $skip is not supported");
        }
        ChangeTracking.Page trackedPage = query.containsKey(ServerDrivenPaging.SKIP_TOKEN)
                ? ChangeTracking.Page.parse(query.get(ServerDrivenPaging.SKIP_TOKEN)) : null;
        if (query.containsKey(ChangeTracking.DELTA_TOKEN)) {
            return deltaRows(table, query, request, trackedPage);
        }
        if (trackedPage != null || prefers(request, "odata.track-changes")) {
            return trackedRows(table, query, request, trackedPage);
        }
        rejectUnsupportedOptions(query, Set.of("$select", "$filter", "$top", "$count", ServerDrivenPaging.SKIP_TOKEN));
        List<String> select = parseSelect(table, query);
        boolean count = parseCount(query);
        OptionalInt preferredPageSize = ServerDrivenPaging.requestedPageSize(request.header("prefer"));
        int pageSize = preferredPageSize.orElse(ServerDrivenPaging.MAX_PAGE_SIZE);
        boolean clientLimited = preferredPageSize.isEmpty() && query.containsKey("$top");
        if (clientLimited) {
            pageSize = Math.min(parseTop(query.get("$top")), ServerDrivenPaging.MAX_PAGE_SIZE);
        }
        List<ObjectNode> matches = matchingRows(table, query);
        String after = query.containsKey(ServerDrivenPaging.SKIP_TOKEN)
                ? lastKeyOf(query.get(ServerDrivenPaging.SKIP_TOKEN)) : null;

        ObjectNode body = JSON.createObjectNode();
        body.put("@odata.context", context(table, select));
        if (count) {
            body.put("@odata.count", Math.min(matches.size(), MAX_COUNT));
        }
        ArrayNode value = body.putArray("value");
        String lastServed = fillPage(table, matches, after, pageSize, select, value);
        if (lastServed != null && !clientLimited) {
            body.put("@odata.nextLink", ServerDrivenPaging.nextLink(baseUrl() + API_ROOT + table.entitySet(),
                    request.rawQuery(), ServerDrivenPaging.skipToken(lastServed)));
        }
        meter().rowsRead += value.size();
        Response response = json(200, body);
        preferredPageSize.ifPresent(size -> response.header("Preference-Applied", "odata.maxpagesize=" + size));
        return response;
    }

    /**
     * One page of server-driven paging: the rows (in key order) after the skip token's key, projected, up to pageSize.
     * Returns the key of the last row served when more rows follow (the next page's skip token), else null.
     */
    private String fillPage(Table table, Iterable<ObjectNode> rows, String after, int pageSize, List<String> select, ArrayNode value) {
        String lastServed = null;
        for (ObjectNode row : rows) {
            String key = row.path(table.primaryIdColumn()).asText();
            if (after != null && key.compareTo(after) <= 0) {
                continue;
            }
            if (value.size() == pageSize) {
                return lastServed;
            }
            value.add(project(table, row, select));
            lastServed = key;
        }
        return null;
    }

    // ---------------------------------------------------------------- change tracking (see ChangeTracking)

    /** The query options change tracking refuses, with the documented message. */
    private static void rejectWithChangeTracking(Map<String, String> query) throws ApiError {
        for (String option : List.of("$filter", "$orderby", "$expand", "$top")) {
            if (query.containsKey(option)) {
                throw new ApiError(400, CODE_QUERY_NOT_SUPPORTED, "The \"" + option
                        + "\" query parameter isn't supported when Change Tracking is enabled.");
            }
        }
        rejectUnsupportedOptions(query, Set.of("$select", ServerDrivenPaging.SKIP_TOKEN, ChangeTracking.DELTA_TOKEN));
    }

    private ChangeTracking.Token currentToken() {
        return new ChangeTracking.Token(versionNumbers.get(), Instant.now().truncatedTo(ChronoUnit.SECONDS));
    }

    /** The initial read of change tracking: every row, paged, and with the last page the delta link. */
    private Response trackedRows(Table table, Map<String, String> query, Request request, ChangeTracking.Page page) throws ApiError {
        rejectWithChangeTracking(query);
        List<String> select = parseSelect(table, query);
        int pageSize = ServerDrivenPaging.requestedPageSize(request.header("prefer")).orElse(ServerDrivenPaging.MAX_PAGE_SIZE);
        ChangeTracking.Token token = page != null ? page.token() : currentToken();
        String after = page != null ? page.after() : null;
        ObjectNode body = JSON.createObjectNode();
        body.put("@odata.context", context(table, select));
        ArrayNode value = body.putArray("value");
        String lastServed = fillPage(table, sortedRows(table), after, pageSize, select, value);
        finishTrackedPage(table, select, query, request, body, token, lastServed != null ? new ChangeTracking.Page(lastServed, token) : null);
        meter().rowsRead += value.size();
        return json(200, body).header("Preference-Applied", "odata.track-changes");
    }

    /** A GET on a delta link: rows created or updated since its token (by data version), then the rows deleted since. */
    private Response deltaRows(Table table, Map<String, String> query, Request request, ChangeTracking.Page page) throws ApiError {
        rejectWithChangeTracking(query);
        List<String> select = parseSelect(table, query);
        ChangeTracking.Token since;
        try {
            since = ChangeTracking.Token.parse(query.get(ChangeTracking.DELTA_TOKEN));
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, ChangeTracking.CODE_EXPIRED_VERSION_STAMP, ChangeTracking.EXPIRED_MESSAGE);
        }
        boolean expired = since.issued().plus(changeTrackingTokenLifetime).isBefore(Instant.now())
                || since.version() < changeTrackingFloor || since.version() > versionNumbers.get();
        if (expired) {
            throw new ApiError(400, ChangeTracking.CODE_EXPIRED_VERSION_STAMP, ChangeTracking.EXPIRED_MESSAGE);
        }
        int pageSize = ServerDrivenPaging.requestedPageSize(request.header("prefer")).orElse(ServerDrivenPaging.MAX_PAGE_SIZE);
        ChangeTracking.Token next = page != null ? page.token() : currentToken();
        // where the previous page ended: "c<version>" in the changed rows, "d<version>" in the deletions
        String after = page != null ? page.after() : "c" + since.version();
        ObjectNode body = JSON.createObjectNode();
        body.put("@odata.context", context(table, select) + "/$delta");
        ArrayNode value = body.putArray("value");
        String lastServed = null;
        boolean more = false;
        if (after.startsWith("c")) {
            long from = Long.parseLong(after.substring(1));
            List<ObjectNode> changed = table.rows().values().stream()
                    .filter(row -> row.path("versionnumber").asLong() > from)
                    .sorted(Comparator.comparingLong(row -> row.path("versionnumber").asLong()))
                    .toList();
            for (ObjectNode row : changed) {
                if (value.size() == pageSize) {
                    more = true;
                    break;
                }
                value.add(project(table, row, select));
                lastServed = "c" + row.path("versionnumber").asLong();
            }
        }
        long deletedFrom = after.startsWith("d") ? Long.parseLong(after.substring(1)) : since.version();
        if (!more) {
            for (Map.Entry<Long, String> deletion : table.deletions.tailMap(deletedFrom, false).entrySet()) {
                if (table.rows().containsKey(deletion.getValue())) {
                    continue; // created again since (a restore): it came above as a row
                }
                if (value.size() == pageSize) {
                    more = true;
                    break;
                }
                value.addObject()
                        .put("@odata.context", baseUrl() + API_ROOT + "$metadata#" + table.entitySet() + "/$deletedEntity")
                        .put("id", deletion.getValue())
                        .put("reason", "deleted");
                lastServed = "d" + deletion.getKey();
            }
        }
        finishTrackedPage(table, select, query, request, body, next, more ? new ChangeTracking.Page(lastServed, next) : null);
        meter().rowsRead += value.size();
        return json(200, body);
    }

    /** A next link to the following page, or (the last page) the delta link with the token the read began with. */
    private void finishTrackedPage(Table table, List<String> select, Map<String, String> query, Request request, ObjectNode body,
            ChangeTracking.Token token, ChangeTracking.Page nextPage) {
        String collectionUrl = baseUrl() + API_ROOT + table.entitySet();
        if (nextPage != null) {
            body.put("@odata.nextLink", ServerDrivenPaging.nextLink(collectionUrl, request.rawQuery(), nextPage.skipToken()));
            return;
        }
        String selectPart = select == null ? "" : "$select=" + String.join(",", select) + "&";
        body.put("@odata.deltaLink", collectionUrl + "?" + selectPart + ChangeTracking.DELTA_TOKEN + "=" + token.encoded());
    }

    /**
     * {@code GET accounts/$count}: "just a number", {@code Content-Type: text/plain}
     * (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/count-rows). The doc gives the
     * 5,000 cap for {@code @odata.count}; {@code /$count} is capped alike. Costs the request overhead only: it
     * returns no rows.
     */
    private Response countRows(Table table, Map<String, String> query) throws ApiError {
        rejectUnsupportedOptions(query, Set.of("$filter"));
        int count = Math.min(matchingRows(table, query).size(), MAX_COUNT);
        return new Response(200, String.valueOf(count).getBytes(StandardCharsets.UTF_8))
                .header("Content-Type", "text/plain");
    }

    private static boolean parseCount(Map<String, String> query) throws ApiError {
        String count = query.get("$count");
        if (count == null) {
            return false;
        }
        if (count.trim().equalsIgnoreCase("true")) {
            return true;
        }
        if (count.trim().equalsIgnoreCase("false")) {
            return false;
        }
        throw new ApiError(400, CODE_BAD_SEGMENT, "Invalid value '" + count + "' for $count query option found. "
                + "Valid values are 'true' and 'false'.");
    }

    private List<ObjectNode> matchingRows(Table table, Map<String, String> query) throws ApiError {
        String filter = query.get("$filter");
        return filter == null ? sortedRows(table) : inFilter(table, filter);
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
        requireColumn(table, property);
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

    private static List<String> parseSelect(Table table, Map<String, String> query) throws ApiError {
        String select = query.get("$select");
        if (select == null || select.isBlank()) {
            return null;
        }
        List<String> columns = new ArrayList<>();
        for (String column : select.split(",")) {
            if (!column.isBlank()) {
                requireColumn(table, column.trim());
                columns.add(column.trim());
            }
        }
        return columns;
    }

    /**
     * A declared column, or the 400 Dataverse answers for an unknown property (names are case sensitive):
     * "Could not find a property named '...' on type 'Microsoft.Dynamics.CRM....'", code 0x0, in "Troubleshoot
     * Dataverse Web API client errors" (https://learn.microsoft.com/troubleshoot/power-platform/power-apps/dataverse/web-api-client-errors).
     */
    private static void requireColumn(Table table, String column) throws ApiError {
        if (!table.declares(column)) {
            throw new ApiError(400, CODE_UNKNOWN_PROPERTY, "Could not find a property named '" + column
                    + "' on type 'Microsoft.Dynamics.CRM." + table.logicalName() + "'.");
        }
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

    private static ApiError notFound(Table table, String id) {
        return new ApiError(404, CODE_NOT_FOUND_ROW, table.logicalName() + " With Id = " + id + " Does Not Exist");
    }

    private static ApiError notFound(Table table, RowRef ref) {
        if (!ref.byAlternateKey()) {
            return notFound(table, ref.id());
        }
        // Dataverse's wording for a missing row addressed by alternate key (not quoted in the docs cited here)
        return new ApiError(404, CODE_NOT_FOUND_ROW, "A record with the specified key values does not exist in "
                + table.logicalName() + " entity");
    }

    // ---------------------------------------------------------------- writes

    /**
     * PATCH is an upsert ("Use Upsert to Create or Update a record", Use Web API:
     * https://learn.microsoft.com/power-apps/developer/data-platform/use-upsert-insert-update-record): without
     * {@code If-Match: *} it creates a missing row; "the response doesn't tell you whether it created a record. The
     * status response is 204 No Content in either case", with {@code OData-EntityId}; with
     * {@code Prefer: return=representation} it is 201 Created for a create and 200 OK for an update. By alternate
     * key: an existing row's key columns are not changed by the body; a created row takes the key values of the URL
     * unless the body sets them.
     */
    private Response patch(Table table, RowRef ref, Request request, Map<String, String> query) throws ApiError {
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
        String id = resolve(table, ref);
        if (ref.byAlternateKey()) {
            if (id == null) {
                if (mode == WriteMode.UPDATE_ONLY) {
                    throw notFound(table, ref);
                }
                id = UUID.randomUUID().toString();
                for (Map.Entry<String, String> key : ref.keyValues().entrySet()) {
                    if (!columns.has(key.getKey())) {
                        columns.set(key.getKey(), literalValue(key.getValue()));
                    }
                }
            } else {
                columns.remove(ref.keyValues().keySet());
            }
        }
        WriteResult result = write(table, id, columns, mode, expectedEtag);
        if (result.outcome() == Outcome.NOT_FOUND) {
            throw notFound(table, ref);
        }
        return writeAnswer(table, ref, id, result, request, query);
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
        return writeAnswer(table, null, id, result, request, query);
    }

    /** 204 with OData-EntityId; with return=representation 201 for a created row, 200 for an updated one. */
    private Response writeAnswer(Table table, RowRef ref, String id, WriteResult result, Request request,
                                 Map<String, String> query) throws ApiError {
        switch (result.outcome()) {
            case NOT_FOUND -> throw notFound(table, id);
            case VERSION_MISMATCH -> throw new ApiError(412, CODE_VERSION_MISMATCH,
                    "The version of the existing record doesn't match the RowVersion property provided.");
            case DUPLICATE -> throw new ApiError(412, CODE_DUPLICATE, "A record with matching key values already exists.");
            case CREATED -> meter().creates++;
            case UPDATED -> meter().updates++;
            default -> {
            }
        }
        String entityUrl = entityUrl(table, ref, id);
        if (prefers(request, "return=representation")) {
            rejectUnsupportedOptions(query, Set.of("$select"));
            List<String> select = parseSelect(table, query);
            ObjectNode body = JSON.createObjectNode();
            body.put("@odata.context", context(table, select) + "/$entity");
            body.setAll(project(table, result.row(), select));
            int status = result.outcome() == Outcome.CREATED ? 201 : 200;
            return json(status, body).header("OData-EntityId", entityUrl)
                    .header("ETag", etag(result.row())).header("Preference-Applied", "return=representation");
        }
        return empty(204).header("OData-EntityId", entityUrl);
    }

    private Response deleteRequest(Table table, RowRef ref, Request request) throws ApiError {
        String ifMatch = request.header("if-match");
        String expected = ifMatch == null || ifMatch.trim().equals("*") ? null : ifMatch.trim();
        String id = resolve(table, ref);
        if (id == null) {
            throw notFound(table, ref);
        }
        WriteResult result = delete(table, id, expected);
        return switch (result.outcome()) {
            case NOT_FOUND -> throw notFound(table, ref);
            case VERSION_MISMATCH -> throw new ApiError(412, CODE_VERSION_MISMATCH,
                    "The version of the existing record doesn't match the RowVersion property provided.");
            default -> {
                meter().deletes++;
                yield empty(204);
            }
        };
    }

    /**
     * The JSON object of a POST or PATCH. On a table with declared columns, a property that is not one gets
     * Dataverse's 400 for an invalid property in a payload ("Invalid property '...' was found in entity
     * 'Microsoft.Dynamics.CRM....'", code 0x0, in the troubleshooting doc cited on {@link #requireColumn}).
     * Annotations ({@code @odata.type}) are skipped; {@code name@odata.bind} is checked as {@code name}.
     */
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
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (name.startsWith("@")) {
                continue;
            }
            int at = name.indexOf('@');
            String property = at < 0 ? name : name.substring(0, at);
            if (!table.declares(property)) {
                throw new ApiError(400, CODE_UNKNOWN_PROPERTY, "An error occurred while validating input parameters: "
                        + "Microsoft.Crm.CrmException: Invalid property '" + property + "' was found in entity "
                        + "'Microsoft.Dynamics.CRM." + table.logicalName() + "'. ---> Microsoft.OData.ODataException: "
                        + "Does not support untyped value in non-open type.");
            }
            if (table.formulas.containsKey(property)) {
                throw new ApiError(400, CODE_BAD_PAYLOAD, "Error identified in Payload provided by the user for Entity :'"
                        + table.logicalName() + "', the formula column '" + property + "' is read-only.");
            }
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
                table.formulas.forEach((column, formula) -> {
                    String value = formula.apply(next);
                    if (value == null) {
                        next.putNull(column);
                    } else {
                        next.put(column, value);
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
                table.deletions.put(versionNumbers.incrementAndGet(), id);
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
