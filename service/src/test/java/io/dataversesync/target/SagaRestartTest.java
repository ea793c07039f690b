package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.ProjectFiles;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.TargetEmulator;
import io.dataversesync.emulator.local.LocalEnvironment;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
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
    static final TargetEmulator MDM = new TargetEmulator(new TargetEmulator.Settings().port(FanOutSupport.freePort()).apiKey("mdm-key"));
    static final TargetEmulator CRM = new TargetEmulator(new TargetEmulator.Settings().port(FanOutSupport.freePort()).apiKey("crm-key"));
    static final TargetEmulator ERP = new TargetEmulator(new TargetEmulator.Settings().port(FanOutSupport.freePort()).apiKey("erp-key"));
    static final LocalEnvironment LOCAL = LocalEnvironment.create(new DataverseEmulator.Settings().port(FanOutSupport.freePort())
            .clientId("local-sync-app").clientSecret("local-secret"), FanOutSupport.freePort(), "local-target-key",
            Map.<String, String[]>of("accounts", new String[] {"account", "accountid"}), Map.of());

    static {
        LOCAL.startNow();
        SagaTest.configureSaga(MDM, CRM, ERP);
        // erp's breaker opens after two failed calls: its sagas are held (not retried to exhaustion, not compensated)
        System.setProperty("sync.target.erp.breaker.minimum-calls", "2");
        System.setProperty("sync.target.erp.breaker.window-size", "4");
    }

    private final Path brokerDir = Path.of("target/test-brokers/saga-restart-" + UUID.randomUUID());
    private final int httpPort = FanOutSupport.freePort();

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

    /** One run of the application on this test's ports and broker folder, with the emulators outside it. */
    final class AppRun {
        final Main main = new Main(io.dataversesync.Main.class);
        final CountDownLatch started = new CountDownLatch(1);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile CamelContext context;
        Thread thread;

        AppRun() {
            main.addOverrideProperty("sync.http.port", String.valueOf(httpPort));
            main.addOverrideProperty("sync.routes.location", ProjectFiles.routesLocation());
            main.addOverrideProperty("sync.mappings.location", System.getProperty("test.mappings.location"));
            main.addOverrideProperty("sync.local.emulators.in-process", "false");
            main.addOverrideProperty("sync.local.dataverse-port", String.valueOf(LOCAL.dataverse().port()));
            main.addOverrideProperty("sync.local.target-port", String.valueOf(LOCAL.target().port()));
            main.addOverrideProperty("sync.local.broker.data-dir", brokerDir.toString());
            main.addOverrideProperty("sync.local.broker.redelivery-delay-ms", "100");
            main.addOverrideProperty("sync.policy.base-delay-ms", "50");
            main.addOverrideProperty("sync.policy.max-retries", "3");
            main.addOverrideProperty("sync.policy.jitter", "0");
            main.addOverrideProperty("dataverse.timeout-ms", "5000");
            main.addMainListener(new MainListenerSupport() {
                @Override
                public void beforeStart(BaseMainSupport support) {
                    context = support.getCamelContext();
                }

                @Override
                public void afterStart(BaseMainSupport support) {
                    started.countDown();
                }
            });
        }

        void start() throws Exception {
            thread = new Thread(() -> {
                try {
                    main.run();
                } catch (Throwable e) {
                    failure.set(e);
                } finally {
                    started.countDown();
                }
            }, "saga-app-run");
            thread.start();
            assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();
            assertThat(failure.get()).isNull();
        }

        void stop() throws InterruptedException {
            main.completed();
            thread.join(TimeUnit.MINUTES.toMillis(2));
            assertThat(thread.isAlive()).isFalse();
            assertThat(failure.get()).isNull();
        }
    }
}
