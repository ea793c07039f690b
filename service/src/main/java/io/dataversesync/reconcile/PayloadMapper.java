package io.dataversesync.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.mapping.Mappings;
import io.dataversesync.policy.MappingException;
import io.dataversesync.sync.SyncMessages;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultExchange;

/**
 * A row mapped for a target exactly as the sync maps it: the same {@link Mappings} (routes/target-delivery.camel.yaml,
 * sync-transform), then the same canonical form and hash ({@link SyncMessages#checkMappedPayload}), so the hash is
 * the one the write-back stores on the row.
 */
public class PayloadMapper {
    /** A mapped row: the payload (canonical JSON), its hash, or why it could not be mapped. */
    public record Mapped(String payload, String hash, String error) {
        public JsonNode payloadJson(ObjectMapper json) throws java.io.IOException {
            return json.readTree(payload);
        }
    }

    private final CamelContext context;
    private final Mappings mappings;
    private final SyncMessages messages;

    public PayloadMapper(CamelContext context, Mappings mappings, SyncMessages messages) {
        this.context = context;
        this.mappings = mappings;
        this.messages = messages;
    }

    public Mapped map(String target, String entity, String rowJson) {
        Exchange exchange = new DefaultExchange(context);
        exchange.setProperty(SyncProperties.ENTITY, entity);
        exchange.setProperty(SyncProperties.TARGET, target);
        try {
            exchange.getMessage().setBody(mappings.map(target, entity, rowJson));
        } catch (MappingException e) {
            return new Mapped(null, null, e.getMessage()); // names the file already
        }
        try {
            messages.checkMappedPayload(exchange);
        } catch (MappingException e) {
            return new Mapped(null, null, "mapping " + target + "/" + entity + ".jsonata failed: " + e.getMessage());
        }
        return new Mapped(exchange.getMessage().getBody(String.class), exchange.getProperty(SyncProperties.PAYLOAD_HASH, String.class), null);
    }
}
