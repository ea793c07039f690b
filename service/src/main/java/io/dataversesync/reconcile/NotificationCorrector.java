package io.dataversesync.reconcile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.exchange.SyncProperties;
import java.time.Clock;
import java.util.UUID;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.DefaultExchange;

/**
 * Corrects through the normal pipeline: one notification per drifted key and target on the outbound queue
 * ({@code direct:transport-send-notification}, the transport's own step), naming the target and asking for a resend
 * ({@code "target"}, {@code "resend": true}: published for that target only, never skipped as unchanged). So a
 * correction is paced, ordered per row, retried and dead-lettered like any change, and the row is read again when
 * it is handled: an orphan's Delete deletes (or soft-deletes, as the target declares) only if the row is still gone.
 */
public class NotificationCorrector implements Reconciler.Corrector {
    private final CamelContext context;
    private final ProducerTemplate producer;
    private final ObjectMapper json;
    private final Clock clock;

    public NotificationCorrector(CamelContext context, ObjectMapper json, Clock clock) {
        this.context = context;
        this.producer = context.createProducerTemplate();
        this.json = json;
        this.clock = clock;
    }

    @Override
    public void send(String entity, String sourceRowId, String operation, String target, String runId) throws Exception {
        ObjectNode notification = json.createObjectNode()
                .put("entity", entity)
                .put("sourceRowId", sourceRowId)
                .put("operation", operation)
                .put("target", target)
                .put("resend", true)
                .put("reconcileRunId", runId);
        Exchange exchange = new DefaultExchange(context);
        exchange.setProperty(SyncProperties.CORRELATION_ID, UUID.randomUUID().toString());
        exchange.setProperty(SyncProperties.REQUESTED_AT, clock.millis());
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, sourceRowId);
        exchange.getMessage().setBody(notification.toString());
        Exchange sent = producer.send("direct:transport-send-notification", exchange);
        if (sent.getException() != null) {
            throw sent.getException();
        }
    }
}
