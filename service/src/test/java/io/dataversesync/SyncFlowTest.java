package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.RecordedRequest;
import org.junit.jupiter.api.Test;

/** The six hops end to end on the embedded broker and the emulators. */
class SyncFlowTest extends SyncTestSupport {

    @Test
    void changeIsMappedSentToTargetAndWrittenBack() {
        String id = createAccount("Fourth Coffee");
        String correlationId = notifyChange("account", id);

        ObjectNode row = awaitSynced(id);
        ObjectNode customer = target().record("customers", id).orElseThrow();
        assertThat(customer.path("name").asText()).isEqualTo("Fourth Coffee");
        assertThat(customer.path("externalId").asText()).isEqualTo(id);
        assertThat(customer.path("city").asText()).isEqualTo("Redmond");
        assertThat(customer.path("active").asBoolean()).isTrue();
        assertThat(row.path("new_targetrowid").asText()).isEqualTo(customer.path("id").asText());
        assertThat(row.path("new_syncedon").asText()).isNotBlank();
        assertThat(row.path("new_syncerror").isNull() || row.path("new_syncerror").isMissingNode()).isTrue();

        // enrich: one GET with $select and the OData headers; write-back: PATCH If-Match * with the sync columns
        RecordedRequest get = dataverseCalls("GET", id).get(0);
        assertThat(get.query()).contains("$select=").contains("accountnumber");
        assertThat(get.headers()).containsEntry("odata-version", "4.0").containsEntry("x-correlation-id", correlationId);
        assertThat(get.headers().get("authorization")).startsWith("Bearer ");
        RecordedRequest patch = dataverseCalls("PATCH", id).get(0);
        assertThat(patch.headers()).containsEntry("if-match", "*");
        assertThat(json(patch.body()).path("new_syncstatus").asText()).isEqualTo("Synced");

        // the target call is an idempotent upsert keyed by the Source Row ID, with the correlation id
        List<RecordedRequest> puts = targetCalls("PUT", id);
        assertThat(puts).hasSize(1);
        assertThat(puts.get(0).path()).isEqualTo("/api/customers/" + id);
        assertThat(puts.get(0).headers().get("idempotency-key")).startsWith("account-" + id + "-");
        assertThat(puts.get(0).headers()).containsEntry("x-correlation-id", correlationId)
                .containsEntry("authorization", "Bearer local-target-key");
        // no transport header leaks into the HTTP call
        assertThat(puts.get(0).headers().keySet()).noneMatch(h -> h.startsWith("jms") || h.startsWith("camel"));
    }

    @Test
    void remoteExecutionContextFromDataverseIsAccepted() throws Exception {
        ObjectNode context = json(new String(getClass().getResourceAsStream("/samples/remote-execution-context-update.json").readAllBytes()));
        String id = createAccount("Contoso via service endpoint");
        context.put("PrimaryEntityId", id);
        send(OUTBOUND, context.toString(), null);

        awaitSynced(id);
        // no JMS correlation id: the RemoteExecutionContext's CorrelationId is used on every hop
        assertThat(targetCalls("PUT", id).get(0).headers()).containsEntry("x-correlation-id", context.path("CorrelationId").asText());
    }

    @Test
    void deletedRowIsDeletedAtTheTarget() {
        String id = createAccount("Short-lived");
        notifyChange("account", id);
        awaitSynced(id);
        dataverse().deleteRow("accounts", id);

        notifyChange("account", id);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
                .until(() -> target().record("customers", id).map(c -> c.path("deleted").asBoolean()).orElse(false));
        assertThat(targetCalls("DELETE", id)).hasSize(1);
        assertThat(dataverseCalls("PATCH", id)).hasSize(1); // only the first sync's write-back: nothing to write to a deleted row
    }
}
