package io.dataversesync.reconcile;

import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.sync.SyncMessages;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;

/**
 * A row mapped for a target exactly as the sync maps it: the same JSONata mapping file with the same component
 * (routes/target-delivery.camel.yaml, sync-transform), then the same canonical form and hash
 * ({@link SyncMessages#checkMappedPayload}), so the hash is the one the write-back stores on the row. One run
 * keeps each mapping parsed ({@code contentCache=true} on endpoints of its own) and drops them at its end, so an
 * edited mapping is read again by the next run.
 */
public class PayloadMapper implements AutoCloseable {
    /** A mapped row: the payload (canonical JSON), its hash, or why it could not be mapped. */
    public record Mapped(String payload, String hash, String error) {
        public JsonNode payloadJson(ObjectMapper json) throws java.io.IOException {
            return json.readTree(payload);
        }
    }

    private final CamelContext context;
    private final SyncMessages messages;
    private final ObjectMapper json;
    private final String mappingsLocation;
    private final ProducerTemplate producer;
    private final Map<String, Endpoint> endpoints = new HashMap<>();

    public PayloadMapper(CamelContext context, SyncMessages messages, ObjectMapper json, String mappingsLocation) {
        this.context = context;
        this.messages = messages;
        this.json = json;
        this.mappingsLocation = mappingsLocation;
        this.producer = context.createProducerTemplate();
    }

    public Mapped map(String target, String entity, String rowJson) {
        Endpoint endpoint = endpoints.computeIfAbsent(target + "/" + entity, key -> context.getEndpoint("jsonata:" + mappingsLocation + "/"
                + key + ".jsonata?inputType=JsonString&outputType=JsonString&contentCache=true"));
        Exchange exchange = endpoint.createExchange();
        exchange.setProperty(SyncProperties.ENTITY, entity);
        exchange.setProperty(SyncProperties.TARGET, target);
        exchange.getMessage().setBody(rowJson);
        producer.send(endpoint, exchange);
        try {
            if (exchange.getException() != null) {
                throw exchange.getException();
            }
            messages.checkMappedPayload(exchange);
            return new Mapped(exchange.getMessage().getBody(String.class), exchange.getProperty(SyncProperties.PAYLOAD_HASH, String.class), null);
        } catch (Exception e) {
            return new Mapped(null, null, "mapping " + target + "/" + entity + ".jsonata failed: " + e.getMessage());
        }
    }

    @Override
    public void close() throws Exception {
        for (Endpoint endpoint : endpoints.values()) {
            context.removeEndpoint(endpoint);
        }
        producer.close();
    }
}
