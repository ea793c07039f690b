package io.dataversesync.bench;

import static io.dataversesync.bench.SyncBenchmark.JSON;
import static io.dataversesync.bench.SyncBenchmark.OUTBOUND;
import static io.dataversesync.bench.SyncBenchmark.round;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.emulator.TargetEmulator;
import jakarta.jms.DeliveryMode;
import jakarta.jms.JMSContext;
import jakarta.jms.Queue;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * The steady scenario: latency at half load. Open-loop arrivals (each change made in Dataverse and announced at its
 * scheduled time, whatever the service is doing) at half the burst throughput measured in the same invocation, with
 * 20 ms Dataverse and 50 ms target latency, batched mode, one change per row (so each change's remote calls are its
 * own). Per change: end-to-end = from its announcement to the end of the write-back request that carried its row (as
 * the Dataverse emulator recorded it); overhead = end-to-end minus the time every remote call on its path that it
 * waited for held it (each read whose In-filter named its row, each target call for it, each write-back $batch that
 * held it; retries included), as the emulator measured it from having read the request to its answer being ready:
 * the configured 20 or 50 ms, the emulator's own work, and whatever its JVM waited meanwhile (the emulators share the
 * host's two cores with the service, like any remote system they are slower when their host is busy). What remains is
 * the service's own time, and includes, on purpose, the time a request and its answer take on the wire and in the
 * emulator's queue before it is read, waiting in the broker, for a coalescing window (sync.coalesce.window-ms) and for
 * a write-back batch window (sync.writeback.batch.window-ms): those waits are the service's choice, not a remote
 * system's. overheadWithNominalRemoteMs subtracts the configured latencies instead (the figure before 2026-11-26), and
 * remoteHeldOverNominalMs is by how much the emulators held a change's calls longer than those.
 *
 * <p>Before the measured arrivals, the same arrivals run for --steady-warmup-seconds (240; 0 = none) on the same
 * service, unmeasured: a service runs for days, and on two cores the JIT compiler otherwise takes most of a core
 * through the first two minutes of the JVM (README, "Steady"). The warm-up runs on the measured service itself, not on
 * one of its own: the start of a second service in the same JVM (a new broker, new routes) sent the JIT compiling
 * again for a minute (PrintCompilation: 2,900 compilations in the ten seconds after it; measured 10 to 30 s after
 * it, the compiler took 3.4-3.8 of 8.3-8.5 ms of CPU per change, 0.8 when measured 60 s after it). The warm-up's and
 * the measured arrivals are one schedule, without a break: with the measured rows seeded and the recordings cleared
 * between them, the service sat idle for seconds and took the measured arrivals as a step from idle, its first 400 ms
 * at a median overhead of 55-72 ms against 32-39 ms after (2026-11-26); a service at this rate is never idle, and the
 * step is not what the scenario measures. So that the warm-up
 * leaves the measured arrivals the spare budget the scenario asks for, the service has --steady-users application
 * users (default: enough to sustain the arrivals at 0.5 requests per change for good, one user allowing 6,000 requests
 * per 5 minutes at the gate's 90 %), as a deployment at that rate needs anyway; the emulator does not limit. Its
 * target's bulkhead and consumers are sized for the arrivals likewise (targetBulkhead, subscriberConsumers).
 *
 * <p>The service runs as deployed (--steady-service=own-process, the default): the production jar in a JVM of its own,
 * the emulators and the load generator in the benchmark's harness, itself a JVM of its own with ZGC forked after the
 * burst ({@link #HARNESS_JVM}, {@link MeasuredService}). The service's heap, collector and JIT compiler then
 * serve the service alone: in this JVM they also served the emulators (which keep every request of the run for the
 * figures) and the load generator, and the stage probe's event notifier ran inside its routes. startToReadyMs is from
 * the process's start to the first UP of /observe/health/ready, peakHeapMb the service's heap before each collection of
 * the measured phase (its GC log), cpuMsPerChange the service's process. --steady-service=in-jvm runs it in this JVM
 * with the stage probe (the readToTargetMs, beforeReadMs and targetToWriteBackMs parts, CPU by queue's consumers); its
 * figures are then the whole JVM's.
 */
final class Steady {
    private static final Pattern GUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /** What one application user may send for good: Microsoft's limit at the gate's headroom (dataverse.limits.headroom). */
    private static final double USER_REQUESTS_PER_SECOND = SyncBenchmark.REQUESTS_PER_SECOND * 0.9;

    /**
     * The JVM options of the steady scenario's harness (the emulators and the load generator), which runs in a JVM of
     * its own, forked after the burst the way JMH forks its benchmarks (--steady-harness-jvm; in-place: in this JVM).
     * The harness plays Dataverse, the target and the announcing plugin: a pause of its collector freezes all three, and
     * counts as the service's overhead. Its heap is large (every request of the run is recorded with its body, and the
     * warm-up's rows stay in the emulated table), and with G1 its young collections paused 70-145 ms every 6-7 s on this
     * host: at 448 arrivals a second the steady p99 measured 124 ms with them, 64 ms with ZGC, whose pauses stay under a
     * millisecond (2026-11-26; in the first run 58 % of the changes above the p99 had met a pause of the harness). The burst
     * before it stays in this JVM, with G1: its service runs in this JVM, and its collector is the service's. With
     * --steady-service=in-jvm the steady service runs in the harness too, so the default is then in-place.
     */
    static final String HARNESS_JVM = "-XX:+UseZGC";
    static final String FORKED_HARNESS = "dataverse-sync.bench.steady-harness";

    private Steady() {
    }

    /** Runs the steady scenario in a harness JVM of its own (see {@link #HARNESS_JVM}); true when it verified. */
    static boolean inHarnessOfItsOwn(String jvmOptions, String[] args, double burstChangesPerSecond, double burstCpuMsPerChange)
            throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(jvmOptions.trim().split("\\s+")));
        command.add("-D" + FORKED_HARNESS + "=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(SyncBenchmark.class.getName());
        for (String arg : args) {
            if (!arg.startsWith("--scenarios=") && !arg.startsWith("--steady-burst=") && !arg.startsWith("--broker-limit=")
                    && !arg.startsWith("--steady-burst-cpu-ms-per-change=")) {
                command.add(arg);
            }
        }
        command.add("--scenarios=steady");
        command.add("--broker-limit=false");
        command.add("--steady-burst=" + burstChangesPerSecond);
        if (burstCpuMsPerChange > 0) {
            command.add("--steady-burst-cpu-ms-per-change=" + burstCpuMsPerChange);
        }
        Process harness = new ProcessBuilder(command).inheritIO().start();
        return harness.waitFor() == 0;
    }

    static ObjectNode scenario(SyncBenchmark.Scenario s, double burstChangesPerSecond, Path brokerDir, int runIndex,
            Map<String, String> options) throws Exception {
        // half the burst by default (the scenario's definition); --steady-share=0.25 etc. draws the latency-load curve
        double share = Double.parseDouble(options.getOrDefault("steady-share", "0.5"));
        if (!(share > 0 && share <= 1)) {
            throw new IllegalArgumentException("--steady-share must be in (0, 1]");
        }
        double rate = burstChangesPerSecond * share;
        int seconds = Integer.parseInt(options.getOrDefault("steady-seconds", "20"));
        int arrivals = Math.max(1, (int) Math.round(rate * seconds));
        // the same arrivals first, unmeasured, on the same service: the measured arrivals then run on warm compiled
        // code, as on a service that has run for days (README, "Steady": on two cores the JIT compiler takes most of a
        // core through the first two minutes)
        int warmupSeconds = Integer.parseInt(options.getOrDefault("steady-warmup-seconds", "240"));
        int warmupArrivals = warmupSeconds <= 0 ? 0 : Math.max(1, (int) Math.round(rate * warmupSeconds));
        // enough application users that the warm-up leaves the measured arrivals spare budget: what sustains the
        // arrivals for good at 0.5 requests per change (the steady figures measured 0.34-0.6)
        int users = Integer.parseInt(options.getOrDefault("steady-users",
                String.valueOf(Math.max(1, (int) Math.ceil(rate * 0.5 / USER_REQUESTS_PER_SECOND)))));
        if (users < 1) {
            throw new IllegalArgumentException("--steady-users must be at least 1");
        }
        long dataverseLatency = s.dataverseLatencyMs();
        long targetLatency = s.targetLatencyMs();

        // the target's concurrency sized for the arrivals, as for the users: by Little's law rate x target latency
        // calls are in flight; the bulkhead allows half as many again, and the target's queue has two consumers per
        // slot (a consumer also commits, acknowledges and reads a late copy again). With the defaults (16 slots, 32
        // consumers) the target takes at most 16 / 50 ms = 320 calls a second: on a machine whose burst measured 880
        // changes a second, the target's queue fell further behind with every second of the arrivals
        int bulkhead = Math.max(16, (int) Math.ceil(1.5 * rate * targetLatency / 1000.0));
        int subscriberConsumers = Math.max(32, 2 * bulkhead);
        String mode = options.getOrDefault("steady-service", "own-process");
        Map<String, String> properties = SyncBenchmark.properties(s.withUsers(users), true, s.consumers(), brokerDir, runIndex);
        properties.put("sync.target.customers.bulkhead.max-concurrent-calls", String.valueOf(bulkhead));
        properties.put("sync.consumers.subscriber", String.valueOf(subscriberConsumers));
        SyncBenchmark.OVERRIDES.forEach(properties::put);
        try (MeasuredService service = MeasuredService.start(mode, properties, brokerDir.resolveSibling(brokerDir.getFileName() + "-service"), options)) {
            long startToReady = service.startToReadyMs();
            StageProbe probe = service.probe();
            DataverseEmulator dataverse = service.dataverse();
            TargetEmulator target = service.target();
            // the warm-up's rows, then the measured ones: one schedule of arrivals (the class comment says why)
            List<String> allIds = SyncBenchmark.seedRows(dataverse, warmupArrivals + arrivals);
            List<String> ids = allIds.subList(warmupArrivals, allIds.size());
            dataverse.recordingLimit(10_000);
            target.recordingLimit(10_000);
            dataverse.faults().latency(Duration.ofMillis(dataverseLatency));
            target.faults().latency(Duration.ofMillis(targetLatency));
            List<String> queues = service.pipelineQueues();
            List<String> deadLetterQueues = service.deadLetterQueues();

            long[] announcedAll = new long[allIds.size()];
            long[] measuredFrom = new long[2]; // wall nanos and CPU pressure when the measured arrivals began
            Runnable beginMeasured = () -> {
                // the recordings and counters so far are the warm-up's; from here every request is kept, each change's
                // calls are found in them (the limits' windows stay)
                dataverse.recordingLimit(arrivals * 4 + 10_000);
                target.recordingLimit(arrivals * 4 + 10_000);
                dataverse.clearRequests();
                dataverse.resetCounters();
                target.clearRequests();
                if (probe != null) {
                    probe.clear();
                }
                measuredFrom[0] = System.nanoTime();
                measuredFrom[1] = cpuPressureMicros();
                service.beginMeasurement();
            };
            long lateMs = sendOpenLoop(service.brokerUrl(), dataverse, allIds, rate, announcedAll, warmupArrivals, beginMeasured);
            long[] announcedAt = Arrays.copyOfRange(announcedAll, warmupArrivals, announcedAll.length);
            long wallBefore = measuredFrom[0];
            long pressureBefore = measuredFrom[1];
            long doneAt = SyncBenchmark.awaitComplete(service.queues(), queues, deadLetterQueues,
                    () -> allWrittenBack(dataverse, target, allIds), Duration.ofMinutes(10));
            boolean verified = doneAt >= 0;
            long wallMicros = (System.nanoTime() - wallBefore) / 1000;
            long pressureAfter = cpuPressureMicros();
            ObjectNode cost = JSON.createObjectNode();
            service.endMeasurement(cost, arrivals, wallMicros, SENDERS_CPU_NANOS.getAndSet(0));

            // each change's end and remote waits, from what the emulators recorded
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < ids.size(); i++) {
                index.put(ids.get(i).toLowerCase(), i);
            }
            long[] end = new long[arrivals];
            long[] endReceived = new long[arrivals]; // when the emulator had read that last write-back
            long[] remote = new long[arrivals]; // what the emulators held its calls, as they measured it
            long[] remoteNominal = new long[arrivals]; // the configured latencies of those calls
            // where the overhead goes: the first read and the first target call, each received and answered
            long[] readEnd = new long[arrivals];
            long[] readReceived = new long[arrivals];
            long[] targetEnd = new long[arrivals];
            long[] targetReceived = new long[arrivals];
            for (RecordedRequest r : dataverse.requests()) {
                // a write-back goes as a $batch, or as a PATCH of its own when it is alone; a read as an In-filter
                // GET or a GET of the one row
                boolean write = (r.method().equals("POST") && r.path().endsWith("$batch")) || r.method().equals("PATCH");
                boolean read = r.method().equals("GET");
                if (!write && !read) {
                    continue;
                }
                for (int i : rowsIn(r.path() + " " + r.query() + " " + r.body(), index)) {
                    remote[i] += r.heldMillis();
                    remoteNominal[i] += dataverseLatency;
                    if (write) {
                        if (r.at().toEpochMilli() > end[i]) {
                            end[i] = r.at().toEpochMilli();
                            endReceived[i] = r.receivedAt().toEpochMilli();
                        }
                    } else if (readEnd[i] == 0 || r.at().toEpochMilli() < readEnd[i]) {
                        readEnd[i] = r.at().toEpochMilli();
                        readReceived[i] = r.receivedAt().toEpochMilli();
                    }
                }
            }
            for (RecordedRequest r : target.requests()) {
                for (int i : rowsIn(r.path(), index)) {
                    remote[i] += r.heldMillis();
                    remoteNominal[i] += targetLatency;
                    if (targetEnd[i] == 0 || r.at().toEpochMilli() < targetEnd[i]) {
                        targetEnd[i] = r.at().toEpochMilli();
                        targetReceived[i] = r.receivedAt().toEpochMilli();
                    }
                }
            }
            // --steady-changes-csv=<file>: one line per measured change, to see whether the tail is spread or comes in
            // episodes (a collector's pause, a long compilation): the stages of each change by its announcement time
            Path changesCsv = options.containsKey("steady-changes-csv") ? Path.of(options.get("steady-changes-csv")) : null;
            List<String> csv = new ArrayList<>();
            csv.add("announcedAtEpochMs,overheadMs,beforeReadMs,readToTargetMs,targetToWriteBackMs,remoteMs,remoteNominalMs");
            List<Long> latencies = new ArrayList<>();
            List<Long> overheads = new ArrayList<>();
            List<Long> overheadsNominal = new ArrayList<>();
            List<Long> remoteOverNominal = new ArrayList<>();
            List<Long> beforeRead = new ArrayList<>();
            List<Long> toTarget = new ArrayList<>();
            List<Long> readToTarget = new ArrayList<>();
            List<Long> targetToWriteBack = new ArrayList<>();
            List<Long> readToPublished = new ArrayList<>();
            List<Long> publishedToTaken = new ArrayList<>();
            List<Long> takenToCall = new ArrayList<>();
            List<Long> announcedToTaken = new ArrayList<>();
            List<Long> takenToRead = new ArrayList<>();
            List<Long> answeredToAckTaken = new ArrayList<>();
            List<Long> ackTakenToWriteBack = new ArrayList<>();
            for (int i = 0; i < arrivals; i++) {
                if (end[i] > 0) {
                    latencies.add(end[i] - announcedAt[i]);
                    overheads.add(end[i] - announcedAt[i] - remote[i]);
                    overheadsNominal.add(end[i] - announcedAt[i] - remoteNominal[i]);
                    remoteOverNominal.add(remote[i] - remoteNominal[i]);
                    if (readEnd[i] > 0 && targetEnd[i] > 0) {
                        long before = readReceived[i] - announcedAt[i];
                        long middle = targetReceived[i] - readEnd[i];
                        long after = endReceived[i] - targetEnd[i];
                        beforeRead.add(before);
                        readToTarget.add(middle);
                        toTarget.add(before + middle);
                        targetToWriteBack.add(after);
                        if (changesCsv != null) {
                            csv.add(announcedAt[i] + "," + overheads.get(overheads.size() - 1) + "," + before + "," + middle + "," + after + "," + remote[i] + "," + remoteNominal[i]);
                        }
                        StageProbe.Times t = probe == null ? null : probe.times(ids.get(i));
                        if (t != null) {
                            readToPublished.add(t.published() - readEnd[i]);
                            publishedToTaken.add(t.taken() - t.published());
                            takenToCall.add(t.called() - t.taken());
                        }
                        Long outbound = probe == null ? null : probe.outboundTaken(ids.get(i));
                        if (outbound != null) {
                            announcedToTaken.add(outbound - announcedAt[i]);
                            takenToRead.add(readReceived[i] - outbound);
                        }
                        Long ack = probe == null ? null : probe.ackTaken(ids.get(i));
                        if (ack != null) {
                            answeredToAckTaken.add(ack - targetEnd[i]);
                            ackTakenToWriteBack.add(endReceived[i] - ack);
                        }
                    }
                }
            }
            if (changesCsv != null) {
                java.nio.file.Files.write(changesCsv, csv);
            }
            ObjectNode out = JSON.createObjectNode();
            out.put("scenario", "steady");
            out.put("mode", "batched");
            out.put("service", service.mode());
            out.put("harnessGc", java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().get(0).getName());
            out.put("burstChangesPerSecond", round(burstChangesPerSecond));
            out.put("arrivalsShareOfBurst", share);
            out.put("arrivalsPerSecond", round(rate));
            out.put("warmupSeconds", Math.max(0, warmupSeconds));
            out.put("users", users);
            out.put("changes", arrivals);
            out.put("distinctRows", arrivals);
            out.put("consumers", s.consumers());
            out.put("targetBulkhead", bulkhead);
            out.put("subscriberConsumers", subscriberConsumers);
            out.put("dataverseLatencyMs", dataverseLatency);
            out.put("targetLatencyMs", targetLatency);
            out.put("senderLateMsMax", lateMs);
            out.put("measuredChanges", latencies.size());
            out.put("p50LatencyMs", percentile(latencies, 0.50));
            out.put("p99LatencyMs", percentile(latencies, 0.99));
            out.put("p50OverheadMs", percentile(overheads, 0.50));
            out.put("p99OverheadMs", percentile(overheads, 0.99));
            // the same with the configured latencies subtracted instead of what the emulators held (the definition
            // before 2026-11-26), and by how much the emulators' holding exceeded them per change: the emulators share
            // the host with the service, so their own collections and waits for a core lengthen their answers
            out.putArray("overheadWithNominalRemoteMs").add(percentile(overheadsNominal, 0.50)).add(percentile(overheadsNominal, 0.99));
            out.putArray("remoteHeldOverNominalMs").add(percentile(remoteOverNominal, 0.50)).add(percentile(remoteOverNominal, 0.99));
            // the overhead until the target had the change (first attempts: announcement to the target call received,
            // minus the read's time at Dataverse), without the write-back; p50 / p99. The goal's figures include it.
            out.putArray("toTargetOverheadMs").add(percentile(toTarget, 0.50)).add(percentile(toTarget, 0.99));
            // the overhead by stage (first attempts): announcement to the read received by Dataverse, read answered to
            // the target call received, target answered to the write-back received; diagnostic, each p50 / p99
            ObjectNode stages = out.putObject("overheadByStageMs");
            stages.putArray("beforeRead").add(percentile(beforeRead, 0.50)).add(percentile(beforeRead, 0.99));
            stages.putArray("readToTarget").add(percentile(readToTarget, 0.50)).add(percentile(readToTarget, 0.99));
            stages.putArray("targetToWriteBack").add(percentile(targetToWriteBack, 0.50)).add(percentile(targetToWriteBack, 0.99));
            if (probe != null) { // the parts of each stage: Camel's events, seen in the benchmark's JVM only
                // read to target, in parts (Camel's events, StageProbe): read answered to the change sent on the topic, sent to
                // taken by the target's consumer (commit and delivery), taken to the call sent (mapping, breaker, bulkhead)
                ObjectNode parts = out.putObject("readToTargetMs");
                parts.putArray("readToPublished").add(percentile(readToPublished, 0.50)).add(percentile(readToPublished, 0.99));
                parts.putArray("publishedToTaken").add(percentile(publishedToTaken, 0.50)).add(percentile(publishedToTaken, 0.99));
                parts.putArray("takenToCall").add(percentile(takenToCall, 0.50)).add(percentile(takenToCall, 0.99));
                // before the read, in parts: announced to taken by the outbound consumer (the sender's commit, delivery),
                // taken to the read sent (validation, the read's batch: its age share and the group commit)
                ObjectNode before = out.putObject("beforeReadMs");
                before.putArray("announcedToTaken").add(percentile(announcedToTaken, 0.50)).add(percentile(announcedToTaken, 0.99));
                before.putArray("takenToReadSent").add(percentile(takenToRead, 0.50)).add(percentile(takenToRead, 0.99));
                // target to write-back, in parts: target answered to the acknowledgement taken by the ack consumer (the
                // rest of the target's route, its commit, delivery), taken to the write-back sent (its batch)
                ObjectNode after = out.putObject("targetToWriteBackMs");
                after.putArray("answeredToAckTaken").add(percentile(answeredToAckTaken, 0.50)).add(percentile(answeredToAckTaken, 0.99));
                after.putArray("ackTakenToWriteBackSent").add(percentile(ackTakenToWriteBack, 0.50)).add(percentile(ackTakenToWriteBack, 0.99));
            }
            out.put("dataverseRequestsPerChange", SyncBenchmark.round4((double) dataverse.requestCount() / arrivals));
            // what a change cost the service (own-process; in-jvm: the whole JVM, emulators and load generator too) from
            // the first send to the last write-back, and how contended the host's CPU was meanwhile: the share of that
            // time in which some task on the machine waited for a CPU (Linux pressure stall information,
            // /proc/pressure/cpu "some"; -1 where the kernel has none). Latency figures taken at a high share measure
            // the host as much as the service.
            out.setAll(cost);
            out.put("hostCpuWaitShare", pressureBefore < 0 || pressureAfter < 0 ? -1 : SyncBenchmark.round4((double) (pressureAfter - pressureBefore) / wallMicros));
            out.put("deadLettered", deadLetterQueues.stream().mapToLong(service.queues()::messages).sum());
            out.put("startToReadyMs", startToReady);
            out.put("verified", verified && latencies.size() == arrivals);
            return out;
        }
    }

    /** Total microseconds in which some task waited for a CPU (PSI, Linux 4.20+), or -1 where that is not available. */
    static long cpuPressureMicros() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/pressure/cpu"))) {
                if (line.startsWith("some ")) {
                    Matcher m = Pattern.compile("total=(\\d+)").matcher(line);
                    return m.find() ? Long.parseLong(m.group(1)) : -1;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // no PSI on this kernel
        }
        return -1;
    }

    /** The CPU the load generator's sender threads used for the measured arrivals (they end before the run's CPU is taken apart by thread). */
    private static final java.util.concurrent.atomic.AtomicLong SENDERS_CPU_NANOS = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Sends the changes at their scheduled times (open loop), one every 1 / rate seconds; {@code beginMeasured} runs
     * just before the one at {@code firstMeasured} is due. Returns how late the latest measured send was, in ms.
     */
    private static long sendOpenLoop(String brokerUrl, DataverseEmulator dataverse, List<String> ids, double rate,
            long[] announcedAt, int firstMeasured, Runnable beginMeasured) throws Exception {
        int senders = 8; // a persistent send blocks on the journal: several senders keep the schedule
        ExecutorService pool = Executors.newFixedThreadPool(senders + 1);
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        long[] late = new long[senders];
        List<Future<?>> sent = new ArrayList<>();
        SENDERS_CPU_NANOS.set(0);
        // 20 ms ahead: the recordings are cleared before the first measured change is made, never after
        long transition = start + (long) (firstMeasured * 1e9 / rate) - TimeUnit.MILLISECONDS.toNanos(20);
        Future<?> began = pool.submit(() -> {
            long wait = transition - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            beginMeasured.run();
            return null;
        });
        try (ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory(brokerUrl)) {
            for (int t = 0; t < senders; t++) {
                int first = t;
                sent.add(pool.submit(() -> {
                    var threads = java.lang.management.ManagementFactory.getThreadMXBean();
                    long cpuAtFirstMeasured = -1;
                    try (JMSContext jms = cf.createContext(JMSContext.AUTO_ACKNOWLEDGE)) {
                        Queue outbound = jms.createQueue(OUTBOUND);
                        var producer = jms.createProducer().setDeliveryMode(DeliveryMode.PERSISTENT);
                        for (int i = first; i < ids.size(); i += senders) {
                            if (i >= firstMeasured && cpuAtFirstMeasured < 0) {
                                cpuAtFirstMeasured = threads.getCurrentThreadCpuTime();
                            }
                            long due = start + (long) (i * 1e9 / rate);
                            long wait = due - System.nanoTime();
                            if (wait > 0) {
                                TimeUnit.NANOSECONDS.sleep(wait);
                            } else if (i >= firstMeasured) {
                                late[first] = Math.max(late[first], -wait / 1_000_000);
                            }
                            String id = ids.get(i);
                            ObjectNode change = JSON.createObjectNode();
                            change.put("telephone1", "steady " + i);
                            dataverse.upsertRow("accounts", id, change);
                            long now = System.currentTimeMillis();
                            announcedAt[i] = now;
                            producer.send(outbound, SyncBenchmark.changeNotification(jms, id, now));
                        }
                    }
                    if (cpuAtFirstMeasured >= 0) {
                        SENDERS_CPU_NANOS.addAndGet(threads.getCurrentThreadCpuTime() - cpuAtFirstMeasured);
                    }
                    return null;
                }));
            }
            for (Future<?> f : sent) {
                f.get();
            }
            began.get();
        } finally {
            pool.shutdown();
        }
        return Arrays.stream(late).max().orElse(0);
    }

    private static List<Integer> rowsIn(String text, Map<String, Integer> index) {
        List<Integer> rows = new ArrayList<>();
        if (text == null) {
            return rows;
        }
        Matcher m = GUID.matcher(text);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        while (m.find()) {
            Integer i = index.get(m.group().toLowerCase());
            if (i != null && seen.add(i)) {
                rows.add(i);
            }
        }
        return rows;
    }

    private static boolean allWrittenBack(DataverseEmulator dataverse, TargetEmulator target, List<String> ids) {
        for (String id : ids) {
            ObjectNode row = dataverse.row("accounts", id).orElse(null);
            ObjectNode record = target.record("customers", id).orElse(null);
            if (row == null || record == null || !row.path("telephone1").asText().equals(record.path("phone").asText())
                    || !"Synced".equals(row.path("new_syncstatus").asText())) {
                return false;
            }
        }
        return true;
    }

    private static double percentile(List<Long> values, double p) {
        if (values.isEmpty()) {
            return -1;
        }
        List<Long> sorted = new ArrayList<>(values);
        sorted.sort(null);
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }
}
