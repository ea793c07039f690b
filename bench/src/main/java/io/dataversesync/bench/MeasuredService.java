package io.dataversesync.bench;

import static io.dataversesync.bench.SyncBenchmark.round;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.emulator.TargetEmulator;
import io.dataversesync.emulator.local.LocalEmulatorsConfiguration;
import io.dataversesync.emulator.local.LocalEnvironment;
import io.dataversesync.sync.SyncMetrics;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.main.Main;

/**
 * The service the steady scenario measures, and what the measurement reads of it: the emulators it talks to (in this
 * JVM either way, where the load generator makes and checks the changes), its broker, its start-to-ready time, and
 * what the measured phase cost it (CPU, by kind of thread, collections, heap).
 *
 * <p>Two ways to run it ({@code --steady-service}): {@link OwnProcess} (the default) starts the production jar
 * ({@code service/target/dataverse-sync.jar}, as the image runs it) as a JVM of its own, so that its heap, collector and
 * JIT compiler serve the service alone, as deployed: the emulators' recordings of every request and the load generator
 * are not in its heap, and no diagnostic probe is in its routes. {@link InJvm} runs it in the benchmark's JVM with
 * {@link StageProbe} (Camel's events: where inside the service a change's time goes), at the price of sharing that
 * JVM with the emulators and the load generator.
 */
abstract class MeasuredService implements AutoCloseable {
    private final long startToReadyMs;
    private final LocalEnvironment emulators;
    private final List<String> pipeline;
    private final List<String> deadLetters;

    /** @param settings a CamelContext with the service's properties (its queues' and topic's names) */
    MeasuredService(long startToReadyMs, LocalEnvironment emulators, CamelContext settings) {
        this.startToReadyMs = startToReadyMs;
        this.emulators = emulators;
        this.pipeline = SyncBenchmark.pipelineQueues(settings);
        this.deadLetters = SyncBenchmark.deadLetterQueues(settings, pipeline);
    }

    abstract String mode();

    final long startToReadyMs() {
        return startToReadyMs;
    }

    /** The emulators the service talks to, in this JVM either way. */
    final LocalEnvironment emulators() {
        return emulators;
    }

    final DataverseEmulator dataverse() {
        return emulators.dataverse();
    }

    final TargetEmulator target() {
        return emulators.target();
    }

    /** The queues a change passes (outbound, each subscription, ack), in that order. */
    final List<String> pipelineQueues() {
        return pipeline;
    }

    /** Their dead-letter queues and the topic's safety net. */
    final List<String> deadLetterQueues() {
        return deadLetters;
    }

    /** Where the load generator sends the notifications. */
    abstract String brokerUrl();

    abstract SyncBenchmark.QueueDepth queues();

    /** Camel's events of every exchange, or null where they cannot be seen (a process of its own). */
    abstract StageProbe probe();

    /** The measured phase begins: its CPU, collections and peak heap are counted from here. */
    abstract void beginMeasurement();

    /**
     * The measured phase's cost, per change, into {@code out}: cpuMsPerChange (the service's process; in the JVM: the
     * whole JVM), processCpuShare, cpuMsPerChangeByThreads, the collections and the peak heap, the service's own
     * end-to-end timer.
     *
     * @param loadGeneratorCpuNanos what the load generator's sender threads used (they ended already)
     */
    abstract void endMeasurement(ObjectNode out, int changes, long wallMicros, long loadGeneratorCpuNanos);

    static MeasuredService start(String mode, Map<String, String> properties, Path work, Map<String, String> options)
            throws Exception {
        return switch (mode) {
            case "own-process" -> OwnProcess.start(properties, work, options);
            case "in-jvm" -> InJvm.start(properties);
            default -> throw new IllegalArgumentException("--steady-service must be own-process or in-jvm, not " + mode);
        };
    }

    /** Waits until {@code /observe/health/ready} answers UP; returns the milliseconds since {@code begun} (nanoTime). */
    static long awaitReady(int httpPort, long begun, Process process) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            if (process != null && !process.isAlive()) {
                throw new IllegalStateException("the service ended with " + process.exitValue() + " before it was ready");
            }
            try {
                HttpResponse<String> answer = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + httpPort + "/observe/health/ready")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() == 200 && answer.body().contains("UP")) {
                    return (System.nanoTime() - begun) / 1_000_000;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("not ready within 2 minutes");
    }

    /** CPU by kind of thread, per change, from per-thread CPU nanoseconds before and after (by a thread's key). */
    static Map<String, Double> byGroup(Map<String, long[]> before, Map<String, long[]> after, int changes,
            java.util.function.Function<String, String> group) {
        Map<String, Double> groups = new TreeMap<>();
        after.forEach((key, now) -> {
            long[] then = before.get(key);
            long used = now[0] - (then != null && then[1] == now[1] ? then[0] : 0);
            groups.merge(group.apply(key.substring(key.indexOf(':') + 1)), used / 1e6 / changes, Double::sum);
        });
        return groups;
    }

    static void putByThreads(ObjectNode out, Map<String, Double> groups) {
        ObjectNode byThreads = out.putObject("cpuMsPerChangeByThreads");
        groups.forEach((group, ms) -> byThreads.put(group, round(ms)));
    }

    /**
     * The service in the benchmark's JVM, as io.dataversesync.Main runs it, with the emulators its local mode starts
     * in-process and the stage probe. Its figures are the whole JVM's: service, emulators and load generator.
     */
    static final class InJvm extends MeasuredService {
        private final Main main;
        private final StageProbe probe;
        private final EmbeddedBroker broker;
        private final SyncMetrics metrics;
        private long cpuBefore;
        private Map<String, long[]> threadsBefore;
        private long jitBefore;
        private long gcBefore;

        private InJvm(Main main, long startToReadyMs, StageProbe probe) {
            super(startToReadyMs, main.getCamelContext().getRegistry().lookupByNameAndType("localEnvironment", LocalEnvironment.class),
                    main.getCamelContext());
            this.main = main;
            this.probe = probe;
            CamelContext context = main.getCamelContext();
            this.broker = context.getRegistry().lookupByNameAndType("embeddedBroker", EmbeddedBroker.class);
            this.metrics = context.getRegistry().lookupByNameAndType("syncMetrics", SyncMetrics.class);
        }

        /**
         * Its stage probe is an event notifier from the start: added after the warm-up, it would turn on Camel's
         * exchange events only then, on paths the warm-up had not run.
         */
        static InJvm start(Map<String, String> properties) throws Exception {
            Main main = new Main(io.dataversesync.Main.class);
            properties.forEach(main::addOverrideProperty);
            StageProbe probe = new StageProbe("target-customers");
            main.bind("benchStageProbe", probe); // Camel Main adds the registry's event notifiers before it starts
            long begun = System.nanoTime();
            main.start();
            try {
                return new InJvm(main, awaitReady(Integer.parseInt(properties.get("sync.http.port")), begun, null), probe);
            } catch (Exception | Error e) {
                main.stop();
                throw e;
            }
        }

        @Override
        String mode() {
            return "in-jvm";
        }




        @Override
        String brokerUrl() {
            return broker.url();
        }

        @Override
        SyncBenchmark.QueueDepth queues() {
            return SyncBenchmark.QueueDepth.of(broker);
        }



        @Override
        StageProbe probe() {
            return probe;
        }

        @Override
        void beginMeasurement() {
            SyncBenchmark.resetPeakHeap();
            cpuBefore = SyncBenchmark.processCpuNanos();
            threadsBefore = threadCpu();
            jitBefore = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
            gcBefore = gcMillis();
        }

        @Override
        void endMeasurement(ObjectNode out, int changes, long wallMicros, long loadGeneratorCpuNanos) {
            long cpuNanos = SyncBenchmark.processCpuNanos() - cpuBefore;
            Map<String, Double> groups = byGroup(threadsBefore, threadCpu(), changes, InJvm::threadGroup);
            groups.put("jit-compiler", (double) (ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jitBefore) / changes);
            groups.put("gc-pauses", (double) (gcMillis() - gcBefore) / changes);
            groups.merge("load-generator", loadGeneratorCpuNanos / 1e6 / changes, Double::sum);
            // what a change cost this JVM (service, emulators and load generator) from the first send to the last
            // write-back
            out.put("cpuMsPerChange", round(cpuNanos / 1e6 / changes));
            out.put("processCpuShare", SyncBenchmark.round4(cpuNanos / 1e3 / wallMicros / Runtime.getRuntime().availableProcessors()));
            putByThreads(out, groups);
            for (ValueAtPercentile v : metrics.endToEndTimer().takeSnapshot().percentileValues()) {
                out.put("serviceTimerP" + Math.round(v.percentile() * 100) + "LatencyMs", round(v.value(TimeUnit.MILLISECONDS)));
            }
            out.put("peakHeapMb", round(SyncBenchmark.peakHeapBytes() / 1048576.0));
            out.put("peakHeapMeasured", "in-jvm: service, emulators and load generator together (an upper bound)");
        }

        @Override
        public void close() {
            main.stop();
        }

        /** Milliseconds the collectors spent collecting (pauses; G1's concurrent work is not in it). */
        private static long gcMillis() {
            return ManagementFactory.getGarbageCollectorMXBeans().stream()
                    .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionTime).filter(t -> t > 0).sum();
        }

        /** CPU nanoseconds of every live thread by "id:name", with its name's hash to notice a reused id: {cpu, hash}. */
        private static Map<String, long[]> threadCpu() {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            Map<String, long[]> cpu = new HashMap<>();
            for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
                if (info != null) {
                    long t = threads.getThreadCpuTime(info.getThreadId());
                    if (t >= 0) {
                        cpu.put(info.getThreadId() + ":" + info.getThreadName(), new long[] {t, info.getThreadName().hashCode()});
                    }
                }
            }
            return cpu;
        }

        /** A thread's name says its kind: the consumers of each queue, the broker, the emulators, the load generator. */
        static String threadGroup(String name) {
            Matcher consumer = Pattern.compile("JmsConsumer\\[(?:[^\\]]*::)?([^\\]]+)\\]").matcher(name);
            if (consumer.find()) {
                return "consumers:" + consumer.group(1);
            }
            if (name.contains("activemq") || name.contains("artemis")) {
                return "broker";
            }
            if (name.startsWith("dataverse-emulator") || name.startsWith("target-emulator")) {
                return "emulators";
            }
            if (name.contains("dataverse-batch")) {
                return "batch-senders";
            }
            if (name.startsWith("pool-") || name.equals("main")) {
                return "load-generator";
            }
            return "other";
        }
    }

    /**
     * The production jar in a JVM of its own ({@code java <jvm options> -D<property>=<value>... -jar
     * dataverse-sync.jar}), against emulators in the benchmark's JVM (started from the same properties by the
     * emulators' own local-mode configuration, so they are set up exactly as the in-JVM service's), its embedded broker
     * reached over its loopback TCP acceptor. JVM options: {@code --steady-service-jvm} (default {@code -Xmx1g}: the
     * heap of the production overlay, 50 % of its 2 Gi limit, on two cores like its CPU limit; in 256 MB, the heap the
     * crash run proves enough, the collector paused 44 times in the 22 s measured, 531 ms in all, instead of 18 times
     * and 258 ms); its collections are read from its GC log, its CPU from the process and, by thread, from /proc.
     */
    static final class OwnProcess extends MeasuredService {
        private static final Pattern BUCKET = Pattern.compile("^dataverse_sync_end_to_end_seconds_bucket\\{le=\"([^\"]+)\"\\} ([0-9.eE+-]+)$");
        private static final Pattern PAUSE = Pattern.compile(
                "Pause (?:Young|Full|Remark|Cleanup).*? (\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\) ([0-9.]+)ms");

        private final Process process;
        private final DefaultCamelContext emulatorsContext;
        private final RemoteBroker broker;
        private final int httpPort;
        private final Path gcLog;
        private long cpuBefore;
        private Map<String, long[]> threadsBefore;
        private long gcLogOffset;
        private long harnessCpuBefore;
        private java.util.NavigableMap<Double, Long> timerBefore;

        private OwnProcess(Process process, DefaultCamelContext emulatorsContext, LocalEnvironment local, RemoteBroker broker,
                int httpPort, long startToReadyMs, Path gcLog) {
            super(startToReadyMs, local, emulatorsContext);
            this.process = process;
            this.emulatorsContext = emulatorsContext;
            this.broker = broker;
            this.httpPort = httpPort;
            this.gcLog = gcLog;
        }

        static OwnProcess start(Map<String, String> properties, Path work, Map<String, String> options) throws Exception {
            Path jar = serviceJar(options.get("steady-service-jar"));
            Files.createDirectories(work);
            Map<String, String> p = new java.util.LinkedHashMap<>(properties);
            int brokerPort = FreePorts.free();
            p.put("sync.local.broker.tcp-port", String.valueOf(brokerPort));
            // the emulators: in this JVM, set up by their own local-mode configuration from the service's properties
            DefaultCamelContext emulatorsContext = new DefaultCamelContext();
            emulatorsContext.getPropertiesComponent().setLocation("classpath:application.properties");
            Properties forEmulators = new Properties();
            forEmulators.putAll(p);
            forEmulators.setProperty("sync.local.emulators.in-process", "true");
            emulatorsContext.getPropertiesComponent().setOverrideProperties(forEmulators);
            new LocalEmulatorsConfiguration().configure(emulatorsContext);
            LocalEnvironment local = emulatorsContext.getRegistry().lookupByNameAndType("localEnvironment", LocalEnvironment.class);
            // the service: the production jar, talking to them
            p.put("sync.local.emulators.in-process", "false");
            Path gcLog = work.resolve("service-gc.log");
            Path logConfig = work.resolve("service-log4j2.properties");
            Files.writeString(logConfig, logConfiguration(options.getOrDefault("log-level", "ERROR")));
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(List.of(options.getOrDefault("steady-service-jvm", "-Xmx1g").trim().split("\\s+")));
            command.add("-XX:+ExitOnOutOfMemoryError");
            command.add("-Xlog:gc:file=" + gcLog);
            command.add("-Dlog4j2.configurationFile=" + logConfig);
            p.forEach((key, value) -> command.add("-D" + key + "=" + value));
            command.add("-jar");
            command.add(jar.toString());
            Path log = work.resolve("service.log");
            long begun = System.nanoTime();
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            // the benchmark may end without closing it: never leave a service behind
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "kill-service-" + process.pid()));
            try {
                int httpPort = Integer.parseInt(p.get("sync.http.port"));
                long startToReady = awaitReady(httpPort, begun, process);
                return new OwnProcess(process, emulatorsContext, local, new RemoteBroker(brokerPort), httpPort, startToReady, gcLog);
            } catch (Exception | Error e) {
                process.destroyForcibly();
                local.stop();
                emulatorsContext.close();
                throw new IllegalStateException("the service did not start (its output: " + log + ")", e);
            }
        }

        /** --steady-service-jar, or service/target/dataverse-sync.jar of the repository this benchmark was built in. */
        private static Path serviceJar(String option) throws URISyntaxException {
            if (option != null) {
                return Path.of(option).toAbsolutePath();
            }
            Path here = Path.of(MeasuredService.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
            for (Path dir = here.getParent(); dir != null; dir = dir.getParent()) {
                Path jar = dir.resolve("service/target/dataverse-sync.jar");
                if (Files.isRegularFile(jar)) {
                    return jar;
                }
            }
            throw new IllegalStateException("no service/target/dataverse-sync.jar above " + here
                    + ": build the service first (mvn -B -q package -DskipTests) or name it with --steady-service-jar");
        }

        /** The service's console logging at the benchmark's level; values from messages escaped as the service does. */
        private static String logConfiguration(String level) {
            return String.join("\n",
                    "appender.console.type = Console",
                    "appender.console.name = console",
                    "appender.console.layout.type = PatternLayout",
                    "appender.console.layout.pattern = %d{HH:mm:ss.SSS} %-5level [%t] %c{1} - %enc{%m}{CRLF}%n",
                    "rootLogger.level = " + level,
                    "rootLogger.appenderRef.console.ref = console",
                    "");
        }

        @Override
        String mode() {
            return "own-process";
        }




        @Override
        String brokerUrl() {
            return broker.url();
        }

        @Override
        SyncBenchmark.QueueDepth queues() {
            return broker;
        }



        @Override
        StageProbe probe() {
            return null;
        }

        @Override
        void beginMeasurement() {
            cpuBefore = processCpuNanos();
            threadsBefore = threadCpu(process.pid());
            gcLogOffset = size(gcLog);
            harnessCpuBefore = SyncBenchmark.processCpuNanos();
            timerBefore = endToEndBuckets();
        }

        @Override
        void endMeasurement(ObjectNode out, int changes, long wallMicros, long loadGeneratorCpuNanos) {
            long cpuNanos = processCpuNanos() - cpuBefore;
            out.put("cpuMsPerChange", round(cpuNanos / 1e6 / changes));
            out.put("processCpuShare", SyncBenchmark.round4(cpuNanos / 1e3 / wallMicros / Runtime.getRuntime().availableProcessors()));
            putByThreads(out, byGroup(threadsBefore, threadCpu(process.pid()), changes, OwnProcess::threadGroup));
            // the benchmark's own JVM meanwhile: the emulators and the load generator, on the same cores
            out.put("harnessCpuMsPerChange", round((SyncBenchmark.processCpuNanos() - harnessCpuBefore) / 1e6 / changes));
            serviceTimer(out, timerBefore, endToEndBuckets());
            // the collections of the measured phase, from the service's GC log: how many, their pauses, the heap
            // in use when each began (the highest of which is the phase's peak: a heap is fullest just before one)
            long count = 0;
            double total = 0;
            double longest = 0;
            double peakMb = 0;
            for (String line : linesFrom(gcLog, gcLogOffset)) {
                double[] pause = pause(line);
                if (pause != null) {
                    count++;
                    total += pause[1];
                    longest = Math.max(longest, pause[1]);
                    peakMb = Math.max(peakMb, pause[0]);
                }
            }
            ObjectNode gc = out.putObject("gcPauses");
            gc.put("count", count);
            gc.put("totalMs", round(total));
            gc.put("maxMs", round(longest));
            out.put("peakHeapMb", round(peakMb));
            out.put("peakHeapMeasured", "own-process: the service's heap before each collection of the measured phase (GC log)");
        }

        @Override
        public void close() throws Exception {
            try {
                broker.close();
                process.destroy(); // SIGTERM: Camel Main's graceful stop
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                }
            } finally {
                emulators().stop();
                emulatorsContext.close();
            }
        }

        private long processCpuNanos() {
            return process.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
        }

        /** The cumulative buckets of the service's end-to-end timer ({@code le} in seconds → count), scraped now. */
        private java.util.NavigableMap<Double, Long> endToEndBuckets() {
            java.util.NavigableMap<Double, Long> buckets = new java.util.TreeMap<>();
            try {
                HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + httpPort + "/observe/metrics")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                for (String line : answer.body().split("\n")) {
                    Matcher m = BUCKET.matcher(line);
                    if (m.find()) {
                        buckets.put(m.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(1)),
                                (long) Double.parseDouble(m.group(2)));
                    }
                }
            } catch (IOException e) {
                // no timer figures; the rest of the measurement stands
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return buckets;
        }

        /**
         * The service's own end-to-end timer over the measured phase: the difference of its histogram's buckets
         * (dataverse_sync_end_to_end_seconds) after and before, each percentile the upper bound of the bucket it falls
         * in. A cross-check of the emulators' figures, as the service sees them (from the notification's requestedAt).
         */
        static void serviceTimer(ObjectNode out, java.util.NavigableMap<Double, Long> before, java.util.NavigableMap<Double, Long> after) {
            long total = after.getOrDefault(Double.POSITIVE_INFINITY, 0L) - before.getOrDefault(Double.POSITIVE_INFINITY, 0L);
            if (total <= 0) {
                return;
            }
            for (double q : new double[] {0.5, 0.95, 0.99}) {
                for (Map.Entry<Double, Long> bucket : after.entrySet()) {
                    long count = bucket.getValue() - before.getOrDefault(bucket.getKey(), 0L);
                    if (count >= Math.ceil(q * total)) {
                        out.put("serviceTimerP" + Math.round(q * 100) + "LatencyMs",
                                bucket.getKey().isInfinite() ? -1 : round(bucket.getKey() * 1000));
                        break;
                    }
                }
            }
        }

        /**
         * CPU nanoseconds of each thread of the process by "tid:name", from /proc/PID/task/TID/stat (utime + stime, in
         * clock ticks of 10 ms: Linux's USER_HZ of 100), with the name's hash to notice a reused id; empty without /proc.
         * Linux cuts a thread's name to 15 characters there, so the consumers of all queues are one group here.
         */
        private static Map<String, long[]> threadCpu(long pid) {
            Map<String, long[]> cpu = new HashMap<>();
            try (Stream<Path> tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    try {
                        String stat = Files.readString(task.resolve("stat"));
                        String name = taskName(stat);
                        cpu.put(task.getFileName() + ":" + name, new long[] {taskCpuTicks(stat) * 10_000_000L, name.hashCode()});
                    } catch (IOException | RuntimeException e) {
                        // the thread ended meanwhile
                    }
                }
            } catch (IOException e) {
                // no /proc: no breakdown
            }
            return cpu;
        }

        /** A thread's name from its /proc/PID/task/TID/stat line: between the first '(' and the last ')'. */
        static String taskName(String stat) {
            return stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        }

        /** A thread's CPU from its stat line, in clock ticks: utime + stime, the 14th and 15th fields. */
        static long taskCpuTicks(String stat) {
            // after the name: the 3rd field (the state) onwards, so utime and stime are at 11 and 12
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        }

        /**
         * A collection's pause in a GC log line ({@code -Xlog:gc}, G1 or Parallel): {heap in use before it in MB,
         * pause in ms}, or null for any other line.
         */
        static double[] pause(String line) {
            Matcher m = PAUSE.matcher(line);
            if (!m.find()) {
                return null;
            }
            return new double[] {megabytes(m.group(1), m.group(2)), Double.parseDouble(m.group(7))};
        }

        /**
         * A thread's kind by its name as Linux keeps it (15 characters): Camel's threads (the queues' consumers above
         * all: "Camel (camel-1) thread #N - JmsConsumer[...]"), the broker's ("Thread-N (activemq-...)"), the JIT
         * compiler's, the collector's, the JDK HTTP client's (the Dataverse client).
         */
        static String threadGroup(String name) {
            if (name.startsWith("Camel (")) {
                return "camel";
            }
            if (name.matches("Thread-\\d+ \\(.*") || name.startsWith("activemq") || name.startsWith("ActiveMQ")) {
                return "broker";
            }
            if (name.startsWith("dataverse-batch")) {
                return "batch-senders";
            }
            if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
                return "jit-compiler";
            }
            if (name.startsWith("GC Thread") || name.startsWith("G1 ")) {
                return "gc";
            }
            if (name.startsWith("HttpClient")) {
                return "http-client";
            }
            return "other";
        }

        private static long size(Path file) {
            try {
                return Files.size(file);
            } catch (IOException e) {
                return 0;
            }
        }

        private static List<String> linesFrom(Path file, long offset) {
            try {
                byte[] all = Files.readAllBytes(file);
                int from = (int) Math.min(offset, all.length);
                return List.of(new String(all, from, all.length - from, java.nio.charset.StandardCharsets.UTF_8).split("\n"));
            } catch (IOException e) {
                return List.of();
            }
        }

        private static double megabytes(String value, String unit) {
            double v = Double.parseDouble(value);
            return switch (unit) {
                case "K" -> v / 1024;
                case "G" -> v * 1024;
                default -> v;
            };
        }
    }
}
