package io.dataversesync.ops;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.dataverse.DataverseClient;
import io.dataversesync.dataverse.DataverseException;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.sync.Guids;
import org.apache.camel.ProducerTemplate;

/**
 * "Sync these rows" and "sync every row of a table that matches this OData filter": each row becomes a plain change
 * notification on the outbound queue (through {@code direct:transport-send-notification}, the transport's own step),
 * all with one new correlation id the caller gets back, so the rest is the ordinary pipeline (validation, pacing,
 * retries, dead letters). Nothing is sent unless the whole request is valid and within {@code sync.ops.sync.max-rows}:
 * a filter that matches more is refused (read the ids first, page by page; then send).
 */
public class OnDemandSync {
    /** What a filter may contain: an OData expression, no query-string or line syntax. */
    private static final Pattern FILTER_CHARS = Pattern.compile("[\\p{L}\\p{N} _.,:'()\\[\\]=<>/+*%@-]*");

    public record Result(String correlationId, String entity, int queued) {
    }

    private final DataverseClient dataverse;
    private final EntityCatalog entities;
    private final ObjectMapper json;
    private final int maxRows;
    private final int pageSize;
    private final int maxFilterLength;

    public OnDemandSync(DataverseClient dataverse, EntityCatalog entities, ObjectMapper json, int maxRows, int pageSize, int maxFilterLength) {
        this.dataverse = dataverse;
        this.entities = entities;
        this.json = json;
        this.maxRows = maxRows;
        this.pageSize = pageSize;
        this.maxFilterLength = maxFilterLength;
    }

    /** The filter as it may go to Dataverse, or a 400 naming what is wrong (pure: unit-tested). */
    public static String validateFilter(String filter, int maxLength) {
        if (filter == null || filter.isBlank()) {
            throw new OpsException(400, "filter is empty");
        }
        if (filter.length() > maxLength) {
            throw new OpsException(400, "filter is longer than " + maxLength + " characters (sync.ops.sync.max-filter-length)");
        }
        if (filter.indexOf('&') >= 0 || filter.indexOf('?') >= 0 || filter.indexOf('#') >= 0 || filter.indexOf('\r') >= 0
                || filter.indexOf('\n') >= 0 || filter.indexOf('$') >= 0) {
            throw new OpsException(400, "filter must be one OData $filter expression: no &, ?, #, $ or line breaks");
        }
        if (!FILTER_CHARS.matcher(filter).matches()) {
            throw new OpsException(400, "filter has characters an OData filter expression does not need: " + OpsJson.abbreviate(filter));
        }
        int depth = 0;
        boolean quoted = false;
        for (char c : filter.toCharArray()) {
            if (c == '\'') {
                quoted = !quoted; // '' inside a string toggles twice
            } else if (!quoted && c == '(') {
                depth++;
            } else if (!quoted && c == ')' && --depth < 0) {
                break;
            }
        }
        if (quoted || depth != 0) {
            throw new OpsException(400, "filter has unbalanced quotes or parentheses");
        }
        return filter.trim();
    }

    public String validFilter(String filter) {
        return validateFilter(filter, maxFilterLength);
    }

    public EntitySettings entity(String name) {
        if (name == null || name.isBlank()) {
            throw new OpsException(400, "entity is required");
        }
        return entities.find(name).orElseThrow(() -> new OpsException(400, "entity '" + OpsJson.abbreviate(name)
                + "' is not configured for sync (sync.entities: " + entities.names() + ")"));
    }

    public List<String> validIds(List<String> ids) {
        if (ids.isEmpty()) {
            throw new OpsException(400, "ids is empty");
        }
        if (ids.size() > maxRows) {
            throw new OpsException(400, "at most " + maxRows + " rows per request (sync.ops.sync.max-rows), got " + ids.size());
        }
        Set<String> out = new LinkedHashSet<>();
        for (String id : ids) {
            String g = Guids.normalize(id);
            if (g == null) {
                throw new OpsException(400, "not a row id (a GUID): " + OpsJson.abbreviate(id));
            }
            out.add(g);
        }
        return new ArrayList<>(out);
    }

    /** The rows the filter matches (at most max-rows, else 400); Dataverse's 4xx for a filter it rejects is a 400. */
    public List<String> matching(EntitySettings entity, String filter, String correlationId) throws Exception {
        List<String> ids;
        try {
            ids = dataverse.retrieveIds(entity, filter, pageSize, maxRows + 1, correlationId);
        } catch (DataverseException e) {
            if (e.statusCode() >= 400 && e.statusCode() < 500 && e.statusCode() != 401 && e.statusCode() != 429) {
                throw new OpsException(400, "Dataverse refused the filter: " + OpsJson.abbreviate(e.getMessage()));
            }
            throw e;
        }
        if (ids.size() > maxRows) {
            throw new OpsException(400, "the filter matches more than " + maxRows + " rows (sync.ops.sync.max-rows): narrow it; nothing was queued");
        }
        return ids.isEmpty() ? List.of() : validIds(ids);
    }

    /** Puts one notification per row on the outbound queue, all with the returned correlation id. */
    public Result queue(ProducerTemplate producer, EntitySettings entity, List<String> rowIds, String correlationId) throws Exception {
        long now = System.currentTimeMillis();
        for (String rowId : rowIds) {
            ObjectNode n = json.createObjectNode();
            n.put("entity", entity.logicalName());
            n.put("sourceRowId", rowId);
            n.put("operation", "Update");
            String body = n.toString();
            org.apache.camel.Exchange sent = producer.send("direct:transport-send-notification", ex -> {
                ex.setProperty(SyncProperties.CORRELATION_ID, correlationId);
                ex.setProperty(SyncProperties.REQUESTED_AT, now);
                ex.setProperty(SyncProperties.SOURCE_ROW_ID, rowId);
                ex.getMessage().setBody(body);
            });
            if (sent.getException() != null) {
                throw sent.getException();
            }
        }
        return new Result(correlationId, entity.logicalName(), rowIds.size());
    }

    public static String newCorrelationId() {
        return UUID.randomUUID().toString();
    }
}
