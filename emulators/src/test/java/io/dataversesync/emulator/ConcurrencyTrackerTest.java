package io.dataversesync.emulator;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The per-path concurrency tracker of the emulators, and the restore of emulator data across a service restart.
 * These are the controls that keep the reliability tests from passing vacuously: the tracker must see parallel
 * requests on one path when there are some, and must not see any when requests on a path are sequential.
 */
class ConcurrencyTrackerTest {

    static final String[] AUTH = {"Authorization", "Bearer local-target-key", "Content-Type", "application/json"};
    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static HttpResponse<String> method(String method, String url, String body, String... headers) {
        try {
            return CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).headers(headers)
                    .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    TargetEmulator target;
    ExecutorService pool;

    @BeforeEach
    void start() {
        target = new TargetEmulator(new TargetEmulator.Settings());
        target.start();
        target.faults().latency("PUT", Duration.ofMillis(100));
        pool = Executors.newFixedThreadPool(8);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
        target.close();
    }

    int put(String row, String body) {
        return method("PUT", target.baseUrl() + "/api/customers/" + row, body, AUTH).statusCode();
    }

    @Test
    void sequentialRequestsOnOnePathNeverOverlap() {
        for (int i = 0; i < 5; i++) {
            assertThat(put("row-1", "{\"n\":" + i + "}")).isLessThan(300);
        }
        ConcurrencyTracker c = target.concurrency();
        assertThat(c.maxInFlight("PUT", "/api/customers/row-1")).isEqualTo(1);
        assertThat(c.overlapCount()).isZero();
        assertThat(c.maxInFlightOfMethod("PUT")).isEqualTo(1);
        assertThat(c.inFlightTotal()).isZero();
    }

    @Test
    void parallelRequestsOnOnePathAreCaught() {
        List<CompletableFuture<Integer>> calls = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int n = i;
            calls.add(CompletableFuture.supplyAsync(() -> put("row-1", "{\"n\":" + n + "}"), pool));
        }
        calls.forEach(CompletableFuture::join);
        ConcurrencyTracker c = target.concurrency();
        assertThat(c.maxInFlight("PUT", "/api/customers/row-1")).isGreaterThan(1);
        assertThat(c.overlapCount()).isPositive();
        assertThat(c.maxInFlightByKey()).containsKey("PUT /api/customers/row-1");
        assertThat(c.inFlight("PUT", "/api/customers/row-1")).isZero();
    }

    @Test
    void parallelRequestsOnDistinctPathsCountOnlyInTheTotal() {
        List<CompletableFuture<Integer>> calls = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String row = "row-" + i;
            calls.add(CompletableFuture.supplyAsync(() -> put(row, "{}"), pool));
        }
        calls.forEach(CompletableFuture::join);
        ConcurrencyTracker c = target.concurrency();
        for (int i = 0; i < 4; i++) {
            assertThat(c.maxInFlight("PUT", "/api/customers/row-" + i)).isEqualTo(1);
        }
        assertThat(c.overlapCount()).isZero();
        assertThat(c.maxInFlightOfMethod("PUT")).isGreaterThan(1);
        assertThat(c.maxInFlightTotal()).isGreaterThan(1);

        c.reset();
        assertThat(c.maxInFlightTotal()).isZero();
        assertThat(c.maxInFlight("PUT", "/api/customers/row-0")).isZero();
    }

    @Test
    void targetRecordsSurviveARestoreWithStableIds() {
        put("row-1", "{\"name\":\"one\"}");
        put("row-2", "{\"name\":\"two\"}");
        List<ObjectNode> before = target.records("customers");

        TargetEmulator restarted = new TargetEmulator(new TargetEmulator.Settings());
        restarted.start();
        try {
            restarted.restoreRecords("customers", before);
            assertThat(restarted.records("customers")).isEqualTo(before);
            assertThat(method("PUT", restarted.baseUrl() + "/api/customers/row-3", "{}", AUTH).body()).contains("CUST-000003");
            assertThat(method("PUT", restarted.baseUrl() + "/api/customers/row-1", "{\"name\":\"uno\"}", AUTH).body())
                    .contains("CUST-000001").contains("\"version\":2");
        } finally {
            restarted.close();
        }
    }

    @Test
    void dataverseRowsSurviveARestoreWithGrowingVersions() {
        ObjectMapper json = new ObjectMapper();
        DataverseEmulator first = new DataverseEmulator().registerTable("accounts", "account", "accountid");
        String id = first.upsertRow("accounts", null, json.createObjectNode().put("name", "A"));
        first.upsertRow("accounts", id, json.createObjectNode().put("name", "B"));
        ObjectNode before = first.row("accounts", id).orElseThrow();

        DataverseEmulator second = new DataverseEmulator().registerTable("accounts", "account", "accountid");
        second.restoreRows("accounts", first.rows("accounts"));
        assertThat(second.row("accounts", id).orElseThrow()).isEqualTo(before);
        second.upsertRow("accounts", id, json.createObjectNode().put("name", "C"));
        assertThat(second.row("accounts", id).orElseThrow().path("versionnumber").asLong())
                .isGreaterThan(before.path("versionnumber").asLong());
    }
}
