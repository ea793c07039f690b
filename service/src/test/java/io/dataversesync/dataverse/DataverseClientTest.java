package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.dataversesync.sync.EntitySettings;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/** The client against a minimal Web API that reports its remaining budget: user choice, reconciliation, metrics. */
class DataverseClientTest {
    private static final EntitySettings ACCOUNT = new EntitySettings("account", "accounts", "accountid", List.of("accountid", "name"),
            EntitySettings.OnDeleted.DELETE);
    private static final long MS_PER_REQUEST = 40;

    private final ObjectMapper json = new ObjectMapper();
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final List<String> callers = new CopyOnWriteArrayList<>();
    private final AtomicLong timeRemaining = new AtomicLong(1_200_000);
    private final AtomicLong requestsRemaining = new AtomicLong(6000);
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger maxInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile long answerDelayMs;
    private HttpServer server;
    private java.util.concurrent.ExecutorService serverPool;
    private HttpClient http;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            events.add("arrived");
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(answerDelayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            callers.add(exchange.getRequestHeaders().getFirst("Authorization").substring("Bearer token-".length()));
            String path = exchange.getRequestURI().getPath();
            String id = path.substring(path.indexOf('(') + 1, path.indexOf(')'));
            byte[] body = ("{\"accountid\":\"" + id + "\",\"name\":\"n\"}").getBytes(StandardCharsets.UTF_8);
            // as Dataverse writes it: seconds, thousands separator, two decimals ("1,199.96")
            long remainingMs = timeRemaining.addAndGet(-MS_PER_REQUEST);
            exchange.getResponseHeaders().add(RateLimitHeaders.TIME_REMAINING,
                    String.format(java.util.Locale.ROOT, "%,d.%02d", remainingMs / 1000, remainingMs % 1000 / 10));
            exchange.getResponseHeaders().add(RateLimitHeaders.REQUESTS_REMAINING, String.valueOf(requestsRemaining.decrementAndGet()));
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            inFlight.decrementAndGet();
            events.add("answered");
            exchange.close();
        });
        serverPool = java.util.concurrent.Executors.newFixedThreadPool(16);
        server.setExecutor(serverPool);
        server.start();
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        serverPool.shutdownNow();
    }

    private List<DataverseUser> users(long executionMsPerWindow, String... names) {
        return java.util.Arrays.stream(names).map(name -> {
            TokenCredential credential = request -> Mono.just(new AccessToken("token-" + name, OffsetDateTime.now().plusHours(1)));
            DataverseRequestGate gate = new DataverseRequestGate(name, new DataverseRequestGate.Limits(6000, executionMsPerWindow,
                    Duration.ofSeconds(300), 0.9, 48, Duration.ofSeconds(5)), Clock.systemUTC(), meters);
            return new DataverseUser(name, new DataverseTokenProvider(credential, "http://localhost/.default"), gate,
                    new DataverseCostEstimator(new DataverseCostEstimator.Priors(1, 10, 5), 0.2));
        }).toList();
    }

    private DataverseClient client(List<DataverseUser> users) {
        return new DataverseClient(http, "http://127.0.0.1:" + server.getAddress().getPort(), users, json, Duration.ofSeconds(5), 20_000,
                1000, Clock.systemUTC(), meters);
    }

    private void read(DataverseClient client, int times) throws Exception {
        for (int i = 0; i < times; i++) {
            assertThat(client.retrieve(ACCOUNT, ACCOUNT.columns(), UUID.randomUUID().toString(), "c-" + i)).isPresent();
        }
    }

    @Test
    void theReportedBudgetTeachesTheEstimatorAndShowsInTheMetrics() throws Exception {
        List<DataverseUser> users = users(1_200_000, "app-a");
        DataverseClient client = client(users);
        read(client, 1 + 2 * DataverseCostEstimator.ANSWERS_PER_STEP);

        // the first answer gives the baseline (the estimate of 6 ms is counted), each later one the 40 ms charged
        String metrics = meters.scrape();
        assertThat(metrics).contains("dataverse_execution_ms_total{user=\"app-a\"} " + (6 + 16 * MS_PER_REQUEST) + ".0");
        assertThat(metrics).contains("dataverse_execution_ms_remaining{user=\"app-a\"} " + (1_200_000 - 17 * MS_PER_REQUEST) + ".0");
        assertThat(metrics).contains("dataverse_requests_total{kind=\"read\"} 17.0");
        assertThat(users.get(0).costs().estimate(DataverseCostEstimator.Kind.READ, 1)).isGreaterThan(10);
        assertThat(client.estimatedCost(DataverseCostEstimator.Kind.READ, 1)).isEqualTo(users.get(0).costs().estimate(DataverseCostEstimator.Kind.READ, 1));
    }

    @Test
    void untilItsFirstAnswerAUserSendsOneRequestOfAKindAtATime() throws Exception {
        // its cost is the prior's guess until an answer reports it: many guessed requests at once could cross the limit
        answerDelayMs = 100;
        DataverseClient client = client(users(1_200_000, "app-a"));
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<?>> reads = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                reads.add(callers.submit(() -> {
                    read(client, 1);
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> r : reads) {
                r.get();
            }
        } finally {
            callers.shutdownNow();
        }
        assertThat(events.subList(0, 2)).containsExactly("arrived", "answered"); // the first was alone
        assertThat(maxInFlight.get()).as("after the first answer, requests go together").isGreaterThan(1);
    }

    @Test
    void requestsGoToTheUserThatCanSendSoonest() throws Exception {
        List<DataverseUser> users = users(1_200_000, "app-a", "app-b");
        DataverseClient client = client(users);
        read(client, 4);
        assertThat(callers).as("idle users take turns").containsOnly("app-a", "app-b").contains("app-a", "app-b");

        callers.clear();
        users.get(0).gate().pauseFor(Duration.ofSeconds(30)); // app-a got a 429
        read(client, 4);
        assertThat(callers).containsOnly("app-b");

    }

    @Test
    void aUserWithoutExecutionTimeLeftIsPassedOver() throws Exception {
        List<DataverseUser> users = users(1_200_000, "app-a", "app-b");
        DataverseClient client = client(users);
        // app-a's window is spent as far as the server is concerned (another client on the same user)
        DataverseRequestGate spent = users.get(0).gate();
        spent.onResponse(spent.acquire(6), new RateLimitHeaders.Remaining(RateLimitHeaders.UNKNOWN, 0));
        spent.release();
        assertThat(spent.millisUntilSendable(6)).isGreaterThan(290_000);
        read(client, 4);
        assertThat(callers).containsOnly("app-b");
    }

    @Test
    void oneRequestNeverCostsMoreThanTheCapOrTheWindowAdmits() {
        assertThat(client(users(1_200_000, "app-a")).maxRequestCostMs()).isEqualTo(20_000);
        assertThat(client(users(10_000, "app-a")).maxRequestCostMs()).isEqualTo(9_000); // 10 s times the headroom
    }

    @Test
    void theSoonestUserWinsThenTheOneWithMoreFreeSlotsThenTurns() {
        assertThat(DataverseClient.pickUser(new long[] {500, 0, 0}, new int[] {48, 10, 48}, 0)).isEqualTo(2);
        assertThat(DataverseClient.pickUser(new long[] {500, 0, 0}, new int[] {48, 48, 48}, 0)).isEqualTo(1);
        assertThat(DataverseClient.pickUser(new long[] {0, 0, 0}, new int[] {48, 48, 48}, 2)).isEqualTo(2);
        assertThat(DataverseClient.pickUser(new long[] {300, 200, 900}, new int[] {0, 0, 48}, 0)).isEqualTo(1);
    }
}
