package io.dataversesync.emulator;

import static io.dataversesync.emulator.TargetEmulatorTest.AUTH;
import static io.dataversesync.emulator.TestHttp.method;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;

import io.dataversesync.emulator.FaultInjector.Fault;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The faults a soak test mixes: 429 with Retry-After, 500, 503, a timeout (the request is done, its answer comes
 * after the client gave up) and a reset (the connection closes with no answer and nothing done); and the target's
 * history of the payloads it applied, in order.
 */
class MixedFaultsTest {
    TargetEmulator target;

    @BeforeEach
    void start() {
        target = new TargetEmulator(new TargetEmulator.Settings());
        target.start();
    }

    @AfterEach
    void stop() {
        target.close();
    }

    private String url(String id) {
        return target.baseUrl() + "/api/customers/" + id;
    }

    @Test
    void statusFaultsAnswerWithoutServingAndAreCounted() {
        target.faults().mixedFaults("PUT", 1.0, List.of(Fault.throttled(7)));
        HttpResponse<String> throttled = method("PUT", url("r1"), "{\"name\":\"a\"}", AUTH);
        assertThat(throttled.statusCode()).isEqualTo(429);
        assertThat(throttled.headers().firstValue("Retry-After")).hasValue("7");
        assertThat(target.record("customers", "r1")).isEmpty();

        target.faults().mixedFaults("PUT", 1.0, List.of(Fault.status(500), Fault.status(503)));
        for (int i = 0; i < 20; i++) {
            assertThat(method("PUT", url("r1"), "{\"name\":\"a\"}", AUTH).statusCode()).isIn(500, 503);
        }
        assertThat(target.record("customers", "r1")).isEmpty();
        assertThat(target.faults().injectedCounts()).containsEntry("429", 1L);
        assertThat(target.faults().injectedCounts().getOrDefault("500", 0L)
                + target.faults().injectedCounts().getOrDefault("503", 0L)).isEqualTo(20);

        // a GET is another method: untouched; rate 0 removes the rule
        assertThat(TestHttp.get(target.baseUrl() + "/api/customers", AUTH).statusCode()).isEqualTo(200);
        target.faults().mixedFaults("PUT", 0, List.of());
        assertThat(method("PUT", url("r1"), "{\"name\":\"a\"}", AUTH).statusCode()).isEqualTo(201);
    }

    @Test
    void aTimeoutServesTheRequestAndAnswersAfterTheClientGaveUp() throws Exception {
        target.faults().mixedFaults("PUT", 1.0, List.of(Fault.timeout(Duration.ofMillis(1500))));
        HttpRequest put = HttpRequest.newBuilder(URI.create(url("r2"))).timeout(Duration.ofMillis(300))
                .headers(AUTH).PUT(HttpRequest.BodyPublishers.ofString("{\"name\":\"late\"}")).build();
        assertThatThrownBy(() -> HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(HttpTimeoutException.class);
        // done all the same, as a slow server that finished after the client's timeout
        assertThat(target.record("customers", "r2")).get().satisfies(r -> assertThat(r.path("name").asText()).isEqualTo("late"));
        assertThat(target.faults().injectedCounts()).containsEntry("timeout", 1L);
        // the client's retry with the same Idempotency-Key is a duplicate call, answered without a second write
        target.faults().clear();
        String[] keyed = TargetEmulatorTest.with("Idempotency-Key", "k-late");
        method("PUT", url("r2"), "{\"name\":\"late\"}", keyed);
        method("PUT", url("r2"), "{\"name\":\"late\"}", keyed);
        assertThat(target.replayCount()).isEqualTo(1);
    }

    @Test
    void aResetClosesTheConnectionWithoutAnAnswerAndChangesNothing() {
        target.faults().mixedFaults(null, 1.0, List.of(Fault.reset()));
        HttpRequest put = HttpRequest.newBuilder(URI.create(url("r3"))).timeout(Duration.ofSeconds(5))
                .headers(AUTH).PUT(HttpRequest.BodyPublishers.ofString("{\"name\":\"lost\"}")).build();
        assertThatThrownBy(() -> TestHttp.CLIENT.send(put, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);
        assertThat(target.record("customers", "r3")).isEmpty();
        assertThat(target.requests()).anySatisfy(r -> assertThat(r.status()).isZero());
        assertThat(target.faults().injectedCounts()).containsEntry("reset", 1L);
    }

    @Test
    void theDataverseEmulatorMixesTheSameFaults() {
        try (DataverseEmulator dataverse = new DataverseEmulator(new DataverseEmulator.Settings())) {
            dataverse.registerTable("accounts", "account", "accountid");
            dataverse.start();
            dataverse.faults().mixedFaults("GET", 1.0, List.of(Fault.throttled(2)));
            String token = TestHttp.json(method("POST", dataverse.baseUrl() + DataverseEmulator.TOKEN_PATH,
                    "grant_type=client_credentials&client_id=local-sync-app&client_secret=local-secret&scope="
                            + dataverse.baseUrl() + "/.default", "Content-Type", "application/x-www-form-urlencoded"))
                    .path("access_token").asText();
            HttpResponse<String> answer = TestHttp.get(dataverse.baseUrl() + DataverseEmulator.API_ROOT + "accounts",
                    "Authorization", "Bearer " + token);
            assertThat(answer.statusCode()).isEqualTo(429);
            assertThat(answer.headers().firstValue("Retry-After")).hasValue("2");
            assertThat(answer.body()).contains(DataverseEmulator.CODE_REQUEST_LIMIT);
        }
    }

    @Test
    void theHistoryKeepsEveryAppliedPayloadInOrderWhenAskedTo() {
        method("PUT", url("r4"), "{\"name\":\"v0\"}", AUTH);
        assertThat(target.history("customers", "r4")).isEmpty();
        target.keepHistory(true);
        method("PUT", url("r4"), "{\"name\":\"v1\"}", AUTH);
        method("PATCH", url("r4"), "{\"name\":\"v2\"}", AUTH);
        target.faults().mixedFaults("PUT", 1.0, List.of(Fault.status(503)));
        method("PUT", url("r4"), "{\"name\":\"v3\"}", AUTH);
        assertThat(target.history("customers", "r4")).extracting(n -> n.path("name").asText()).containsExactly("v1", "v2");
    }
}
