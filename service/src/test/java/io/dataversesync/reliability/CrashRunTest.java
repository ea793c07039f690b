package io.dataversesync.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Crash run (issue 11): the service, in a process of its own with a 256 MB heap, is killed with SIGKILL several
 * times at different points of a burst and restarted each time on the same broker folder, while Dataverse and the
 * target (the emulators, in this JVM) keep their data. The kills land while the service is working: after a third,
 * two thirds ... of the notifications were sent, each once the service has written to the target since its start;
 * the last one in the drain after the whole burst was sent. At the end: every row's latest version at the target and
 * written back, nothing dead-lettered, every queue drained, no stale overwrite at the target; duplicate target calls
 * (the price of at-least-once after a kill) are counted and printed.
 *
 * <p>CI size by default; larger with {@code -Dcrash.rows=2000 -Dcrash.changes=10 -Dcrash.kills=6} (README).
 */
class CrashRunTest {
    private final int rows = BurstRun.size("crash.rows", 200);
    private final int changes = BurstRun.size("crash.changes", 10);
    private final int kills = Math.max(3, BurstRun.size("crash.kills", 3));

    @Test
    void killedMidBurstAgainAndAgainLosesNothingAndNeverGoesBackwards() throws Exception {
        long begun = System.nanoTime();
        List<Map<String, Object>> killLog = new ArrayList<>();
        try (BurstRun run = new BurstRun("Crash", rows, changes)) {
            run.start(Map.of());
            // kills 1 .. kills-1 while the burst is being sent, the last one while its backlog drains
            for (int k = 1; k <= kills; k++) {
                boolean inDrain = k == kills;
                if (!inDrain) {
                    run.sendUpTo(run.total() * k / kills);
                } else {
                    run.sendUpTo(run.total());
                }
                long writesBefore = run.targetWrites();
                // the service is at work: it wrote to the target since it started (or since the last send)
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20))
                        .until(() -> run.targetWrites() >= writesBefore + Math.max(10, rows / 20));
                Map<String, Object> at = new LinkedHashMap<>();
                at.put("kill", k);
                at.put("notificationsSent", run.sent());
                at.put("targetWrites", run.targetWrites());
                at.put("rowsSynced", run.rowsSynced());
                run.kill();
                killLog.add(at);
                run.start(Map.of());
            }
            try {
                // generous for a shared machine: 5 minutes, and more for a larger run
                await().atMost(Duration.ofMinutes(5).plusSeconds(run.total() / 20)).pollInterval(Duration.ofMillis(250))
                        .until(() -> run.rowsSynced() == rows && run.pipelineDrained());
            } finally {
                System.out.println("[figures] crash run at the end: rows synced " + run.rowsSynced() + ", queues "
                        + run.queueCounts() + ", not synced " + run.unsynced() + ", kills " + killLog);
            }

            Map<String, Long> queues = run.queueCounts();
            BurstRun.Audit audit = run.audit();
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("rows", rows);
            figures.put("changesPerRow", changes);
            figures.put("notifications", run.sent());
            figures.put("kills", killLog);
            figures.put("startToReadyMs", run.startToReadyMs());
            figures.put("serviceHeap", "-Xmx256m");
            figures.put("rowsSynced", run.rowsSynced());
            figures.put("targetWrites", audit.writes());
            figures.put("duplicateTargetWrites", audit.duplicates());
            // retries of calls that were done (a timeout, a kill after the call): answered from the Idempotency-Key
            figures.put("duplicateTargetCallsReplayed", run.emulators.target().replayCount());
            figures.put("staleOverwrites", audit.staleOverwrites());
            figures.put("queues", queues);
            figures.put("wallSeconds", (System.nanoTime() - begun) / 1_000_000_000.0);
            System.out.println("[figures] crash run: " + figures);

            assertThat(run.sent()).isEqualTo(rows * changes);
            assertThat(run.rowsSynced()).as("rows with their latest version at the target and written back").isEqualTo(rows);
            assertThat(queues).as("nothing dead-lettered, nothing left").allSatisfy((queue, count) -> assertThat(count).as(queue).isZero());
            assertThat(audit.staleOverwrites()).as("older versions after newer ones: " + audit.staleExamples()).isZero();
            assertThat(killLog).hasSize(kills);
            assertThat(run.service().isAlive()).isTrue();
        }
    }
}
