package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;

/** Health, Prometheus metrics, the emulator views on the service port, and the correlation id on every log line. */
class ObservabilityTest extends SyncTestSupport {
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void readinessIncludesTheBrokerAndTheRoutes() throws Exception {
        HttpResponse<String> ready = get("/observe/health/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).contains("\"status\":\"UP\"").contains("embedded-broker").contains("outbound-sync-consumer");
        assertThat(get("/observe/health/live").statusCode()).isEqualTo(200);

        broker().stop();
        HttpResponse<String> notReady = get("/observe/health/ready");
        assertThat(notReady.statusCode()).isEqualTo(503);
        assertThat(notReady.body()).contains("embedded Artemis broker is not active");
    }

    @Test
    void metricsCountMessagesPerHopAndOutcomeAndEndToEndLatency() throws Exception {
        String id = createAccount("Measured");
        target().faults().failNext("PUT", 1, 503);
        notifyChange("account", id);
        awaitSynced(id);
        org.awaitility.Awaitility.await().until(() -> get("/observe/metrics").body().contains("dataverse_sync_end_to_end_seconds_count 1\n"));

        String metrics = get("/observe/metrics").body();
        assertThat(metrics).contains("dataverse_sync_messages_total{hop=\"call-target\",outcome=\"ok\"} 1.0");
        assertThat(metrics).contains("dataverse_sync_messages_total{hop=\"call-target\",outcome=\"retried\"} 1.0");
        assertThat(metrics).contains("dataverse_sync_messages_total{hop=\"write-back\",outcome=\"ok\"} 1.0");
        assertThat(metrics).contains("dataverse_sync_end_to_end_seconds_bucket");
        // one count per consumed message: the notification once (published), the target's copy twice (retried on the
        // target's own queue, then delivered), its ack once
        assertThat(metrics).contains("dataverse_sync_consumed_total{outcome=\"delivered\",queue=\"dataverse-outbound\"} 1.0");
        assertThat(metrics).contains("dataverse_sync_consumed_total{outcome=\"retried\",queue=\"dataverse-changes.customers\"} 1.0");
        assertThat(metrics).contains("dataverse_sync_consumed_total{outcome=\"delivered\",queue=\"dataverse-changes.customers\"} 1.0");
        assertThat(metrics).contains("dataverse_sync_target_breaker_state{target=\"customers\"} 0.0");
        assertThat(metrics).contains("dataverse_sync_consumed_total{outcome=\"delivered\",queue=\"dataverse-ack\"} 1.0");
        assertThat(metrics).doesNotContain("dataverse_sync_consumed_total{outcome=\"dead_lettered\"");
        // Camel's route gauges and the JVM's in the same registry; not Camel's per-exchange metrics (application.properties)
        assertThat(metrics).contains("camel_routes_running_routes").contains("jvm_memory_used_bytes");
        assertThat(metrics).doesNotContain("camel_exchanges_total");
    }

    @Test
    void emulatorViewsShowRowsWithSyncColumnsAndTargetRecords() throws Exception {
        String id = createAccount("Visible");
        notifyChange("account", id);
        awaitSynced(id);

        String rows = get("/emulator/dataverse/api/data/v9.2/accounts").body();
        assertThat(rows).contains(id).contains("\"new_syncstatus\":\"Synced\"").contains("new_targetrowid");
        assertThat(get("/emulator/target/customers").body()).contains("\"sourceRowId\":\"" + id + "\"");
    }

    @Test
    void everyLogLineOfAJourneyCarriesItsCorrelationId() {
        List<LogEvent> events = new CopyOnWriteArrayList<>();
        LoggerContext logging = (LoggerContext) LogManager.getContext(false);
        AbstractAppender capture = new AbstractAppender("capture", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                events.add(event.toImmutable());
            }
        };
        capture.start();
        logging.getConfiguration().getRootLogger().addAppender(capture, null, null);
        try {
            String id = createAccount("Traced");
            target().faults().failNext("PUT", 1, 503);
            String correlationId = notifyChange("account", id);
            awaitSynced(id);
            org.awaitility.Awaitility.await().until(() -> events.stream().anyMatch(e -> e.getMessage().getFormattedMessage().startsWith("Wrote back")));

            List<LogEvent> journey = events.stream()
                    .filter(e -> e.getMessage().getFormattedMessage().contains(id)).toList();
            assertThat(journey).extracting(e -> e.getMessage().getFormattedMessage())
                    .anyMatch(m -> m.startsWith("Retry 1")).anyMatch(m -> m.startsWith("Synced")).anyMatch(m -> m.startsWith("Wrote back"));
            assertThat(journey).allSatisfy(e -> assertThat(e.getContextData().getValue("correlationId").toString()).isEqualTo(correlationId));
        } finally {
            logging.getConfiguration().getRootLogger().removeAppender("capture");
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + System.getProperty("test.port.http") + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
