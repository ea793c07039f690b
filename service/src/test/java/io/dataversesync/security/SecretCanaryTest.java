package io.dataversesync.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.dataversesync.SyncTestSupport;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, secrets: with canary values for the target's key, the Dataverse client secret and a Service Bus
 * connection string, no canary appears in the logs (both formats, from start-up on), the metrics, the health output,
 * dead-letter reasons and descriptions, the rows' error column, or any HTTP answer of the service, while the service
 * works with them (syncs, dead-letters a change the target refuses, refreshes its Dataverse token).
 */
class SecretCanaryTest extends SyncTestSupport {
    private static final String TARGET_KEY = "CanaryTargetKey-3f9a71c0";
    private static final String DATAVERSE_SECRET = "CanaryDvSecret-b81c42d7";
    private static final String SERVICE_BUS_KEY = "CanarySbKey-5d2e90aa";
    private static final List<String> CANARIES = List.of(TARGET_KEY, DATAVERSE_SECRET, SERVICE_BUS_KEY);
    /** From before the application starts: start-up logs are where configuration is most often printed. */
    private static final LogCapture LOGS;

    static {
        System.setProperty("sync.local.target-api-key", TARGET_KEY);
        System.setProperty("dataverse.auth.client-secret", DATAVERSE_SECRET);
        System.setProperty("sync.servicebus.common-options", "connectionString=RAW(Endpoint=sb://canary-ns.servicebus.windows.net/;"
                + "SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + SERVICE_BUS_KEY + ")&credentialType=CONNECTION_STRING");
        LOGS = new LogCapture();
    }

    private final HttpClient http = HttpClient.newHttpClient();

    @AfterAll
    static void stopCapture() {
        LOGS.close();
    }

    @Test
    void noCanaryLeavesTheService() throws Exception {
        // the secrets are in use: a sync (target key, Dataverse token from the client secret) ...
        String synced = createAccount("Canary synced");
        notifyChange("account", synced);
        awaitSynced(synced);
        // ... a target refusing the key (401: permanent, dead-lettered, the row marked Failed) ...
        String refused = createAccount("Canary refused");
        target().faults().failNext("PUT", 1, 401);
        notifyChange("account", refused);
        Exchange targetDeadLetter = receiveDeadLetter(CUSTOMERS_QUEUE, Duration.ofSeconds(15));
        assertThat(targetDeadLetter).isNotNull();
        await().atMost(Duration.ofSeconds(15)).until(() -> "Failed".equals(row(refused).path("new_syncstatus").asText()));
        // ... Dataverse refusing a read (400: dead-lettered from the outbound queue) ...
        String unreadable = createAccount("Canary unreadable");
        dataverse().faults().failNext("GET", 1, 400);
        notifyChange("account", unreadable);
        Exchange outboundDeadLetter = receiveDeadLetter(OUTBOUND, Duration.ofSeconds(15));
        assertThat(outboundDeadLetter).isNotNull();

        List<String> exposed = new ArrayList<>();
        for (Exchange deadLetter : List.of(targetDeadLetter, outboundDeadLetter)) {
            deadLetter.getMessage().getHeaders().forEach((k, v) -> exposed.add(k + "=" + v));
            exposed.add(deadLetter.getMessage().getBody(String.class));
        }
        for (String id : List.of(synced, refused, unreadable)) {
            exposed.add(row(id).toString());
        }
        for (String path : List.of("/observe/health", "/observe/health/ready", "/observe/health/live", "/observe/metrics", "/observe/info",
                "/observe", "/observe/routes", "/", "/does-not-exist", "/emulator/target/customers",
                "/emulator/dataverse/api/data/v9.2/accounts")) {
            exposed.add(answer("GET", path));
        }
        exposed.add(answer("POST", "/observe/health"));
        exposed.add(answer("OPTIONS", "/observe/metrics"));
        String metrics = answer("GET", "/observe/metrics");
        assertThat(metrics).contains("dataverse_sync");
        assertThat(answer("GET", "/observe/health")).contains("UP");

        await().atMost(Duration.ofSeconds(10)).until(() -> LOGS.plain().contains("Dead-lettered"));
        assertThat(LOGS.plain()).contains("Synced account");
        assertThat(LOGS.json()).contains("Synced account");
        exposed.add(LOGS.plain());
        exposed.add(LOGS.json());
        for (String text : exposed) {
            for (String canary : CANARIES) {
                assertThat(text).as("where %s must not appear", canary).doesNotContain(canary);
            }
        }
    }

    /** Status, headers and body of an answer of the service's HTTP server. */
    private String answer(String method, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + System.getProperty("test.port.http") + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        StringBuilder all = new StringBuilder().append(r.statusCode()).append('\n');
        for (Map.Entry<String, List<String>> h : r.headers().map().entrySet()) {
            all.append(h.getKey()).append(": ").append(h.getValue()).append('\n');
        }
        return all.append(r.body()).toString();
    }
}
