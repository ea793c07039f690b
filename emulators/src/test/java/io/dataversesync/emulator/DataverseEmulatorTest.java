package io.dataversesync.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

import static io.dataversesync.emulator.TestHttp.JSON;
import static io.dataversesync.emulator.TestHttp.get;
import static io.dataversesync.emulator.TestHttp.json;
import static io.dataversesync.emulator.TestHttp.method;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class DataverseEmulatorTest {

    static final String ID_1 = "a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    static final String ID_2 = "b3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    static final String ID_3 = "c3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    static final String MISSING = "dddddddd-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

    DataverseEmulator dataverse;

    @BeforeEach
    void start() {
        dataverse = startEmulator(new DataverseEmulator.Settings());
    }

    @AfterEach
    void stop() {
        dataverse.close();
    }

    static DataverseEmulator startEmulator(DataverseEmulator.Settings settings) {
        DataverseEmulator emulator = new DataverseEmulator(settings);
        emulator.registerTable("accounts", "account", "accountid");
        emulator.start();
        return emulator;
    }

    static HttpResponse<String> tokenRequest(DataverseEmulator emulator, String form) {
        return TestHttp.send(TestHttp.request(emulator.baseUrl() + "/oauth2/v2.0/token",
                        "Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build());
    }

    static String token(DataverseEmulator emulator) {
        HttpResponse<String> response = tokenRequest(emulator, "grant_type=client_credentials&client_id=local-sync-app"
                + "&client_secret=local-secret&scope=" + URLEncoder.encode(emulator.baseUrl() + "/.default",
                StandardCharsets.UTF_8));
        assertThat(response.statusCode()).isEqualTo(200);
        return json(response).get("access_token").asText();
    }

    static String[] auth(String token, String... more) {
        String[] headers = new String[more.length + 2];
        headers[0] = "Authorization";
        headers[1] = "Bearer " + token;
        System.arraycopy(more, 0, headers, 2, more.length);
        return headers;
    }

    String api(String relative) {
        return dataverse.baseUrl() + DataverseEmulator.API_ROOT + relative;
    }

    static ObjectNode columns(String name, String number) {
        return JSON.createObjectNode().put("name", name).put("accountnumber", number).put("statecode", 0);
    }

    // ---------------------------------------------------------------- auth

    @Test
    void tokenEndpointIssuesBearerTokensAndRejectsBadClients() {
        HttpResponse<String> ok = tokenRequest(dataverse,
                "grant_type=client_credentials&client_id=local-sync-app&client_secret=local-secret&scope="
                        + URLEncoder.encode(dataverse.baseUrl() + "/.default", StandardCharsets.UTF_8));
        assertThat(ok.statusCode()).isEqualTo(200);
        JsonNode body = json(ok);
        assertThat(body.get("token_type").asText()).isEqualTo("Bearer");
        assertThat(body.get("expires_in").asLong()).isEqualTo(3600);
        assertThat(body.get("ext_expires_in").asLong()).isEqualTo(3600);
        assertThat(body.get("access_token").asText()).isNotBlank();

        HttpResponse<String> wrongSecret = tokenRequest(dataverse,
                "grant_type=client_credentials&client_id=local-sync-app&client_secret=nope&scope=x");
        assertThat(wrongSecret.statusCode()).isEqualTo(401);
        assertThat(json(wrongSecret).get("error").asText()).isEqualTo("invalid_client");
        assertThat(json(wrongSecret).get("error_description").asText()).isNotBlank();

        HttpResponse<String> wrongGrant = tokenRequest(dataverse,
                "grant_type=password&client_id=local-sync-app&client_secret=local-secret&scope=x");
        assertThat(wrongGrant.statusCode()).isEqualTo(400);
        assertThat(json(wrongGrant).get("error").asText()).isEqualTo("unsupported_grant_type");

        assertThat(dataverse.requestCount()).as("token calls are not API requests").isZero();
    }

    @Test
    void apiNeedsAValidBearerTokenAndRevokedTokensGet401() {
        dataverse.upsertRow("accounts", ID_1, columns("Fourth Coffee", "ACC-1"));

        HttpResponse<String> none = get(api("accounts(" + ID_1 + ")"));
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.body()).isEmpty();
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(value ->
                assertThat(value).startsWith("Bearer authorization_uri=" + dataverse.baseUrl() + "/oauth2/authorize"));
        assertThat(none.headers().firstValue("OData-Version")).hasValue("4.0");

        assertThat(get(api("accounts(" + ID_1 + ")"), auth("made-up")).statusCode()).isEqualTo(401);

        String token = token(dataverse);
        assertThat(get(api("accounts(" + ID_1 + ")"), auth(token)).statusCode()).isEqualTo(200);

        dataverse.revokeTokens();
        assertThat(get(api("accounts(" + ID_1 + ")"), auth(token)).statusCode()).isEqualTo(401);
        assertThat(get(api("accounts(" + ID_1 + ")"), auth(token(dataverse))).statusCode()).isEqualTo(200);
    }

    @Test
    void expiredTokensGet401() {
        try (DataverseEmulator shortLived = startEmulator(new DataverseEmulator.Settings().tokenLifetime(Duration.ofMillis(300)))) {
            String token = token(shortLived);
            await().atMost(Duration.ofSeconds(3)).until(() ->
                    get(shortLived.baseUrl() + DataverseEmulator.API_ROOT + "accounts", auth(token)).statusCode() == 401);
        }
    }

    // ---------------------------------------------------------------- reads

    @Test
    void getWithSelectReturnsContextEtagSelectedColumnsAndId() {
        dataverse.upsertRow("accounts", ID_1.toUpperCase(), columns("Fourth Coffee", "ACC-00042"));
        String etag = dataverse.row("accounts", ID_1).orElseThrow().get("@odata.etag").asText();

        HttpResponse<String> response = get(api("accounts(" + ID_1 + ")?$select=name,accountnumber,telephone1"),
                auth(token(dataverse)));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json; odata.metadata=minimal");
        assertThat(response.headers().firstValue("OData-Version")).hasValue("4.0");
        JsonNode body = json(response);
        assertThat(body.get("@odata.context").asText()).isEqualTo(
                dataverse.baseUrl() + "/api/data/v9.2/$metadata#accounts(name,accountnumber,telephone1)/$entity");
        assertThat(body.get("@odata.etag").asText()).isEqualTo(etag).matches("W/\"\\d+\"");
        assertThat(body.get("name").asText()).isEqualTo("Fourth Coffee");
        assertThat(body.get("accountnumber").asText()).isEqualTo("ACC-00042");
        assertThat(body.get("telephone1").isNull()).isTrue();
        assertThat(body.get("accountid").asText()).isEqualTo(ID_1);
        assertThat(body.has("statecode")).isFalse();

        JsonNode all = json(get(api("accounts(" + ID_1 + ")"), auth(token(dataverse))));
        assertThat(all.get("@odata.context").asText()).endsWith("$metadata#accounts/$entity");
        assertThat(all.get("statecode").asInt()).isZero();
        assertThat(all.get("versionnumber").asLong()).isPositive();
        assertThat(all.get("modifiedon").asText()).endsWith("Z");
    }

    @Test
    void unknownRowsSetsAndMalformedKeysAnswerODataErrors() {
        String token = token(dataverse);

        HttpResponse<String> missingRow = get(api("accounts(" + MISSING + ")"), auth(token));
        assertThat(missingRow.statusCode()).isEqualTo(404);
        assertThat(json(missingRow).at("/error/code").asText()).isEqualTo("0x80040217");
        assertThat(json(missingRow).at("/error/message").asText()).isEqualTo("account With Id = " + MISSING + " Does Not Exist");

        HttpResponse<String> missingSet = get(api("widgets(" + MISSING + ")"), auth(token));
        assertThat(missingSet.statusCode()).isEqualTo(404);
        assertThat(json(missingSet).at("/error/code").asText()).isEqualTo("0x8006088a");
        assertThat(json(missingSet).at("/error/message").asText()).isEqualTo("Resource not found for the segment 'widgets'.");

        HttpResponse<String> badKey = get(api("accounts(not-a-guid)"), auth(token));
        assertThat(badKey.statusCode()).isEqualTo(400);
        assertThat(json(badKey).at("/error/code").asText()).isEqualTo("0x8006088a");
    }

    @Test
    void inFilterReturnsOnlyExistingRequestedRows() {
        dataverse.upsertRow("accounts", ID_1, columns("One", "A1"));
        dataverse.upsertRow("accounts", ID_2, columns("Two", "A2"));
        dataverse.upsertRow("accounts", ID_3, columns("Three", "A3"));
        String token = token(dataverse);

        // quotes sent percent-encoded, as most clients do
        String filter = "Microsoft.Dynamics.CRM.In(PropertyName=%27accountid%27,PropertyValues=[%27" + ID_3
                + "%27,%27" + ID_1 + "%27,%27" + MISSING + "%27])";
        HttpResponse<String> response = get(api("accounts?$select=name&$filter=" + filter), auth(token));

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = json(response);
        assertThat(body.get("@odata.context").asText()).isEqualTo(dataverse.baseUrl() + "/api/data/v9.2/$metadata#accounts(name)");
        assertThat(body.get("value")).hasSize(2);
        assertThat(body.get("value").findValuesAsText("accountid")).containsExactlyInAnyOrder(ID_1, ID_3);
        assertThat(body.get("value").get(0).get("@odata.etag").asText()).startsWith("W/\"");
        assertThat(body.get("value").get(0).has("accountnumber")).isFalse();

        String encoded = URLEncoder.encode("Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['"
                + ID_2 + "'])", StandardCharsets.UTF_8);
        assertThat(json(get(api("accounts?$filter=" + encoded), auth(token))).get("value").findValuesAsText("name"))
                .containsExactly("Two");

        assertThat(json(get(api("accounts?$top=2"), auth(token))).get("value")).hasSize(2);
        assertThat(json(get(api("accounts"), auth(token))).get("value")).hasSize(3);

        HttpResponse<String> unsupported = get(api("accounts?$filter=" + URLEncoder.encode("name eq 'One'",
                StandardCharsets.UTF_8)), auth(token));
        assertThat(unsupported.statusCode()).isEqualTo(400);
        assertThat(json(unsupported).at("/error/code").asText()).startsWith("0x");
    }

    // ---------------------------------------------------------------- writes

    @Test
    void patchHonoursIfMatchAndUpsertsWithoutIt() {
        String token = token(dataverse);
        String url = api("accounts(" + ID_1 + ")");

        HttpResponse<String> noRow = method("PATCH", url, "{\"name\":\"x\"}",
                auth(token, "Content-Type", "application/json", "If-Match", "*"));
        assertThat(noRow.statusCode()).isEqualTo(404);
        assertThat(json(noRow).at("/error/code").asText()).isEqualTo("0x80040217");
        assertThat(dataverse.row("accounts", ID_1)).isEmpty();

        HttpResponse<String> upsert = method("PATCH", url, "{\"name\":\"Created\"}",
                auth(token, "Content-Type", "application/json"));
        assertThat(upsert.statusCode()).isEqualTo(204);
        assertThat(upsert.headers().firstValue("OData-EntityId")).hasValue(url);
        ObjectNode created = dataverse.row("accounts", ID_1).orElseThrow();
        assertThat(created.get("name").asText()).isEqualTo("Created");
        String firstEtag = created.get("@odata.etag").asText();

        HttpResponse<String> update = method("PATCH", url, "{\"accountnumber\":\"A-1\"}",
                auth(token, "Content-Type", "application/json", "If-Match", firstEtag));
        assertThat(update.statusCode()).isEqualTo(204);
        ObjectNode updated = dataverse.row("accounts", ID_1).orElseThrow();
        assertThat(updated.get("name").asText()).as("PATCH merges").isEqualTo("Created");
        assertThat(updated.get("accountnumber").asText()).isEqualTo("A-1");
        assertThat(updated.get("versionnumber").asLong()).isGreaterThan(created.get("versionnumber").asLong());

        HttpResponse<String> stale = method("PATCH", url, "{\"name\":\"Lost\"}",
                auth(token, "Content-Type", "application/json", "If-Match", firstEtag));
        assertThat(stale.statusCode()).isEqualTo(412);
        assertThat(json(stale).at("/error/code").asText()).isEqualTo("0x80060882");
        assertThat(json(stale).at("/error/message").asText())
                .isEqualTo("The version of the existing record doesn't match the RowVersion property provided.");
        assertThat(dataverse.row("accounts", ID_1).orElseThrow().get("name").asText()).isEqualTo("Created");

        HttpResponse<String> malformed = method("PATCH", url, "{\"name\":", auth(token, "Content-Type", "application/json"));
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(json(malformed).at("/error/message").asText()).isNotBlank();
    }

    @Test
    void postCreatesAndDeleteRemoves() {
        String token = token(dataverse);
        HttpResponse<String> created = method("POST", api("accounts"), "{\"name\":\"New\"}",
                auth(token, "Content-Type", "application/json"));
        assertThat(created.statusCode()).isEqualTo(204);
        String entityId = created.headers().firstValue("OData-EntityId").orElseThrow();
        String id = entityId.substring(entityId.indexOf('(') + 1, entityId.indexOf(')'));
        assertThat(dataverse.row("accounts", id).orElseThrow().get("name").asText()).isEqualTo("New");

        HttpResponse<String> withId = method("POST", api("accounts"), "{\"accountid\":\"" + ID_2 + "\",\"name\":\"Given\"}",
                auth(token, "Content-Type", "application/json"));
        assertThat(withId.headers().firstValue("OData-EntityId")).hasValue(api("accounts(" + ID_2 + ")"));
        assertThat(method("POST", api("accounts"), "{\"accountid\":\"" + ID_2 + "\"}",
                auth(token, "Content-Type", "application/json")).statusCode()).isEqualTo(412);

        assertThat(method("DELETE", entityId, null, auth(token)).statusCode()).isEqualTo(204);
        assertThat(dataverse.row("accounts", id)).isEmpty();
        assertThat(method("DELETE", entityId, null, auth(token)).statusCode()).isEqualTo(404);
        assertThat(dataverse.rows("accounts")).hasSize(1);
    }

    @Test
    void javaWritesStampVersionModifiedOnAndId() {
        String id = dataverse.upsertRow("accounts", null, columns("A", "1"));
        ObjectNode first = dataverse.row("accounts", id).orElseThrow();
        dataverse.upsertRow("accounts", id, JSON.createObjectNode().put("name", "B"));
        ObjectNode second = dataverse.row("accounts", id).orElseThrow();

        assertThat(first.get("accountid").asText()).isEqualTo(id);
        assertThat(second.get("versionnumber").asLong()).isGreaterThan(first.get("versionnumber").asLong());
        assertThat(second.get("@odata.etag").asText()).isEqualTo("W/\"" + second.get("versionnumber").asLong() + "\"");
        assertThat(second.get("accountnumber").asText()).isEqualTo("1");
        assertThat(second.get("modifiedon").asText()).endsWith("Z");
        assertThat(dataverse.deleteRow("accounts", id)).isTrue();
        assertThat(dataverse.deleteRow("accounts", id)).isFalse();
    }

    // ---------------------------------------------------------------- service protection

    @Test
    void requestBudgetThrottlesWithRetryAfterAndRecoversAfterTheWindow() {
        try (DataverseEmulator limited = startEmulator(new DataverseEmulator.Settings()
                .requestBudget(3).budgetWindow(Duration.ofSeconds(1)))) {
            String token = token(limited);
            String url = limited.baseUrl() + DataverseEmulator.API_ROOT + "accounts";
            for (int i = 0; i < 3; i++) {
                assertThat(get(url, auth(token)).statusCode()).isEqualTo(200);
            }
            HttpResponse<String> throttled = get(url, auth(token));
            assertThat(throttled.statusCode()).isEqualTo(429);
            assertThat(throttled.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(json(throttled).at("/error/code").asText()).isEqualTo("0x80072322");
            assertThat(json(throttled).at("/error/message").asText())
                    .isEqualTo("Number of requests exceeded the limit of 3 over time window of 1 seconds.");
            assertThat(limited.throttledCount()).isEqualTo(1);

            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(100))
                    .until(() -> get(url, auth(token)).statusCode() == 200);
            assertThat(limited.requestCount()).isGreaterThanOrEqualTo(5);
        }
    }

    @Test
    void concurrentRequestsOverTheLimitAreRefusedAtOnce() {
        try (DataverseEmulator limited = startEmulator(new DataverseEmulator.Settings().maxConcurrentRequests(2))) {
            String token = token(limited);
            limited.faults().latency("GET", Duration.ofMillis(400));
            String url = limited.baseUrl() + DataverseEmulator.API_ROOT + "accounts";
            List<CompletableFuture<HttpResponse<String>>> calls = IntStream.range(0, 6)
                    .mapToObj(i -> TestHttp.CLIENT.sendAsync(TestHttp.request(url, auth(token)).GET().build(),
                            HttpResponse.BodyHandlers.ofString()))
                    .toList();
            List<HttpResponse<String>> responses = calls.stream().map(CompletableFuture::join).toList();

            List<HttpResponse<String>> refused = responses.stream().filter(r -> r.statusCode() == 429).toList();
            assertThat(responses.stream().filter(r -> r.statusCode() == 200).count()).isLessThanOrEqualTo(2);
            assertThat(refused).isNotEmpty();
            assertThat(json(refused.get(0)).at("/error/code").asText()).isEqualTo("0x80072326");
            assertThat(refused.get(0).headers().firstValue("Retry-After")).isPresent();
        }
    }

    // ---------------------------------------------------------------- faults and recording

    @Test
    void injectedFaultsApplyByMethodAfterAuthentication() {
        String token = token(dataverse);
        String url = api("accounts(" + ID_1 + ")");
        dataverse.faults().failNext("PATCH", 2, 503);

        assertThat(method("PATCH", url, "{}").statusCode()).as("auth first, fault kept").isEqualTo(401);
        assertThat(get(api("accounts"), auth(token)).statusCode()).as("other methods unaffected").isEqualTo(200);
        HttpResponse<String> failed = method("PATCH", url, "{}", auth(token, "Content-Type", "application/json"));
        assertThat(failed.statusCode()).isEqualTo(503);
        assertThat(json(failed).at("/error/code").asText()).startsWith("0x");
        assertThat(method("PATCH", url, "{}", auth(token, "Content-Type", "application/json")).statusCode()).isEqualTo(503);
        assertThat(method("PATCH", url, "{}", auth(token, "Content-Type", "application/json")).statusCode()).isEqualTo(204);

        dataverse.faults().failNext(null, 1, 429, 7);
        HttpResponse<String> throttled = get(url, auth(token));
        assertThat(throttled.statusCode()).isEqualTo(429);
        assertThat(throttled.headers().firstValue("Retry-After")).hasValue("7");
        assertThat(json(throttled).at("/error/code").asText()).isEqualTo("0x80072322");
        assertThat(dataverse.throttledCount()).isEqualTo(1);

        dataverse.faults().errorRate("DELETE", 1.0, 500);
        assertThat(method("DELETE", url, null, auth(token)).statusCode()).isEqualTo(500);
        dataverse.faults().clear();
        assertThat(method("DELETE", url, null, auth(token)).statusCode()).isEqualTo(204);
    }

    @Test
    void latencyDelaysAnswers() {
        String token = token(dataverse);
        dataverse.faults().latency(Duration.ofMillis(150));
        long started = System.nanoTime();
        assertThat(get(api("accounts"), auth(token)).statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
    }

    @Test
    void recordsEveryAnsweredRequest() {
        String token = token(dataverse);
        get(api("accounts?$select=name&$top=1"), auth(token, "Prefer", "odata.maxpagesize=10"));
        method("PATCH", api("accounts(" + ID_1 + ")"), "{\"name\":\"R\"}", auth(token, "Content-Type", "application/json"));
        get(api("accounts(" + ID_1 + ")"));

        List<RecordedRequest> recorded = dataverse.requests();
        assertThat(recorded).extracting(RecordedRequest::method).containsExactly("POST", "GET", "PATCH", "GET");
        assertThat(recorded).extracting(RecordedRequest::status).containsExactly(200, 200, 204, 401);
        RecordedRequest query = recorded.get(1);
        assertThat(query.path()).isEqualTo("/api/data/v9.2/accounts");
        assertThat(query.query()).isEqualTo("$select=name&$top=1");
        assertThat(query.headers()).containsEntry("prefer", "odata.maxpagesize=10");
        assertThat(recorded.get(2).body()).isEqualTo("{\"name\":\"R\"}");
        assertThat(dataverse.requestCount()).isEqualTo(3);

        dataverse.clearRequests();
        assertThat(dataverse.requests()).isEmpty();
    }
}
