package io.dataversesync.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.dataversesync.emulator.TestHttp.get;
import static io.dataversesync.emulator.TestHttp.json;
import static io.dataversesync.emulator.TestHttp.method;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The standalone program, in-process on free ports. */
class EmulatorMainTest {

    private static final Pattern DATAVERSE_LINE = Pattern.compile(
            "Dataverse Web API emulator: (http://127\\.0\\.0\\.1:\\d+/api/data/v9\\.2/)\\s+token endpoint: (\\S+)");
    private static final Pattern TARGET_LINE = Pattern.compile("Target emulator: (http://127\\.0\\.0\\.1:\\d+/api/)");

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(java.util.function.Consumer<EmulatorMain.Running> whileRunning, String... args) {
        return EmulatorMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), whileRunning);
    }

    private static String token(String tokenUrl, String clientId, String clientSecret) {
        HttpResponse<String> response = TestHttp.send(TestHttp.request(tokenUrl,
                        "Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials&client_id=" + clientId
                        + "&client_secret=" + clientSecret + "&scope="
                        + URLEncoder.encode(tokenUrl.replace("/oauth2/v2.0/token", "/.default"), StandardCharsets.UTF_8)))
                .build());
        assertThat(response.statusCode()).isEqualTo(200);
        return json(response).get("access_token").asText();
    }

    @Test
    void servesSeededAccountsWithATokenFromItsEndpointAndTheTarget() {
        AtomicReference<String> dataverseApi = new AtomicReference<>();
        int status = run(running -> {
            String printed = out.toString(StandardCharsets.UTF_8);
            Matcher dataverseLine = DATAVERSE_LINE.matcher(printed);
            Matcher targetLine = TARGET_LINE.matcher(printed);
            assertThat(dataverseLine.find()).as(printed).isTrue();
            assertThat(targetLine.find()).as(printed).isTrue();
            String api = dataverseLine.group(1);
            dataverseApi.set(api);
            assertThat(api).isEqualTo(running.dataverseApiUrl());
            assertThat(dataverseLine.group(2)).isEqualTo(running.dataverse().baseUrl() + "/oauth2/v2.0/token");

            String token = token(dataverseLine.group(2), "my-app", "my-secret");
            HttpResponse<String> accounts = get(api + "accounts", "Authorization", "Bearer " + token);
            assertThat(accounts.statusCode()).isEqualTo(200);
            assertThat(accounts.headers().firstValue("Content-Type")).hasValue("application/json; odata.metadata=minimal");
            JsonNode body = json(accounts);
            assertThat(body.get("@odata.context").asText()).isEqualTo(api + "$metadata#accounts");
            assertThat(body.get("value")).hasSize(7);
            List<String> names = new ArrayList<>();
            for (JsonNode row : body.get("value")) {
                assertThat(row.get("@odata.etag").asText()).matches("W/\"\\d+\"");
                assertThat(row.get("accountid").asText()).matches("[0-9a-f-]{36}");
                assertThat(row.get("accountnumber").asText()).matches("ACC-\\d{5}");
                assertThat(row.get("address1_city").asText()).isNotBlank();
                assertThat(row.get("statecode").asInt()).isZero();
                names.add(row.get("name").asText());
            }
            assertThat(names).contains("Fourth Coffee 1", "Tailspin Toys 7");
            assertThat(get(api + "contacts", "Authorization", "Bearer " + token).statusCode())
                    .as("second table registered, not seeded").isEqualTo(200);
            assertThat(get(api + "accounts").statusCode()).as("no token").isEqualTo(401);

            String target = targetLine.group(1);
            assertThat(target).isEqualTo(running.targetApiUrl());
            HttpResponse<String> put = method("PUT", target + "customers/row-1", "{\"name\":\"Fourth Coffee\"}",
                    "Authorization", "Bearer my-key", "Content-Type", "application/json");
            assertThat(put.statusCode()).isEqualTo(201);
            HttpResponse<String> list = get(target + "customers", "Authorization", "Bearer my-key");
            assertThat(list.statusCode()).isEqualTo(200);
            assertThat(json(list).get("value").findValuesAsText("sourceRowId")).containsExactly("row-1");
            assertThat(get(target + "customers", "Authorization", "Bearer local-target-key").statusCode()).isEqualTo(401);
        }, "--dataverse-port=0", "--target-port=0", "--client-id=my-app", "--client-secret=my-secret",
                "--target-api-key=my-key", "--seed=7", "--tables=accounts:account:accountid,contacts:contact:contactid");

        assertThat(status).isZero();
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThatThrownBy(() -> get(dataverseApi.get() + "accounts"))
                .as("stopped when the run ends").isInstanceOf(UncheckedIOException.class);
    }

    @Test
    void defaultSeedIsTwentyAccounts() {
        int status = run(running -> {
            String token = token(running.tokenUrl(), "local-sync-app", "local-secret");
            JsonNode body = json(get(running.dataverseApiUrl() + "accounts", "Authorization", "Bearer " + token));
            assertThat(body.get("value")).hasSize(20);
            assertThat(running.dataverse().rows("accounts")).extracting(row -> row.get("accountid").asText())
                    .contains(SampleAccounts.id("accounts", 1).toString(), SampleAccounts.id("accounts", 20).toString());
        }, "--dataverse-port=0", "--target-port=0");
        assertThat(status).isZero();
    }

    @Test
    void faultSwitchesAndTheRequestBudgetReachTheEmulators() {
        int status = run(running -> {
            String token = token(running.tokenUrl(), "local-sync-app", "local-secret");
            String accounts = running.dataverseApiUrl() + "accounts";
            HttpResponse<String> failed = get(accounts, "Authorization", "Bearer " + token);
            assertThat(failed.statusCode()).isEqualTo(500);
            assertThat(json(failed).at("/error/code").asText()).startsWith("0x");
            HttpResponse<String> throttled = get(accounts, "Authorization", "Bearer " + token);
            assertThat(throttled.statusCode()).as("budget of 1 spent").isEqualTo(429);
            assertThat(throttled.headers().firstValue("Retry-After")).isPresent();

            HttpResponse<String> target = get(running.targetApiUrl() + "customers", "Authorization", "Bearer local-target-key");
            assertThat(target.statusCode()).isEqualTo(502);
        }, "--dataverse-port=0", "--target-port=0", "--request-budget=1", "--dataverse-error-rate=1",
                "--dataverse-error-status=500", "--target-error-rate=1", "--target-error-status=502");
        assertThat(status).isZero();
    }

    @Test
    void accountsDeclareTheirColumnsAndAccountNumberAndTheLimitsAreReported() {
        int status = run(running -> {
            String token = token(running.tokenUrl(), "local-sync-app", "local-secret");
            String api = running.dataverseApiUrl();
            String auth = "Bearer " + token;

            HttpResponse<String> byNumber = get(api + "accounts(accountnumber='ACC-00001')?$select=name,"
                    + "new_targetrowid,new_syncstatus,new_syncedon,new_syncerror,new_syncedhash,versionnumber,modifiedon",
                    "Authorization", auth);
            assertThat(byNumber.statusCode()).isEqualTo(200);
            assertThat(json(byNumber).get("name").asText()).isEqualTo("Fourth Coffee 1");
            assertThat(json(byNumber).get("accountid").asText()).isEqualTo(SampleAccounts.id("accounts", 1).toString());
            assertThat(byNumber.headers().firstValue("x-ms-ratelimit-burst-remaining-xrm-requests")).hasValue("5999");
            assertThat(byNumber.headers().firstValue("x-ms-ratelimit-time-remaining-xrm-requests")).hasValue("1,199.99");

            HttpResponse<String> unknown = get(api + "accounts?$select=nmae", "Authorization", auth);
            assertThat(unknown.statusCode()).isEqualTo(400);
            assertThat(json(unknown).at("/error/message").asText())
                    .isEqualTo("Could not find a property named 'nmae' on type 'Microsoft.Dynamics.CRM.account'.");
            HttpResponse<String> writeBack = method("PATCH", api + "accounts(accountnumber='ACC-00002')",
                    "{\"new_syncstatus\":\"Synced\",\"new_targetrowid\":\"t-2\"}",
                    "Authorization", auth, "Content-Type", "application/json", "If-Match", "*");
            assertThat(writeBack.statusCode()).isEqualTo(204);
            assertThat(get(api + "accounts/$count", "Authorization", auth).body()).isEqualTo("20");
        }, "--dataverse-port=0", "--target-port=0");
        assertThat(status).isZero();
    }

    @Test
    void theOutboxTableIsServedWithItsDeclaredColumns() {
        int status = run(running -> {
            String auth = "Bearer " + token(running.tokenUrl(), "local-sync-app", "local-secret");
            String api = running.dataverseApiUrl();
            // as the plug-in writes a record before it sends a notification
            HttpResponse<String> created = TestHttp.method("POST", api + "new_syncoutboxes", "{\"new_entity\":\"account\","
                    + "\"new_rowid\":\"" + SampleAccounts.id("accounts", 1) + "\",\"new_status\":\"failed\",\"new_error\":\"timeout\"}",
                    "Authorization", auth, "Content-Type", "application/json");
            assertThat(created.statusCode()).isEqualTo(204);
            // as the relay reads them: failed or pending, one page
            HttpResponse<String> read = get(api + "new_syncoutboxes?$select=new_entity,new_rowid,new_status,createdon&$filter="
                    + URLEncoder.encode("Microsoft.Dynamics.CRM.In(PropertyName='new_status',PropertyValues=['failed','pending'])",
                    StandardCharsets.UTF_8).replace("+", "%20"), "Authorization", auth, "Prefer", "odata.maxpagesize=10");
            assertThat(read.statusCode()).isEqualTo(200);
            assertThat(json(read).get("value")).hasSize(1);
            assertThat(json(read).get("value").get(0).get("createdon").asText()).isNotBlank();
            HttpResponse<String> unknown = TestHttp.method("POST", api + "new_syncoutboxes", "{\"new_rowidd\":\"x\"}",
                    "Authorization", auth, "Content-Type", "application/json");
            assertThat(unknown.statusCode()).isEqualTo(400);
        });
        assertThat(status).isZero();
    }

    @Test
    void theExecutionBudgetAndCostOptionsReachTheEmulator() {
        int status = run(running -> {
            String token = token(running.tokenUrl(), "local-sync-app", "local-secret");
            String accounts = running.dataverseApiUrl() + "accounts?$select=name";
            HttpResponse<String> first = get(accounts, "Authorization", "Bearer " + token);
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(running.dataverse().executionMillisSpent()).as("3 rows x 2 ms + 4 ms").isEqualTo(10);
            HttpResponse<String> throttled = get(accounts, "Authorization", "Bearer " + token);
            assertThat(throttled.statusCode()).as("budget of 10 ms spent").isEqualTo(429);
            assertThat(json(throttled).at("/error/code").asText()).isEqualTo("0x80072321");
            assertThat(throttled.headers().firstValue("Retry-After")).isPresent();
        }, "--dataverse-port=0", "--target-port=0", "--seed=3", "--execution-budget-ms=10", "--cost-read-row-ms=2",
                "--cost-request-ms=4");
        assertThat(status).isZero();
    }

    @Test
    void helpPrintsUsageAndExitsZero() {
        assertThat(run(running -> { throw new AssertionError("must not start"); }, "--help")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(EmulatorOptions.usage());
    }

    @Test
    void badOptionPrintsTheErrorAndUsageAndExitsTwo() {
        assertThat(run(running -> { throw new AssertionError("must not start"); }, "--dataverse-prot=1")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("error: unknown option --dataverse-prot")
                .contains(EmulatorOptions.usage());
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void aPortInUseIsReportedAndNothingKeepsRunning() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int dataversePort = free.getLocalPort();
            free.close();
            int status = run(running -> { throw new AssertionError("must not start"); },
                    "--dataverse-port=" + dataversePort, "--target-port=" + taken.getLocalPort());
            assertThat(status).isEqualTo(1);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("target-emulator")
                    .contains(String.valueOf(taken.getLocalPort()));
            // the Dataverse emulator, started first, was stopped again: its port is free
            try (ServerSocket again = new ServerSocket(dataversePort, 1, InetAddress.getLoopbackAddress())) {
                assertThat(again.getLocalPort()).isEqualTo(dataversePort);
            }
        }
    }
}
