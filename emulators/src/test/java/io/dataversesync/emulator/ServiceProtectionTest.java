package io.dataversesync.emulator;

import io.dataversesync.dataverse.odata.ODataBatch;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.dataversesync.emulator.DataverseEmulatorTest.auth;
import static io.dataversesync.emulator.DataverseEmulatorTest.columns;
import static io.dataversesync.emulator.DataverseEmulatorTest.startEmulator;
import static io.dataversesync.emulator.DataverseEmulatorTest.token;
import static io.dataversesync.emulator.TestHttp.get;
import static io.dataversesync.emulator.TestHttp.json;
import static io.dataversesync.emulator.TestHttp.method;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The three service protection limits of learn.microsoft.com, "Service protection API limits": requests, combined
 * execution time (charged by the cost model) and concurrency, and the monitoring headers.
 */
class ServiceProtectionTest {

    static final String TIME_LIMIT_MESSAGE = "Combined execution time of incoming requests exceeded limit of %s "
            + "milliseconds over time window of %d seconds. Decrease number of concurrent requests or reduce the duration "
            + "of requests and try again later.";

    static String id(int n) {
        return String.format(Locale.ROOT, "%08x-0000-4000-8000-%012x", n, n);
    }

    static String api(DataverseEmulator emulator, String relative) {
        return emulator.baseUrl() + DataverseEmulator.API_ROOT + relative;
    }

    static HttpResponse<String> postBatch(DataverseEmulator emulator, String token, List<ODataBatch.Item> items) {
        String boundary = ODataBatch.newBatchBoundary();
        return TestHttp.send(TestHttp.request(api(emulator, "$batch"),
                        auth(token, "Content-Type", "multipart/mixed; boundary=" + boundary))
                .POST(HttpRequest.BodyPublishers.ofString(ODataBatch.writeRequest(boundary, items))).build());
    }

    static List<ODataBatch.Item> updates(int count) {
        List<ODataBatch.Item> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            items.add(ODataBatch.Item.single(ODataBatch.Operation.of("PATCH", "accounts(" + id(i) + ")",
                    "{\"name\":\"updated " + i + "\"}").withHeader("If-Match", "*")));
        }
        return items;
    }

    static void seed(DataverseEmulator emulator, int count) {
        for (int i = 0; i < count; i++) {
            emulator.upsertRow("accounts", id(i), columns("Account " + i, "ACC-" + i));
        }
    }

    // ---------------------------------------------------------------- the cost model

    @Test
    void costModelDefaultsAndHelpers() {
        assertThat(CostModel.DEFAULT).isEqualTo(new CostModel(1, 10, 10, 10, 5));
        assertThat(CostModel.FREE).isEqualTo(new CostModel(0, 0, 0, 0, 0));
        CostModel model = new CostModel(0.5, 20, 10, 7, 5);
        assertThat(model.costOfRead(10)).isEqualTo(10.0);
        assertThat(model.costOfWrite(1, 0, 0)).isEqualTo(25.0);
        assertThat(model.costOfOperations(2, 1, 1, 1)).isEqualTo(38.0);
        assertThat(model.costOf(2, 1, 1, 1)).isEqualTo(43.0);
        assertThat(CostModel.FREE.costOf(100, 100, 100, 100)).isZero();
        assertThatThrownBy(() -> new CostModel(-1, 0, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new CostModel(0, Double.NaN, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aGetCostsItsRowsTimesReadPerRowPlusTheOverhead() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .costModel(new CostModel(2, 0, 0, 0, 3)))) {
            seed(emulator, 7);
            String token = token(emulator);

            assertThat(get(api(emulator, "accounts"), auth(token)).statusCode()).isEqualTo(200);
            assertThat(emulator.executionMillisSpent()).isEqualTo(7 * 2 + 3);

            emulator.resetCounters();
            assertThat(get(api(emulator, "accounts?$top=2"), auth(token)).statusCode()).isEqualTo(200);
            assertThat(emulator.executionMillisSpent()).isEqualTo(2 * 2 + 3);

            emulator.resetCounters();
            assertThat(get(api(emulator, "accounts(" + id(1) + ")"), auth(token)).statusCode()).isEqualTo(200);
            assertThat(emulator.executionMillisSpent()).isEqualTo(2 + 3);

            emulator.resetCounters();
            assertThat(get(api(emulator, "accounts(" + id(99) + ")"), auth(token)).statusCode()).isEqualTo(404);
            assertThat(emulator.executionMillisSpent()).as("no row returned: the overhead alone").isEqualTo(3);

            emulator.resetCounters();
            assertThat(get(api(emulator, "accounts"), "Authorization", "Bearer nope").statusCode()).isEqualTo(401);
            assertThat(emulator.executionMillisSpent()).as("unauthenticated requests cost no user anything").isZero();
        }
    }

    @Test
    void writesCostTheirKindPlusTheOverhead() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .costModel(new CostModel(1, 20, 10, 7, 5)))) {
            String token = token(emulator);
            String row = api(emulator, "accounts(" + id(1) + ")");
            assertThat(method("PATCH", row, "{\"name\":\"a\"}", auth(token, "Content-Type", "application/json"))
                    .statusCode()).isEqualTo(204);
            assertThat(emulator.executionMillisSpent()).as("upsert that creates").isEqualTo(25);
            assertThat(method("PATCH", row, "{\"name\":\"b\"}", auth(token, "Content-Type", "application/json"))
                    .statusCode()).isEqualTo(204);
            assertThat(emulator.executionMillisSpent()).as("+ update").isEqualTo(25 + 15);
            assertThat(method("POST", api(emulator, "accounts"), "{\"name\":\"c\"}",
                    auth(token, "Content-Type", "application/json")).statusCode()).isEqualTo(204);
            assertThat(emulator.executionMillisSpent()).as("+ create").isEqualTo(40 + 25);
            assertThat(method("DELETE", row, null, auth(token)).statusCode()).isEqualTo(204);
            assertThat(emulator.executionMillisSpent()).as("+ delete").isEqualTo(65 + 12);
            assertThat(method("PATCH", row, "{\"name\":\"d\"}",
                    auth(token, "Content-Type", "application/json", "If-Match", "*")).statusCode()).isEqualTo(404);
            assertThat(emulator.executionMillisSpent()).as("+ a failed write: the overhead").isEqualTo(77 + 5);
        }
    }

    @Test
    void aBatchIsOneRequestButEveryOperationCostsInFull() throws Exception {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .costModel(new CostModel(1, 20, 10, 7, 5)))) {
            seed(emulator, 3);
            String token = token(emulator);
            List<ODataBatch.Item> items = List.of(
                    ODataBatch.Item.single(ODataBatch.Operation.of("GET", "accounts(" + id(0) + ")", null)),
                    ODataBatch.Item.single(ODataBatch.Operation.of("GET", "accounts", null)),
                    ODataBatch.Item.changeSet(List.of(
                            ODataBatch.Operation.of("PATCH", "accounts(" + id(0) + ")", "{\"name\":\"u\"}"),
                            ODataBatch.Operation.of("PATCH", "accounts(" + id(9) + ")", "{\"name\":\"new\"}"),
                            ODataBatch.Operation.of("DELETE", "accounts(" + id(1) + ")", null))));

            HttpResponse<String> response = postBatch(emulator, token, items);

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(ODataBatchTest.results(response)).hasSize(3);
            assertThat(emulator.requestCount()).as("one request toward the request-count limit").isEqualTo(1);
            // rows read 1 + 3, one update, one create, one delete, one overhead
            assertThat(emulator.executionMillisSpent()).isEqualTo(4 * 1 + 10 + 20 + 7 + 5);
        }
    }

    // ---------------------------------------------------------------- the execution-time limit

    @Test
    void aBatchOfManyUpdatesSpendsTheExecutionTimeAndTheNextRequestGets429() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .requestBudget(6000).budgetWindow(Duration.ofSeconds(60))
                .executionTimeBudget(Duration.ofMillis(500)))) {
            seed(emulator, 100);
            String token = token(emulator);

            HttpResponse<String> batch = postBatch(emulator, token, updates(100));
            assertThat(batch.statusCode()).as("the request that crosses the line completes").isEqualTo(200);
            assertThat(emulator.executionMillisSpent()).isEqualTo(5 + 100 * 10);
            assertThat(batch.headers().firstValue(DataverseEmulator.HEADER_TIME_REMAINING)).hasValue("0.00");
            assertThat(emulator.rows("accounts").get(99).get("name").asText()).isEqualTo("updated 99");

            HttpResponse<String> throttled = get(api(emulator, "accounts?$top=1"), auth(token));
            assertThat(throttled.statusCode()).isEqualTo(429);
            assertThat(json(throttled).at("/error/code").asText()).isEqualTo("0x80072321");
            assertThat(json(throttled).at("/error/message").asText()).isEqualTo(String.format(TIME_LIMIT_MESSAGE, "500", 60));
            assertThat(Integer.parseInt(throttled.headers().firstValue("Retry-After").orElseThrow()))
                    .as("seconds until the batch's charge leaves the 60 s window").isBetween(58, 60);
            assertThat(throttled.headers().firstValue(DataverseEmulator.HEADER_BURST_REMAINING)).hasValue("5999");
            assertThat(emulator.executionMillisSpent()).as("a refused request costs nothing").isEqualTo(1005);
            assertThat(emulator.throttledByLimit()).isEqualTo(Map.of("requests", 0L, "executionTime", 1L, "concurrency", 0L));
            assertThat(emulator.throttledCount()).isEqualTo(1);

            emulator.resetCounters();
            assertThat(emulator.throttledByLimit()).containsOnly(Map.entry("requests", 0L),
                    Map.entry("executionTime", 0L), Map.entry("concurrency", 0L));
            assertThat(emulator.executionMillisSpent()).isZero();
            assertThat(get(api(emulator, "accounts?$top=1"), auth(token)).statusCode())
                    .as("resetting the counters does not reset the window").isEqualTo(429);
        }
    }

    @Test
    void theExecutionTimeLimitIsPerUserAndRecoversWhenTheWindowSlides() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .budgetWindow(Duration.ofSeconds(1)).executionTimeBudget(Duration.ofMillis(10))
                .additionalClient("second-app", "second-secret"))) {
            String token = token(emulator);
            assertThat(method("PATCH", api(emulator, "accounts(" + id(1) + ")"), "{\"name\":\"x\"}",
                    auth(token, "Content-Type", "application/json")).statusCode()).isEqualTo(204);
            HttpResponse<String> throttled = get(api(emulator, "accounts"), auth(token));
            assertThat(throttled.statusCode()).isEqualTo(429);
            assertThat(throttled.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(json(throttled).at("/error/message").asText()).isEqualTo(String.format(TIME_LIMIT_MESSAGE, "10", 1));

            HttpResponse<String> other = DataverseEmulatorTest.tokenRequest(emulator, "grant_type=client_credentials"
                    + "&client_id=second-app&client_secret=second-secret&scope=" + emulator.baseUrl() + "/.default");
            assertThat(other.statusCode()).isEqualTo(200);
            assertThat(get(api(emulator, "accounts"), auth(json(other).get("access_token").asText())).statusCode())
                    .as("another application user has its own budget").isEqualTo(200);

            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(100))
                    .until(() -> get(api(emulator, "accounts"), auth(token)).statusCode() == 200);
        }
    }

    @Test
    void theRequestCountLimitStaysSeparate() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .requestBudget(3).budgetWindow(Duration.ofSeconds(60)))) {
            String token = token(emulator);
            for (int i = 0; i < 3; i++) {
                assertThat(get(api(emulator, "accounts"), auth(token)).statusCode()).isEqualTo(200);
            }
            HttpResponse<String> throttled = get(api(emulator, "accounts"), auth(token));
            assertThat(throttled.statusCode()).isEqualTo(429);
            assertThat(json(throttled).at("/error/code").asText()).isEqualTo("0x80072322");
            assertThat(json(throttled).at("/error/message").asText())
                    .isEqualTo("Number of requests exceeded the limit of 3 over time window of 60 seconds.");
            assertThat(emulator.throttledByLimit()).containsEntry("requests", 1L).containsEntry("executionTime", 0L);
            assertThat(throttled.headers().firstValue(DataverseEmulator.HEADER_BURST_REMAINING)).hasValue("0");
            assertThat(throttled.headers().firstValue(DataverseEmulator.HEADER_TIME_REMAINING)).as("15 ms spent")
                    .hasValue("1,199.98");
        }
    }

    @Test
    void concurrencyRefusalsAreCountedByKind() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings().maxConcurrentRequests(1))) {
            String token = token(emulator);
            emulator.faults().latency("GET", Duration.ofMillis(300));
            var calls = java.util.stream.IntStream.range(0, 4)
                    .mapToObj(i -> TestHttp.CLIENT.sendAsync(TestHttp.request(api(emulator, "accounts"), auth(token)).GET()
                            .build(), HttpResponse.BodyHandlers.ofString()))
                    .toList();
            long refused = calls.stream().map(java.util.concurrent.CompletableFuture::join)
                    .filter(r -> r.statusCode() == 429).count();
            assertThat(refused).isPositive();
            assertThat(emulator.throttledByLimit().get("concurrency")).isEqualTo(refused);
            assertThat(emulator.throttledByLimit().get("requests")).isZero();
        }
    }

    @Test
    void theDefaultsLetThousandsOfOperationsThrough() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings().requestBudget(6000))) {
            seed(emulator, 1000);
            String token = token(emulator);
            for (int i = 0; i < 3; i++) {
                assertThat(postBatch(emulator, token, updates(1000)).statusCode()).isEqualTo(200);
            }
            assertThat(get(api(emulator, "accounts"), auth(token)).statusCode()).isEqualTo(200);
            assertThat(emulator.executionMillisSpent()).isEqualTo(3 * (5 + 10_000) + 5 + 1000);
            assertThat(emulator.throttledCount()).isZero();
        }
    }

    @Test
    void costAsLatencyDelaysTheAnswerByItsCost() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .costModel(new CostModel(0, 0, 0, 0, 300)).costAsLatency(true))) {
            String token = token(emulator);
            long started = System.nanoTime();
            assertThat(get(api(emulator, "accounts"), auth(token)).statusCode()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        }
        assertThat(new DataverseEmulator.Settings().costAsLatency()).as("off by default").isFalse();
    }

    // ---------------------------------------------------------------- monitoring headers

    @Test
    void everyAnswerCarriesTheRemainingRequestsAndSecondsAndTheyDecrease() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings().requestBudget(100))) {
            String token = token(emulator);

            HttpResponse<String> first = get(api(emulator, "accounts"), auth(token));
            HttpResponse<String> second = method("PATCH", api(emulator, "accounts(" + id(1) + ")"), "{\"name\":\"x\"}",
                    auth(token, "Content-Type", "application/json"));
            HttpResponse<String> third = get(api(emulator, "accounts"), auth(token));
            HttpResponse<String> notFound = get(api(emulator, "accounts(" + id(7) + ")"), auth(token));

            // requests left in the window including this one; execution seconds left, as "1,200.00" (see the doc
            // comment of DataverseEmulator.monitoringHeaders): 5, 15 and 6 ms spent
            assertThat(List.of(first, second, third, notFound)).extracting(r -> r.headers()
                    .firstValue(DataverseEmulator.HEADER_BURST_REMAINING).orElseThrow())
                    .containsExactly("99", "98", "97", "96");
            assertThat(List.of(first, second, third, notFound)).extracting(r -> r.headers()
                    .firstValue(DataverseEmulator.HEADER_TIME_REMAINING).orElseThrow())
                    .containsExactly("1,199.99", "1,199.98", "1,199.97", "1,199.96")
                    .allSatisfy(value -> assertThat(value).matches("\\d{1,3}(,\\d{3})*\\.\\d{2}"));
        }
    }

    @Test
    void headersAreLeftOutWhileTheirLimitIsOff() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings()
                .requestBudget(0).executionTimeBudget(Duration.ZERO))) {
            HttpResponse<String> response = get(api(emulator, "accounts"), auth(token(emulator)));
            assertThat(response.headers().firstValue(DataverseEmulator.HEADER_BURST_REMAINING)).isEmpty();
            assertThat(response.headers().firstValue(DataverseEmulator.HEADER_TIME_REMAINING)).isEmpty();
            assertThat(emulator.executionMillisSpent()).as("still counted").isEqualTo(5);
        }
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings())) {
            HttpResponse<String> response = get(api(emulator, "accounts"), auth(token(emulator)));
            assertThat(response.headers().firstValue(DataverseEmulator.HEADER_BURST_REMAINING))
                    .as("no request budget by default in Java").isEmpty();
            assertThat(response.headers().firstValue(DataverseEmulator.HEADER_TIME_REMAINING)).hasValue("1,199.99");
        }
    }

    @Test
    void secondsAreFormattedLikeDataverse() {
        assertThat(DataverseEmulator.formatSeconds(1_200_000_000L)).isEqualTo("1,200.00");
        assertThat(DataverseEmulator.formatSeconds(1_199_460_000L)).isEqualTo("1,199.46");
        assertThat(DataverseEmulator.formatSeconds(1_199_469_999L)).as("rounded down").isEqualTo("1,199.46");
        assertThat(DataverseEmulator.formatSeconds(5_000L)).isEqualTo("0.00");
        assertThat(DataverseEmulator.formatSeconds(12_345_678_900_000L)).isEqualTo("12,345,678.90");
    }

    @Test
    void headersOfABatchAnswerCountItOnce() {
        try (DataverseEmulator emulator = startEmulator(new DataverseEmulator.Settings().requestBudget(10))) {
            seed(emulator, 20);
            String token = token(emulator);
            HttpResponse<String> batch = postBatch(emulator, token, updates(20));
            assertThat(batch.headers().firstValue(DataverseEmulator.HEADER_BURST_REMAINING)).hasValue("9");
            // 5 + 20 x 10 = 205 ms
            assertThat(batch.headers().firstValue(DataverseEmulator.HEADER_TIME_REMAINING)).hasValue("1,199.79");
            JsonNode row = emulator.row("accounts", id(19)).orElseThrow();
            assertThat(row.get("name").asText()).isEqualTo("updated 19");
        }
    }
}
