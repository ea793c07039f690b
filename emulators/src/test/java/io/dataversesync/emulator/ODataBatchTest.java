package io.dataversesync.emulator;

import io.dataversesync.dataverse.odata.ODataBatch;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.dataversesync.emulator.DataverseEmulatorTest.ID_1;
import static io.dataversesync.emulator.DataverseEmulatorTest.ID_2;
import static io.dataversesync.emulator.DataverseEmulatorTest.MISSING;
import static io.dataversesync.emulator.DataverseEmulatorTest.auth;
import static io.dataversesync.emulator.DataverseEmulatorTest.columns;
import static io.dataversesync.emulator.DataverseEmulatorTest.startEmulator;
import static io.dataversesync.emulator.DataverseEmulatorTest.token;
import static io.dataversesync.emulator.TestHttp.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ODataBatchTest extends DefaultEmulatorFixture {


    // ---------------------------------------------------------------- format

    @Test
    void parsesTheDocumentedRequestShapeWithChangeSetAndContentIds() throws Exception {
        String body = String.join("\r\n",
                "--batch_80dd1615-2a10-428a-bb6f-0e559792721f",
                "Content-Type: multipart/mixed; boundary=changeset_BBB456",
                "",
                "--changeset_BBB456",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                "Content-ID: 1",
                "",
                "POST /api/data/v9.2/accounts HTTP/1.1",
                "Content-Type: application/json; type=entry",
                "",
                "{\"name\":\"batch one\"}",
                "--changeset_BBB456",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                "Content-ID: 2",
                "",
                "PATCH https://org.crm.dynamics.com/api/data/v9.2/accounts(" + ID_1 + ") HTTP/1.1",
                "Content-Type: application/json",
                "If-Match: *",
                "",
                "{\"name\":\"two\"}",
                "--changeset_BBB456--",
                "",
                "--batch_80dd1615-2a10-428a-bb6f-0e559792721f",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                "",
                "GET accounts?$select=name HTTP/1.1",
                "",
                "",
                "--batch_80dd1615-2a10-428a-bb6f-0e559792721f--",
                "");
        List<ODataBatch.Item> items = ODataBatch.parseRequest(
                "multipart/mixed; boundary=\"batch_80dd1615-2a10-428a-bb6f-0e559792721f\"",
                body.getBytes(StandardCharsets.UTF_8));

        assertThat(items).hasSize(2);
        assertThat(items.get(0).changeSet()).isTrue();
        ODataBatch.Operation post = items.get(0).operations().get(0);
        assertThat(post.method()).isEqualTo("POST");
        assertThat(post.url()).isEqualTo("/api/data/v9.2/accounts");
        assertThat(post.contentId()).isEqualTo("1");
        assertThat(post.header("Content-Type")).isEqualTo("application/json; type=entry");
        assertThat(post.body()).isEqualTo("{\"name\":\"batch one\"}");
        assertThat(items.get(0).operations().get(1).header("if-match")).isEqualTo("*");
        assertThat(items.get(1).changeSet()).isFalse();
        assertThat(items.get(1).operations().get(0).body()).isEmpty();
        assertThat(ODataBatch.operationCount(items)).isEqualTo(3);
    }

    @Test
    void writtenRequestsAndResponsesRoundTrip() throws Exception {
        String boundary = ODataBatch.newBatchBoundary();
        List<ODataBatch.Item> items = List.of(
                ODataBatch.Item.single(ODataBatch.Operation.of("GET", "accounts(" + ID_1 + ")", null)),
                ODataBatch.Item.changeSet(List.of(
                        ODataBatch.Operation.of("PATCH", "accounts(" + ID_1 + ")", "{\"a\":1}").withContentId("7"),
                        ODataBatch.Operation.of("DELETE", "accounts(" + ID_2 + ")", null))));
        List<ODataBatch.Item> parsed = ODataBatch.parseRequest("multipart/mixed; boundary=" + boundary,
                ODataBatch.writeRequest(boundary, items).getBytes(StandardCharsets.UTF_8));
        assertThat(parsed).isEqualTo(List.of(items.get(0), ODataBatch.Item.changeSet(List.of(
                items.get(1).operations().get(0), items.get(1).operations().get(1).withContentId("2")))));

        String responseBoundary = ODataBatch.newResponseBoundary();
        assertThat(responseBoundary).startsWith("batchresponse_");
        byte[] written = ODataBatch.writeResponse(responseBoundary, List.of(
                ODataBatch.ItemResult.single(new ODataBatch.OperationResult(200,
                        java.util.Map.of("Content-Type", "application/json"), "{\"x\":1}", null)),
                new ODataBatch.ItemResult(List.of(new ODataBatch.OperationResult(204, java.util.Map.of(), "", "1")), true)));
        String text = new String(written, StandardCharsets.UTF_8);
        assertThat(text).contains("HTTP/1.1 200 OK\r\n", "HTTP/1.1 204 No Content\r\n",
                "Content-Type: multipart/mixed; boundary=changesetresponse_");
        List<ODataBatch.ItemResult> results = ODataBatch.parseResponse("multipart/mixed; boundary=" + responseBoundary, written);
        assertThat(results.get(0).results().get(0).body()).isEqualTo("{\"x\":1}");
        assertThat(results.get(1).changeSet()).isTrue();
        assertThat(results.get(1).results().get(0).contentId()).isEqualTo("1");
    }

    @Test
    void rejectsMalformedBodies() {
        assertThatThrownBy(() -> ODataBatch.parseRequest("application/json", new byte[0]))
                .isInstanceOf(ODataBatch.FormatException.class);
        assertThatThrownBy(() -> ODataBatch.parseRequest("multipart/mixed; boundary=batch_x",
                "--batch_x\r\nContent-Type: application/http\r\n\r\nGET accounts HTTP/1.1\r\n".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ODataBatch.FormatException.class).hasMessageContaining("close delimiter");
        String noContentId = "--batch_x\r\nContent-Type: multipart/mixed; boundary=changeset_y\r\n\r\n--changeset_y\r\n"
                + "Content-Type: application/http\r\n\r\nDELETE accounts(" + ID_1 + ") HTTP/1.1\r\n\r\n--changeset_y--\r\n--batch_x--\r\n";
        assertThatThrownBy(() -> ODataBatch.parseRequest("multipart/mixed; boundary=batch_x",
                noContentId.getBytes(StandardCharsets.UTF_8))).hasMessageContaining("Content-ID");
    }

    // ---------------------------------------------------------------- over HTTP

    HttpResponse<String> postBatch(List<ODataBatch.Item> items, String... extraHeaders) {
        String boundary = ODataBatch.newBatchBoundary();
        List<String> headers = new ArrayList<>(List.of(auth(token, "Content-Type", "multipart/mixed; boundary=" + boundary)));
        headers.addAll(List.of(extraHeaders));
        return TestHttp.send(TestHttp.request(dataverse.baseUrl() + "/api/data/v9.2/$batch", headers.toArray(String[]::new))
                .POST(HttpRequest.BodyPublishers.ofString(ODataBatch.writeRequest(boundary, items))).build());
    }

    static List<ODataBatch.ItemResult> results(HttpResponse<String> response) throws ODataBatch.FormatException {
        assertThat(response.statusCode()).isEqualTo(200);
        String contentType = response.headers().firstValue("Content-Type").orElseThrow();
        assertThat(contentType).startsWith("multipart/mixed; boundary=batchresponse_");
        return ODataBatch.parseResponse(contentType, response.body().getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void independentOperationsReportMixedOutcomesWithContinueOnError() throws Exception {
        dataverse.upsertRow("accounts", ID_1, columns("One", "A1"));
        String staleEtag = "W/\"1\"";
        List<ODataBatch.Item> items = List.of(
                ODataBatch.Item.single(ODataBatch.Operation.of("GET", "accounts(" + ID_1 + ")?$select=name", null)),
                ODataBatch.Item.single(ODataBatch.Operation.of("PATCH", "/api/data/v9.2/accounts(" + ID_1 + ")",
                        "{\"name\":\"lost\"}").withHeader("If-Match", staleEtag)),
                ODataBatch.Item.single(ODataBatch.Operation.of("PATCH", dataverse.baseUrl() + "/api/data/v9.2/accounts("
                        + ID_2 + ")", "{\"name\":\"Two\"}")),
                ODataBatch.Item.single(ODataBatch.Operation.of("DELETE", "accounts(" + MISSING + ")", null)));

        HttpResponse<String> response = postBatch(items, "Prefer", "odata.continue-on-error");

        List<ODataBatch.ItemResult> results = results(response);
        assertThat(response.headers().firstValue("OData-Version")).hasValue("4.0");
        assertThat(results).extracting(r -> r.results().get(0).status()).containsExactly(200, 412, 204, 404);
        JsonNode got = JSON.readTree(results.get(0).results().get(0).body());
        assertThat(got.get("name").asText()).isEqualTo("One");
        assertThat(got.get("@odata.etag").asText()).startsWith("W/\"");
        assertThat(JSON.readTree(results.get(1).results().get(0).body()).at("/error/code").asText()).isEqualTo("0x80060882");
        assertThat(results.get(2).results().get(0).header("OData-EntityId")).endsWith("accounts(" + ID_2 + ")");
        assertThat(dataverse.row("accounts", ID_1).orElseThrow().get("name").asText()).isEqualTo("One");
        assertThat(dataverse.row("accounts", ID_2)).isPresent();
        assertThat(dataverse.requestCount()).as("a $batch is one request").isEqualTo(1);
    }

    @Test
    void withoutContinueOnErrorProcessingStopsAtTheFirstFailure() throws Exception {
        List<ODataBatch.Item> items = List.of(
                ODataBatch.Item.single(ODataBatch.Operation.of("PATCH", "accounts(" + ID_1 + ")", "{\"name\":\"ok\"}")),
                ODataBatch.Item.single(ODataBatch.Operation.of("DELETE", "accounts(" + MISSING + ")", null)),
                ODataBatch.Item.single(ODataBatch.Operation.of("PATCH", "accounts(" + ID_2 + ")", "{\"name\":\"never\"}")));

        List<ODataBatch.ItemResult> results = results(postBatch(items));

        assertThat(results).extracting(r -> r.results().get(0).status()).containsExactly(204, 404);
        assertThat(dataverse.row("accounts", ID_1)).as("earlier operations are kept").isPresent();
        assertThat(dataverse.row("accounts", ID_2)).isEmpty();
    }

    @Test
    void changeSetsAreAtomicAndSupportContentIdReferences() throws Exception {
        List<ODataBatch.Item> ok = List.of(ODataBatch.Item.changeSet(List.of(
                ODataBatch.Operation.of("POST", "accounts", "{\"accountid\":\"" + ID_1 + "\",\"name\":\"new\"}").withContentId("1"),
                ODataBatch.Operation.of("PATCH", "$1", "{\"accountnumber\":\"N-1\"}").withContentId("2"))));
        List<ODataBatch.ItemResult> okResults = results(postBatch(ok));
        assertThat(okResults).hasSize(1);
        assertThat(okResults.get(0).changeSet()).isTrue();
        assertThat(okResults.get(0).results()).extracting(ODataBatch.OperationResult::status).containsExactly(204, 204);
        assertThat(okResults.get(0).results()).extracting(ODataBatch.OperationResult::contentId).containsExactly("1", "2");
        assertThat(dataverse.row("accounts", ID_1).orElseThrow().get("accountnumber").asText()).isEqualTo("N-1");
        long versionBefore = dataverse.row("accounts", ID_1).orElseThrow().get("versionnumber").asLong();

        List<ODataBatch.Item> failing = List.of(ODataBatch.Item.changeSet(List.of(
                ODataBatch.Operation.of("PATCH", "accounts(" + ID_1 + ")", "{\"name\":\"rolled back\"}"),
                ODataBatch.Operation.of("PATCH", "accounts(" + ID_2 + ")", "{\"name\":\"created then undone\"}"),
                ODataBatch.Operation.of("PATCH", "accounts(" + MISSING + ")", "{\"name\":\"x\"}").withHeader("If-Match", "*"))));
        List<ODataBatch.ItemResult> failed = results(postBatch(failing));

        assertThat(failed).hasSize(1);
        assertThat(failed.get(0).changeSet()).as("a failed change set answers with the error alone").isFalse();
        assertThat(failed.get(0).results().get(0).status()).isEqualTo(404);
        ObjectNodeAssertions.nameAndVersion(dataverse, ID_1, "new", versionBefore);
        assertThat(dataverse.row("accounts", ID_2)).isEmpty();
    }

    @Test
    void getInsideAChangeSetOrTooManyOperationsRejectTheWholeBatch() throws Exception {
        HttpResponse<String> getInChangeSet = postBatch(List.of(ODataBatch.Item.changeSet(List.of(
                ODataBatch.Operation.of("GET", "accounts", null)))));
        assertThat(getInChangeSet.statusCode()).isEqualTo(400);
        assertThat(TestHttp.json(getInChangeSet).at("/error/code").asText()).startsWith("0x");

        List<ODataBatch.Item> tooMany = new ArrayList<>();
        for (int i = 0; i <= ODataBatch.MAX_OPERATIONS; i++) {
            tooMany.add(ODataBatch.Item.single(ODataBatch.Operation.of("GET", "accounts", null)));
        }
        assertThat(postBatch(tooMany).statusCode()).isEqualTo(400);
        assertThat(results(postBatch(tooMany.subList(0, ODataBatch.MAX_OPERATIONS)))).hasSize(ODataBatch.MAX_OPERATIONS);
    }

    @Test
    void aBatchCountsOnceTowardTheBudget() throws Exception {
        try (DataverseEmulator limited = startEmulator(new DataverseEmulator.Settings()
                .requestBudget(2).budgetWindow(Duration.ofSeconds(60)))) {
            ODataBatchTest other = new ODataBatchTest();
            other.dataverse = limited;
            other.token = token(limited);
            List<ODataBatch.Item> five = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                five.add(ODataBatch.Item.single(ODataBatch.Operation.of("GET", "accounts", null)));
            }
            assertThat(results(other.postBatch(five))).hasSize(5);
            assertThat(results(other.postBatch(five))).hasSize(5);
            assertThat(other.postBatch(five).statusCode()).isEqualTo(429);
            assertThat(limited.requestCount()).isEqualTo(3);
        }
    }

    /** Keeps the rollback assertion readable. */
    static final class ObjectNodeAssertions {
        static void nameAndVersion(DataverseEmulator dataverse, String id, String name, long version) {
            JsonNode row = dataverse.row("accounts", id).orElseThrow();
            assertThat(row.get("name").asText()).isEqualTo(name);
            assertThat(row.get("versionnumber").asLong()).isEqualTo(version);
        }
    }
}
