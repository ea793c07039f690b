package io.dataversesync.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import io.dataversesync.ProjectFiles;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;

/**
 * The one harness of the tests that stop, kill and restart the service on the same broker folder while Dataverse
 * and the target (the standalone emulators, {@code sync.local.emulators.in-process = false}) keep their data:
 * {@link #settings} is what every such run is given, {@link #start} runs the service as its own JVM process
 * ({@code io.dataversesync.Main} on the production classpath, which a test can kill with SIGKILL), and {@link InJvm}
 * runs it in the test's JVM the way io.dataversesync.Main does (when a test needs to advise the routes or stop it
 * gracefully at a chosen moment). Ready = {@code /observe/health/ready} answers UP.
 */
public final class ServiceProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Process process;
    private final int httpPort;
    private final long startedAt = System.nanoTime();
    private final Path log;
    private volatile long readyAt = -1;

    private ServiceProcess(Process process, int httpPort, Path log) {
        this.process = process;
        this.httpPort = httpPort;
        this.log = log;
    }

    /**
     * The settings of a run against standalone emulators on a broker folder that outlives the run: the ports, the
     * repository's routes, short retry delays so a test does not wait for the production backoff.
     */
    public static Map<String, String> settings(int httpPort, int dataversePort, int targetPort, Path brokerDir) {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("sync.http.port", String.valueOf(httpPort));
        properties.put("sync.routes.location", ProjectFiles.routesLocation());
        // Dataverse and the target are the standalone emulators the test started, not emulators in the service
        properties.put("sync.local.emulators.in-process", "false");
        properties.put("sync.local.dataverse-port", String.valueOf(dataversePort));
        properties.put("sync.local.target-port", String.valueOf(targetPort));
        properties.put("sync.local.broker.data-dir", brokerDir.toAbsolutePath().toString());
        properties.put("sync.local.broker.redelivery-delay-ms", "100");
        properties.put("sync.policy.base-delay-ms", "50");
        properties.put("sync.policy.jitter", "0");
        properties.put("dataverse.timeout-ms", "5000");
        properties.put("camel.component.http.response-timeout", "5000");
        properties.put("camel.component.http.so-timeout", "5000");
        return properties;
    }

    /**
     * Starts {@code io.dataversesync.Main} in a JVM of its own with these properties (as system properties, which
     * Camel's properties component reads over application.properties) and JVM options (e.g. {@code -Xmx256m}); its
     * output goes to {@code log}. The classpath is the production one (target/classes and the runtime dependencies
     * the build wrote to target/runtime-classpath.txt): no emulator, test or benchmark class.
     */
    public static ServiceProcess start(Map<String, String> properties, List<String> jvmOptions, Path log) {
        try {
            Path module = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
            String classpath = module.resolve("target/classes") + java.io.File.pathSeparator
                    + Files.readString(module.resolve("target/runtime-classpath.txt")).trim();
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(jvmOptions);
            properties.forEach((key, value) -> command.add("-D" + key + "=" + value));
            command.add("-cp");
            command.add(classpath);
            command.add("io.dataversesync.Main");
            Files.createDirectories(log.toAbsolutePath().getParent());
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            // the test's JVM may end without closing it (a timeout of the fork): never leave a service behind
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "kill-service-" + process.pid()));
            return new ServiceProcess(process, Integer.parseInt(properties.get("sync.http.port")), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True once {@code /observe/health/ready} answers 200 with status UP. */
    public boolean ready() {
        try {
            HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + httpPort + "/observe/health/ready")).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return answer.statusCode() == 200 && answer.body().contains("UP");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits until ready; fails when the process ends first or the timeout passes. Returns start-to-ready ms. */
    public long awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the service ended with " + process.exitValue() + " before it was ready; see " + log);
            }
            if (ready()) {
                readyAt = System.nanoTime();
                return startToReadyMs();
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the service was not ready after " + timeout + "; see " + log);
    }

    /** From the process start to the first UP of the readiness check. */
    public long startToReadyMs() {
        return readyAt < 0 ? -1 : (readyAt - startedAt) / 1_000_000;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** SIGKILL (Process.destroyForcibly on Linux): no shutdown hook, nothing finishes, nothing is flushed. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the service (pid " + process.pid() + ") did not die");
        }
    }

    /** SIGTERM (Camel Main's graceful shutdown); waits for the end. Returns the exit value. */
    public int stop(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            throw new IllegalStateException("the service did not stop within " + timeout);
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    /**
     * The service in the test's JVM, as io.dataversesync.Main runs it, with the same settings: {@code beforeStart}
     * sees the CamelContext before the routes start (to advise them); {@link #stop} is what Camel Main's hang-up
     * interceptor calls on SIGTERM.
     */
    public static final class InJvm {
        private final Main main = new Main(io.dataversesync.Main.class);
        private final CountDownLatch started = new CountDownLatch(1);
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final String name;
        private volatile CamelContext context;
        private Thread thread;

        public InJvm(String name, Map<String, String> properties, Consumer<CamelContext> beforeStart) {
            this.name = name;
            properties.forEach(main::addOverrideProperty);
            main.addMainListener(new MainListenerSupport() {
                @Override
                public void beforeStart(BaseMainSupport support) {
                    context = support.getCamelContext();
                    beforeStart.accept(context);
                }

                @Override
                public void afterStart(BaseMainSupport support) {
                    started.countDown();
                }
            });
        }

        /** Runs Main in a thread of its own and waits until Camel has started. */
        public void start() throws InterruptedException {
            thread = new Thread(() -> {
                try {
                    main.run();
                } catch (Throwable e) {
                    failure.set(e);
                } finally {
                    started.countDown();
                }
            }, name);
            thread.start();
            if (!started.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException(name + " did not start within 60 s");
            }
            if (failure.get() != null) {
                throw new IllegalStateException(name + " failed to start", failure.get());
            }
            if (!context.isStarted()) {
                throw new IllegalStateException(name + " is not started");
            }
        }

        /** The graceful stop; returns how long it took (ms). */
        public long stop() throws InterruptedException {
            long begun = System.nanoTime();
            main.completed();
            thread.join(TimeUnit.MINUTES.toMillis(2));
            if (thread.isAlive()) {
                throw new IllegalStateException(name + " still running after stop");
            }
            if (failure.get() != null) {
                throw new IllegalStateException(name + " failed", failure.get());
            }
            return (System.nanoTime() - begun) / 1_000_000;
        }

        public CamelContext context() {
            return context;
        }
    }
}
