package io.dataversesync.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import io.dataversesync.SyncTestSupport;
import io.dataversesync.dataverse.DataverseBreaker;
import io.dataversesync.target.TargetBreakers;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 11's outage run: Dataverse answering 503 to everything, and separately the target answering 503, for much
 * longer than the whole retry schedule (here 3 retries from 50 ms: 350 ms; the outage lasts
 * {@link #OUTAGE}). Nothing is dead-lettered, nothing is lost, everything is delivered within a minute of recovery;
 * while the dependency is down its breaker holds the messages (RetryCount unchanged) instead of burning their retries,
 * health says degraded and a metric shows it. Breaker timings are shortened through properties (open-ms 1 s).
 */
class OutageTest extends SyncTestSupport {
    private static final Duration OUTAGE = Duration.ofSeconds(6);
    private static final Duration RECOVERY = Duration.ofSeconds(60);
    private static final int CHANGES = 10;

    static {
        System.setProperty("dataverse.breaker.minimum-calls", "2");
        System.setProperty("dataverse.breaker.window-size", "4");
        System.setProperty("dataverse.breaker.open-ms", "1000");
        System.setProperty("dataverse.breaker.half-open-calls", "1");
        System.setProperty("sync.target.customers.breaker.minimum-calls", "2");
        System.setProperty("sync.target.customers.breaker.window-size", "4");
        System.setProperty("sync.target.customers.breaker.open-ms", "1000");
        System.setProperty("sync.target.customers.breaker.half-open-calls", "1");
    }

    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void closed() {
        dataverse().faults().clear();
        target().faults().clear();
        await().atMost(Duration.ofSeconds(20)).until(() -> dataverseBreaker().state() == CircuitBreaker.State.CLOSED
                && targetBreakers().state("customers") == CircuitBreaker.State.CLOSED);
    }

    @Test
    void dataverseDownLongerThanTheRetryScheduleDeadLettersNothingAndLosesNothing() throws Exception {
        List<String> ids = accounts("Dataverse outage");
        dataverse().faults().errorRate(null, 1.0, 503);
        ids.forEach(id -> notifyChange("account", id));

        await().atMost(Duration.ofSeconds(10)).until(() -> dataverseBreaker().state() != CircuitBreaker.State.CLOSED);
        assertThat(get("/observe/health/ready")).contains("degraded").contains("Dataverse");
        assertThat(get("/observe/metrics")).containsPattern("dataverse_sync_dataverse_breaker_state(\\{[^}]*})? [12]\\.0");
        outageLasts(() -> dataverseBreaker().state() != CircuitBreaker.State.CLOSED);
        assertNothingDeadLettered();
        assertThat(ids).noneMatch(id -> target().record("customers", id).isPresent());

        dataverse().faults().clear();
        await().atMost(RECOVERY).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText())));
        ids.forEach(id -> assertThat(target().record("customers", id)).isPresent());
        assertNothingDeadLettered();
    }

    @Test
    void dataverseDownAfterTheDeliveriesHoldsTheAcknowledgementsInsteadOfDeadLetteringThem() throws Exception {
        List<String> ids = accounts("Write-back outage");
        // the outage starts with the write-backs (PATCH, or POST of a $batch): the reads before the deliveries work
        dataverse().faults().errorRate("PATCH", 1.0, 503).errorRate("POST", 1.0, 503);
        ids.forEach(id -> notifyChange("account", id));

        await().atMost(Duration.ofSeconds(20)).until(() -> ids.stream().allMatch(id -> target().record("customers", id).isPresent()));
        await().atMost(Duration.ofSeconds(10)).until(() -> dataverseBreaker().state() != CircuitBreaker.State.CLOSED);
        // then Dataverse is down as a whole
        dataverse().faults().errorRate(null, 1.0, 503);
        outageLasts(() -> dataverseBreaker().state() != CircuitBreaker.State.CLOSED);
        assertNothingDeadLettered();
        assertThat(ids).noneMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText()));

        dataverse().faults().clear();
        await().atMost(RECOVERY).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText())));
        assertNothingDeadLettered();
    }

    @Test
    void theTargetDownLongerThanTheRetryScheduleDeadLettersNothingAndLosesNothing() throws Exception {
        List<String> ids = accounts("Target outage");
        target().faults().errorRate(null, 1.0, 503);
        ids.forEach(id -> notifyChange("account", id));

        await().atMost(Duration.ofSeconds(10)).until(() -> targetBreakers().state("customers") != CircuitBreaker.State.CLOSED);
        assertThat(get("/observe/health/ready")).contains("degraded").contains("customers");
        assertThat(get("/observe/metrics")).containsPattern("dataverse_sync_target_breaker_state\\{target=\"customers\"} [12]\\.0");
        outageLasts(() -> targetBreakers().state("customers") != CircuitBreaker.State.CLOSED);
        assertNothingDeadLettered();
        assertThat(ids).noneMatch(id -> target().record("customers", id).isPresent());

        target().faults().clear();
        await().atMost(RECOVERY).until(() -> ids.stream().allMatch(id -> "Synced".equals(row(id).path("new_syncstatus").asText())));
        ids.forEach(id -> assertThat(target().record("customers", id)).isPresent());
        assertNothingDeadLettered();
    }

    private List<String> accounts(String name) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < CHANGES; i++) {
            ids.add(createAccount(name + " " + i));
        }
        return ids;
    }

    /** The outage goes on for OUTAGE (many times the retry schedule), the breaker not closed all along. */
    private static void outageLasts(BooleanSupplier breakerNotClosed) {
        long end = System.nanoTime() + OUTAGE.toNanos();
        await().atMost(OUTAGE.plusSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
            assertThat(breakerNotClosed.getAsBoolean()).as("breaker not closed during the outage").isTrue();
            return System.nanoTime() - end >= 0;
        });
    }

    private void assertNothingDeadLettered() {
        for (String queue : new String[] {OUTBOUND, ACK, CUSTOMERS_QUEUE, "dataverse-changes"}) {
            assertThat(receiveDeadLetter(queue, Duration.ofMillis(200))).as("dead letter on %s", queue).isNull();
        }
    }

    private DataverseBreaker dataverseBreaker() {
        return context.getRegistry().lookupByNameAndType("dataverseBreaker", DataverseBreaker.class);
    }

    private TargetBreakers targetBreakers() {
        return context.getRegistry().lookupByNameAndType("targetBreakers", TargetBreakers.class);
    }

    private String get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + System.getProperty("test.port.http") + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
