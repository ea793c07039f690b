package io.dataversesync.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dataversesync.emulator.FaultInjector.Fault;
import org.junit.jupiter.api.Test;

/**
 * Fault soak (issue 11): 30 % of the requests to Dataverse (reads, $batch write-backs) and to the target fail
 * transiently, mixed equally: 429 with Retry-After, 500, 503, a timeout (the request is done, the answer comes after
 * the client's 1 s timeout) and a connection reset (no answer, nothing done). Every change must arrive with its
 * latest version, every row be written back, nothing dead-lettered; retries and 429s are counted and printed. The
 * changes come round by round (each row once per round, the next round once the last reached the target), so each is
 * a target call and a write-back of its own.
 *
 * <p>The retry budget is part of the test's settings, on purpose: at 30 % per request a target attempt (a re-read,
 * then the call) fails about half the time, so the default 5 retries would dead-letter about 2 % of the changes after
 * their budget, as designed; the soak asks whether anything is lost while retries last, so it gives 20 retries with
 * delays capped at 2 s. The target's breaker opens now and then at this rate (50 % of 20 calls); its messages are
 * held, not failed, and a 2 s open state keeps the run short.
 *
 * <p>CI size by default (500 changes: 100 rows × 5 rounds); {@code -Dsoak.rows=2000 -Dsoak.changes=5} runs 10,000 (README).
 */
class FaultSoakTest {
    private static final double FAULT_RATE = 0.3;
    private final int rows = BurstRun.size("soak.rows", 100);
    private final int changes = BurstRun.size("soak.changes", 5);

    @Test
    void thirtyPercentTransientFaultsLoseNothing() throws Exception {
        long begun = System.nanoTime();
        try (BurstRun run = new BurstRun("Soak", rows, changes)) {
            List<Fault> mix = List.of(Fault.throttled(1), Fault.status(500), Fault.status(503),
                    Fault.timeout(Duration.ofMillis(1500)), Fault.reset());
            Map<String, String> settings = new LinkedHashMap<>();
            settings.put("dataverse.timeout-ms", "1000");
            settings.put("sync.target.customers.response-timeout-ms", "1000");
            settings.put("camel.component.http.response-timeout", "1000");
            settings.put("camel.component.http.so-timeout", "1000");
            settings.put("sync.policy.max-retries", "20");
            settings.put("sync.policy.ack-writeback-consumer.max-retries", "20");
            settings.put("sync.policy.max-delay-ms", "2000");
            settings.put("sync.target.customers.breaker.open-ms", "2000");
            run.start(settings);
            run.emulators.dataverse().faults().mixedFaults(null, FAULT_RATE, mix);
            run.emulators.target().faults().mixedFaults(null, FAULT_RATE, mix);
            // round by round (every row changed once per round), each round once the last one reached the target:
            // so that every change is its own target call and write-back exposed to the faults, not coalesced away
            for (int round = 1; round <= changes; round++) {
                run.sendUpTo(rows * round);
                int version = round;
                await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(100))
                        .until(() -> run.rowsAtTarget(version) == rows);
            }

            try {
                await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(250))
                        .until(() -> run.rowsSynced() == rows && run.pipelineDrained());
            } finally {
                System.out.println("[figures] fault soak at the end: rows synced " + run.rowsSynced() + ", queues "
                        + run.queueCounts() + ", not synced " + run.unsynced());
            }
            Map<String, Long> queues = run.queueCounts();
            BurstRun.Audit audit = run.audit();
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("changes", run.sent());
            figures.put("rows", rows);
            figures.put("faultRate", FAULT_RATE);
            figures.put("dataverseFaults", run.emulators.dataverse().faults().injectedCounts());
            figures.put("targetFaults", run.emulators.target().faults().injectedCounts());
            figures.put("dataverseRequests", run.emulators.dataverse().requestCount());
            figures.put("targetCalls", run.emulators.target().callCount());
            figures.put("retried", run.metric("dataverse_sync_consumed_total", "outcome=\"retried\""));
            figures.put("deadLettered", run.metric("dataverse_sync_consumed_total", "outcome=\"dead_lettered\""));
            figures.put("throttled429SeenByTheService", run.metric("dataverse_throttled_total", ""));
            figures.put("targetWrites", audit.writes());
            figures.put("duplicateTargetWrites", audit.duplicates());
            // retries of calls that were done (a timeout, a kill after the call): answered from the Idempotency-Key
            figures.put("duplicateTargetCallsReplayed", run.emulators.target().replayCount());
            figures.put("staleOverwrites", audit.staleOverwrites());
            figures.put("queues", queues);
            figures.put("startToReadyMs", run.startToReadyMs());
            figures.put("wallSeconds", (System.nanoTime() - begun) / 1_000_000_000.0);
            System.out.println("[figures] fault soak: " + figures);

            assertThat(run.rowsSynced()).as("rows with their latest version at the target and written back").isEqualTo(rows);
            assertThat(queues).as("nothing dead-lettered, nothing left").allSatisfy((queue, count) -> assertThat(count).as(queue).isZero());
            assertThat(audit.staleOverwrites()).as("older versions after newer ones: " + audit.staleExamples()).isZero();
            // the faults really happened, of every kind, on both sides
            assertThat(run.emulators.dataverse().faults().injectedCounts()).containsKeys("429", "500", "503", "timeout", "reset");
            assertThat(run.emulators.target().faults().injectedCounts()).containsKeys("429", "500", "503", "timeout", "reset");
            assertThat(run.metric("dataverse_sync_consumed_total", "outcome=\"retried\"")).isPositive();
        }
    }
}
