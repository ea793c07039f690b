package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.emulator.TargetEmulator;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One change reaches every subscribed target through the topic; a failing target never holds up the others, and
 * its retries and dead letters are its own. The second and third targets exist only as files and properties of
 * this test (FanOutSupport).
 */
class FanOutTest extends FanOutSupport {
    private static final String MARKETING_QUEUE = "dataverse-changes.marketing";

    @BeforeEach
    void clear() {
        clearTargets();
    }

    @Test
    void everyTargetReceivesTheChangeOnceAndTheRowShowsEachTargetAndTheOverallStatus() {
        String id = createAccount("Fabrikam Fan-out");
        String correlationId = notifyChange("account", id);

        ObjectNode row = awaitAllSynced(id);
        ObjectNode customer = target().record("customers", id).orElseThrow();
        ObjectNode contact = MARKETING.record("contacts", id).orElseThrow();
        ObjectNode debtor = ERP.record("debtors", id).orElseThrow();
        assertThat(customer.path("name").asText()).isEqualTo("Fabrikam Fan-out");
        assertThat(contact.path("company").asText()).isEqualTo("Fabrikam Fan-out");
        assertThat(debtor.path("debtorName").asText()).isEqualTo("Fabrikam Fan-out");
        // each target's own write-back columns
        assertThat(row.path("new_targetrowid").asText()).isEqualTo(customer.path("id").asText());
        assertThat(row.path("new_marketingid").asText()).isEqualTo(contact.path("id").asText());
        assertThat(row.path("new_erpid").asText()).isEqualTo(debtor.path("id").asText());
        assertThat(row.path("new_customersstatus").asText()).isEqualTo("Synced");
        assertThat(row.path("new_marketingstatus").asText()).isEqualTo("Synced");
        assertThat(row.path("new_erpstatus").asText()).isEqualTo("Synced");

        // each target called once, with its own contract and credentials, and the same correlation id
        assertThat(targetCalls("PUT", id)).hasSize(1);
        RecordedRequest post = calls(MARKETING, "POST", id).get(0);
        assertThat(calls(MARKETING, "POST", id)).hasSize(1);
        assertThat(post.path()).isEqualTo("/api/contacts/" + id);
        assertThat(post.headers()).containsEntry("x-api-key", "marketing-key").containsEntry("x-correlation-id", correlationId)
                .doesNotContainKey("authorization");
        assertThat(calls(ERP, "PUT", id)).hasSize(1);
        assertThat(calls(ERP, "PUT", id).get(0).headers()).containsEntry("authorization", "Bearer erp-key");

        // Dataverse read the row once for all three targets (the write-backs' status reads come on top)
        long reads = dataverseCalls("GET", id).size();
        assertThat(reads).isLessThanOrEqualTo(1 + 3);
    }

    @Test
    void aTargetFailingTransientlyIsRetriedAloneAndTheOthersAreCalledOnce() {
        ERP.faults().failNext("PUT", 2, 503);
        String id = createAccount("Transient ERP");
        notifyChange("account", id);

        awaitAllSynced(id);
        assertThat(calls(ERP, "PUT", id)).hasSize(3);
        assertThat(targetCalls("PUT", id)).hasSize(1);
        assertThat(calls(MARKETING, "POST", id)).hasSize(1);
        assertThat(row(id).path("new_erpid").asText()).isEqualTo(ERP.record("debtors", id).orElseThrow().path("id").asText());
    }

    @Test
    void aTargetFailingForGoodIsDeadLetteredOnItsOwnQueueAndTheRowSaysFailed() {
        MARKETING.faults().errorRate("POST", 1.0, 400);
        String id = createAccount("Refused by marketing");
        notifyChange("account", id);

        Exchange deadLetter = receiveDeadLetter(MARKETING_QUEUE, Duration.ofSeconds(20));
        assertThat(deadLetter).isNotNull();
        assertThat(deadLetter.getMessage().getHeader("DeadLetterReason", String.class)).isEqualTo("TargetHttp400");
        await().atMost(Duration.ofSeconds(20)).until(() -> "Synced".equals(row(id).path("new_customersstatus").asText())
                && "Synced".equals(row(id).path("new_erpstatus").asText()) && "Failed".equals(row(id).path("new_marketingstatus").asText()));
        ObjectNode row = row(id);
        assertThat(row.path("new_syncstatus").asText()).isEqualTo("Failed");
        assertThat(row.path("new_syncerror").asText()).startsWith("marketing: TargetHttp400");
        assertThat(calls(MARKETING, "POST", id)).hasSize(1); // a 400 is not retried
        assertThat(receiveDeadLetter("dataverse-changes.customers", Duration.ofMillis(200))).isNull();
        assertThat(receiveDeadLetter("dataverse-changes.erp", Duration.ofMillis(200))).isNull();
    }

    @Test
    void aDeletedRowIsDeletedOrSoftDeletedAsEachTargetDeclares() {
        String id = createAccount("Leaving");
        notifyChange("account", id);
        awaitAllSynced(id);
        dataverse().deleteRow("accounts", id);
        notifyChange("account", id);

        await().atMost(Duration.ofSeconds(20)).until(() -> target().record("customers", id).orElseThrow().path("deleted").asBoolean()
                && ERP.record("debtors", id).orElseThrow().path("deleted").asBoolean()
                && !MARKETING.record("contacts", id).orElseThrow().path("active").asBoolean());
        ObjectNode contact = MARKETING.record("contacts", id).orElseThrow();
        assertThat(contact.path("deleted").asBoolean()).isFalse(); // soft: still there, marked inactive
        assertThat(contact.path("company").asText()).isEqualTo("Leaving");
        assertThat(calls(MARKETING, "PATCH", id)).hasSize(1);
    }

    private ObjectNode awaitAllSynced(String id) {
        await().atMost(Duration.ofSeconds(30)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText()));
        return row(id);
    }

    private static List<RecordedRequest> calls(TargetEmulator emulator, String method, String rowId) {
        return emulator.requests().stream().filter(r -> r.method().equals(method) && r.path().endsWith("/" + rowId)).toList();
    }
}
