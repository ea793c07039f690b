package io.dataversesync.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.emulator.TargetEmulator;
import io.dataversesync.emulator.local.LocalEnvironment;
import io.dataversesync.sync.SyncMetrics;
import io.dataversesync.target.TargetBreakers;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

/**
 * The fan-out scenario: the burst (batched) delivered to three targets through the changes topic. customers is the
 * repository's target (the local target emulator); marketing and erp are added by files only, as a deployment
 * adds a target: their route files and mappings are the bench's resources (bench-targets/), extracted to a folder
 * at run time (Camel's file: patterns need one), plus their sync.target.NAME.* properties. Each runs on a target
 * emulator of its own; erp is the unhealthy one (200 ms per call, 30% of its upserts answered 503).
 *
 * <p>The same burst goes first to customers alone (the single-target burst, same sizes, same mapping folder): a
 * healthy target of the fan-out should deliver about as fast as that, whatever erp does ({@code isolation}).
 * A target's figure is the burst's changes divided by the seconds from the burst start until its last row's
 * latest version arrived there (the emulator's {@code updatedAt} of each record: the write that put the current
 * version there); the single-target run is measured the same way.
 */
final class FanOut {
    /** The topic every change is published on (sync.topic.changes): one queue per target, TOPIC.NAME. */
    static final String TOPIC = "dataverse-changes";
    /** Where the bench's target files are on the classpath: targets/*.camel.yaml, mappings/NAME/ENTITY.jsonata. */
    static final String RESOURCES = "bench-targets";

    /**
     * One target of the scenario.
     *
     * @param collection  where the target emulator keeps the rows (the upsertPath of its route file)
     * @param latencyMs   its emulator's answer time
     * @param errorRate   the share of its upserts answered 503
     * @param upsertMethod the method of its upserts (its route file), where the faults are injected
     */
    record Target(String name, String collection, String auth, String apiKeyHeader, long latencyMs, double errorRate, String upsertMethod) {
        boolean healthy() {
            return latencyMs == 0 && errorRate == 0;
        }

        String queue() {
            return TOPIC + "." + name;
        }
    }

    static final Target CUSTOMERS = new Target("customers", "customers", null, null, 0, 0, "PUT");

    /** marketing (healthy) and erp (by default 200 ms per call and 30% of its upserts answered 503). */
    static List<Target> added(Map<String, String> options) {
        return List.of(
                new Target("marketing", "contacts", "api-key", "X-Api-Key", 0, 0, "POST"),
                new Target("erp", "debtors", "bearer", null, Long.parseLong(options.getOrDefault("fan-out-erp-latency-ms", "200")),
                        Double.parseDouble(options.getOrDefault("fan-out-erp-error-rate", "0.3")), "PUT"));
    }

    /** A target as one run sees it: its emulator and its columns on the Dataverse row. */
    private record View(Target target, TargetEmulator emulator, String idColumn, String statusColumn) {
    }

    private FanOut() {
    }

    /**
     * The single-target burst, then the fan-out over three targets; one JSON line. Uses 3 run indexes (broker URLs).
     * --fan-out-warmup-changes=N (default 2000; 0 = none) runs a discarded single-target burst of N changes over N/5
     * rows first, so that the single-target figure is not measured on a cold JVM while the fan-out's is on a warm one.
     */
    static ObjectNode scenario(SyncBenchmark.Scenario s, Path work, int runIndex, Map<String, String> options) throws Exception {
        int warmup = Integer.parseInt(options.getOrDefault("fan-out-warmup-changes", "2000"));
        if (warmup > 0) {
            SyncBenchmark.Scenario w = new SyncBenchmark.Scenario(s.name(), warmup, Math.max(1, warmup / 5), 0, 0, 0, s.windowSeconds(),
                    s.consumers(), warmup, 0, s.cost(), 1);
            run(w, List.of(), work.resolve("fan-out-warmup"), runIndex + 3);
        }
        List<Target> added = added(options);
        ObjectNode single = run(s, List.of(), work.resolve("fan-out-single"), runIndex + 1);
        ObjectNode fanOut = run(s, added, work.resolve("fan-out"), runIndex + 2);

        ObjectNode out = SyncBenchmark.JSON.createObjectNode();
        out.put("scenario", "fan-out");
        out.put("mode", "batched");
        out.put("warmupChanges", warmup);
        out.setAll(fanOut);
        ObjectNode singleOut = out.putObject("singleTarget");
        ObjectNode singleCustomers = (ObjectNode) single.path("targets").path(CUSTOMERS.name());
        singleOut.put("changesPerSecond", singleCustomers.path("changesPerSecond").asDouble());
        singleOut.put("deliveredSeconds", singleCustomers.path("deliveredSeconds").asDouble());
        singleOut.put("wallSeconds", single.path("wallSeconds").asDouble());
        singleOut.put("wallChangesPerSecond", single.path("wallChangesPerSecond").asDouble());
        singleOut.put("dataverseRequestsPerChange", single.path("dataverseRequestsPerChange").asDouble());
        singleOut.set("dataverseRequestsByKind", single.path("dataverseRequestsByKind"));
        singleOut.put("retried", singleCustomers.path("retried").asLong());
        singleOut.put("verified", single.path("verified").asBoolean());

        // isolation: the slowest healthy target of the fan-out against customers alone, both measured until the
        // last row's latest version was at the target
        String slowest = null;
        double slowestRate = Double.POSITIVE_INFINITY;
        for (Target t : targets(added)) {
            double rate = fanOut.path("targets").path(t.name()).path("changesPerSecond").asDouble();
            if (t.healthy() && rate < slowestRate) {
                slowest = t.name();
                slowestRate = rate;
            }
        }
        double singleRate = singleOut.path("changesPerSecond").asDouble();
        double singleWallRate = singleOut.path("wallChangesPerSecond").asDouble();
        out.put("slowestHealthyTarget", slowest);
        out.put("isolation", singleRate > 0 ? round3(slowestRate / singleRate) : 0);
        // the same against the single-target run's wall clock (until everything was written back, as the burst
        // scenario counts): the lenient reading
        out.put("isolationVsSingleTargetWall", singleWallRate > 0 ? round3(slowestRate / singleWallRate) : 0);
        ObjectNode goals = out.putObject("goals");
        goals.put("isolation", ">= 0.8");
        goals.put("dataverseRequestsPerChange", "<= 0.1");
        goals.put("met", out.path("isolation").asDouble() >= 0.8 && out.path("dataverseRequestsPerChange").asDouble() <= 0.1);
        // last, so that it reads as the line's verdict
        boolean verified = fanOut.path("verified").asBoolean() && single.path("verified").asBoolean();
        out.remove("verified");
        out.put("verified", verified);
        return out;
    }

    private static List<Target> targets(List<Target> added) {
        List<Target> all = new ArrayList<>();
        all.add(CUSTOMERS);
        all.addAll(added);
        return all;
    }

    /** One burst (batched) delivered to customers plus the added targets. */
    private static ObjectNode run(SyncBenchmark.Scenario s, List<Target> added, Path dir, int runIndex) throws Exception {
        List<Target> targets = targets(added);
        Path files = dir.resolve("target-files");
        copyClasspathFolder(RESOURCES, files);
        // a folder with every target's mappings (sync.mappings.location): the repository's customers, the bench's others
        copyClasspathFolder("routes/mappings/" + CUSTOMERS.name(), files.resolve("mappings").resolve(CUSTOMERS.name()));

        Map<String, TargetEmulator> emulators = new LinkedHashMap<>();
        Main main = new Main(io.dataversesync.Main.class);
        try {
            Map<String, String> p = SyncBenchmark.properties(s, true, s.consumers(), dir.resolve("broker"), runIndex);
            p.put("sync.mappings.location", "file:" + files.resolve("mappings").toAbsolutePath());
            if (!added.isEmpty()) {
                p.put("camel.main.routes-include-pattern", applicationProperty("camel.main.routes-include-pattern") + ",file:"
                        + files.resolve("targets").toAbsolutePath() + "/*.camel.yaml");
                p.put("sync.targets", String.join(",", targets.stream().map(Target::name).toList()));
                // with several targets the row shows each target's status and new_syncstatus is the overall one
                p.put("sync.target.customers.writeback.status-column", "new_customersstatus");
                for (Target t : added) {
                    TargetEmulator emulator = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free())
                            .apiKey(t.name() + "-key").apiKeyHeader(t.apiKeyHeader()));
                    emulator.start();
                    emulator.recordingLimit(1000);
                    emulators.put(t.name(), emulator);
                    properties(p, t, emulator);
                }
            }
            SyncBenchmark.OVERRIDES.forEach(p::put);
            p.forEach(main::addOverrideProperty);
            main.start();

            CamelContext context = main.getCamelContext();
            LocalEnvironment local = context.getRegistry().lookupByNameAndType("localEnvironment", LocalEnvironment.class);
            EmbeddedBroker broker = context.getRegistry().lookupByNameAndType("embeddedBroker", EmbeddedBroker.class);
            SyncMetrics metrics = context.getRegistry().lookupByNameAndType("syncMetrics", SyncMetrics.class);
            TargetBreakers breakers = context.getRegistry().lookupByNameAndType("targetBreakers", TargetBreakers.class);
            DataverseEmulator dataverse = local.dataverse();
            dataverse.recordingLimit(1000);
            local.target().recordingLimit(1000);
            emulators.put(CUSTOMERS.name(), local.target());

            List<View> views = new ArrayList<>();
            Map<String, AtomicLong> breakerOpened = new LinkedHashMap<>();
            Map<String, AtomicLong> notPermitted = new LinkedHashMap<>();
            for (Target t : targets) {
                String status = context.resolvePropertyPlaceholders("{{sync.target." + t.name() + ".writeback.status-column:}}").trim();
                views.add(new View(t, emulators.get(t.name()),
                        context.resolvePropertyPlaceholders("{{sync.target." + t.name() + ".writeback.target-id-column}}").trim(),
                        status.isEmpty() ? null : status));
                AtomicLong opened = new AtomicLong();
                AtomicLong refused = new AtomicLong();
                breakerOpened.put(t.name(), opened);
                notPermitted.put(t.name(), refused);
                CircuitBreaker breaker = breakers == null ? null : breakers.breakers().get(t.name());
                if (breaker != null) {
                    breaker.getEventPublisher().onStateTransition(e -> {
                        if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                            opened.incrementAndGet();
                        }
                    });
                    breaker.getEventPublisher().onCallNotPermitted(e -> refused.incrementAndGet());
                }
            }
            String overallStatus = context.resolvePropertyPlaceholders("{{sync.writeback.status-column}}").trim();

            List<String> ids = SyncBenchmark.seedRows(dataverse, s.rows());
            for (View v : views) {
                if (v.target().latencyMs() > 0) {
                    v.emulator().faults().latency(Duration.ofMillis(v.target().latencyMs()));
                }
                if (v.target().errorRate() > 0) {
                    v.emulator().faults().errorRate(v.target().upsertMethod(), v.target().errorRate(), 503);
                }
            }
            dataverse.resetCounters();
            Map<String, Long> callsBefore = new LinkedHashMap<>();
            views.forEach(v -> callsBefore.put(v.target().name(), v.emulator().callCount()));
            SyncBenchmark.resetPeakHeap();

            long cpuBefore = SyncBenchmark.processCpuNanos();
            Instant startedAt = Instant.now();
            long start = System.nanoTime();
            // as the burst scenario: the whole burst is queued while the outbound consumer is suspended
            context.getRouteController().suspendRoute("outbound-sync-consumer");
            SyncBenchmark.sendChanges(broker.url(), dataverse, ids, s.changes());
            double sendSeconds = (System.nanoTime() - start) / 1e9;
            context.getRouteController().resumeRoute("outbound-sync-consumer");

            // the outbound queue, every target's queue on the topic, the ack queue; their dead-letter queues and the
            // broker's own safety net for the topic
            List<String> queues = SyncBenchmark.pipelineQueues(context);
            List<String> deadLetterQueues = SyncBenchmark.deadLetterQueues(context, queues);
            long doneAt = SyncBenchmark.awaitComplete(broker, queues, deadLetterQueues, () -> allSynced(dataverse, views, overallStatus, ids),
                    Duration.ofMinutes(20));
            boolean verified = doneAt >= 0;
            double seconds = ((verified ? doneAt : System.nanoTime()) - start) / 1e9;

            ObjectNode out = SyncBenchmark.JSON.createObjectNode();
            out.put("changes", s.changes());
            out.put("distinctRows", s.rows());
            out.put("consumers", s.consumers());
            out.put("subscriberConsumers", Integer.parseInt(context.resolvePropertyPlaceholders("{{sync.consumers.subscriber}}").trim()));
            out.put("wallSeconds", SyncBenchmark.round(seconds));
            out.put("wallChangesPerSecond", SyncBenchmark.round(s.changes() / seconds));
            out.put("sendSeconds", SyncBenchmark.round(sendSeconds));
            out.put("cpuSeconds", SyncBenchmark.round((SyncBenchmark.processCpuNanos() - cpuBefore) / 1e9));
            ObjectNode perTarget = out.putObject("targets");
            for (View v : views) {
                ObjectNode t = perTarget.putObject(v.target().name());
                Instant last = null;
                long delivered = 0;
                for (String id : ids) {
                    ObjectNode row = dataverse.row("accounts", id).orElse(null);
                    ObjectNode record = v.emulator().record(v.target().collection(), id).orElse(null);
                    if (row != null && record != null && row.path("telephone1").asText().equals(record.path("phone").asText())) {
                        delivered++;
                        Instant at = Instant.parse(record.path("updatedAt").asText());
                        last = last == null || at.isAfter(last) ? at : last;
                    }
                }
                double deliveredSeconds = last == null ? Double.NaN : Duration.between(startedAt, last).toNanos() / 1e9;
                t.put("changesPerSecond", SyncBenchmark.round(s.changes() / deliveredSeconds));
                t.put("deliveredSeconds", SyncBenchmark.round(deliveredSeconds));
                t.put("delivered", delivered);
                t.put("healthy", v.target().healthy());
                t.put("latencyMs", v.target().latencyMs());
                t.put("errorRate", v.target().errorRate());
                t.put("calls", v.emulator().callCount() - callsBefore.get(v.target().name()));
                ObjectNode consumed = SyncBenchmark.JSON.createObjectNode();
                metrics.registry().find("dataverse.sync.consumed").tag("queue", v.target().queue()).counters()
                        .forEach(c -> consumed.put(c.getId().getTag("outcome"), Math.round(c.count())));
                t.put("retried", consumed.path("retried").asLong());
                // retried counts both kinds of copy: a failed call's retry and a message held while the breaker was
                // open (callsNotPermitted: never sent to the target)
                t.put("breakerOpened", breakerOpened.get(v.target().name()).get());
                t.put("callsNotPermitted", notPermitted.get(v.target().name()).get());
                t.set("consumed", consumed);
            }
            for (ValueAtPercentile v : metrics.endToEndTimer().takeSnapshot().percentileValues()) {
                out.put("p" + Math.round(v.percentile() * 100) + "LatencyMs", SyncBenchmark.round(v.value(TimeUnit.MILLISECONDS)));
            }
            out.put("dataverseRequests", dataverse.requestCount());
            out.put("dataverseRequestsPerChange", SyncBenchmark.round4((double) dataverse.requestCount() / s.changes()));
            out.put("throttled429", dataverse.throttledCount());
            ObjectNode kinds = out.putObject("dataverseRequestsByKind");
            metrics.registry().find("dataverse.rows.per.request").summaries().forEach(summary -> {
                ObjectNode kind = kinds.putObject(summary.getId().getTag("kind"));
                kind.put("requests", summary.count());
                kind.put("rowsPerRequest", SyncBenchmark.round(summary.mean()));
            });
            ObjectNode deadLettered = out.putObject("deadLettered");
            for (String queue : deadLetterQueues) {
                deadLettered.put(queue, broker.messageCount(queue));
            }
            out.put("peakHeapMb", SyncBenchmark.round(SyncBenchmark.peakHeapBytes() / 1048576.0));
            out.put("verified", verified);
            return out;
        } finally {
            main.stop();
            for (Map.Entry<String, TargetEmulator> e : emulators.entrySet()) {
                if (!e.getKey().equals(CUSTOMERS.name())) {
                    e.getValue().stop();
                }
            }
        }
    }

    /** An added target's properties: what sync.target.customers.* says for the repository's target. */
    private static void properties(Map<String, String> p, Target t, TargetEmulator emulator) {
        String prefix = "sync.target." + t.name() + ".";
        p.put(prefix + "url", emulator.baseUrl());
        p.put(prefix + "entities", "account");
        p.put(prefix + "auth", t.auth());
        p.put(prefix + "secret", t.name() + "-key");
        if (t.apiKeyHeader() != null) {
            p.put(prefix + "api-key-header", t.apiKeyHeader());
        }
        p.put(prefix + "writeback.target-id-column", "new_" + t.name() + "id");
        p.put(prefix + "writeback.hash-column", "new_" + t.name() + "hash");
        p.put(prefix + "writeback.status-column", "new_" + t.name() + "status");
        // the repository's defaults for customers (application.properties)
        p.put(prefix + "connect-timeout-ms", "5000");
        p.put(prefix + "response-timeout-ms", "30000");
        p.put(prefix + "breaker.failure-rate", "50");
        p.put(prefix + "breaker.window-size", "20");
        p.put(prefix + "breaker.minimum-calls", "10");
        p.put(prefix + "breaker.open-ms", "10000");
        p.put(prefix + "breaker.half-open-calls", "3");
        p.put(prefix + "bulkhead.max-concurrent-calls", "16");
    }

    /**
     * Every row: each target holds its latest phone and the row has the target's id (and, with several targets,
     * the target's own status Synced); the row's overall status is Synced. (The run is complete when, in addition,
     * every queue is drained: {@link SyncBenchmark#awaitComplete}.)
     */
    private static boolean allSynced(DataverseEmulator dataverse, List<View> views, String overallStatus, List<String> ids) {
        for (String id : ids) {
            ObjectNode row = dataverse.row("accounts", id).orElse(null);
            if (row == null || !"Synced".equals(row.path(overallStatus).asText())) {
                return false;
            }
            for (View v : views) {
                ObjectNode record = v.emulator().record(v.target().collection(), id).orElse(null);
                if (record == null || !row.path("telephone1").asText().equals(record.path("phone").asText())
                        || !record.path("id").asText().equals(row.path(v.idColumn()).asText())
                        || (v.statusColumn() != null && !"Synced".equals(row.path(v.statusColumn()).asText()))) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A property of the service's application.properties as written (placeholders are Camel's to resolve). */
    private static String applicationProperty(String key) throws IOException {
        Properties app = new Properties();
        try (InputStream in = FanOut.class.getClassLoader().getResourceAsStream("application.properties")) {
            if (in == null) {
                throw new IllegalStateException("application.properties is not on the classpath");
            }
            app.load(in);
        }
        String value = app.getProperty(key);
        if (value == null) {
            throw new IllegalStateException(key + " is not in application.properties");
        }
        return value.trim();
    }

    /** Copies a classpath folder (in a jar or a directory) to a folder of the file system. */
    private static void copyClasspathFolder(String folder, Path to) throws IOException, URISyntaxException {
        URL url = FanOut.class.getClassLoader().getResource(folder);
        if (url == null) {
            throw new IllegalStateException(folder + " is not on the classpath");
        }
        URI uri = url.toURI();
        if (!uri.getScheme().equals("jar")) {
            copyTree(Path.of(uri), to);
            return;
        }
        FileSystem opened = null;
        try {
            try {
                opened = FileSystems.newFileSystem(uri, Map.of());
            } catch (FileSystemAlreadyExistsException e) {
                // someone else's, left open
            }
            copyTree(Path.of(uri), to);
        } finally {
            if (opened != null) {
                opened.close();
            }
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.createDirectories(dest.getParent());
                    Files.copy(p, dest, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
