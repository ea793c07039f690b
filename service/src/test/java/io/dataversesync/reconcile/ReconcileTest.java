package io.dataversesync.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.RecordedRequest;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Reconciliation on the emulators: every class of drift (missing at the target, changed there, deleted in Dataverse
 * while the service was down, never synced, Failed) is found by a dry run that changes nothing, corrected by a run
 * through the normal pipeline, and a second run finds zero; change tracking picks up an update and a delete; an
 * expired token falls back to a full run; bad requests fail the run with a clear message.
 */
class ReconcileTest extends SyncTestSupport {

    ObjectNode reconcile(String request) {
        return json(producer.requestBody("direct:reconcile", request, String.class));
    }

    static long count(JsonNode report, String drift) {
        return report.path("counts").path(drift).asLong(-1);
    }

    /** Rows created and synced through the pipeline, as in production. */
    List<String> syncedAccounts(int count, String prefix) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = createAccount(prefix + " " + i);
            notifyChange("account", id);
            ids.add(id);
        }
        ids.forEach(this::awaitSynced);
        return ids;
    }

    /** A zero-drift starting point: whatever earlier tests of this class left is corrected first. */
    void startInStep() {
        ObjectNode first = reconcile("{}");
        assertThat(first.path("outcome").asText()).as(first.toString()).isEqualTo("succeeded");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            ObjectNode check = reconcile("{\"dryRun\":true}");
            assertThat(check.path("driftRatio").asDouble()).as(check.toString()).isZero();
        });
    }

    @Test
    void findsEveryClassDryRunChangesNothingARunCorrectsAllAndTheSecondFindsZero() throws Exception {
        List<String> ids = syncedAccounts(6, "Reconcile");
        startInStep();
        String missing = ids.get(0);
        String different = ids.get(1);
        String orphan = ids.get(2);
        String failed = ids.get(3);
        assertThat(target().removeRecord("customers", missing)).isTrue();
        ObjectNode changed = target().record("customers", different).orElseThrow();
        changed.put("name", "Changed by someone else");
        target().restoreRecords("customers", List.of(changed));
        dataverse().deleteRow("accounts", orphan); // while the service was down: no notification
        changeAccount(failed, "new_syncstatus", "Failed");
        String neverSynced = createAccount("Bulk imported, plug-ins bypassed"); // never notified

        target().clearRequests();
        // the outbound consumer paused: whatever the dry run sent would stay on the queue
        context.getRouteController().suspendRoute("outbound-sync-consumer");
        ObjectNode dry = reconcile("{\"dryRun\":true}");
        long queued = broker().messageCount(OUTBOUND);
        context.getRouteController().resumeRoute("outbound-sync-consumer");
        assertThat(queued).as("nothing sent by a dry run").isZero();
        assertThat(dry.path("outcome").asText()).as(dry.toString()).isEqualTo("succeeded");
        assertThat(count(dry, "missing")).isEqualTo(1);
        assertThat(count(dry, "different")).isEqualTo(1);
        assertThat(count(dry, "orphan")).isEqualTo(1);
        assertThat(count(dry, "neverSynced")).isEqualTo(2);
        JsonNode customers = dry.path("entities").get(0).path("targets").get(0);
        assertThat(customers.path("target").asText()).isEqualTo("customers");
        assertThat(customers.path("compare").asText()).isEqualTo("target");
        assertThat(customers.path("examples").path("missing")).extracting(JsonNode::asText).containsExactly(missing);
        assertThat(customers.path("examples").path("different")).extracting(JsonNode::asText).containsExactly(different);
        assertThat(customers.path("examples").path("orphan")).extracting(JsonNode::asText).containsExactly(orphan);
        assertThat(customers.path("examples").path("neverSynced")).extracting(JsonNode::asText).containsExactlyInAnyOrder(failed, neverSynced);
        assertThat(dry.path("dataverseRequests").asLong()).as("one page: every row in one request").isEqualTo(1);
        assertThat(dry.path("corrections").path("sent").asLong()).isZero();
        assertThat(dry.path("corrections").path("note").asText()).contains("dry run");
        // the dry run changed nothing anywhere: it only read
        assertThat(target().requests()).allMatch(r -> r.method().equals("GET"));
        assertThat(target().record("customers", missing)).isEmpty();
        assertThat(target().record("customers", different).orElseThrow().path("name").asText()).isEqualTo("Changed by someone else");
        assertThat(target().record("customers", orphan).orElseThrow().path("deleted").asBoolean()).isFalse();

        ObjectNode run = reconcile("{}");
        assertThat(run.path("outcome").asText()).isEqualTo("succeeded");
        assertThat(run.path("corrections").path("sent").asLong()).isEqualTo(5);
        assertThat(run.path("corrections").path("complete").asBoolean()).isTrue();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(target().record("customers", missing)).isPresent();
            assertThat(target().record("customers", different).orElseThrow().path("name").asText()).isEqualTo("Reconcile 1");
            assertThat(target().record("customers", orphan).orElseThrow().path("deleted").asBoolean()).isTrue();
            assertThat(target().record("customers", neverSynced)).isPresent();
            assertThat(row(neverSynced).path("new_syncstatus").asText()).isEqualTo("Synced");
            assertThat(row(failed).path("new_syncstatus").asText()).isEqualTo("Synced");
        });
        // each correction reached customers only, with an Idempotency-Key of its own (not a replay of the first call)
        List<RecordedRequest> puts = targetCalls("PUT", different);
        assertThat(puts.get(puts.size() - 1).headers().get("idempotency-key")).contains("-resend-");
        assertThat(target().record("customers", different).orElseThrow().path("version").asLong()).isGreaterThan(1);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            ObjectNode second = reconcile("{\"dryRun\":true}");
            for (String drift : List.of("missing", "different", "orphan", "neverSynced")) {
                assertThat(count(second, drift)).as(drift + " in " + second).isZero();
            }
        });

        // every run left a report that outlives the process (JSON files) and metrics
        List<ObjectNode> reports = context.getRegistry().lookupByNameAndType("reconciler", Reconciler.class).latestReports(3);
        assertThat(reports).hasSize(3);
        Path folder = Path.of(System.getProperty("test.reconcile.dir"));
        try (var files = Files.list(folder)) {
            assertThat(files.filter(f -> f.getFileName().toString().startsWith("report-")).count()).isGreaterThanOrEqualTo(3);
        }
        MeterRegistry meters = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        assertThat(meters.get("dataverse.sync.reconcile.drift.ratio").tag("target", "customers").gauge().value()).isZero();
        assertThat(meters.get("dataverse.sync.reconcile.last.run.success").gauge().value()).isEqualTo(1.0);
        assertThat(meters.get("dataverse.sync.reconcile.drift").tag("class", "missing").gauge()).isNotNull();
    }

    @Test
    void changeTrackingPicksUpAnUpdateAndADeleteAndAnExpiredTokenFallsBackToAFullRun() {
        List<String> ids = syncedAccounts(3, "Tracked");
        startInStep(); // a full run stores the delta link

        changeAccount(ids.get(0), "name", "Renamed, notification lost");
        dataverse().deleteRow("accounts", ids.get(1));
        ObjectNode incremental = reconcile("{\"mode\":\"incremental\",\"dryRun\":true}");
        assertThat(incremental.path("outcome").asText()).as(incremental.toString()).isEqualTo("succeeded");
        JsonNode entity = incremental.path("entities").get(0);
        assertThat(entity.path("mode").asText()).isEqualTo("incremental");
        assertThat(entity.has("fellBackToFull")).isFalse();
        assertThat(entity.path("deletedReported").asLong()).isEqualTo(1);
        assertThat(count(incremental, "different")).isEqualTo(1);
        assertThat(count(incremental, "orphan")).isEqualTo(1);
        assertThat(entity.path("rowsRead").asLong()).as("only what changed").isLessThan(3);

        ObjectNode corrected = reconcile("{\"mode\":\"incremental\"}");
        assertThat(corrected.path("corrections").path("sent").asLong()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(target().record("customers", ids.get(0)).orElseThrow().path("name").asText()).isEqualTo("Renamed, notification lost");
            assertThat(target().record("customers", ids.get(1)).orElseThrow().path("deleted").asBoolean()).isTrue();
        });

        dataverse().expireChangeTrackingTokens();
        ObjectNode fallback = reconcile("{\"mode\":\"incremental\",\"dryRun\":true}");
        assertThat(fallback.path("outcome").asText()).isEqualTo("succeeded");
        JsonNode fell = fallback.path("entities").get(0);
        assertThat(fell.path("mode").asText()).isEqualTo("full");
        assertThat(fell.path("fellBackToFull").asText()).contains("expired");
        assertThat(fell.path("rowsRead").asLong()).isEqualTo(dataverse().rows("accounts").size());
    }

    @Test
    void badRequestsFailTheRunWithAClearMessageAndCorrectNothing() {
        ObjectNode unknown = reconcile("{\"entity\":\"nope\"}");
        assertThat(unknown.path("outcome").asText()).isEqualTo("failed");
        assertThat(unknown.path("error").asText()).contains("unknown entity 'nope'");
        assertThat(unknown.path("corrections").path("note").asText()).contains("nothing was corrected");
        assertThat(reconcile("{\"target\":\"ghost\"}").path("error").asText()).contains("unknown target 'ghost'");
        assertThat(reconcile("{\"mode\":\"weekly\"}").path("error").asText()).contains("mode must be one of full, incremental");
        assertThat(reconcile("[1]").path("error").asText()).contains("JSON object");
    }

    @Test
    void aTargetWithoutAReadContractIsComparedThroughTheRowsHashOrFailsWhenAFullCompareIsAsked() {
        Map<String, TargetReadContract> contracts = TargetReadContract.fromProperties(key -> switch (key) {
            case "sync.reconcile.target-read.page-size" -> "100";
            case "sync.reconcile.target-read.items-field" -> "value";
            case "sync.reconcile.target-read.next-link-field" -> "nextLink";
            case "sync.reconcile.target-read.key-field" -> "sourceRowId";
            default -> null;
        }, context.getRegistry().lookupByNameAndType("targetCatalog", io.dataversesync.target.TargetCatalog.class));
        assertThat(contracts.get("customers").canList()).isFalse();
        // the repository's customers declares one: compare=hash is still possible on request
        syncedAccounts(1, "Hash compare");
        ObjectNode byHash = reconcile("{\"compare\":\"hash\",\"dryRun\":true}");
        assertThat(byHash.path("entities").get(0).path("targets").get(0).path("compare").asText()).isEqualTo("hash");
        assertThat(byHash.path("entities").get(0).path("targets").get(0).path("orphans").asText()).contains("not checked");
    }

    /** The nightly route on a cron of every second (a dry run, as the schedule's request says). */
    @Nested
    @CamelMainTest(properties = {
            "sync.reconcile.schedule.enabled=true",
            "sync.reconcile.cron=0/1 * * * * ?",
            "sync.reconcile.schedule.request={\"dryRun\":true}"
    })
    class OnItsSchedule {
        @Test
        void theScheduledRouteRunsOnItsCronAndLeavesItsReport() {
            Reconciler reconciler = context.getRegistry().lookupByNameAndType("reconciler", Reconciler.class);
            await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.latestReports(50).stream().anyMatch(r ->
                    "schedule".equals(r.path("request").path("trigger").asText()) && r.path("dryRun").asBoolean()
                            && "succeeded".equals(r.path("outcome").asText())));
        }
    }
}
