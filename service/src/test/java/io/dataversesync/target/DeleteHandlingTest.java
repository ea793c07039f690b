package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.emulator.TargetEmulator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Deletes, complete, at every subscribed target as it declares (customers and erp delete, marketing soft-deletes):
 * a Delete notification as Dataverse posts it (RemoteExecutionContext, with or without a pre-image), a row restored
 * from the recycle bin is created again, a delete that arrives before the create it follows does not resurrect the
 * row; and the reconciliation with several targets (two of them without a read contract) corrects one target only.
 */
class DeleteHandlingTest extends FanOutSupport {

    @BeforeEach
    void clear() {
        clearTargets();
    }

    String deleteContext(String id, boolean withPreImage) throws Exception {
        ObjectNode context = json(new String(getClass().getResourceAsStream("/samples/remote-execution-context-delete.json").readAllBytes()));
        context.put("PrimaryEntityId", id);
        context.put("CorrelationId", java.util.UUID.randomUUID().toString());
        if (!withPreImage) {
            context.putArray("PreEntityImages");
        }
        return context.toString();
    }

    void awaitAllSynced(String id) {
        await().atMost(Duration.ofSeconds(30)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText()));
    }

    boolean goneEverywhere(String id) {
        return target().record("customers", id).map(c -> c.path("deleted").asBoolean()).orElse(false)
                && ERP.record("debtors", id).map(c -> c.path("deleted").asBoolean()).orElse(false)
                && MARKETING.record("contacts", id).map(c -> !c.path("active").asBoolean() && c.hasNonNull("deletedAt")).orElse(false);
    }

    static List<RecordedRequest> calls(TargetEmulator emulator, String method, String rowId) {
        return emulator.requests().stream().filter(r -> r.method().equals(method) && r.path().endsWith("/" + rowId)).toList();
    }

    @Test
    void aDeleteMessageFromDataverseDeletesOrSoftDeletesEverywhereWithOrWithoutAPreImage() throws Exception {
        String withImage = createAccount("Deleted with a pre-image");
        String without = createAccount("Deleted without one");
        notifyChange("account", withImage);
        notifyChange("account", without);
        awaitAllSynced(withImage);
        awaitAllSynced(without);
        dataverse().deleteRow("accounts", withImage);
        dataverse().deleteRow("accounts", without);

        send(OUTBOUND, deleteContext(withImage, true), null);
        send(OUTBOUND, deleteContext(without, false), null);
        await().atMost(Duration.ofSeconds(30)).until(() -> goneEverywhere(withImage) && goneEverywhere(without));
    }

    @Test
    void aRowRestoredInDataverseIsCreatedAgainEverywhere() throws Exception {
        String id = createAccount("Restored");
        notifyChange("account", id);
        awaitAllSynced(id);
        ObjectNode before = row(id);
        dataverse().deleteRow("accounts", id);
        send(OUTBOUND, deleteContext(id, true), null);
        await().atMost(Duration.ofSeconds(30)).until(() -> goneEverywhere(id));

        // restored from the recycle bin: the same id and columns again, then its notification
        ObjectNode restored = JSON.createObjectNode();
        for (String column : List.of("name", "accountnumber", "telephone1", "emailaddress1", "address1_city", "statecode")) {
            restored.set(column, before.get(column));
        }
        dataverse().upsertRow("accounts", id, restored);
        send(OUTBOUND, "{\"entity\":\"account\",\"sourceRowId\":\"" + id + "\",\"operation\":\"Create\"}", null);
        await().atMost(Duration.ofSeconds(30)).until(() ->
                !target().record("customers", id).orElseThrow().path("deleted").asBoolean()
                        && !ERP.record("debtors", id).orElseThrow().path("deleted").asBoolean()
                        && MARKETING.record("contacts", id).orElseThrow().path("active").asBoolean());
        assertThat(MARKETING.record("contacts", id).orElseThrow().hasNonNull("deletedAt")).as("the soft delete is undone").isFalse();
        awaitAllSynced(id);
    }

    @Test
    void aDeleteForARowThatExistsSendsTheRowInstead() throws Exception {
        String id = createAccount("Still here");
        notifyChange("account", id);
        awaitAllSynced(id);
        changeAccount(id, "name", "Still here, renamed");
        // a stale Delete (the row was re-created since, or restored before the delete was handled)
        send(OUTBOUND, deleteContext(id, false), null);
        await().atMost(Duration.ofSeconds(30)).until(() ->
                "Still here, renamed".equals(target().record("customers", id).orElseThrow().path("name").asText()));
        assertThat(target().record("customers", id).orElseThrow().path("deleted").asBoolean()).isFalse();
        assertThat(calls(target(), "DELETE", id)).isEmpty();
    }

    @Test
    void aDeleteBeforeTheCreateItFollowsDoesNotResurrectTheRow() throws Exception {
        String id = createAccount("Created and deleted at once");
        dataverse().deleteRow("accounts", id);
        // the Delete's notification overtakes the Create's
        send(OUTBOUND, deleteContext(id, true), null);
        send(OUTBOUND, "{\"entity\":\"account\",\"sourceRowId\":\"" + id + "\",\"operation\":\"Create\"}", null);
        String marker = createAccount("Marker after both");
        notifyChange("account", marker);
        awaitAllSynced(marker);
        // both notifications of the row are handled by now (per-row order, and the marker went behind them)
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            for (String queue : List.of(OUTBOUND, "dataverse-changes.customers", "dataverse-changes.marketing", "dataverse-changes.erp")) {
                assertThat(broker().messageCount(queue)).as(queue).isZero();
            }
        });
        for (TargetEmulator t : new TargetEmulator[] {target(), MARKETING, ERP}) {
            assertThat(calls(t, "PUT", id)).isEmpty();
            assertThat(calls(t, "POST", id)).isEmpty();
        }
        assertThat(target().record("customers", id).filter(c -> !c.path("deleted").asBoolean())).isEmpty();
    }

    @Test
    void reconciliationCoversEveryTargetAndCorrectsOnlyTheOneThatDrifted() {
        String id = createAccount("Several targets");
        notifyChange("account", id);
        awaitAllSynced(id);
        ObjectNode fullCompare = json(producer.requestBody("direct:reconcile", "{\"compare\":\"target\"}", String.class));
        assertThat(fullCompare.path("outcome").asText()).isEqualTo("failed");
        assertThat(fullCompare.path("error").asText()).contains("target marketing declares no read contract")
                .contains("sync.target.marketing.read.list-path");

        ObjectNode first = json(producer.requestBody("direct:reconcile", "{}", String.class));
        assertThat(first.path("outcome").asText()).as(first.toString()).isEqualTo("succeeded");
        JsonNode targets = first.path("entities").get(0).path("targets");
        assertThat(targets).extracting(t -> t.path("target").asText() + ":" + t.path("compare").asText())
                .containsExactly("customers:target", "marketing:hash", "erp:hash");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(json(producer.requestBody("direct:reconcile", "{\"dryRun\":true}", String.class)).path("driftRatio").asDouble()).isZero());

        // marketing's hash on the row no longer matches the row's payload (a change its notification never brought)
        changeAccount(id, "new_marketinghash", "0000");
        clearTargets();
        target().clearRequests();
        ObjectNode run = json(producer.requestBody("direct:reconcile", "{}", String.class));
        assertThat(run.path("counts").path("different").asLong()).as(run.toString()).isEqualTo(1);
        JsonNode marketing = run.path("entities").get(0).path("targets").get(1);
        assertThat(marketing.path("examples").path("different")).extracting(JsonNode::asText).containsExactly(id);
        await().atMost(Duration.ofSeconds(30)).until(() -> !"0000".equals(row(id).path("new_marketinghash").asText()));
        assertThat(calls(MARKETING, "POST", id)).hasSize(1);
        assertThat(calls(ERP, "PUT", id)).isEmpty();
        assertThat(calls(target(), "PUT", id)).isEmpty();
    }
}
