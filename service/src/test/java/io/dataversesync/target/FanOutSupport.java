package io.dataversesync.target;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.stream.Stream;

import io.dataversesync.ProjectFiles;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.emulator.TargetEmulator;

/**
 * The application with three targets: the repository's customers, plus marketing and erp added by files only
 * (src/test/resources/fan-out: their route files and mappings) and properties (system properties here, which
 * Camel's properties component lets override application.properties). marketing and erp run as target emulators
 * of their own on loopback, so each can fail or slow down alone.
 */
public abstract class FanOutSupport extends SyncTestSupport {
    // (SagaTest uses the helpers below with targets of its own)
    protected static final TargetEmulator MARKETING = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free())
            .apiKey("marketing-key").apiKeyHeader("X-Api-Key"));
    protected static final TargetEmulator ERP = new TargetEmulator(new TargetEmulator.Settings().port(FreePorts.free()).apiKey("erp-key"));

    static {
        MARKETING.start();
        ERP.start();
        addTargetFiles("fan-out");
        System.setProperty("sync.targets", "customers,marketing,erp");
        target("marketing", MARKETING, "api-key", "marketing-key", "new_marketingid", "new_marketinghash", "new_marketingstatus");
        System.setProperty("sync.target.marketing.api-key-header", "X-Api-Key");
        target("erp", ERP, "bearer", "erp-key", "new_erpid", "new_erphash", "new_erpstatus");
    }

    /**
     * Loads the route files of src/test/resources/FOLDER/targets besides the repository's, and makes a mapping
     * folder of the repository's mappings plus FOLDER/mappings. customers gets its own status column too: with
     * several targets the row shows each target's status.
     */
    static void addTargetFiles(String folder) {
        Path extra = ProjectFiles.path("service/src/test/resources/" + folder);
        Path mappings = Path.of("target/test-mappings/" + UUID.randomUUID()).toAbsolutePath();
        copyTree(ProjectFiles.path("routes/mappings"), mappings);
        copyTree(extra.resolve("mappings"), mappings);
        System.setProperty("test.mappings.location", "file:" + mappings);
        System.setProperty("camel.main.routes-include-pattern", "{{sync.routes.location}}/*.camel.yaml,{{sync.targets.location}}/*.camel.yaml,"
                + "{{sync.routes.location}}/transport/{{sync.transport}}.camel.yaml,classpath:routes/local/*.camel.yaml,"
                + "file:" + extra.resolve("targets") + "/*.camel.yaml");
        System.setProperty("sync.target.customers.writeback.status-column", "new_customersstatus");
    }

    static void target(String name, TargetEmulator emulator, String auth, String secret, String idColumn, String hashColumn,
            String statusColumn) {
        String p = "sync.target." + name + ".";
        System.setProperty(p + "url", emulator.baseUrl());
        System.setProperty(p + "entities", "account");
        System.setProperty(p + "auth", auth);
        System.setProperty(p + "secret", secret);
        System.setProperty(p + "writeback.target-id-column", idColumn);
        System.setProperty(p + "writeback.hash-column", hashColumn);
        System.setProperty(p + "writeback.status-column", statusColumn);
        System.setProperty(p + "connect-timeout-ms", "2000");
        System.setProperty(p + "response-timeout-ms", "5000");
        System.setProperty(p + "breaker.failure-rate", "50");
        System.setProperty(p + "breaker.window-size", "20");
        System.setProperty(p + "breaker.minimum-calls", "10");
        System.setProperty(p + "breaker.open-ms", "2000");
        System.setProperty(p + "breaker.half-open-calls", "2");
        System.setProperty(p + "bulkhead.max-concurrent-calls", "16");
    }

    protected static void clearTargets() {
        for (TargetEmulator t : new TargetEmulator[] {MARKETING, ERP}) {
            t.faults().clear();
            t.clearRequests();
        }
    }

    private static void copyTree(Path from, Path to) {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
