package io.dataversesync.emulator;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * The standalone program: {@code java -jar emulators/target/dataverse-sync-emulators.jar [--name=value ...]} runs
 * the Dataverse Web API emulator and the target system emulator in their own process on 127.0.0.1 until killed
 * (SIGTERM or Ctrl-C stop both servers through a shutdown hook). Options: {@link EmulatorOptions}. Needs only
 * Jackson and the OData codec (lib/ next to the jar); never Camel.
 */
public final class EmulatorMain {

    /** Both emulators, started; closing stops both. */
    public static final class Running implements AutoCloseable {
        private final DataverseEmulator dataverse;
        private final TargetEmulator target;

        Running(DataverseEmulator dataverse, TargetEmulator target) {
            this.dataverse = dataverse;
            this.target = target;
        }

        public DataverseEmulator dataverse() {
            return dataverse;
        }

        public TargetEmulator target() {
            return target;
        }

        /** e.g. http://127.0.0.1:18081/api/data/v9.2/ */
        public String dataverseApiUrl() {
            return dataverse.baseUrl() + DataverseEmulator.API_ROOT;
        }

        /** e.g. http://127.0.0.1:18081/oauth2/v2.0/token (any tenant prefix before /oauth2 is accepted too). */
        public String tokenUrl() {
            return dataverse.baseUrl() + DataverseEmulator.TOKEN_PATH;
        }

        /** e.g. http://127.0.0.1:18082/api/ */
        public String targetApiUrl() {
            return target.baseUrl() + "/api/";
        }

        /** Stops both; idempotent, so the shutdown hook and a caller may both close. */
        @Override
        public void close() {
            target.stop();
            dataverse.stop();
        }
    }

    private EmulatorMain() {
    }

    public static void main(String[] args) {
        int status = run(args, System.out, System.err, EmulatorMain::awaitShutdown);
        // on success the JVM ends by itself once the shutdown hook has stopped the servers
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * The whole program but the waiting: parses, prints help or the error, starts both emulators, prints their
     * URLs, hands them to {@code whileRunning} and stops them when it returns.
     *
     * @return the exit status: 0 after help or a run, 2 for a bad command line, 1 when an emulator cannot start
     */
    static int run(String[] args, PrintStream out, PrintStream err, Consumer<Running> whileRunning) {
        EmulatorOptions options;
        try {
            options = EmulatorOptions.parse(args);
        } catch (EmulatorOptions.UsageException e) {
            err.println("error: " + e.getMessage());
            err.println();
            err.print(EmulatorOptions.usage());
            return 2;
        }
        if (options.help()) {
            out.print(EmulatorOptions.usage());
            return 0;
        }
        Running running;
        try {
            running = start(options);
        } catch (UncheckedIOException e) {
            err.println("error: " + e.getMessage() + ": " + e.getCause().getMessage());
            return 1;
        }
        try (running) {
            out.println("Dataverse Web API emulator: " + running.dataverseApiUrl()
                    + "  token endpoint: " + running.tokenUrl());
            out.println("Target emulator: " + running.targetApiUrl());
            out.flush();
            whileRunning.accept(running);
        }
        return 0;
    }

    /**
     * Starts both emulators as the options say: tables with their columns and alternate keys, seeded rows, service
     * protection (request count, execution time with the cost model, concurrency) and faults.
     */
    public static Running start(EmulatorOptions options) {
        DataverseEmulator dataverse = new DataverseEmulator(new DataverseEmulator.Settings()
                .port(options.dataversePort())
                .clientId(options.clientId())
                .clientSecret(options.clientSecret())
                .requestBudget(options.requestBudget())
                .budgetWindow(options.budgetWindow())
                .maxConcurrentRequests(options.maxConcurrentRequests())
                .executionTimeBudget(options.executionTimeBudget())
                .costModel(options.costModel())
                .costAsLatency(options.costAsLatency())
                .changeTrackingTokenLifetime(options.changeTrackingTokenLifetime()));
        for (EmulatorOptions.Table table : options.tables()) {
            List<String> columns = options.columns().get(table.entitySet());
            if (columns == null) {
                dataverse.registerTable(table.entitySet(), table.logicalName(), table.idColumn());
            } else {
                dataverse.registerTable(table.entitySet(), table.logicalName(), table.idColumn(), columns);
            }
            for (List<String> key : options.alternateKeys().getOrDefault(table.entitySet(), List.of())) {
                dataverse.registerAlternateKey(table.entitySet(), key.toArray(String[]::new));
            }
        }
        if (options.tables().stream().noneMatch(t -> t.entitySet().equals(SyncOutboxTable.ENTITY_SET))) {
            // the service's outbox relay (sync.outbox.*) reads it with its default names
            SyncOutboxTable.register(dataverse);
        }
        SampleAccounts.seed(dataverse, options.tables().get(0).entitySet(), options.seed());
        dataverse.faults().latency(options.dataverseLatency())
                .errorRate(null, options.dataverseErrorRate(), options.dataverseErrorStatus());

        TargetEmulator target = new TargetEmulator(new TargetEmulator.Settings()
                .port(options.targetPort())
                .apiKey(options.targetApiKey()));
        target.faults().latency(options.targetLatency())
                .errorRate(null, options.targetErrorRate(), options.targetErrorStatus());

        dataverse.start();
        try {
            target.start();
        } catch (RuntimeException e) {
            // do not leave the first one listening when the second cannot start
            dataverse.stop();
            throw e;
        }
        return new Running(dataverse, target);
    }

    /** Blocks the main thread until the JVM shuts down; the hook stops the servers first. */
    private static void awaitShutdown(Running running) {
        CountDownLatch forever = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            System.err.println("Emulators stopped.");
        }, "emulators-shutdown"));
        try {
            forever.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
