package io.dataversesync.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.TargetEmulator;
import io.dataversesync.emulator.local.LocalEnvironment;
import io.dataversesync.mapping.Mappings;
import io.dataversesync.reconcile.PayloadMapper;
import io.dataversesync.sync.SyncMessages;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.main.Main;

import static io.dataversesync.bench.SyncBenchmark.JSON;
import static io.dataversesync.bench.SyncBenchmark.round;

/**
 * The reconcile scenario (opt-in, {@code --scenarios=reconcile}): 100,000 rows in step in Dataverse and at the
 * customers target (seeded as a finished sync leaves them: the row's hash, status and target id, the target's record),
 * then 1% drift across the four classes, as it happens in production: records purged at the target (missing), records
 * changed there by someone else (different), rows deleted in Dataverse while the service was down (orphan), rows
 * bulk-imported with plug-ins bypassed (neverSynced). A full reconciliation finds and corrects them through the
 * pipeline; once the corrections have landed a second run must find zero. Printed as one JSON line
 * ({@code "scenario":"reconcile"}); verified only if the drift found equals the drift injected class by class (no
 * miss, no false alarm) and the second run finds none.
 */
final class Reconcile {
    static final List<String> CLASSES = List.of("missing", "different", "orphan", "neverSynced");

    private Reconcile() {
    }

    static ObjectNode scenario(Path work, int runIndex, Map<String, String> options) throws Exception {
        int rows = Integer.parseInt(options.getOrDefault("reconcile-rows", "100000"));
        double driftShare = Double.parseDouble(options.getOrDefault("reconcile-drift", "0.01"));
        int perClass = (int) Math.round(rows * driftShare / CLASSES.size());

        Main main = new Main(io.dataversesync.Main.class);
        SyncBenchmark.Scenario s = new SyncBenchmark.Scenario("reconcile", rows, rows, 0, 0, 0, 300, 96, rows, 0, SyncBenchmark.Cost.NONE, 1);
        Map<String, String> p = SyncBenchmark.properties(s, true, 96, work.resolve("reconcile-broker"), runIndex);
        p.put("sync.reconcile.data-dir", work.resolve("reconcile-reports").toString());
        SyncBenchmark.OVERRIDES.forEach(p::put);
        p.forEach(main::addOverrideProperty);
        main.start();
        try {
            CamelContext context = main.getCamelContext();
            LocalEnvironment local = context.getRegistry().lookupByNameAndType("localEnvironment", LocalEnvironment.class);
            EmbeddedBroker broker = context.getRegistry().lookupByNameAndType("embeddedBroker", EmbeddedBroker.class);
            DataverseEmulator dataverse = local.dataverse();
            TargetEmulator target = local.target();
            dataverse.recordingLimit(1000);
            target.recordingLimit(1000);

            long seedStart = System.nanoTime();
            List<String> ids = seedInStep(context, dataverse, target, rows);
            double seedSeconds = (System.nanoTime() - seedStart) / 1e9;

            // 1% drift, a quarter per class, on distinct rows
            Map<String, List<String>> injected = new LinkedHashMap<>();
            CLASSES.forEach(c -> injected.put(c, new ArrayList<>()));
            for (int i = 0; i < perClass; i++) {
                String missing = ids.get(i * 4);
                String different = ids.get(i * 4 + 1);
                String orphan = ids.get(i * 4 + 2);
                target.removeRecord("customers", missing);
                ObjectNode changed = target.record("customers", different).orElseThrow();
                changed.put("name", "Changed in the target by someone else " + i);
                target.restoreRecords("customers", List.of(changed));
                dataverse.deleteRow("accounts", orphan);
                ObjectNode imported = row(rows + i);
                String neverSynced = dataverse.upsertRow("accounts", null, imported);
                injected.get("missing").add(missing);
                injected.get("different").add(different);
                injected.get("orphan").add(orphan);
                injected.get("neverSynced").add(neverSynced);
            }

            ProducerTemplate producer = context.createProducerTemplate();
            dataverse.resetCounters();
            long start = System.nanoTime();
            ObjectNode first = (ObjectNode) JSON.readTree(producer.requestBody("direct:reconcile", "{}", String.class));
            double wallSeconds = (System.nanoTime() - start) / 1e9;

            List<String> queues = SyncBenchmark.pipelineQueues(context);
            List<String> deadLetterQueues = SyncBenchmark.deadLetterQueues(context, queues);
            long correctedAt = SyncBenchmark.awaitComplete(broker, queues, deadLetterQueues,
                    () -> corrected(dataverse, target, injected), Duration.ofMinutes(10));
            double correctionSeconds = ((correctedAt >= 0 ? correctedAt : System.nanoTime()) - start) / 1e9;

            long before = dataverse.requestCount();
            long secondStart = System.nanoTime();
            ObjectNode second = (ObjectNode) JSON.readTree(producer.requestBody("direct:reconcile", "{\"dryRun\":true}", String.class));
            double secondSeconds = (System.nanoTime() - secondStart) / 1e9;
            long secondRequests = dataverse.requestCount() - before;

            ObjectNode out = JSON.createObjectNode();
            out.put("scenario", "reconcile");
            out.put("rows", rows);
            ObjectNode driftInjected = out.putObject("driftInjected");
            ObjectNode driftFound = out.putObject("driftFound");
            boolean exact = "succeeded".equals(first.path("outcome").asText());
            long secondRunDrift = 0;
            for (String c : CLASSES) {
                driftInjected.put(c, injected.get(c).size());
                long found = first.path("counts").path(c).asLong(-1);
                driftFound.put(c, found);
                exact &= found == injected.get(c).size() && examplesAreInjected(first, c, injected.get(c));
                secondRunDrift += second.path("counts").path(c).asLong(Long.MAX_VALUE / 8);
            }
            out.put("dataverseRequests", first.path("dataverseRequests").asLong());
            out.put("dataverseRequestsGoal", 40);
            out.put("wallSeconds", round(wallSeconds));
            out.put("correctionsSent", first.path("corrections").path("sent").asLong());
            out.put("correctedSeconds", round(correctionSeconds));
            out.put("secondRunDrift", secondRunDrift);
            out.put("secondRunDataverseRequests", secondRequests);
            out.put("secondRunWallSeconds", round(secondSeconds));
            out.put("targetRequests", first.path("targetRequests").asLong());
            out.put("seedSeconds", round(seedSeconds));
            JsonNode entity = first.path("entities").path(0);
            out.put("readAndMapSeconds", round(entity.path("readAndMapMs").asLong() / 1000.0));
            out.put("compareSeconds", round(entity.path("targets").path(0).path("compareMs").asLong() / 1000.0));
            out.put("deadLettered", deadLetterQueues.stream().mapToLong(broker::messageCount).sum());
            out.put("budgetShare", Double.parseDouble(context.resolvePropertyPlaceholders("{{sync.reconcile.budget-share}}")));
            out.put("verified", exact && correctedAt >= 0 && secondRunDrift == 0 && "succeeded".equals(second.path("outcome").asText()));
            if (!out.path("verified").asBoolean()) {
                System.err.println("reconcile: first run " + first.path("counts") + " " + first.path("error").asText("")
                        + "; second run " + second.path("counts"));
            }
            return out;
        } finally {
            main.stop();
        }
    }

    /** The report's example keys of a class are among the keys injected into it (the counts alone could hide a swap). */
    private static boolean examplesAreInjected(JsonNode report, String drift, List<String> injected) {
        for (JsonNode entity : report.path("entities")) {
            for (JsonNode t : entity.path("targets")) {
                for (JsonNode key : t.path("examples").path(drift)) {
                    if (!injected.contains(key.asText())) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    private static ObjectNode row(int r) {
        ObjectNode row = JSON.createObjectNode();
        row.put("name", "Reconcile account " + r);
        row.put("accountnumber", String.format("R-%06d", r));
        row.put("telephone1", "+1-425-555-" + String.format("%04d", r % 10000));
        row.put("emailaddress1", "account" + r + "@example.com");
        row.put("address1_city", "Redmond");
        row.put("statecode", 0);
        return row;
    }

    /**
     * Every row as a finished sync leaves it: at the target its mapped payload (the repository's mapping, mapped as
     * the reconciliation maps it), on the row the payload's hash, Synced and the target's id.
     */
    private static List<String> seedInStep(CamelContext context, DataverseEmulator dataverse, TargetEmulator target, int rows) throws Exception {
        List<String> ids = new ArrayList<>(rows);
        List<ObjectNode> records = new ArrayList<>(rows);
        SyncMessages messages = context.getRegistry().lookupByNameAndType("syncMessages", SyncMessages.class);
        PayloadMapper mapper = new PayloadMapper(context, context.getRegistry().lookupByNameAndType("mappings", Mappings.class), messages);
        for (int r = 0; r < rows; r++) {
            ObjectNode row = row(r);
            String id = dataverse.upsertRow("accounts", null, row);
            row.put("accountid", id);
            PayloadMapper.Mapped mapped = mapper.map("customers", "account", row.toString());
            if (mapped.error() != null) {
                throw new IllegalStateException(mapped.error());
            }
            String targetId = String.format("CUST-%06d", r + 1);
            ObjectNode columns = JSON.createObjectNode();
            columns.put("new_syncedhash", mapped.hash());
            columns.put("new_syncstatus", "Synced");
            columns.put("new_targetrowid", targetId);
            dataverse.upsertRow("accounts", id, columns);
            ObjectNode record = (ObjectNode) mapped.payloadJson(JSON);
            record.put("id", targetId);
            record.put("sourceRowId", id);
            record.put("version", 1);
            record.put("deleted", false);
            records.add(record);
            ids.add(id);
        }
        target.restoreRecords("customers", records);
        return ids;
    }

    /** Every injected drift corrected: the target holds the row again (or has deleted the orphan), the row is Synced. */
    private static boolean corrected(DataverseEmulator dataverse, TargetEmulator target, Map<String, List<String>> injected) {
        for (String c : List.of("missing", "different", "neverSynced")) {
            for (String id : injected.get(c)) {
                ObjectNode row = dataverse.row("accounts", id).orElse(null);
                ObjectNode record = target.record("customers", id).orElse(null);
                if (row == null || record == null || record.path("deleted").asBoolean()
                        || !row.path("name").asText().equals(record.path("name").asText())
                        || !"Synced".equals(row.path("new_syncstatus").asText())) {
                    return false;
                }
            }
        }
        for (String id : injected.get("orphan")) {
            if (!target.record("customers", id).map(r -> r.path("deleted").asBoolean()).orElse(true)) {
                return false;
            }
        }
        return true;
    }
}
