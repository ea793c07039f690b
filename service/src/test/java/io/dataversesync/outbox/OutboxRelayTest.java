package io.dataversesync.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.emulator.SyncOutboxTable;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;

/**
 * The outbox relay against the Dataverse emulator's outbox table (records written through the Web API as the plug-in
 * writes them) and the real broker: a failed record is relayed, synced and deleted; a stale pending one too; a fresh
 * pending one is left to its plug-in; an invalid one is marked invalid and never sent; more records than one page are
 * read page by page.
 */
class OutboxRelayTest extends SyncTestSupport {
    private static final String OUTBOX = SyncOutboxTable.ENTITY_SET;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static {
        // system properties override application.properties (the base class's @CamelMainTest stays as it is)
        System.setProperty("sync.outbox.enabled", "true");
        System.setProperty("sync.outbox.initial-delay-ms", "200");
        System.setProperty("sync.outbox.interval-ms", "300");
        System.setProperty("sync.outbox.page-size", "5");
        System.setProperty("sync.outbox.stale-after-ms", "600000");
    }

    @Test
    void aFailedRecordIsRelayedTheRowSyncedAndTheRecordDeleted() throws Exception {
        String id = createAccount("Outbox Failed Send");
        String correlationId = UUID.randomUUID().toString();
        String record = writeRecord("account", id, correlationId, "failed", "Service Bus: ServiceUnavailable");

        awaitSynced(id);
        await().atMost(Duration.ofSeconds(20)).until(() -> dataverse().row(OUTBOX, record).isEmpty());
        // the notification carried the record's correlation id to every hop
        assertThat(targetCalls("PUT", id)).hasSize(1);
        assertThat(targetCalls("PUT", id).get(0).headers()).containsEntry("x-correlation-id", correlationId);
        RecordedRequest delete = dataverseCalls("DELETE", record).get(0);
        assertThat(delete.path()).endsWith("/" + OUTBOX + "(" + record + ")");
        assertThat(delete.status()).isEqualTo(204);
        assertThat(context.getRouteController().getRouteStatus("intake-relay-consumer")).as("the intake relay is off by default")
                .isEqualTo(org.apache.camel.ServiceStatus.Stopped);
    }

    @Test
    void aCrashBetweenTheSendAndTheDeleteSendsTheNotificationTwiceAndLosesNothing() throws Exception {
        String id = createAccount("Outbox Crash After Send");
        AtomicInteger deletes = new AtomicInteger();
        List<String> sent = countSends();
        AdviceWith.adviceWith(context, "outbox-relay-record", route -> route.weaveById("outbox-relay-delete-record").before().process(exchange -> {
            if (id.equals(exchange.getProperty("syncSourceRowId")) && deletes.getAndIncrement() == 0) {
                throw new IllegalStateException("the pod died after the send (simulated)");
            }
        }));
        String record = writeRecord("account", id, UUID.randomUUID().toString(), "failed", "timeout");

        awaitSynced(id);
        await().atMost(Duration.ofSeconds(20)).until(() -> dataverse().row(OUTBOX, record).isEmpty());
        // the send had committed before the delete failed: the next run sent it again, then deleted it
        assertThat(sent).containsExactly(id, id);
        assertThat(deletes.get()).isEqualTo(2);
        assertThat(dataverseCalls("DELETE", record)).hasSize(1);
    }

    @Test
    void aStalePendingRecordIsRelayedAndAFreshOneLeftToItsPlugIn() throws Exception {
        String stale = createAccount("Outbox Plug-in Died");
        String fresh = createAccount("Outbox Plug-in Sending");
        // a pending record written an hour ago (its plug-in died before deleting it): restored as data already in
        // Dataverse, since the Web API stamps createdon itself
        ObjectNode old = JSON.createObjectNode();
        String staleRecord = UUID.randomUUID().toString();
        old.put(SyncOutboxTable.ID_COLUMN, staleRecord);
        old.put(SyncOutboxTable.ENTITY, "account");
        old.put(SyncOutboxTable.ROW_ID, stale);
        old.put(SyncOutboxTable.STATUS, "pending");
        old.put("createdon", Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString());
        dataverse().restoreRows(OUTBOX, List.of(old));
        String freshRecord = writeRecord("account", fresh, UUID.randomUUID().toString(), "pending", null);

        awaitSynced(stale);
        await().atMost(Duration.ofSeconds(20)).until(() -> dataverse().row(OUTBOX, staleRecord).isEmpty());
        // two more whole runs later the fresh one is still there, untouched, and nothing was sent for its row
        NotifyBuilder runs = new NotifyBuilder(context).fromRoute("outbox-relay").whenCompleted(2).create();
        assertThat(runs.matches(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(dataverse().row(OUTBOX, freshRecord)).hasValueSatisfying(r -> assertThat(r.path(SyncOutboxTable.STATUS).asText()).isEqualTo("pending"));
        assertThat(targetCalls("PUT", fresh)).isEmpty();
        assertThat(row(fresh).path("new_syncstatus").isMissingNode() || row(fresh).path("new_syncstatus").isNull()).isTrue();
    }

    @Test
    void anInvalidRecordIsMarkedInvalidWithTheReasonAndNeverSent() throws Exception {
        String account = createAccount("Outbox Bad Records");
        List<String> sent = countSends();
        String unknownTable = writeRecord("contact", account, null, "failed", null);
        String notAGuid = writeRecord("account", "../accounts", null, "failed", null);
        String oddCorrelation = writeRecord("account", account, "abc\r\nX-Injected: 1", "failed", null);

        for (String record : List.of(unknownTable, notAGuid, oddCorrelation)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> "invalid".equals(dataverse().row(OUTBOX, record).orElseThrow()
                    .path(SyncOutboxTable.STATUS).asText()));
        }
        assertThat(dataverse().row(OUTBOX, unknownTable).orElseThrow().path(SyncOutboxTable.ERROR).asText())
                .startsWith("refused by the relay: ").contains("'contact' is not a synced table");
        assertThat(dataverse().row(OUTBOX, notAGuid).orElseThrow().path(SyncOutboxTable.ERROR).asText())
                .contains("new_rowid must be a GUID, was '../accounts'");
        assertThat(dataverse().row(OUTBOX, oddCorrelation).orElseThrow().path(SyncOutboxTable.ERROR).asText())
                .contains("new_correlationid").doesNotContain("\n");
        // a whole run after the marks: nothing was sent, and the invalid records are not read again (not failed, not pending)
        NotifyBuilder runs = new NotifyBuilder(context).fromRoute("outbox-relay").whenCompleted(2).create();
        assertThat(runs.matches(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(sent).as("no notification for an invalid record").isEmpty();
        assertThat(targetCalls("PUT", account)).isEmpty();
        assertThat(dataverseCalls("PATCH", unknownTable)).hasSize(1);
    }

    @Test
    void moreRecordsThanOnePageAreReadPageByPage() throws Exception {
        List<String> rows = new ArrayList<>();
        List<String> records = new ArrayList<>();
        // all 12 there before the next run reads them (a run could otherwise find only a few)
        context.getRouteController().suspendRoute("outbox-relay");
        for (int i = 0; i < 12; i++) {
            String id = createAccount("Outbox Page " + i);
            rows.add(id);
            records.add(writeRecord("account", id, UUID.randomUUID().toString(), "failed", "timeout"));
        }
        context.getRouteController().resumeRoute("outbox-relay");

        for (String id : rows) {
            awaitSynced(id);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> records.stream().allMatch(r -> dataverse().row(OUTBOX, r).isEmpty()));
        // server-driven paging: a page size of 5 asked for, and the next page followed by its @odata.nextLink
        List<RecordedRequest> reads = dataverse().requests().stream()
                .filter(r -> r.method().equals("GET") && r.path().endsWith("/" + OUTBOX)).toList();
        assertThat(reads).allSatisfy(r -> assertThat(r.header("Prefer")).isEqualTo("odata.maxpagesize=5"));
        assertThat(reads).anySatisfy(r -> assertThat(r.query()).contains("$skiptoken="));
        assertThat(reads.get(0).query()).contains("$filter=Microsoft.Dynamics.CRM.In");
        for (String id : rows) {
            assertThat(targetCalls("PUT", id)).hasSize(1);
        }
    }

    /** The row ids of the notifications the relay sends from now on (in order). */
    private List<String> countSends() throws Exception {
        List<String> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
        AdviceWith.adviceWith(context, "outbox-relay-record", route -> route.weaveById("outbox-relay-send-notification").after()
                .process(exchange -> sent.add(exchange.getProperty("syncSourceRowId", String.class))));
        return sent;
    }

    /** What the plug-in does: a record through the Web API (POST), as the application user. Returns its id. */
    private String writeRecord(String entity, String rowId, String correlationId, String status, String error) throws Exception {
        ObjectNode record = JSON.createObjectNode();
        record.put(SyncOutboxTable.ENTITY, entity);
        record.put(SyncOutboxTable.ROW_ID, rowId);
        record.put(SyncOutboxTable.CORRELATION_ID, correlationId);
        record.put(SyncOutboxTable.STATUS, status);
        record.put(SyncOutboxTable.ERROR, error);
        HttpResponse<String> created = HTTP.send(HttpRequest.newBuilder(URI.create(dataverse().baseUrl() + "/api/data/v9.2/" + OUTBOX))
                .header("Authorization", "Bearer " + token())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(record.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).isEqualTo(204);
        String entityId = created.headers().firstValue("OData-EntityId").orElseThrow();
        return entityId.substring(entityId.lastIndexOf('(') + 1, entityId.length() - 1);
    }

    private String token() throws Exception {
        String form = "grant_type=client_credentials&client_id=local-sync-app&client_secret=local-secret&scope="
                + URLEncoder.encode(dataverse().baseUrl() + "/.default", StandardCharsets.UTF_8);
        HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(dataverse().baseUrl() + "/oauth2/v2.0/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).isEqualTo(200);
        return json(answer.body()).path("access_token").asText();
    }
}
