package io.dataversesync.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The external target system: a customer master with a small REST API. Records are upserted by the Dataverse
 * row id ("source row id"), get stable target ids ({@code CUST-000001} for collection "customers"), a per-record
 * version, and honour an optional {@code Idempotency-Key}. Deletes keep a tombstone ({@code "deleted": true}).
 */
public final class TargetEmulator extends EmulatorServer {

    /** Mutable settings with fluent setters; read once by the constructor. */
    public static final class Settings {
        private int port = 0;
        private int threads = 64;
        private String apiKey = "local-target-key";
        private String apiKeyHeader = null;

        public int port() { return port; }
        public Settings port(int value) { port = value; return this; }
        public int threads() { return threads; }
        public Settings threads(int value) { threads = value; return this; }
        public String apiKey() { return apiKey; }
        public Settings apiKey(String value) { apiKey = value; return this; }
        public String apiKeyHeader() { return apiKeyHeader; }
        /** The header carrying the key as is (e.g. X-Api-Key); null (default): Authorization: Bearer key. */
        public Settings apiKeyHeader(String value) { apiKeyHeader = value; return this; }
    }

    /** The stored answer of a request made with an Idempotency-Key; guarded by its own monitor. */
    private static final class IdempotentEntry {
        String fingerprintMethodAndPath;
        JsonNode fingerprintBody;
        Response answer;
    }

    private final String apiKey;
    private final String apiKeyHeader;
    /** collection -> sourceRowId -> record; records are replaced, never mutated, so readers need no lock. */
    /** Sorted by source row id, so a page of the listing starts where the last one ended without a scan. */
    private final Map<String, java.util.concurrent.ConcurrentSkipListMap<String, ObjectNode>> collections = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> idSequences = new ConcurrentHashMap<>();
    private final Map<String, IdempotentEntry> idempotencyKeys = new ConcurrentHashMap<>();
    /** collection -> sourceRowId -> each write's payload, in the order the writes were applied (when kept). */
    private final Map<String, Map<String, List<ObjectNode>>> histories = new ConcurrentHashMap<>();
    private volatile boolean keepHistory;
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong replays = new AtomicLong();

    public TargetEmulator(Settings settings) {
        super("target-emulator", settings.port(), settings.threads());
        this.apiKey = settings.apiKey();
        this.apiKeyHeader = settings.apiKeyHeader();
    }

    public TargetEmulator() {
        this(new Settings());
    }

    // ================================================================ Java access

    /** Deep copy of a record (tombstones included), if known. */
    public Optional<ObjectNode> record(String collection, String sourceRowId) {
        return Optional.ofNullable(collection(collection).get(sourceRowId)).map(ObjectNode::deepCopy);
    }

    /** Deep copies of a collection's records (tombstones included), ordered by target id. */
    public List<ObjectNode> records(String collection) {
        List<ObjectNode> list = new ArrayList<>();
        collection(collection).values().forEach(record -> list.add(record.deepCopy()));
        list.sort(Comparator.comparing(record -> record.path("id").asText()));
        return list;
    }

    /**
     * Puts records back exactly as given (e.g. {@link #records(String)} of an emulator that ran before a restart of
     * the service: the target system keeps its data). Target ids stay stable and new ones continue after the
     * highest restored one. Idempotency keys are not restored: a replay after the restore simply writes again.
     */
    public void restoreRecords(String collection, java.util.Collection<ObjectNode> records) {
        Map<String, ObjectNode> store = collection(collection);
        AtomicLong sequence = idSequences.computeIfAbsent(collection, c -> new AtomicLong());
        for (ObjectNode record : records) {
            store.put(record.path("sourceRowId").asText(), record.deepCopy());
            String id = record.path("id").asText();
            String digits = id.substring(id.lastIndexOf('-') + 1);
            if (!digits.isEmpty() && digits.chars().allMatch(Character::isDigit)) {
                sequence.accumulateAndGet(Long.parseLong(digits), Math::max);
            }
        }
    }

    /** Removes a record without a trace (someone purged it in the target system); true if there was one. */
    public boolean removeRecord(String collection, String sourceRowId) {
        return collection(collection).remove(sourceRowId) != null;
    }

    /**
     * Keeps (true) or stops keeping every write's payload per record, in the order the writes were applied (off by
     * default: it grows with every write). A test reads it to tell whether a record ever received an older version
     * after a newer one, and how often the same version arrived twice.
     */
    public void keepHistory(boolean keep) {
        keepHistory = keep;
    }

    /**
     * The payloads of the PUT, POST and PATCH writes applied to one record, oldest first, as the client sent them
     * (each appended inside the record's own atomic update, so their order is the order they took effect; idempotent
     * replays are not writes). Empty when nothing was kept.
     */
    public List<ObjectNode> history(String collection, String sourceRowId) {
        List<ObjectNode> list = histories.getOrDefault(collection, Map.of()).get(sourceRowId);
        if (list == null) {
            return List.of();
        }
        synchronized (list) {
            return list.stream().map(ObjectNode::deepCopy).toList();
        }
    }

    private void remember(String collection, String sourceRowId, ObjectNode payload) {
        if (keepHistory) {
            List<ObjectNode> list = histories.computeIfAbsent(collection, c -> new ConcurrentHashMap<>())
                    .computeIfAbsent(sourceRowId, id -> new ArrayList<>());
            synchronized (list) {
                list.add(payload.deepCopy());
            }
        }
    }

    /** PUTs and DELETEs that changed state (replays and no-op deletes excluded). */
    public long writeCount() {
        return writes.get();
    }

    /** Requests answered from a stored Idempotency-Key answer without touching the record (duplicate calls). */
    public long replayCount() {
        return replays.get();
    }

    /** Every request answered under /api, errors and faults included. */
    public long callCount() {
        return calls.get();
    }

    /** Forgets all records, target ids, idempotency keys and counters. */
    public void reset() {
        collections.clear();
        idSequences.clear();
        idempotencyKeys.clear();
        histories.clear();
        writes.set(0);
        calls.set(0);
        replays.set(0);
    }

    private java.util.concurrent.ConcurrentSkipListMap<String, ObjectNode> collection(String name) {
        return collections.computeIfAbsent(name, n -> new java.util.concurrent.ConcurrentSkipListMap<>());
    }

    // ================================================================ HTTP

    @Override
    protected Response handle(Request request) throws Exception {
        if (!request.path().startsWith("/api/")) {
            return error(404, "not_found", "No such endpoint: " + request.path());
        }
        calls.incrementAndGet();
        if (apiKeyHeader != null) {
            String key = request.header(apiKeyHeader.toLowerCase(Locale.ROOT));
            if (key == null || !key.equals(apiKey)) {
                return error(401, "unauthorized", "Missing or invalid API key (expected header '" + apiKeyHeader + ": <key>').");
            }
        } else {
            String authorization = request.header("authorization");
            if (authorization == null || !authorization.equals("Bearer " + apiKey)) {
                return error(401, "unauthorized", "Missing or invalid API key (expected 'Authorization: Bearer <key>').")
                        .header("WWW-Authenticate", "Bearer");
            }
        }
        Optional<Response> fault = injectFaults(request);
        if (fault.isPresent()) {
            return fault.get();
        }
        String[] segments = Arrays.stream(request.path().substring("/api/".length()).split("/"))
                .map(segment -> decode(segment, false)).toArray(String[]::new);
        if (segments.length == 1 && !segments[0].isEmpty()) {
            return request.method().equals("GET") ? list(segments[0], request.queryParameters())
                    : error(405, "method_not_allowed", "Use GET on a collection.");
        }
        if (segments.length != 2 || segments[0].isEmpty() || segments[1].isEmpty()) {
            return error(404, "not_found", "No such endpoint: " + request.path());
        }
        String collection = segments[0];
        String sourceRowId = segments[1];
        return switch (request.method()) {
            case "GET" -> get(collection, sourceRowId);
            case "PUT", "POST", "PATCH", "DELETE" -> idempotent(request, collection, sourceRowId);
            default -> error(405, "method_not_allowed", "Use GET, PUT, POST, PATCH or DELETE on a record.");
        };
    }

    @Override
    protected Response faultResponse(Request request, FaultInjector.Fault fault) {
        String code = reasonPhrase(fault.status()).toLowerCase(Locale.ROOT).replace(' ', '_');
        return error(fault.status(), code, "Injected fault (HTTP " + fault.status() + ").");
    }

    @Override
    protected Response internalError(Request request, Exception failure) {
        return error(500, "internal_error", failure.toString());
    }

    private Response error(int status, String code, String message) {
        return json(status, JSON.createObjectNode().put("error", code).put("message", message));
    }

    private Response get(String collection, String sourceRowId) {
        ObjectNode record = collection(collection).get(sourceRowId);
        return record == null
                ? error(404, "not_found", "No record for source row id '" + sourceRowId + "' in '" + collection + "'.")
                : json(200, record);
    }

    /** The largest page of a listing. */
    static final int MAX_PAGE_SIZE = 1000;

    /**
     * {@code GET /api/<collection>}: without options every record (tombstones included) ordered by target id.
     * Paged, cursor style ({@code ?limit=N}, at most {@value #MAX_PAGE_SIZE}): records ordered by source row id, and
     * while more remain a {@code nextLink} (a path with {@code after=<last source row id>}) to GET as given. By ids:
     * {@code ?sourceRowIds=a,b,c} (at most {@value #MAX_PAGE_SIZE}) returns the records among them, unknown ids left
     * out. A shape many REST APIs share (e.g. Stripe's {@code limit}/{@code starting_after}, GitHub's link paging).
     */
    private Response list(String collection, Map<String, String> query) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode value = body.putArray("value");
        String ids = query.get("sourceRowIds");
        if (ids != null) {
            String[] wanted = ids.isBlank() ? new String[0] : ids.split(",");
            if (wanted.length > MAX_PAGE_SIZE) {
                return error(400, "bad_request", "At most " + MAX_PAGE_SIZE + " sourceRowIds per request.");
            }
            for (String id : wanted) {
                ObjectNode record = collection(collection).get(id.trim());
                if (record != null) {
                    value.add(record.deepCopy());
                }
            }
            return json(200, body);
        }
        String limitText = query.get("limit");
        if (limitText == null) {
            records(collection).forEach(value::add);
            return json(200, body);
        }
        int limit;
        try {
            limit = Integer.parseInt(limitText.trim());
        } catch (NumberFormatException e) {
            limit = -1;
        }
        if (limit < 1 || limit > MAX_PAGE_SIZE) {
            return error(400, "bad_request", "limit must be 1.." + MAX_PAGE_SIZE + ", was '" + limitText + "'.");
        }
        String after = query.get("after");
        java.util.NavigableMap<String, ObjectNode> ordered = collection(collection);
        if (after != null) {
            ordered = ordered.tailMap(after, false);
        }
        String last = null;
        boolean more = false;
        for (Map.Entry<String, ObjectNode> entry : ordered.entrySet()) {
            if (value.size() == limit) {
                more = true;
                break;
            }
            value.add(entry.getValue().deepCopy());
            last = entry.getKey();
        }
        if (more) {
            body.put("nextLink", "/api/" + encode(collection) + "?limit=" + limit + "&after=" + encode(last));
        }
        return json(200, body);
    }

    private static String encode(String text) {
        return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    /**
     * Same key + same request replays the stored answer without touching the record; same key + different
     * request is refused. Requests sharing a key are serialised on the key's entry so a replay never races the
     * first execution. Only successful answers are stored, so a failed attempt can be retried with its key.
     */
    private Response idempotent(Request request, String collection, String sourceRowId) {
        String key = request.header("idempotency-key");
        if (key == null || key.isBlank()) {
            return write(request, collection, sourceRowId);
        }
        JsonNode bodyFingerprint;
        try {
            bodyFingerprint = request.body().length == 0 ? null : JSON.readTree(request.body());
        } catch (IOException e) {
            return badJson(e);
        }
        String methodAndPath = request.method() + " " + request.path();
        IdempotentEntry entry = idempotencyKeys.computeIfAbsent(key, k -> new IdempotentEntry());
        synchronized (entry) {
            if (entry.answer != null) {
                boolean sameRequest = entry.fingerprintMethodAndPath.equals(methodAndPath)
                        && java.util.Objects.equals(entry.fingerprintBody, bodyFingerprint);
                if (!sameRequest) {
                    return error(422, "idempotency_key_reused",
                            "Idempotency-Key '" + key + "' was already used for a different request.");
                }
                replays.incrementAndGet();
                Response replay = new Response(entry.answer.status(), entry.answer.body());
                entry.answer.headers().forEach(replay::header);
                return replay.header("Idempotent-Replayed", "true");
            }
            Response answer = write(request, collection, sourceRowId);
            if (answer.status() < 300) {
                entry.fingerprintMethodAndPath = methodAndPath;
                entry.fingerprintBody = bodyFingerprint;
                entry.answer = answer;
            }
            return answer;
        }
    }

    /** PUT and POST create or replace (an upsert keyed by the source row id); PATCH merges into an existing record. */
    private Response write(Request request, String collection, String sourceRowId) {
        return switch (request.method()) {
            case "PUT", "POST" -> put(request, collection, sourceRowId);
            case "PATCH" -> patch(request, collection, sourceRowId);
            default -> delete(collection, sourceRowId);
        };
    }

    private Response patch(Request request, String collection, String sourceRowId) {
        Object parsed = jsonObject(request);
        if (!(parsed instanceof ObjectNode object)) {
            return (Response) parsed;
        }
        ObjectNode stored = collection(collection).computeIfPresent(sourceRowId, (k, existing) -> {
            remember(collection, sourceRowId, object);
            ObjectNode next = existing.deepCopy();
            next.setAll(object);
            next.put("id", existing.get("id").asText());
            next.put("sourceRowId", sourceRowId);
            next.put("version", existing.get("version").asLong() + 1);
            next.put("updatedAt", Instant.now().toString());
            return next;
        });
        if (stored == null) {
            return error(404, "not_found", "No record for source row id '" + sourceRowId + "' in '" + collection + "'.");
        }
        writes.incrementAndGet();
        return json(200, JSON.createObjectNode().put("id", stored.get("id").asText()).put("sourceRowId", sourceRowId)
                .put("collection", collection).put("version", stored.get("version").asLong()).put("created", false));
    }

    /** The request's body as a JSON object, or the 400 answer. */
    private Object jsonObject(Request request) {
        JsonNode payload;
        try {
            payload = JSON.readTree(request.body());
        } catch (IOException e) {
            return badJson(e);
        }
        return payload instanceof ObjectNode object ? object : error(400, "bad_request", "The body must be a JSON object.");
    }

    private Response put(Request request, String collection, String sourceRowId) {
        Object parsed = jsonObject(request);
        if (!(parsed instanceof ObjectNode object)) {
            return (Response) parsed;
        }
        boolean[] created = new boolean[1];
        ObjectNode stored = collection(collection).compute(sourceRowId, (k, existing) -> {
            created[0] = existing == null;
            remember(collection, sourceRowId, object);
            ObjectNode next = object.deepCopy();
            next.put("id", existing == null ? nextTargetId(collection) : existing.get("id").asText());
            next.put("sourceRowId", sourceRowId);
            next.put("version", existing == null ? 1 : existing.get("version").asLong() + 1);
            next.put("updatedAt", Instant.now().toString());
            next.put("deleted", false);
            return next;
        });
        writes.incrementAndGet();
        ObjectNode body = JSON.createObjectNode()
                .put("id", stored.get("id").asText())
                .put("sourceRowId", sourceRowId)
                .put("collection", collection)
                .put("version", stored.get("version").asLong())
                .put("created", created[0]);
        return json(created[0] ? 201 : 200, body);
    }

    private Response delete(String collection, String sourceRowId) {
        boolean[] changed = new boolean[1];
        ObjectNode tombstone = collection(collection).computeIfPresent(sourceRowId, (k, existing) -> {
            if (existing.path("deleted").asBoolean()) {
                return existing;
            }
            changed[0] = true;
            ObjectNode next = existing.deepCopy();
            next.put("deleted", true);
            next.put("version", existing.get("version").asLong() + 1);
            next.put("updatedAt", Instant.now().toString());
            return next;
        });
        if (tombstone == null) {
            return error(404, "not_found", "No record for source row id '" + sourceRowId + "' in '" + collection + "'.");
        }
        if (changed[0]) {
            writes.incrementAndGet();
        }
        return json(200, JSON.createObjectNode()
                .put("id", tombstone.get("id").asText())
                .put("sourceRowId", sourceRowId)
                .put("deleted", true));
    }

    private Response badJson(IOException e) {
        String detail = e instanceof com.fasterxml.jackson.core.JsonProcessingException json
                ? json.getOriginalMessage() : e.getMessage();
        return error(400, "bad_request", "Malformed JSON body: " + detail);
    }

    /** e.g. CUST-000001 for "customers": first four letters upper-case, then a per-collection sequence. */
    private String nextTargetId(String collection) {
        String letters = collection.replaceAll("[^A-Za-z]", "").toUpperCase(Locale.ROOT);
        String prefix = letters.isEmpty() ? "REC" : letters.substring(0, Math.min(4, letters.length()));
        long sequence = idSequences.computeIfAbsent(collection, c -> new AtomicLong()).incrementAndGet();
        return String.format("%s-%06d", prefix, sequence);
    }
}
