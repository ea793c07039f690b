package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.dataversesync.emulator.RecordedRequest;
import org.junit.jupiter.api.Test;

/** Fewer Dataverse requests per change, in the running service: coalesced reads, $batch write-backs, no echo. */
class EfficiencyTest extends SyncTestSupport {

    @Test
    void concurrentChangesAreReadWithInFilterQueriesAndWrittenBackInBatches() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add(createAccount("Batch " + i));
        }
        context.getRouteController().suspendRoute("outbound-sync-consumer");
        ids.forEach(id -> notifyChange("account", id));
        dataverse().clearRequests();
        context.getRouteController().resumeRoute("outbound-sync-consumer");

        ids.forEach(this::awaitSynced);
        List<RecordedRequest> requests = dataverse().requests();
        List<RecordedRequest> inQueries = requests.stream()
                .filter(r -> r.method().equals("GET") && r.query() != null && r.query().contains("Microsoft.Dynamics.CRM.In")).toList();
        List<RecordedRequest> batches = requests.stream().filter(r -> r.path().endsWith("$batch")).toList();
        assertThat(inQueries).isNotEmpty();
        assertThat(batches).isNotEmpty();
        assertThat(batches.get(0).headers().get("prefer")).contains("odata.continue-on-error");
        // 40 rows read and written back with far fewer than the 80 requests of the per-message design
        assertThat(requests).hasSizeLessThan(40);
        ids.forEach(id -> assertThat(target().record("customers", id).orElseThrow().path("name").asText()).startsWith("Batch "));
    }

    @Test
    void theEchoOfOurOwnWriteBackDoesNotCallTheTargetAgain() {
        String id = createAccount("Echo");
        notifyChange("account", id);
        awaitSynced(id);
        assertThat(row(id).path("new_syncedhash").asText()).hasSize(64);

        notifyChange("account", id); // what a plugin step without filtering attributes would send after our PATCH
        await().atMost(Duration.ofSeconds(10)).until(() -> dataverseCalls("GET", id).size() == 2);
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> true);
        assertThat(targetCalls("PUT", id)).hasSize(1);
        assertThat(dataverseCalls("PATCH", id)).hasSize(1);

        changeAccount(id, "telephone1", "+1-425-555-0199"); // a real change does go through
        notifyChange("account", id);
        await().atMost(Duration.ofSeconds(10)).until(() -> targetCalls("PUT", id).size() == 2);
        assertThat(json(targetCalls("PUT", id).get(1).body()).path("phone").asText()).isEqualTo("+1-425-555-0199");
    }
}
