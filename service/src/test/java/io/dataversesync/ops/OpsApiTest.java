package io.dataversesync.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import io.dataversesync.SyncTestSupport;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.Test;

/**
 * The operations API on the real application: real dead letters (the target answers 400, so the policy dead-letters
 * the change with reason TargetHttp400) in the embedded broker's dead-letter queue, real HTTP on the service's port.
 * Listed, grouped, viewed, replayed (then delivered: the target holds the row), purged, audited; on-demand sync by
 * ids and by filter; credentials and bad input refused with nothing changed; the configured key never logged.
 */
class OpsApiTest extends SyncTestSupport {
    static final String KEY = "test-ops-key-0123456789abcdef";
    static final StringWriter LOG = new StringWriter();

    static {
        System.setProperty("sync.ops.local-key", KEY);
        System.setProperty("sync.ops.audit.file", System.getProperty("test.broker.dir") + "/ops-audit.jsonl");
        System.setProperty("sync.ops.replay.rate-per-second", "1000");
        System.setProperty("sync.ops.sync.max-rows", "5");
        System.setProperty("sync.ops.sync.page-size", "2");
        System.setProperty("sync.ops.page-size-max", "100");
        System.setProperty("sync.ops.metrics.sample-ms", "500");
        // every log line of the run, from before Camel starts (its start-up summary included)
        LoggerContext logs = (LoggerContext) LogManager.getContext(false);
        Appender appender = WriterAppender.newBuilder().setName("ops-test-capture").setTarget(LOG)
                .setLayout(PatternLayout.newBuilder().withPattern("%m%n").build()).build();
        appender.start();
        logs.getConfiguration().addAppender(appender);
        logs.getRootLogger().addAppender(logs.getConfiguration().getAppender("ops-test-capture"));
    }

    final OpsHttpClient http = new OpsHttpClient();

    /** Dead-letters a change of a new account at the customers target (it answers 400 once); returns the row id. */
    String deadLetteredRow(String name) {
        String id = createAccount(name);
        long before = broker().messageCount(CUSTOMERS_QUEUE + ".DLQ");
        target().faults().failNext("PUT", 1, 400);
        notifyChange("account", id);
        await().atMost(Duration.ofSeconds(20)).until(() -> broker().messageCount(CUSTOMERS_QUEUE + ".DLQ") > before);
        await().atMost(Duration.ofSeconds(10)).until(() -> "Failed".equals(row(id).path("new_syncstatus").asText()));
        return id;
    }

    JsonNode itemFor(String rowId) {
        JsonNode list = http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&size=100", KEY).json();
        for (JsonNode item : list.path("items")) {
            if (rowId.equals(item.path("sourceRowId").asText())) {
                return item;
            }
        }
        return null;
    }

    @Test
    void deadLettersAreListedGroupedViewedReplayedAndAudited() {
        String first = deadLetteredRow("Ops Replay One");
        String second = deadLetteredRow("Ops Replay Two");

        JsonNode queues = http.get("/ops/api/queues", KEY).json();
        assertThat(queues.path("queues").findValuesAsText("queue")).contains("dataverse-outbound", "dataverse-ack", CUSTOMERS_QUEUE);

        JsonNode item = itemFor(first);
        assertThat(item).as("dead letter of %s in the list", first).isNotNull();
        assertThat(item.path("reason").asText()).isEqualTo("TargetHttp400");
        assertThat(item.path("hop").asText()).isNotEmpty();
        assertThat(item.path("description").asText()).contains("TargetHttp400");
        assertThat(item.path("entity").asText()).isEqualTo("account");
        assertThat(item.path("correlationId").asText()).isNotEmpty();
        assertThat(item.path("retryCount").asInt()).isZero();
        assertThat(item.path("deadLetteredAt").asText()).endsWith("Z");
        assertThat(item.path("id").asText()).matches("[0-9a-f-]{36}");

        JsonNode groups = http.get("/ops/api/dead-letters/groups?queue=" + CUSTOMERS_QUEUE, KEY).json();
        assertThat(groups.isArray()).isTrue();
        JsonNode group = groups.get(0);
        assertThat(group.path("reason").asText()).isEqualTo("TargetHttp400");
        assertThat(group.path("count").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(group.path("exceptionTypes").get(0).path("exceptionType").asText()).isEqualTo("HttpOperationFailedException");
        JsonNode byException = http.get("/ops/api/dead-letters/groups?queue=" + CUSTOMERS_QUEUE + "&by=exceptionType", KEY).json();
        assertThat(byException.get(0).path("exceptionType").asText()).isEqualTo("HttpOperationFailedException");

        JsonNode filtered = http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&reason=NoSuchReason", KEY).json();
        assertThat(filtered.path("total").asInt()).isZero();
        assertThat(http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&entity=account&reason=TargetHttp400", KEY).json()
                .path("total").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&from=2999-01-01T00:00:00Z", KEY).json()
                .path("total").asInt()).isZero();
        JsonNode page1 = http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&size=1&page=1", KEY).json();
        JsonNode page0 = http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&size=1&page=0", KEY).json();
        assertThat(page1.path("items")).hasSize(1);
        assertThat(page1.path("items").get(0).path("id").asText()).isNotEqualTo(page0.path("items").get(0).path("id").asText());

        JsonNode one = http.get("/ops/api/dead-letters/message/" + item.path("id").asText() + "?queue=" + CUSTOMERS_QUEUE, KEY).json();
        assertThat(one.path("body").asText()).contains(first);
        assertThat(one.path("properties").path("DeadLetterReason").asText()).isEqualTo("TargetHttp400");

        // one message: replayed to the customers queue only, delivered, gone from the dead letters
        long outboundBefore = broker().messageCount(OUTBOUND);
        OpsHttpClient.Answer replayed = http.post("/ops/api/dead-letters/replay",
                "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"ids\":[\"" + item.path("id").asText() + "\"]}", KEY);
        assertThat(replayed.status()).as(replayed.body()).isEqualTo(200);
        assertThat(replayed.json().path("replayed").asInt()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> target().record("customers", first).isPresent());
        awaitSynced(first);
        assertThat(itemFor(first)).isNull();
        assertThat(itemFor(second)).isNotNull();
        assertThat(broker().messageCount(OUTBOUND)).isEqualTo(outboundBefore);

        // the rest of the group
        OpsHttpClient.Answer group2 = http.post("/ops/api/dead-letters/replay", "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"reason\":\"TargetHttp400\"}", KEY);
        assertThat(group2.json().path("replayed").asInt()).isGreaterThanOrEqualTo(1);
        awaitSynced(second);
        assertThat(itemFor(second)).isNull();

        JsonNode audit = http.get("/ops/api/audit?limit=10", KEY).json().path("items");
        List<String> actions = new ArrayList<>();
        audit.forEach(a -> actions.add(a.path("action").asText() + " " + a.path("who").asText() + " " + a.path("queue").asText()));
        assertThat(actions).contains("replay local-key " + CUSTOMERS_QUEUE);
        JsonNode newest = audit.get(0);
        assertThat(newest.path("selector").path("reason").asText()).isEqualTo("TargetHttp400");
        assertThat(newest.path("count").asInt()).isEqualTo(group2.json().path("replayed").asInt());
        assertThat(newest.path("at").asText()).isNotEmpty();
    }

    @Test
    void aReplayThatFailsAgainSaysHowOftenAndWhyItFirstFailed() {
        // a notification of a table that is not synced: dead-lettered from the outbound queue (InvalidMessage)
        String rowId = java.util.UUID.randomUUID().toString();
        String correlationId = java.util.UUID.randomUUID().toString();
        long before = broker().messageCount(OUTBOUND + ".DLQ");
        send(OUTBOUND, "{\"entity\":\"contact\",\"sourceRowId\":\"" + rowId + "\",\"operation\":\"Update\"}", correlationId);
        await().atMost(Duration.ofSeconds(20)).until(() -> broker().messageCount(OUTBOUND + ".DLQ") == before + 1);
        JsonNode first = deadLetterOf(OUTBOUND, rowId);
        assertThat(first.path("reason").asText()).isEqualTo("InvalidMessage");
        assertThat(first.path("replayCount").asInt()).isZero();

        OpsHttpClient.Answer replayed = http.post("/ops/api/dead-letters/replay",
                "{\"queue\":\"" + OUTBOUND + "\",\"ids\":[\"" + first.path("id").asText() + "\"]}", KEY);
        assertThat(replayed.json().path("replayed").asInt()).as(replayed.body()).isEqualTo(1);
        // back on the outbound queue, validated again, dead-lettered again: a new message that says it was replayed
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            JsonNode again = deadLetterOf(OUTBOUND, rowId);
            return again != null && !again.path("id").asText().equals(first.path("id").asText());
        });
        JsonNode again = deadLetterOf(OUTBOUND, rowId);
        assertThat(again.path("replayCount").asInt()).isEqualTo(1);
        assertThat(again.path("retryCount").asInt()).isZero();
        assertThat(again.path("correlationId").asText()).isEqualTo(correlationId);
        JsonNode props = http.get("/ops/api/dead-letters/message/" + again.path("id").asText() + "?queue=" + OUTBOUND, KEY).json().path("properties");
        assertThat(props.path("SyncOriginalDeadLetterReason").asText()).isEqualTo("InvalidMessage");
        assertThat(props.path("SyncReplayCount").asInt()).isEqualTo(1);
        assertThat(broker().messageCount(OUTBOUND + ".DLQ")).isEqualTo(before + 1);
    }

    JsonNode deadLetterOf(String queue, String rowId) {
        for (JsonNode item : http.get("/ops/api/dead-letters?queue=" + queue + "&size=100", KEY).json().path("items")) {
            if (rowId.equals(item.path("sourceRowId").asText())) {
                return item;
            }
        }
        return null;
    }

    @Test
    void purgeNeedsConfirmationAndIsAudited() {
        String id = deadLetteredRow("Ops Purge");
        String dlId = itemFor(id).path("id").asText();
        long depth = broker().messageCount(CUSTOMERS_QUEUE + ".DLQ");

        OpsHttpClient.Answer unconfirmed = http.post("/ops/api/dead-letters/purge", "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"ids\":[\"" + dlId + "\"]}", KEY);
        assertThat(unconfirmed.status()).isEqualTo(400);
        assertThat(unconfirmed.json().path("error").asText()).contains("confirm");
        assertThat(broker().messageCount(CUSTOMERS_QUEUE + ".DLQ")).isEqualTo(depth);

        OpsHttpClient.Answer purged = http.post("/ops/api/dead-letters/purge",
                "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"ids\":[\"" + dlId + "\"],\"confirm\":true}", KEY);
        assertThat(purged.status()).as(purged.body()).isEqualTo(200);
        assertThat(purged.json().path("purged").asInt()).isEqualTo(1);
        assertThat(broker().messageCount(CUSTOMERS_QUEUE + ".DLQ")).isEqualTo(depth - 1);
        assertThat(itemFor(id)).isNull();
        assertThat(target().record("customers", id)).isEmpty();

        JsonNode newest = http.get("/ops/api/audit?limit=1", KEY).json().path("items").get(0);
        assertThat(newest.path("action").asText()).isEqualTo("purge");
        assertThat(newest.path("who").asText()).isEqualTo("local-key");
        assertThat(newest.path("count").asInt()).isEqualTo(1);
    }

    @Test
    void reconciliationOnDemandIsAuditedAndItsReportReadable() {
        String neverSynced = createAccount("Ops Reconcile, never notified");
        assertThat(http.post("/ops/api/reconcile", "{\"dryRun\":true}", null).status()).isEqualTo(401);
        OpsHttpClient.Answer bad = http.post("/ops/api/reconcile", "{\"mode\":\"sideways\"}", KEY);
        assertThat(bad.status()).as(bad.body()).isEqualTo(400);
        assertThat(http.get("/ops/api/reconcile/reports?count=5000", KEY).status()).isEqualTo(400);

        OpsHttpClient.Answer started = http.post("/ops/api/reconcile", "{\"entity\":\"account\",\"dryRun\":true}", KEY);
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        assertThat(started.json().path("request").path("dryRun").asBoolean()).isTrue();
        JsonNode report = await().atMost(Duration.ofSeconds(30)).until(() -> http.get("/ops/api/reconcile/reports?count=1", KEY).json()
                .path("reports").path(0), r -> r.path("request").path("trigger").asText().equals("ops:local-key") && r.has("counts"));
        assertThat(report.path("outcome").asText()).as(report.toString()).isEqualTo("succeeded");
        assertThat(report.path("counts").path("neverSynced").asLong()).as(report.toString()).isGreaterThanOrEqualTo(1);
        // a dry run sends nothing: the row stays unsynced
        assertThat(dataverse().row("accounts", neverSynced).orElseThrow().path("new_syncstatus").isNull()
                || dataverse().row("accounts", neverSynced).orElseThrow().path("new_syncstatus").isMissingNode()).isTrue();
        JsonNode newest = http.get("/ops/api/audit?limit=1", KEY).json().path("items").get(0);
        assertThat(newest.path("action").asText()).isEqualTo("reconcile");
        assertThat(newest.path("who").asText()).isEqualTo("local-key");
    }

    @Test
    void onDemandSyncByIdsAndByFilter() {
        String a = createAccount("Ops Sync A");
        OpsHttpClient.Answer byIds = http.post("/ops/api/sync", "{\"entity\":\"account\",\"ids\":[\"" + a + "\"]}", KEY);
        assertThat(byIds.status()).as(byIds.body()).isEqualTo(202);
        assertThat(byIds.json().path("queued").asInt()).isEqualTo(1);
        String correlationId = byIds.json().path("correlationId").asText();
        assertThat(correlationId).matches("[0-9a-f-]{36}");
        awaitSynced(a);

        // the chart's sampler (started with this test's context) has its baseline before the syncs it must see: they
        // can be over within the timer's first second
        await().atMost(Duration.ofSeconds(10)).until(() -> http.get("/ops/api/metrics", KEY).json().path("samples").size() > 0);
        List<String> rows = List.of(createAccount("Ops Sync B"), createAccount("Ops Sync C"), createAccount("Ops Sync D"));
        dataverse().clearRequests();
        String filter = "Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['" + String.join("','", rows) + "'])";
        OpsHttpClient.Answer byFilter = http.post("/ops/api/sync", "{\"entity\":\"account\",\"filter\":\"" + filter + "\"}", KEY);
        assertThat(byFilter.status()).as(byFilter.body()).isEqualTo(202);
        assertThat(byFilter.json().path("queued").asInt()).isEqualTo(3);
        // page size 2: two pages, the second through @odata.nextLink
        assertThat(dataverse().requests().stream().filter(r -> r.method().equals("GET") && r.path().contains("/accounts")).count())
                .isGreaterThanOrEqualTo(2);
        rows.forEach(this::awaitSynced);
        // the console chart sees the synced rows in the service's own meters
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            JsonNode samples = http.get("/ops/api/metrics", KEY).json().path("samples");
            for (JsonNode sample : samples) {
                if (sample.path("syncedPerSecond").asDouble() > 0 && sample.path("meanLatencyMs").asDouble() > 0) {
                    return true;
                }
            }
            return false;
        });

        JsonNode audit = http.get("/ops/api/audit?limit=5", KEY).json().path("items");
        assertThat(audit.findValuesAsText("correlationId")).contains(correlationId, byFilter.json().path("correlationId").asText());
    }

    @Test
    void badInputGetsAClear4xxAndChangesNothing() {
        String id = deadLetteredRow("Ops Bad Input");
        long depth = broker().messageCount(CUSTOMERS_QUEUE + ".DLQ");
        long outbound = broker().messageCount(OUTBOUND);
        String q = "\"queue\":\"" + CUSTOMERS_QUEUE + "\"";

        assertThat(http.get("/ops/api/dead-letters?queue=no-such-queue", KEY).status()).isEqualTo(404);
        assertThat(http.get("/ops/api/dead-letters", KEY).status()).isEqualTo(400);
        assertThat(http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&size=100000", KEY).status()).isEqualTo(400);
        assertThat(http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&page=-1", KEY).status()).isEqualTo(400);
        assertThat(http.get("/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE + "&from=yesterday", KEY).status()).isEqualTo(400);
        assertThat(http.get("/ops/api/dead-letters/message/not-a-guid?queue=" + CUSTOMERS_QUEUE, KEY).status()).isEqualTo(400);
        assertThat(http.get("/ops/api/dead-letters/message/00000000-0000-0000-0000-000000000000?queue=" + CUSTOMERS_QUEUE, KEY).status()).isEqualTo(404);
        assertThat(http.get("/ops/api/audit?limit=abc", KEY).status()).isEqualTo(400);

        for (String body : List.of(
                "not json",
                "[]",
                "{\"queue\":\"no-such-queue\",\"reason\":\"TargetHttp400\"}",
                "{" + q + "}",
                "{" + q + ",\"ids\":[\"1; DROP\"]}",
                "{" + q + ",\"ids\":[]}",
                "{" + q + ",\"ids\":\"x\"}",
                "{" + q + ",\"reason\":\"x' OR '1'='1\"}",
                "{" + q + ",\"reasons\":\"TargetHttp400\"}",
                "{" + q + ",\"all\":true,\"reason\":\"TargetHttp400\"}")) {
            OpsHttpClient.Answer replay = http.post("/ops/api/dead-letters/replay", body, KEY);
            assertThat(replay.status()).as("replay %s: %s", body, replay.body()).isBetween(400, 404);
            assertThat(replay.json().path("error").asText()).isNotEmpty();
            OpsHttpClient.Answer purge = http.post("/ops/api/dead-letters/purge", body.replace("}", ",\"confirm\":true}"), KEY);
            assertThat(purge.status()).as("purge %s: %s", body, purge.body()).isBetween(400, 404);
        }
        for (String body : List.of(
                "{\"entity\":\"contact\",\"ids\":[\"" + id + "\"]}",
                "{\"entity\":\"account\",\"ids\":[\"not-a-guid\"]}",
                "{\"entity\":\"account\",\"ids\":[\"" + id + "\"],\"filter\":\"name eq 'x'\"}",
                "{\"entity\":\"account\",\"filter\":\"name eq 'x'&$expand=all\"}",
                "{\"entity\":\"account\",\"filter\":\"name eq 'x'\\r\\nX-Header: y\"}",
                "{\"entity\":\"account\",\"filter\":\"name eq 'x\"}",
                "{\"entity\":\"account\",\"filter\":\"" + "a".repeat(2000) + "\"}",
                "{\"entity\":\"account\",\"ids\":[\"" + String.join("\",\"", java.util.Collections.nCopies(6, id)).replace(id, "") + "\"]}",
                // more rows than sync.ops.sync.max-rows (5): refused before anything is queued
                "{\"entity\":\"account\",\"filter\":\"Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['"
                        + String.join("','", List.of(createAccount("x1"), createAccount("x2"), createAccount("x3"), createAccount("x4"),
                                createAccount("x5"), createAccount("x6"))) + "'])\"}")) {
            OpsHttpClient.Answer sync = http.post("/ops/api/sync", body, KEY);
            assertThat(sync.status()).as("sync %s: %s", body, sync.body()).isEqualTo(400);
        }
        assertThat(broker().messageCount(CUSTOMERS_QUEUE + ".DLQ")).isEqualTo(depth);
        assertThat(broker().messageCount(OUTBOUND)).isEqualTo(outbound);
        assertThat(itemFor(id)).isNotNull();
    }

    @Test
    void everyOpsEndpointNeedsTheKeyHealthStaysOpen() {
        for (String path : List.of("/ops/api/queues", "/ops/api/audit", "/ops/api/metrics", "/ops/api/dead-letters?queue=" + CUSTOMERS_QUEUE,
                "/ops/api/dead-letters/groups?queue=" + CUSTOMERS_QUEUE)) {
            OpsHttpClient.Answer none = http.get(path, null);
            assertThat(none.status()).as(path).isEqualTo(401);
            assertThat(none.response().headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(http.get(path, "wrong-key-0123456789").status()).as(path).isEqualTo(401);
            assertThat(http.get(path, KEY).status()).as(path).isEqualTo(200);
        }
        assertThat(http.post("/ops/api/dead-letters/replay", "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"all\":true}", null).status()).isEqualTo(401);
        assertThat(http.post("/ops/api/dead-letters/purge", "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"all\":true,\"confirm\":true}", "nope-nope-nope-nope").status())
                .isEqualTo(401);
        assertThat(http.post("/ops/api/sync", "{\"entity\":\"account\",\"ids\":[]}", null).status()).isEqualTo(401);
        // the page carries no data (it asks for the key); health stays open for the probes
        OpsHttpClient.Answer page = http.get("/ops/", null);
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.body()).contains("dataverse-sync operations").doesNotContain(KEY);
        assertThat(http.get("/ops/console.js", null).status()).isEqualTo(200);
        assertThat(http.get("/ops/secrets.txt", null).status()).isEqualTo(404);
        assertThat(http.get("/observe/health", null).status()).isEqualTo(200);
    }

    @Test
    void theConfiguredKeyIsNeverLogged() {
        String log = LOG.toString();
        assertThat(log).as("the run's log was captured").contains("Apache Camel");
        assertThat(log).doesNotContain(KEY);
        // Camel's property summary does list it, masked (camel.main.additional-sensitive-keywords = localkey)
        assertThat(log).contains("sync.ops.local-key = xxxxxx");
        assertThat(log).doesNotContain("generated one for this run");
    }
}
