package io.dataversesync.dataverse;

import java.time.Clock;
import java.util.Optional;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.sync.SyncProperties;
import org.apache.camel.Exchange;

/** The Dataverse side of the hops, called from the routes: enrich, write back, mark failed. */
public class DataverseHops {
    public static final String STATUS_SYNCED = "Synced";
    public static final String STATUS_FAILED = "Failed";

    private final DataverseClient client;
    private final EntityCatalog entities;
    private final WriteBackColumns columns;
    private final ObjectMapper json;
    private final Clock clock;

    public DataverseHops(DataverseClient client, EntityCatalog entities, WriteBackColumns columns, ObjectMapper json, Clock clock) {
        this.client = client;
        this.entities = entities;
        this.columns = columns;
        this.json = json;
        this.clock = clock;
    }

    /** Hop 2: the body becomes the row as Dataverse has it now; a missing row sets syncRowDeleted. */
    public void enrich(Exchange exchange) throws Exception {
        EntitySettings entity = entity(exchange);
        Optional<ObjectNode> row = client.retrieve(entity, rowId(exchange), correlationId(exchange));
        exchange.setProperty(SyncProperties.ROW_DELETED, row.isEmpty());
        if (row.isPresent()) {
            exchange.setProperty(SyncProperties.ROW_ETAG, row.get().path("@odata.etag").asText(null));
            exchange.getMessage().setBody(json.writeValueAsString(row.get()));
        } else {
            exchange.getMessage().setBody(null);
        }
    }

    /** Hop 6: target id, Synced, synced-at; the error column is cleared. */
    public void writeBackSynced(Exchange exchange) throws Exception {
        ObjectNode update = json.createObjectNode();
        update.put(columns.targetId(), exchange.getProperty(SyncProperties.TARGET_ROW_ID, String.class));
        update.put(columns.status(), STATUS_SYNCED);
        update.put(columns.syncedAt(), clock.instant().toString());
        update.putNull(columns.error());
        client.update(entity(exchange), rowId(exchange), update, correlationId(exchange));
    }

    /**
     * Best effort after dead-lettering: status Failed with a short reason. Only for messages that passed
     * validation (a known entity and a GUID); a row that is gone has nothing to mark.
     */
    public void markFailed(Exchange exchange) throws Exception {
        String entityName = exchange.getProperty(SyncProperties.ENTITY, String.class);
        String rowId = exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
        String reason = exchange.getProperty(SyncProperties.FAILURE_REASON, String.class);
        if (entityName == null || rowId == null || "RowDeleted".equals(reason) || entities.find(entityName).isEmpty()) {
            return;
        }
        String text = reason + ": " + exchange.getProperty(SyncProperties.FAILURE_DESCRIPTION, "", String.class);
        ObjectNode update = json.createObjectNode();
        update.put(columns.status(), STATUS_FAILED);
        update.put(columns.error(), text.length() > columns.errorMaxLength() ? text.substring(0, columns.errorMaxLength()) : text);
        client.update(entities.get(entityName), rowId, update, correlationId(exchange));
    }

    private EntitySettings entity(Exchange exchange) {
        return entities.get(exchange.getProperty(SyncProperties.ENTITY, String.class));
    }

    private static String rowId(Exchange exchange) {
        return exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
    }

    private static String correlationId(Exchange exchange) {
        return exchange.getProperty(SyncProperties.CORRELATION_ID, String.class);
    }
}
