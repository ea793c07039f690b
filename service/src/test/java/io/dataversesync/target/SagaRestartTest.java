package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.TargetEmulator;
import io.dataversesync.emulator.local.LocalEnvironment;
import io.dataversesync.reliability.ServiceProcess;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The saga's state lives in its messages on the persistent broker, not in the service: the service stopped in the
 * middle of sagas (two steps done, the third failing) and started again on the same broker folder finishes every
 * saga. Dataverse, the targets and the broker journal outlive both runs, as they would a real restart; the
 * application runs twice in this JVM the way io.dataversesync.Main runs it.
 */
class SagaRestartTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ROWS = 6;
    static final TargetEmulator MDM = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free()).apiKey("mdm-key"));
    static final TargetEmulator CRM = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free()).apiKey("crm-key"));
    static final TargetEmulator ERP = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free()).apiKey("erp-key"));
    static final LocalEnvironment LOCAL = LocalEnvironment.create(new DataverseEmulator.Settings().port(FreePorts.free())
            .clientId("local-sync-app").clientSecret("local-secret"), FreePorts.free(), "local-target-key",
            Map.<String, String[]>of("accounts", new String[] {"account", "accountid"}), Map.of());

    static {
        LOCAL.startNow();
        SagaTest.configureSaga(MDM, CRM, ERP);
        // erp's breaker opens after two failed calls: its sagas are held (not retried to exhaustion, not compensated)
        System.setProperty("sync.target.erp.breaker.minimum-calls", "2");
        System.setProperty("sync.target.erp.breaker.window-size", "4");
    }

    private final Path brokerDir = Path.of("target/test-brokers/saga-restart-" + UUID.randomUUID());
    private final int httpPort = FreePorts.free();

    @AfterAll
    static void stopEmulators() {
        MDM.stop();
        CRM.stop();
        ERP.stop();
        LOCAL.stop();
    }

    @Test
    void sagasStoppedMidwayFinishAfterARestart() throws Exception {
        ERP.faults().errorRate("PUT", 1.0, 503);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            ObjectNode row = JSON.createObjectNode().put("name", "Restarted saga " + i).put("accountnumber", "R-" + i);
            ids.add(LOCAL.dataverse().upsertRow("accounts", null, row));
        }

        AppRun first = new AppRun();
        first.start();
        ProducerTemplate producer = first.context.createProducerTemplate();
        ids.forEach(id -> producer.sendBody("jms:queue:dataverse-outbound", "{\"entity\":\"account\",\"sourceRowId\":\"" + id + "\",\"operation\":\"Update\"}"));
        // two steps done, the third failing: the sagas wait in the broker, between retries or held by erp's breaker
        await().atMost(Duration.ofSeconds(30)).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_crmstatus").asText())));
        assertThat(ERP.records("debtors")).isEmpty();
        first.stop();

        ERP.faults().clear();
        AppRun second = new AppRun();
        second.start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText())));
            for (String id : ids) {
                String partyId = MDM.record("parties", id).orElseThrow().path("id").asText();
                assertThat(ERP.record("debtors", partyId)).as("erp has %s with its master-data id", id).isPresent();
                assertThat(row(id).path("new_erpstatus").asText()).isEqualTo("Synced");
            }
            // nothing compensated, nothing dead-lettered
            assertThat(MDM.requests()).noneMatch(r -> r.method().equals("DELETE"));
            EmbeddedBroker broker = second.context.getRegistry().lookupByNameAndType("embeddedBroker", EmbeddedBroker.class);
            for (String queue : List.of("dataverse-changes.mdm", "dataverse-changes.crm", "dataverse-changes.erp", "dataverse-outbound", "dataverse-ack")) {
                assertThat(broker.messageCount(queue + ".DLQ")).as(queue + ".DLQ").isZero();
            }
        } finally {
            second.stop();
        }
    }

    private static ObjectNode row(String id) {
        return LOCAL.dataverse().row("accounts", id).orElseThrow();
    }

    /** One run of the application in this JVM ({@link ServiceProcess.InJvm}), with the emulators outside it. */
    final class AppRun {
        final ServiceProcess.InJvm service;
        volatile CamelContext context;

        AppRun() {
            Map<String, String> properties = ServiceProcess.settings(httpPort, LOCAL.dataverse().port(), LOCAL.target().port(), brokerDir);
            properties.put("sync.mappings.location", System.getProperty("test.mappings.location"));
            properties.put("sync.policy.max-retries", "3");
            service = new ServiceProcess.InJvm("saga-app-run", properties, camel -> context = camel);
        }

        void start() throws Exception {
            service.start();
        }

        void stop() throws InterruptedException {
            service.stop();
        }
    }
}
