package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.emulator.TargetEmulator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The saga of Microsoft's "Saga pattern with Dataverse", declared in files only (src/test/resources/saga): the
 * master-data system assigns an id (mdm), the CRM account is created with it (crm), the ERP receives the row with
 * that id (erp). Each step has its own queue, consumer and retries; a definitive error at step k compensates
 * steps k-1 ... 1 in that order, each on its own queue; the state travels in the messages.
 */
class SagaTest extends SyncTestSupport {
    static final TargetEmulator MDM = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free()).apiKey("mdm-key"));
    static final TargetEmulator CRM = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free()).apiKey("crm-key"));
    static final TargetEmulator ERP = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free()).apiKey("erp-key"));

    static {
        configureSaga(MDM, CRM, ERP);
    }

    /** Starts the three steps' emulators and declares the saga onboarding = mdm, crm, erp by files and properties. */
    static void configureSaga(TargetEmulator mdm, TargetEmulator crm, TargetEmulator erp) {
        mdm.start();
        crm.start();
        erp.start();
        FanOutSupport.addTargetFiles("saga");
        System.setProperty("sync.targets", "customers,mdm,crm,erp");
        System.setProperty("sync.sagas", "onboarding");
        System.setProperty("sync.saga.onboarding.steps", "mdm,crm,erp");
        FanOutSupport.target("mdm", mdm, "bearer", "mdm-key", "new_mdmid", "new_mdmhash", "new_mdmstatus");
        FanOutSupport.target("crm", crm, "bearer", "crm-key", "new_crmid", "new_crmhash", "new_crmstatus");
        FanOutSupport.target("erp", erp, "bearer", "erp-key", "new_erpid", "new_erphash", "new_erpstatus");
    }

    @BeforeEach
    void clear() {
        for (TargetEmulator t : List.of(MDM, CRM, ERP)) {
            t.faults().clear();
            t.clearRequests();
        }
    }

    @Test
    void theStepsRunInOrderAndEachGetsTheIdsOfTheStepsBeforeIt() {
        String id = createAccount("Saga Traders");
        notifyChange("account", id);

        await().atMost(Duration.ofSeconds(30)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText()));
        String partyId = MDM.record("parties", id).orElseThrow().path("id").asText();
        ObjectNode account = CRM.record("accounts", id).orElseThrow();
        assertThat(account.path("masterDataId").asText()).isEqualTo(partyId);
        // the ERP keys its debtor by the master-data id and gets the CRM's id too
        ObjectNode debtor = ERP.record("debtors", partyId).orElseThrow();
        assertThat(debtor.path("debtorName").asText()).isEqualTo("Saga Traders");
        assertThat(debtor.path("crmId").asText()).isEqualTo(account.path("id").asText());
        ObjectNode row = row(id);
        assertThat(row.path("new_mdmid").asText()).isEqualTo(partyId);
        assertThat(row.path("new_erpid").asText()).isEqualTo(debtor.path("id").asText());
        assertThat(row.path("new_mdmstatus").asText()).isEqualTo("Synced");
        assertThat(row.path("new_crmstatus").asText()).isEqualTo("Synced");
        assertThat(row.path("new_erpstatus").asText()).isEqualTo("Synced");
        // in order: the CRM call came after the master-data answer, the ERP call after the CRM's
        assertThat(first(CRM, "PUT").at()).isAfterOrEqualTo(first(MDM, "PUT").at());
        assertThat(first(ERP, "PUT").at()).isAfterOrEqualTo(first(CRM, "PUT").at());
    }

    @Test
    void aStepFailingTransientlyIsRetriedAndNothingIsCompensated() {
        CRM.faults().failNext("PUT", 2, 503);
        String id = createAccount("Saga Retry");
        notifyChange("account", id);

        await().atMost(Duration.ofSeconds(30)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText()));
        assertThat(CRM.requests().stream().filter(r -> r.method().equals("PUT")).count()).isEqualTo(3);
        assertThat(MDM.requests().stream().filter(r -> r.method().equals("PUT")).count()).isEqualTo(1);
        assertThat(MDM.requests()).noneMatch(r -> r.method().equals("DELETE"));
        assertThat(CRM.requests()).noneMatch(r -> r.method().equals("PATCH"));
    }

    @Test
    void aDefinitiveErrorAtTheLastStepCompensatesTheStepsBeforeItInReverseOrder() {
        ERP.faults().errorRate("PUT", 1.0, 422);
        String id = createAccount("Saga Refused");
        notifyChange("account", id);

        // the saga has ended once its first step is compensated (the overall status says Compensated from the first
        // compensated step on; the steps' statuses show how far the compensation got)
        await().atMost(Duration.ofSeconds(30)).until(() -> "Compensated".equals(row(id).path("new_mdmstatus").asText()));
        ObjectNode row = row(id);
        assertThat(row.path("new_syncstatus").asText()).isEqualTo("Compensated");
        assertThat(row.path("new_erpstatus").asText()).isEqualTo("Failed");
        assertThat(row.path("new_crmstatus").asText()).isEqualTo("Compensated");
        assertThat(row.path("new_mdmstatus").asText()).isEqualTo("Compensated");
        assertThat(row.path("new_mdmid").isNull()).isTrue();
        assertThat(row.path("new_syncerror").asText()).contains("saga onboarding").contains("step erp failed").contains("TargetHttp422");
        // crm's compensation (PATCH status cancelled) before mdm's (DELETE), as the emulators recorded them
        RecordedRequest crmUndo = first(CRM, "PATCH");
        RecordedRequest mdmUndo = first(MDM, "DELETE");
        assertThat(crmUndo.body()).contains("cancelled");
        assertThat(CRM.record("accounts", id).orElseThrow().path("status").asText()).isEqualTo("cancelled");
        assertThat(MDM.record("parties", id).orElseThrow().path("deleted").asBoolean()).isTrue();
        assertThat(mdmUndo.at()).isAfterOrEqualTo(crmUndo.at());
        assertThat(receiveDeadLetter("dataverse-changes.erp", Duration.ofMillis(200))).isNull();
        // the other subscriber of the table is not part of the saga: it has the row
        assertThat(target().record("customers", id)).isPresent();
    }

    @Test
    void aCompensationFailingForGoodIsDeadLetteredWithTheSagaId() {
        ERP.faults().errorRate("PUT", 1.0, 400);
        MDM.faults().errorRate("DELETE", 1.0, 400);
        String id = createAccount("Saga Stuck");
        notifyChange("account", id);

        var deadLetter = receiveDeadLetter("dataverse-changes.mdm-compensation", Duration.ofSeconds(30));
        assertThat(deadLetter).isNotNull();
        assertThat(deadLetter.getMessage().getHeader("DeadLetterErrorDescription", String.class)).contains("saga=onboarding ");
        // the write-backs go through the ack queue, the failed compensation's mark directly: either may land first
        await().atMost(Duration.ofSeconds(10)).until(() -> "CompensationFailed".equals(row(id).path("new_mdmstatus").asText())
                && "Compensated".equals(row(id).path("new_crmstatus").asText()));
        assertThat(row(id).path("new_syncstatus").asText()).isEqualTo("Failed");
    }

    private static RecordedRequest first(TargetEmulator emulator, String method) {
        return emulator.requests().stream().filter(r -> r.method().equals(method)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + method + " recorded"));
    }
}
