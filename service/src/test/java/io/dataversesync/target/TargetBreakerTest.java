package io.dataversesync.target;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each target's circuit breaker and bulkhead: a target down for longer than the whole retry schedule loses nothing
 * and dead-letters nothing (its messages are held without spending retries), the others go on,
 * and everything reaches it after it recovers; a target never gets more calls at once than its bulkhead allows.
 */
class TargetBreakerTest extends FanOutSupport {
    static {
        System.setProperty("sync.target.erp.bulkhead.max-concurrent-calls", "2");
        // above the HTTP component's default of 20 connections per route
        System.setProperty("sync.target.customers.bulkhead.max-concurrent-calls", "24");
    }

    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void clear() {
        clearTargets();
        ERP.concurrency().reset();
    }

    @Test
    void aTargetDownLongerThanTheRetryScheduleLosesNothingAndDeadLettersNothing() throws Exception {
        ERP.faults().errorRate("PUT", 1.0, 503);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            ids.add(createAccount("Outage " + i));
        }
        ids.forEach(id -> notifyChange("account", id));

        // the others are not held up
        await().atMost(Duration.ofSeconds(20)).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_customersstatus").asText())
                && "Synced".equals(row(id).path("new_marketingstatus").asText())));
        // the breaker opens, its messages are held, health says degraded and the metric shows it
        TargetBreakers breakers = context.getRegistry().lookupByNameAndType("targetBreakers", TargetBreakers.class);
        await().atMost(Duration.ofSeconds(10)).until(() -> breakers.state("erp") != CircuitBreaker.State.CLOSED);
        String health = get("/observe/health/ready");
        assertThat(health).contains("degraded").contains("erp");
        assertThat(get("/observe/metrics")).containsPattern("dataverse_sync_target_breaker_state\\{target=\"erp\"} [12]\\.0");

        // down for 3 times the whole retry schedule (3 retries from 50 ms: 350 ms) plus a few open/half-open cycles
        Thread.sleep(6000);
        assertThat(receiveDeadLetter("dataverse-changes.erp", Duration.ofMillis(200))).isNull();
        // nor by the broker's own safety net (a message whose handling failed outside the error policy)
        assertThat(receiveDeadLetter("dataverse-changes", Duration.ofMillis(200))).isNull();
        ids.forEach(id -> assertThat(ERP.record("debtors", id)).isEmpty());

        ERP.faults().clear();
        await().atMost(Duration.ofSeconds(30)).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText())));
        ids.forEach(id -> assertThat(ERP.record("debtors", id)).isPresent());
        assertThat(receiveDeadLetter("dataverse-changes.erp", Duration.ofMillis(200))).isNull();
        await().atMost(Duration.ofSeconds(10)).until(() -> breakers.state("erp") == CircuitBreaker.State.CLOSED);
        assertThat(receiveDeadLetter("dataverse-changes", Duration.ofMillis(200))).isNull();
    }

    @Test
    void aTargetNeverGetsMoreCallsAtOnceThanItsBulkhead() {
        ERP.faults().latency(Duration.ofMillis(200));
        target().faults().latency(Duration.ofMillis(200));
        target().concurrency().reset();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            ids.add(createAccount("Bulkhead " + i));
        }
        ids.forEach(id -> notifyChange("account", id));

        await().atMost(Duration.ofSeconds(30)).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText())));
        assertThat(ERP.concurrency().maxInFlightOfMethod("PUT")).isBetween(1, 2);
        // the other targets are not bound by erp's bulkhead
        assertThat(target().concurrency().maxInFlightOfMethod("PUT")).isGreaterThan(2);
    }

    @Test
    void aTargetGetsAsManyCallsAtOnceAsItsBulkheadAllowsAboveTheHttpComponentsDefaultPool() {
        target().faults().latency(Duration.ofMillis(1500));
        target().concurrency().reset();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add(createAccount("Wide " + i));
        }
        ids.forEach(id -> notifyChange("account", id));

        await().atMost(Duration.ofSeconds(60)).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText())));
        // the pool of each call endpoint follows the bulkhead (routes/target-template.camel.yaml): it held 20 before
        assertThat(target().concurrency().maxInFlightOfMethod("PUT")).isBetween(21, 24);
    }

    private String get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + System.getProperty("test.port.http") + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
