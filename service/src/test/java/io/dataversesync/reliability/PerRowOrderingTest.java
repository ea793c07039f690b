package io.dataversesync.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.ConcurrencyTracker;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.transport.ArtemisTransport;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.jms.JmsEndpoint;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-row ordering (issue 3): with several concurrent consumers, the updates of one row are never processed in
 * parallel, and the target never ends on an older version of a row.
 *
 * <p>Locally the ordering comes from Artemis message groups: every notification carries JMSXGroupID = Source Row
 * ID (as the Dataverse plugin path and the demo load do), the broker pins a group to one
 * consumer at a time, and that consumer handles its messages one after the other.
 *
 * <p>Two independent measurements: the outbound consumer route (a first step added by advice counts the exchanges
 * per row until their unit of work is done) and the target emulator (requests in flight per path). The control
 * test runs the same load without JMSXGroupID and shows both trackers do see one row processed in parallel, so
 * the ordering test cannot pass vacuously.
 */
class PerRowOrderingTest extends SyncTestSupport {

    static {
        // Camel's properties component lets system properties override application.properties; the base class's
        // @CamelMainTest stays as it is (a subclass annotation would replace it, not merge with it).
        System.setProperty("sync.consumers.outbound", "4");
        System.setProperty("sync.consumers.ack", "2");
        System.setProperty("sync.consumers.subscriber", "4");
    }

    private static final Duration PUT_LATENCY = Duration.ofMillis(40);

    RowActivityTracker rows;

    @BeforeEach
    void trackRowsInTheConsumerRoute() throws Exception {
        rows = new RowActivityTracker();
        // the target's consumer: where a row's copies are mapped and sent to the target
        AdviceWith.adviceWith(context, "target-customers", route -> route.weaveAddFirst().process(rows));
    }

    @Test
    void updatesOfOneRowNeverRunInParallelAndTheTargetEndsOnTheLatestVersion() {
        assertThat(outboundConsumers()).as("concurrent outbound consumers").isGreaterThanOrEqualTo(2);
        Load load = run(8, 12, true, 10);

        // one row: never two at once, in the route nor at the target
        for (String id : load.rowIds) {
            assertThat(rows.maxForRow(id)).as("exchanges of row %s at once", id).isEqualTo(1);
            assertThat(load.targetPerRow.get(id)).as("target PUTs of row %s at once", id).isEqualTo(1);
        }
        assertThat(target().concurrency().overlapCount()).isZero();
        // ... while the consumers really worked in parallel across rows
        assertThat(rows.maxTotal()).as("exchanges in flight across rows").isGreaterThan(1);
        assertThat(target().concurrency().maxInFlightOfMethod("PUT")).as("target PUTs in flight across rows").isGreaterThan(1);

        // every row ends on its latest version, in the target and Synced in Dataverse; versions only went forward
        for (int i = 0; i < load.rowIds.size(); i++) {
            String id = load.rowIds.get(i);
            ObjectNode record = target().record("customers", id).orElseThrow();
            assertThat(record.path("name").asText()).isEqualTo(name(i, load.rounds));
            ObjectNode row = row(id);
            assertThat(row.path("new_syncstatus").asText()).isEqualTo("Synced");
            assertThat(row.path("new_targetrowid").asText()).isEqualTo(record.path("id").asText());
            assertThat(load.regressions.get(id)).as("PUTs of row %s that went back to an older version", id).isZero();
        }
        assertThat(receiveDeadLetter(OUTBOUND, Duration.ofMillis(200))).isNull();
        assertThat(receiveDeadLetter(CUSTOMERS_QUEUE, Duration.ofMillis(200))).isNull();
        assertThat(receiveDeadLetter(ACK, Duration.ofMillis(200))).isNull();

        // each row's message group was let go once its message was committed: with nothing in flight the queues hold
        // none (Artemis alone keeps one per row for as long as the consumers live, i.e. for good: GroupReleasingContainers)
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(broker().groupCount(OUTBOUND)).as("groups on the outbound queue").isZero();
            assertThat(broker().groupCount(CUSTOMERS_QUEUE)).as("groups on the target's queue").isZero();
            assertThat(broker().groupCount(ACK)).as("groups on the ack queue").isZero();
        });
    }

    @Test
    void orderingHoldsWhenRetryCopiesComeBackAfterNewerChanges() {
        Load load = run(6, 10, true, 10, 3);

        for (String id : load.rowIds) {
            assertThat(rows.maxForRow(id)).as("exchanges of row %s at once", id).isEqualTo(1);
            assertThat(load.targetPerRow.get(id)).as("target PUTs of row %s at once", id).isEqualTo(1);
        }
        assertThat(load.failedPuts).as("injected 503s").isEqualTo(3);
        for (int i = 0; i < load.rowIds.size(); i++) {
            String id = load.rowIds.get(i);
            assertThat(target().record("customers", id).orElseThrow().path("name").asText()).isEqualTo(name(i, load.rounds));
            assertThat(row(id).path("new_syncstatus").asText()).isEqualTo("Synced");
            assertThat(load.regressions.get(id)).as("PUTs of row %s that went back to an older version", id).isZero();
        }
        assertThat(receiveDeadLetter(OUTBOUND, Duration.ofMillis(200))).isNull();
    }

    /** Control: the same kind of load without message groups: the trackers do see one row processed in parallel. */
    @Test
    void withoutMessageGroupsTheTrackersSeeOneRowProcessedInParallel() throws Exception {
        // the published copies without their group either (the transport sets JMSXGroupID = the row on every send)
        AdviceWith.adviceWith(context, "transport-publish-change",
                route -> route.weaveById("publish-change").before().removeHeader(ArtemisTransport.GROUP_ID));
        Load load = run(2, 30, false, 10);

        int routeMax = load.rowIds.stream().mapToInt(rows::maxForRow).max().orElse(0);
        int targetMax = load.rowIds.stream().mapToInt(load.targetPerRow::get).max().orElse(0);
        assertThat(routeMax).as("exchanges of one row at once, without JMSXGroupID").isGreaterThan(1);
        assertThat(targetMax).as("target PUTs of one row at once, without JMSXGroupID").isGreaterThan(1);
    }

    // ------------------------------------------------------------------------------------------------ the load

    record Load(List<String> rowIds, int rounds, Map<String, Integer> targetPerRow, Map<String, Integer> regressions,
            int failedPuts) {
    }

    private Load run(int rowCount, int rounds, boolean grouped, long pauseMs) {
        return run(rowCount, rounds, grouped, pauseMs, 0);
    }

    /**
     * Creates the rows, then for each round changes every row and announces each change right after it
     * (interleaved across rows), pausing between rounds so changes keep arriving while earlier ones are processed.
     * Waits until both queues are empty and nothing is in flight.
     */
    private Load run(int rowCount, int rounds, boolean grouped, long pauseMs, int injected503s) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < rowCount; i++) {
            ids.add(createAccount(name(i, 0)));
        }
        target().faults().latency("PUT", PUT_LATENCY);
        target().concurrency().reset();
        target().clearRequests();
        long started = System.nanoTime();
        int notifications = 0;
        for (int r = 1; r <= rounds; r++) {
            if (injected503s > 0 && r % Math.max(1, rounds / (injected503s + 1)) == 0 && r / Math.max(1, rounds / (injected503s + 1)) <= injected503s) {
                target().faults().failNext("PUT", 1, 503);
            }
            for (int i = 0; i < ids.size(); i++) {
                String id = ids.get(i);
                ObjectNode change = JSON.createObjectNode();
                change.put("name", name(i, r));
                change.put("telephone1", String.format("+1-425-555-%04d", r));
                dataverse().upsertRow("accounts", id, change);
                announce(id, grouped);
                notifications++;
            }
            sleep(pauseMs);
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                broker().messageCount(OUTBOUND) == 0 && broker().messageCount(CUSTOMERS_QUEUE) == 0 && broker().messageCount(ACK) == 0
                        && rows.inFlight() == 0);
        long millis = (System.nanoTime() - started) / 1_000_000;

        ConcurrencyTracker concurrency = target().concurrency();
        Map<String, Integer> perRow = new LinkedHashMap<>();
        Map<String, Integer> regressions = new LinkedHashMap<>();
        int puts = 0;
        int failed = 0;
        for (String id : ids) {
            perRow.put(id, concurrency.maxInFlight("PUT", "/api/customers/" + id));
            int highest = 0;
            int back = 0;
            for (RecordedRequest put : targetCalls("PUT", id)) {
                puts++;
                if (put.status() >= 300) {
                    failed++;
                    continue;
                }
                int round = roundOf(json(put.body()).path("name").asText());
                if (round < highest) {
                    back++;
                }
                highest = Math.max(highest, round);
            }
            regressions.put(id, back);
        }
        System.out.printf("[figures] per-row ordering, JMSXGroupID %s: %d rows x %d rounds = %d notifications in %d ms;"
                        + " %d consumer exchanges, %d target PUTs (%d failed), max exchanges in flight %d (per row %s),"
                        + " max target PUTs in flight %d (per row %s), target PUT overlaps on one row %d,"
                        + " PUTs that went back to an older version %s%n",
                grouped ? "on" : "off", rowCount, rounds, notifications, millis, rows.exchanges(), puts, failed,
                rows.maxTotal(), rows.maxPerRow().values(), concurrency.maxInFlightOfMethod("PUT"), perRow.values(),
                concurrency.overlapCount(), regressions.values());
        return new Load(ids, rounds, perRow, regressions, failed);
    }

    /** What the Dataverse plugin step does on a change (the demo load): group = the row. */
    private void announce(String rowId, boolean grouped) {
        Map<String, Object> headers = new HashMap<>();
        headers.put(ArtemisTransport.CORRELATION_ID, UUID.randomUUID().toString());
        headers.put(ArtemisTransport.REQUESTED_AT, System.currentTimeMillis());
        if (grouped) {
            headers.put(ArtemisTransport.GROUP_ID, rowId);
        }
        producer.sendBodyAndHeaders("jms:queue:" + OUTBOUND,
                "{\"entity\":\"account\",\"sourceRowId\":\"" + rowId + "\",\"operation\":\"Update\"}", headers);
    }

    private int outboundConsumers() {
        return ((JmsEndpoint) context.getRoute("outbound-sync-consumer").getEndpoint()).getConcurrentConsumers();
    }

    private static String name(int row, int round) {
        return "Ordered row " + row + " v" + round;
    }

    private static int roundOf(String name) {
        return Integer.parseInt(name.substring(name.lastIndexOf(" v") + 2));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
