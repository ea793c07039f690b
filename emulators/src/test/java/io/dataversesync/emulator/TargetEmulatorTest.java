package io.dataversesync.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static io.dataversesync.emulator.TestHttp.get;
import static io.dataversesync.emulator.TestHttp.json;
import static io.dataversesync.emulator.TestHttp.method;
import static org.assertj.core.api.Assertions.assertThat;

class TargetEmulatorTest {

    static final String[] AUTH = {"Authorization", "Bearer local-target-key", "Content-Type", "application/json"};

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

    String url(String path) {
        return target.baseUrl() + "/api/" + path;
    }

    static String[] with(String... more) {
        String[] headers = new String[AUTH.length + more.length];
        System.arraycopy(AUTH, 0, headers, 0, AUTH.length);
        System.arraycopy(more, 0, headers, AUTH.length, more.length);
        return headers;
    }

    @Test
    void requiresTheApiKey() {
        HttpResponse<String> none = method("PUT", url("customers/row-1"), "{}", "Content-Type", "application/json");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(json(none).get("error").asText()).isEqualTo("unauthorized");
        assertThat(json(none).get("message").asText()).isNotBlank();
        assertThat(get(url("customers"), "Authorization", "Bearer wrong").statusCode()).isEqualTo(401);
        assertThat(target.records("customers")).isEmpty();
        assertThat(target.callCount()).isEqualTo(2);
    }

    @Test
    void putUpsertsBySourceRowIdWithStableTargetIds() {
        HttpResponse<String> created = method("PUT", url("customers/row-1"), "{\"name\":\"Fourth Coffee\"}", AUTH);
        assertThat(created.statusCode()).isEqualTo(201);
        JsonNode first = json(created);
        assertThat(first.get("id").asText()).isEqualTo("CUST-000001");
        assertThat(first.get("sourceRowId").asText()).isEqualTo("row-1");
        assertThat(first.get("collection").asText()).isEqualTo("customers");
        assertThat(first.get("version").asLong()).isEqualTo(1);
        assertThat(first.get("created").asBoolean()).isTrue();

        HttpResponse<String> updated = method("PUT", url("customers/row-1"), "{\"name\":\"Fourth Coffee Ltd\"}", AUTH);
        assertThat(updated.statusCode()).isEqualTo(200);
        assertThat(json(updated).get("id").asText()).isEqualTo("CUST-000001");
        assertThat(json(updated).get("version").asLong()).isEqualTo(2);
        assertThat(json(updated).get("created").asBoolean()).isFalse();

        assertThat(json(method("PUT", url("customers/row-2"), "{\"name\":\"B\"}", AUTH)).get("id").asText())
                .isEqualTo("CUST-000002");

        JsonNode record = json(get(url("customers/row-1"), AUTH));
        assertThat(record.get("name").asText()).isEqualTo("Fourth Coffee Ltd");
        assertThat(record.get("version").asLong()).isEqualTo(2);
        assertThat(record.get("updatedAt").asText()).isNotBlank();
        assertThat(json(get(url("customers"), AUTH)).get("value")).hasSize(2);
        assertThat(get(url("customers/unknown"), AUTH).statusCode()).isEqualTo(404);
        assertThat(target.record("customers", "row-2").orElseThrow().get("name").asText()).isEqualTo("B");
        assertThat(target.writeCount()).isEqualTo(3);
    }

    @Test
    void idempotencyKeyReplaysTheStoredAnswerAndRefusesADifferentBody() {
        HttpResponse<String> first = method("PUT", url("customers/row-1"), "{\"name\":\"A\"}", with("Idempotency-Key", "k-1"));
        HttpResponse<String> replay = method("PUT", url("customers/row-1"), "{ \"name\" : \"A\" }", with("Idempotency-Key", "k-1"));

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(replay.statusCode()).isEqualTo(201);
        assertThat(replay.body()).isEqualTo(first.body());
        assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(target.record("customers", "row-1").orElseThrow().get("version").asLong()).isEqualTo(1);
        assertThat(target.writeCount()).isEqualTo(1);

        HttpResponse<String> reused = method("PUT", url("customers/row-1"), "{\"name\":\"B\"}", with("Idempotency-Key", "k-1"));
        assertThat(reused.statusCode()).isEqualTo(422);
        assertThat(json(reused).get("error").asText()).isEqualTo("idempotency_key_reused");
        assertThat(target.record("customers", "row-1").orElseThrow().get("name").asText()).isEqualTo("A");

        HttpResponse<String> newKey = method("PUT", url("customers/row-1"), "{\"name\":\"B\"}", with("Idempotency-Key", "k-2"));
        assertThat(newKey.statusCode()).isEqualTo(200);
        assertThat(json(newKey).get("version").asLong()).isEqualTo(2);
        assertThat(target.callCount()).isEqualTo(4);
    }

    @Test
    void deleteKeepsATombstone() {
        method("PUT", url("customers/row-1"), "{\"name\":\"A\"}", AUTH);

        HttpResponse<String> deleted = method("DELETE", url("customers/row-1"), null, AUTH);
        assertThat(deleted.statusCode()).isEqualTo(200);
        assertThat(json(deleted).get("id").asText()).isEqualTo("CUST-000001");
        assertThat(json(deleted).get("deleted").asBoolean()).isTrue();
        assertThat(target.record("customers", "row-1").orElseThrow().get("deleted").asBoolean()).isTrue();
        assertThat(target.writeCount()).isEqualTo(2);

        assertThat(method("DELETE", url("customers/row-1"), null, AUTH).statusCode()).isEqualTo(200);
        assertThat(target.writeCount()).as("a repeated delete changes nothing").isEqualTo(2);
        HttpResponse<String> unknown = method("DELETE", url("customers/never"), null, AUTH);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).get("error").asText()).isEqualTo("not_found");

        HttpResponse<String> revived = method("PUT", url("customers/row-1"), "{\"name\":\"back\"}", AUTH);
        assertThat(json(revived).get("id").asText()).isEqualTo("CUST-000001");
        assertThat(target.record("customers", "row-1").orElseThrow().get("deleted").asBoolean()).isFalse();
    }

    @Test
    void malformedJsonIsABadRequest() {
        HttpResponse<String> response = method("PUT", url("customers/row-1"), "{\"name\":", AUTH);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json(response).get("error").asText()).isEqualTo("bad_request");
        assertThat(method("PUT", url("customers/row-1"), "[1,2]", AUTH).statusCode()).isEqualTo(400);
        assertThat(target.writeCount()).isZero();
    }

    @Test
    void aRecordingSaysHowLongTheEmulatorHeldTheRequestItsLatencyIncluded() {
        target.faults().latency(java.time.Duration.ofMillis(120));
        try {
            long before = System.currentTimeMillis();
            assertThat(method("PUT", url("customers/row-held"), "{\"name\":\"A\"}", AUTH).statusCode()).isEqualTo(201);
            long after = System.currentTimeMillis();
            RecordedRequest r = target.requests().get(target.requests().size() - 1);
            assertThat(r.path()).isEqualTo("/api/customers/row-held");
            assertThat(r.receivedAt().toEpochMilli()).isBetween(before, r.at().toEpochMilli());
            assertThat(r.heldMillis()).isBetween(120L, after - before);
        } finally {
            target.faults().clear();
        }
    }

    @Test
    void faultsAndRecording() {
        target.faults().failNext("PUT", 1, 503, 2);
        HttpResponse<String> failed = method("PUT", url("customers/row-1"), "{\"name\":\"A\"}", with("Idempotency-Key", "k"));
        assertThat(failed.statusCode()).isEqualTo(503);
        assertThat(failed.headers().firstValue("Retry-After")).hasValue("2");
        assertThat(json(failed).get("error").asText()).isEqualTo("service_unavailable");
        assertThat(target.record("customers", "row-1")).isEmpty();

        HttpResponse<String> retried = method("PUT", url("customers/row-1"), "{\"name\":\"A\"}", with("Idempotency-Key", "k"));
        assertThat(retried.statusCode()).isEqualTo(201);

        List<RecordedRequest> recorded = target.requests();
        assertThat(recorded).extracting(RecordedRequest::status).containsExactly(503, 201);
        assertThat(recorded.get(1).path()).isEqualTo("/api/customers/row-1");
        assertThat(recorded.get(1).header("Idempotency-Key")).isEqualTo("k");
        assertThat(recorded.get(1).body()).isEqualTo("{\"name\":\"A\"}");
        assertThat(target.callCount()).isEqualTo(2);
        assertThat(target.writeCount()).isEqualTo(1);
    }

    @Test
    void listsPagedBySourceRowIdWithANextLinkAndByIds() {
        for (String id : List.of("row-3", "row-1", "row-5", "row-2", "row-4")) {
            assertThat(method("PUT", url("customers/" + id), "{\"name\":\"" + id + "\"}", AUTH).statusCode()).isEqualTo(201);
        }
        method("DELETE", url("customers/row-4"), "", AUTH);
        List<String> served = new java.util.ArrayList<>();
        String next = url("customers?limit=2");
        int pages = 0;
        while (next != null) {
            HttpResponse<String> page = get(next, AUTH);
            assertThat(page.statusCode()).isEqualTo(200);
            JsonNode body = json(page);
            body.get("value").forEach(r -> served.add(r.get("sourceRowId").asText() + (r.get("deleted").asBoolean() ? "(deleted)" : "")));
            next = body.hasNonNull("nextLink") ? target.baseUrl() + body.get("nextLink").asText() : null;
            pages++;
        }
        assertThat(pages).isEqualTo(3);
        assertThat(served).containsExactly("row-1", "row-2", "row-3", "row-4(deleted)", "row-5");

        JsonNode byIds = json(get(url("customers?sourceRowIds=row-5,nope,row-2"), AUTH));
        assertThat(byIds.get("value")).extracting(r -> r.get("sourceRowId").asText()).containsExactly("row-5", "row-2");
        assertThat(get(url("customers?limit=0"), AUTH).statusCode()).isEqualTo(400);
        assertThat(get(url("customers?limit=1001"), AUTH).statusCode()).isEqualTo(400);
    }
}
