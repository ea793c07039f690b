package io.dataversesync.outbox;

import java.io.IOException;
import java.time.Clock;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.dataverse.DataverseClient;
import io.dataversesync.dataverse.DataverseException;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.transport.ServiceBusTransport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.slf4j.MDC;

/**
 * The Dataverse side of routes/outbox-relay.camel.yaml: reads the outbox a page at a time (server-driven paging,
 * every request through the Dataverse client's pacing gate like the rest of the sync), decides per record
 * ({@link OutboxRecords}) and, after the route has sent a record's notification, deletes it or marks a refused one
 * invalid. The order is the route's: the send has committed before the delete is asked for, so a crash in between
 * sends the notification twice (harmless: a notification means "read the row again"), never loses it.
 */
public class OutboxRelay {
    public static final String RELAY = "relay";
    public static final String WAIT = "wait";
    public static final String REFUSE = "refuse";

    private final DataverseClient client;
    private final OutboxSettings settings;
    private final OutboxRecords records;
    private final ObjectMapper json;
    private final Clock clock;
    private final MeterRegistry meters;

    public OutboxRelay(DataverseClient client, OutboxSettings settings, OutboxRecords records, ObjectMapper json, Clock clock,
            MeterRegistry meters) {
        this.client = client;
        this.settings = settings;
        this.records = records;
        this.json = json;
        this.clock = clock;
        this.meters = meters;
    }

    /** A run starts at the first page. */
    public void startRun(Exchange exchange) {
        exchange.setProperty(SyncProperties.OUTBOX_NEXT_LINK, null);
        exchange.setProperty(SyncProperties.OUTBOX_READ, 0);
        exchange.setProperty(SyncProperties.OUTBOX_MORE, true);
    }

    /**
     * The next page of failed and pending records (the first one, then each @odata.nextLink); syncOutboxMore says
     * whether another page follows within this run's sync.outbox.max-per-run.
     */
    public List<ObjectNode> readPage(Exchange exchange) throws IOException, InterruptedException {
        int read = exchange.getProperty(SyncProperties.OUTBOX_READ, 0, Integer.class);
        int size = Math.min(settings.pageSize(), settings.maxPerRun() - read);
        String next = exchange.getProperty(SyncProperties.OUTBOX_NEXT_LINK, String.class);
        DataverseClient.Page page = next == null
                ? client.queryPage(settings.table(), settings.columns(), settings.filter(), size, null)
                : client.readPage(next, size, null);
        read += page.rows().size();
        exchange.setProperty(SyncProperties.OUTBOX_READ, read);
        exchange.setProperty(SyncProperties.OUTBOX_NEXT_LINK, page.nextLink());
        exchange.setProperty(SyncProperties.OUTBOX_MORE, page.nextLink() != null && read < settings.maxPerRun());
        return page.rows();
    }

    /**
     * One record (the body): the decision in syncOutboxDecision (relay, wait, refuse); for a relay the change's
     * keys as every notification carries them, for a refusal the reason.
     */
    public void readRecord(Exchange exchange) {
        ObjectNode record = exchange.getMessage().getBody(ObjectNode.class);
        OutboxRecords.Decision decision = records.decide(record, clock.instant());
        exchange.setProperty(SyncProperties.OUTBOX_RECORD_ID, decision.recordId());
        // the timer thread handles one record after the other: no log line may carry the previous record's id
        MDC.put("correlationId", decision instanceof OutboxRecords.Relay r && r.correlationId() != null ? r.correlationId() : "-");
        if (decision instanceof OutboxRecords.Relay relay) {
            exchange.setProperty(SyncProperties.OUTBOX_DECISION, RELAY);
            exchange.setProperty(SyncProperties.ENTITY, relay.entity());
            exchange.setProperty(SyncProperties.SOURCE_ROW_ID, relay.rowId());
            exchange.setProperty(SyncProperties.OPERATION, "Update");
            exchange.setProperty(SyncProperties.CORRELATION_ID, relay.correlationId());
            // end-to-end latency counts from the change (the record's creation), not from the relay
            exchange.setProperty(SyncProperties.REQUESTED_AT, relay.createdAt() != null ? relay.createdAt() : clock.millis());
            // Service Bus: the notification's MessageId is derived from the record (ServiceBusTransport), so a
            // notification sent again after a crash before the delete is dropped by duplicate detection
            exchange.setProperty(ServiceBusTransport.RECEIVED_MESSAGE_ID, "outbox-" + relay.recordId());
        } else if (decision instanceof OutboxRecords.Refuse refused) {
            exchange.setProperty(SyncProperties.OUTBOX_DECISION, REFUSE);
            exchange.setProperty(SyncProperties.OUTBOX_REASON, refused.reason());
        } else {
            exchange.setProperty(SyncProperties.OUTBOX_DECISION, WAIT);
            exchange.setProperty(SyncProperties.OUTBOX_REASON, ((OutboxRecords.Wait) decision).why());
        }
        count(exchange.getProperty(SyncProperties.OUTBOX_DECISION, String.class));
    }

    /** After the notification was sent: the record is done. Already gone (another pod relayed it) is fine. */
    public void deleteRecord(Exchange exchange) throws IOException, InterruptedException {
        client.delete(settings.table(), exchange.getProperty(SyncProperties.OUTBOX_RECORD_ID, String.class),
                exchange.getProperty(SyncProperties.CORRELATION_ID, String.class));
    }

    /** A record the relay cannot send: status invalid, the reason in the error column; it is never read again. */
    public void refuseRecord(Exchange exchange) throws IOException, InterruptedException {
        String reason = "refused by the relay: " + exchange.getProperty(SyncProperties.OUTBOX_REASON, String.class);
        ObjectNode update = json.createObjectNode();
        update.put(settings.statusColumn(), settings.invalidStatus());
        update.put(settings.errorColumn(), reason.length() > settings.errorMaxLength() ? reason.substring(0, settings.errorMaxLength()) : reason);
        try {
            client.update(settings.table(), exchange.getProperty(SyncProperties.OUTBOX_RECORD_ID, String.class), update, null);
        } catch (DataverseException e) {
            if (e.statusCode() != 404) {
                throw e;
            }
            // deleted meanwhile (by the plug-in or an administrator): nothing to mark
        }
    }

    private void count(String decision) {
        Counter.builder("dataverse.sync.outbox.records")
                .description("Outbox records read by the relay, by what it did: relay, wait (pending, not stale yet), refuse")
                .tag("decision", decision)
                .register(meters)
                .increment();
    }
}
