package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.sun.net.httpserver.HttpServer;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.target.TargetCatalog;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * Late reads (a target's copy read again, a retry's read) wait for their batch up to the late window, their consumer
 * threads with them: a batch holding every thread of its queue can grow no more and goes at once, while a trickle
 * from another queue still waits to share its request. Against a minimal Web API on loopback that answers In-filter
 * queries with the rows asked for; the window here (60 s) is far longer than a read may wait (10 s), so a batch that
 * waited its window fails the read.
 */
class LateReadBatchTest {
    private static final EntitySettings ACCOUNT = new EntitySettings("account", "accounts", "accountid", List.of("accountid", "name"),
            EntitySettings.OnDeleted.DELETE);
    private static final String TARGET_QUEUE = "dataverse-changes.customers";
    private static final Pattern GUID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final ObjectMapper json = new ObjectMapper();
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger requests = new AtomicInteger();
    private final DefaultCamelContext camel = new DefaultCamelContext();
    private HttpServer server;
    private ScheduledExecutorService timer;
    private ExecutorService workers;
    private ExecutorService consumers;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            ArrayNode rows = json.createArrayNode();
            Matcher ids = GUID.matcher(URLDecoder.decode(exchange.getRequestURI().getRawQuery(), StandardCharsets.UTF_8));
            while (ids.find()) {
                rows.addObject().put("accountid", ids.group()).put("name", "n").put("@odata.etag", "W/\"1\"");
            }
            byte[] body = json.writeValueAsBytes(json.createObjectNode().set("value", rows));
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        timer = Executors.newSingleThreadScheduledExecutor();
        workers = Executors.newCachedThreadPool();
        consumers = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stop() {
        consumers.shutdownNow();
        workers.shutdownNow();
        timer.shutdownNow();
        server.stop(0);
    }

    @Test
    void aLateBatchHoldingEveryThreadOfItsQueueGoesAtOnceWhileATrickleStillWaitsItsWindow() throws Exception {
        DataverseHops hops = hops();
        hops.lateReadThreads(queue -> TARGET_QUEUE.equals(queue) ? 3 : 32);

        // an outbound retry's read (a queue of 32 threads), alone: it waits to share its request
        CompletableFuture<Exchange> trickle = enrichAsync(hops, "dataverse-outbound", 1);
        List<CompletableFuture<Exchange>> copies = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            copies.add(enrichAsync(hops, TARGET_QUEUE, 0));
        }

        for (CompletableFuture<Exchange> copy : copies) {
            Exchange done = copy.get(20, TimeUnit.SECONDS);
            assertThat(done.getException()).as("the read of a copy").isNull();
            assertThat(done.getMessage().getBody(String.class)).contains(done.getProperty(SyncProperties.SOURCE_ROW_ID, String.class));
        }
        // the three copies' reads went as one query; the outbound retry's read did not go with them
        assertThat(requests.get()).isEqualTo(1);
        assertThat(trickle).isNotDone();
    }

    private CompletableFuture<Exchange> enrichAsync(DataverseHops hops, String queue, int retryCount) {
        Exchange exchange = new DefaultExchange(camel);
        exchange.setProperty(SyncProperties.ENTITY, "account");
        exchange.setProperty(SyncProperties.SOURCE_ROW_ID, UUID.randomUUID().toString());
        exchange.setProperty(SyncProperties.QUEUE, queue);
        exchange.setProperty(SyncProperties.RETRY_COUNT, retryCount);
        if (TARGET_QUEUE.equals(queue)) {
            exchange.setProperty(SyncProperties.TARGET, "customers");
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                hops.enrich(exchange);
            } catch (Exception e) {
                exchange.setException(e);
            }
            return exchange;
        }, consumers);
    }

    private DataverseHops hops() {
        TokenCredential credential = request -> Mono.just(new AccessToken("token", OffsetDateTime.now().plusHours(1)));
        DataverseRequestGate gate = new DataverseRequestGate("app", new DataverseRequestGate.Limits(6000, 1_200_000,
                Duration.ofSeconds(300), 0.9, 48, Duration.ofSeconds(5)), Clock.systemUTC(), meters);
        DataverseUser user = new DataverseUser("app", new DataverseTokenProvider(credential, "http://localhost/.default"), gate,
                new DataverseCostEstimator(new DataverseCostEstimator.Priors(1, 10, 5), 0.2));
        DataverseClient client = new DataverseClient(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build(),
                "http://127.0.0.1:" + server.getAddress().getPort(), List.of(user), json, Duration.ofSeconds(5), 20_000, 1000,
                Clock.systemUTC(), meters);
        return new DataverseHops(client, new EntityCatalog(List.of(ACCOUNT)), new TargetCatalog(List.of()),
                new WriteBackColumns("new_syncstatus", "new_syncedat", "new_syncerror", 2000), json, Clock.systemUTC(),
                // fresh reads 30 ms, late reads 60 s, a caller waits 10 s at most
                new DataverseHops.Batching(true, Duration.ofMillis(30), Duration.ofSeconds(60), 100, Duration.ofSeconds(10)),
                new DataverseHops.Batching(false, Duration.ZERO, 1, Duration.ofSeconds(10)), timer, workers);
    }
}
