package io.dataversesync.ops;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.sync.EntitySettings;
import org.apache.camel.Exchange;

/**
 * The operations API's logic, one method per endpoint of routes/ops-api.camel.yaml. Every input is validated before
 * anything is read or changed (a 4xx {@link OpsException} otherwise); every replay, purge and on-demand sync is
 * recorded in the audit trail with who did it. Selection (ids, reason, exception type, entity, time) is
 * {@link DeadLetterQuery}, the same for both transports; the transport's {@link DeadLetterStore} reads and moves.
 */
public class OpsApi {
    private static final int MAX_BODY = 256 * 1024;
    private static final Set<String> SELECTOR_FIELDS = Set.of("queue", "ids", "reason", "exceptionType", "entity", "from", "to", "all", "confirm");
    private static final Set<String> SYNC_FIELDS = Set.of("entity", "ids", "filter");

    /** Limits of the API (sync.ops.*). */
    public record Limits(int pageSizeMax, int pageSizeDefault, int scanMax, int maxIds, int auditMax) {
    }

    private final DeadLetterStore store;
    private final OpsQueues queues;
    private final OpsAudit audit;
    private final ReplayPacer pacer;
    private final OnDemandSync sync;
    private final OpsMetrics metrics;
    private final ObjectMapper json;
    private final Limits limits;
    private final boolean guidIds;
    private final String transport;

    public OpsApi(DeadLetterStore store, OpsQueues queues, OpsAudit audit, ReplayPacer pacer, OnDemandSync sync, OpsMetrics metrics,
            ObjectMapper json, Limits limits, boolean guidIds, String transport) {
        this.store = store;
        this.queues = queues;
        this.audit = audit;
        this.pacer = pacer;
        this.sync = sync;
        this.metrics = metrics;
        this.json = json;
        this.limits = limits;
        this.guidIds = guidIds;
        this.transport = transport;
    }

    /** GET /ops/api/queues: every queue with its depth and dead-letter depth. */
    public String queues(Exchange exchange) {
        ObjectNode out = json.createObjectNode();
        out.put("transport", transport);
        ArrayNode items = out.putArray("queues");
        for (OpsQueues.OpsQueue q : queues.all()) {
            DeadLetterStore.Depth d = store.depth(q);
            ObjectNode n = items.addObject();
            n.put("queue", q.name());
            n.put("kind", q.kind().name().toLowerCase());
            n.put("messages", d.messages());
            n.put("deadLetters", d.deadLetters());
        }
        return out.toString();
    }

    /** GET /ops/api/dead-letters?queue=Q[&reason&exceptionType&entity&from&to&page&size] */
    public String list(Exchange exchange) throws Exception {
        OpsQueues.OpsQueue queue = queue(param(exchange, "queue"));
        DeadLetterQuery query = DeadLetterQuery.of(null, param(exchange, "reason"), param(exchange, "exceptionType"),
                param(exchange, "entity"), param(exchange, "from"), param(exchange, "to"), guidIds, limits.maxIds());
        int page = intParam(exchange, "page", 0, 0, Integer.MAX_VALUE);
        int size = intParam(exchange, "size", limits.pageSizeDefault(), 1, limits.pageSizeMax());
        List<DeadLetter> all = store.browse(queue, limits.scanMax());
        List<DeadLetter> matching = all.stream().filter(query::matches).toList();
        ObjectNode out = json.createObjectNode();
        out.put("queue", queue.name());
        out.put("total", matching.size());
        out.put("page", page);
        out.put("size", size);
        out.put("scanned", all.size());
        out.put("truncated", all.size() >= limits.scanMax());
        ArrayNode items = out.putArray("items");
        long from = (long) page * size;
        for (long i = from; i < Math.min(matching.size(), from + size); i++) {
            items.add(summary(matching.get((int) i)));
        }
        return out.toString();
    }

    /** GET /ops/api/dead-letters/groups?queue=Q[&by=reason|exceptionType]: [{"reason":..,"count":..,"exceptionTypes":[..]}] */
    public String groups(Exchange exchange) throws Exception {
        OpsQueues.OpsQueue queue = queue(param(exchange, "queue"));
        String by = param(exchange, "by");
        if (by != null && !by.equals("reason") && !by.equals("exceptionType")) {
            throw new OpsException(400, "by must be reason or exceptionType");
        }
        boolean byException = "exceptionType".equals(by);
        Map<String, Map<String, Integer>> groups = new TreeMap<>();
        for (DeadLetter d : store.browse(queue, limits.scanMax())) {
            String key = byException ? d.exceptionType() : d.reason();
            String sub = byException ? d.reason() : d.exceptionType();
            groups.computeIfAbsent(key, k -> new TreeMap<>()).merge(sub, 1, Integer::sum);
        }
        ArrayNode out = json.createArrayNode();
        groups.entrySet().stream()
                .sorted((a, b) -> Integer.compare(sum(b.getValue()), sum(a.getValue())))
                .forEach(g -> {
                    ObjectNode n = out.addObject();
                    n.put(byException ? "exceptionType" : "reason", g.getKey());
                    n.put("count", sum(g.getValue()));
                    ArrayNode subs = n.putArray(byException ? "reasons" : "exceptionTypes");
                    g.getValue().forEach((k, v) -> subs.addObject().put(byException ? "reason" : "exceptionType", k).put("count", v));
                });
        return out.toString();
    }

    private static int sum(Map<String, Integer> counts) {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** GET /ops/api/dead-letters/{id}?queue=Q: one message with body and properties. */
    public String message(Exchange exchange) throws Exception {
        OpsQueues.OpsQueue queue = queue(param(exchange, "queue"));
        DeadLetterQuery query = DeadLetterQuery.of(List.of(String.valueOf(exchange.getMessage().getHeader("id"))), null, null, null, null, null,
                guidIds, 1);
        DeadLetter d = store.browse(queue, limits.scanMax()).stream().filter(query::matches).findFirst()
                .orElseThrow(() -> new OpsException(404, "no dead letter " + query.ids().iterator().next() + " in " + queue.name()));
        ObjectNode n = summary(d);
        n.put("body", d.body());
        ObjectNode props = n.putObject("properties");
        d.properties().forEach((k, v) -> props.set(k, json.valueToTree(v)));
        return n.toString();
    }

    /** POST /ops/api/dead-letters/replay {"queue":Q,"ids":[..]} | {"queue":Q,"reason":R} | other selectors | {"all":true} */
    public String replay(Exchange exchange) throws Exception {
        JsonNode body = body(exchange, SELECTOR_FIELDS);
        OpsQueues.OpsQueue queue = queue(text(body, "queue"));
        DeadLetterQuery query = selection(body);
        List<DeadLetter> selected = store.browse(queue, limits.scanMax()).stream().filter(query::matches).toList();
        audit.ensureWritable();
        List<ReplayPlan> plans = new ArrayList<>();
        for (DeadLetter d : selected) {
            plans.add(ReplayPlan.of(d, queue, queues));
        }
        int replayed;
        ObjectNode what = what(queue, body, selected.size());
        try {
            replayed = store.replay(queue, selected, plans, pacer.reserve(selected.size()));
        } catch (Exception e) {
            what.put("error", OpsJson.abbreviate(e.getMessage()));
            audit.record(who(exchange), "replay", what);
            throw e;
        }
        what.put("count", replayed);
        audit.record(who(exchange), "replay", what);
        ObjectNode out = json.createObjectNode();
        out.put("replayed", replayed);
        out.put("selected", selected.size());
        return out.toString();
    }

    /** POST /ops/api/dead-letters/purge: the same selectors as replay, plus "confirm": true. */
    public String purge(Exchange exchange) throws Exception {
        JsonNode body = body(exchange, SELECTOR_FIELDS);
        OpsQueues.OpsQueue queue = queue(text(body, "queue"));
        DeadLetterQuery query = selection(body);
        if (!body.path("confirm").isBoolean() || !body.path("confirm").asBoolean()) {
            throw new OpsException(400, "a purge deletes dead letters for good: send \"confirm\": true");
        }
        List<DeadLetter> selected = store.browse(queue, limits.scanMax()).stream().filter(query::matches).toList();
        audit.ensureWritable();
        ObjectNode what = what(queue, body, selected.size());
        int purged;
        try {
            purged = store.purge(queue, selected);
        } catch (Exception e) {
            what.put("error", OpsJson.abbreviate(e.getMessage()));
            audit.record(who(exchange), "purge", what);
            throw e;
        }
        what.put("count", purged);
        audit.record(who(exchange), "purge", what);
        ObjectNode out = json.createObjectNode();
        out.put("purged", purged);
        out.put("selected", selected.size());
        return out.toString();
    }

    /** GET /ops/api/audit[?limit=N]: newest first. */
    public String audit(Exchange exchange) throws Exception {
        int limit = intParam(exchange, "limit", 100, 1, limits.auditMax());
        ObjectNode out = json.createObjectNode();
        ArrayNode items = out.putArray("items");
        audit.newest(limit).forEach(items::add);
        return out.toString();
    }

    /** POST /ops/api/sync {"entity":E,"ids":[..]} | {"entity":E,"filter":F}: answers the correlation id. */
    public String sync(Exchange exchange) throws Exception {
        JsonNode body = body(exchange, SYNC_FIELDS);
        EntitySettings entity = sync.entity(text(body, "entity"));
        boolean hasIds = body.has("ids");
        boolean hasFilter = body.has("filter");
        if (hasIds == hasFilter) {
            throw new OpsException(400, "give either ids or filter");
        }
        String correlationId = OnDemandSync.newCorrelationId();
        List<String> rows;
        ObjectNode what = json.createObjectNode();
        what.put("entity", entity.logicalName());
        what.put("correlationId", correlationId);
        if (hasIds) {
            rows = sync.validIds(stringList(body, "ids"));
        } else {
            String filter = sync.validFilter(text(body, "filter"));
            what.put("filter", filter);
            rows = sync.matching(entity, filter, correlationId);
        }
        audit.ensureWritable();
        OnDemandSync.Result r = sync.queue(exchange.getContext().createProducerTemplate(), entity, rows, correlationId);
        what.put("count", r.queued());
        audit.record(who(exchange), "sync", what);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
        ObjectNode out = json.createObjectNode();
        out.put("correlationId", r.correlationId());
        out.put("entity", r.entity());
        out.put("queued", r.queued());
        return out.toString();
    }

    /** GET /ops/api/metrics: the chart's recent samples. */
    public String metrics(Exchange exchange) {
        ObjectNode out = json.createObjectNode();
        ArrayNode items = out.putArray("samples");
        for (OpsMetrics.Sample s : metrics.samples()) {
            items.addObject().put("at", java.time.Instant.ofEpochMilli(s.at()).toString()).put("syncedPerSecond", s.syncedPerSecond())
                    .put("deadLetteredPerSecond", s.deadLetteredPerSecond()).put("meanLatencyMs", s.meanLatencyMs());
        }
        return out.toString();
    }

    private ObjectNode summary(DeadLetter d) {
        ObjectNode n = json.createObjectNode();
        n.put("id", d.id());
        if (d.sequenceNumber() != null) {
            n.put("sequenceNumber", d.sequenceNumber());
        }
        n.put("queue", d.queue());
        n.put("source", d.source());
        n.put("reason", d.reason());
        n.put("description", d.description());
        n.put("exceptionType", d.exceptionType());
        n.put("hop", d.hop());
        n.put("retryCount", d.retryCount());
        n.put("replayCount", d.replayCount());
        n.put("correlationId", d.correlationId());
        n.put("entity", d.entity());
        n.put("sourceRowId", d.sourceRowId());
        n.put("deadLetteredAt", d.deadLetteredAt() == null ? null : d.deadLetteredAt().toString());
        return n;
    }

    private ObjectNode what(OpsQueues.OpsQueue queue, JsonNode body, int selected) {
        ObjectNode what = json.createObjectNode();
        what.put("queue", queue.name());
        ObjectNode selector = what.putObject("selector");
        for (String f : List.of("ids", "reason", "exceptionType", "entity", "from", "to", "all")) {
            if (body.has(f)) {
                selector.set(f, body.get(f));
            }
        }
        what.put("selected", selected);
        return what;
    }

    private DeadLetterQuery selection(JsonNode body) {
        List<String> ids = body.has("ids") ? stringList(body, "ids") : null;
        DeadLetterQuery q = DeadLetterQuery.of(ids, text(body, "reason"), text(body, "exceptionType"), text(body, "entity"),
                text(body, "from"), text(body, "to"), guidIds, limits.maxIds());
        boolean all = body.path("all").asBoolean(false);
        if (q.selectsAll() && !all) {
            throw new OpsException(400, "name what to act on: ids, reason, exceptionType, entity, from/to, or \"all\": true for the whole queue");
        }
        if (!q.selectsAll() && all) {
            throw new OpsException(400, "\"all\": true cannot be combined with other selectors");
        }
        return q;
    }

    private OpsQueues.OpsQueue queue(String name) {
        if (name == null || name.isEmpty()) {
            throw new OpsException(400, "queue is required (GET /ops/api/queues lists them)");
        }
        return queues.find(name).orElseThrow(() -> new OpsException(404, "unknown queue: " + OpsJson.abbreviate(name)
                + " (GET /ops/api/queues lists them)"));
    }

    private JsonNode body(Exchange exchange, Set<String> allowed) {
        String text = exchange.getMessage().getBody(String.class);
        if (text == null || text.isBlank()) {
            throw new OpsException(400, "a JSON object body is required");
        }
        if (text.length() > MAX_BODY) {
            throw new OpsException(413, "the body is larger than " + MAX_BODY + " characters");
        }
        JsonNode node;
        try {
            node = json.readTree(text);
        } catch (Exception e) {
            throw new OpsException(400, "the body is not JSON");
        }
        if (node == null || !node.isObject()) {
            throw new OpsException(400, "the body must be a JSON object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new OpsException(400, "unknown field " + OpsJson.abbreviate(f) + " (allowed: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
        return node;
    }

    private static String text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new OpsException(400, field + " must be a string");
        }
        return v.asText();
    }

    private static List<String> stringList(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || !v.isArray()) {
            throw new OpsException(400, field + " must be an array of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw new OpsException(400, field + " must be an array of strings");
            }
            out.add(e.asText());
        }
        return out;
    }

    private static String param(Exchange exchange, String name) {
        Object v = exchange.getMessage().getHeader(name);
        if (v instanceof List<?> l) {
            throw new OpsException(400, name + " given " + l.size() + " times");
        }
        return v == null ? null : String.valueOf(v);
    }

    private static int intParam(Exchange exchange, String name, int dflt, int min, int max) {
        String v = param(exchange, name);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) {
                throw new OpsException(400, name + " must be between " + min + " and " + max + ", was " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new OpsException(400, name + " must be a number, was " + OpsJson.abbreviate(v));
        }
    }

    /** The audit trail every operator action is recorded in (also reconciliation runs: {@link OpsReconcile}). */
    OpsAudit audit() {
        return audit;
    }

    static String who(Exchange exchange) {
        String who = exchange.getProperty(OpsAuth.WHO, String.class);
        return who == null ? "unknown" : who;
    }
}
