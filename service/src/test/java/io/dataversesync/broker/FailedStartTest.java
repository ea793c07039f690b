package io.dataversesync.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import io.dataversesync.ProjectFiles;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.reliability.ServiceProcess;
import jakarta.jms.Connection;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;

/**
 * A start that fails leaves no broker behind: its journal lock, its in-VM acceptor and its threads are gone, so the
 * process can end and, in the same JVM (tests, the benchmark), the next start on the same broker folder and URL
 * succeeds. Each failure is one users meet, at each moment of Camel Main's start: a target whose required setting is
 * missing (while Main creates the beans), a target file that does not load (while Main loads the routes, after the
 * configuration classes ran), a target route that cannot be built (in CamelContext.init, which start runs first and
 * after whose failure Camel stops nothing), a route whose consumer cannot start (while the context starts, with the
 * broker up: Camel stops what it started). The second and the third left the broker running while
 * EmbeddedBrokerConfiguration started it itself. And ports already taken: the chaos runs' broker port (Artemis only
 * logged it and ran without the acceptor) and the HTTP port (Camel's Vert.x server only logged it, and the service ran
 * without health, metrics or operations endpoints).
 */
class FailedStartTest {
    private final Path brokerDir = Path.of("target/test-brokers/failed-start-" + UUID.randomUUID()).toAbsolutePath();
    // a URL of its own per test: an acceptor a failed start left behind must not make a later test fail
    private final String url = "vm://" + ThreadLocalRandom.current().nextInt(100, 100_000);
    private final int httpPort = FreePorts.free();

    @Test
    void aTargetFileThatDoesNotLoadLeavesNoBrokerBehind() throws Exception {
        // a deployment mounts the targets' folder (sync.targets.location); one file has a step Camel does not know
        Path targets = targetsWith("billing.camel.yaml", billingRoute("sendTo", "log:billing"));

        Throwable failure = failedStart(Map.of("sync.targets.location", "file:" + targets));

        assertThat(failure).hasStackTraceContaining("billing.camel.yaml");
        assertNoBrokerLeft();
        assertTheNextStartSucceeds();
    }

    @Test
    void aTargetWithoutItsRequiredSettingsLeavesNoBrokerBehind() throws Exception {
        // a target named in sync.targets whose sync.target.billing.* settings were never written
        Throwable failure = failedStart(Map.of("sync.targets", "customers,billing"));

        assertThat(failure).hasStackTraceContaining("sync.target.billing.");
        assertNoBrokerLeft();
        assertTheNextStartSucceeds();
    }

    @Test
    void aTargetRouteThatCannotBeBuiltLeavesNoBrokerBehind() throws Exception {
        // the file loads, but its endpoint names a component the service does not have: the context fails to start
        Path targets = targetsWith("billing.camel.yaml", billingRoute("to", "nosuchcomponent:billing"));

        Throwable failure = failedStart(Map.of("sync.targets.location", "file:" + targets));

        assertThat(failure).hasStackTraceContaining("nosuchcomponent");
        assertNoBrokerLeft();
        assertTheNextStartSucceeds();
    }

    @Test
    void aRouteWhoseConsumerCannotStartLeavesNoBrokerBehind() throws Exception {
        // the routes start this time: one reads a folder the deployment did not mount, so its consumer fails while
        // the context starts, after the broker is up (the routes before it have started on the broker)
        Path missing = brokerDir.resolveSibling(brokerDir.getFileName() + "-not-mounted");
        Path targets = targetsWith("billing.camel.yaml", String.join("\n",
                "- route:",
                "    id: target-billing-files",
                "    from:",
                "      uri: \"file:" + missing + "?startingDirectoryMustExist=true&autoCreate=false\"",
                "      steps:",
                "        - to:",
                "            uri: log:billing",
                ""));

        Throwable failure = failedStart(Map.of("sync.targets.location", "file:" + targets, "camel.main.auto-startup", "true"));

        assertThat(failure).hasStackTraceContaining("Starting directory does not exist");
        assertNoBrokerLeft();
        assertTheNextStartSucceeds();
    }

    @Test
    void aBrokerPortAlreadyTakenFailsTheStartAndLeavesNoBrokerBehind() throws Exception {
        // another process listens on the chaos runs' broker port: Artemis alone would only log it and run without
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Throwable failure = failedStart(Map.of("sync.local.broker.tcp-port", String.valueOf(taken.getLocalPort())));

            assertThat(failure).hasStackTraceContaining("sync.local.broker.tcp-port " + taken.getLocalPort());
            assertNoBrokerLeft();
        }
        assertTheNextStartSucceeds();
    }

    @Test
    void anHttpPortAlreadyTakenFailsTheStartAndLeavesNoBrokerBehind() throws Exception {
        // another process listens on sync.http.port: without its HTTP server the service has no health, metrics or ops
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getByName("0.0.0.0"))) {
            Throwable failure = failedStart(Map.of("sync.http.port", String.valueOf(taken.getLocalPort())));

            assertThat(failure).hasStackTraceContaining(":" + taken.getLocalPort() + " (sync.http.port)");
            assertNoBrokerLeft();
        }
        assertTheNextStartSucceeds();
    }

    @Test
    void aNegativeJournalBufferTimeoutFailsTheStartNamingTheSetting() throws Exception {
        Throwable failure = failedStart(Map.of("sync.local.broker.journal-buffer-timeout-us", "-1"));

        assertThat(failure).hasStackTraceContaining("sync.local.broker.journal-buffer-timeout-us must be >= 0");
        assertNoBrokerLeft();
        assertTheNextStartSucceeds();
    }

    /** A target route file whose one step is {@code step} to {@code uri} (a step or an endpoint that may not exist). */
    private static String billingRoute(String step, String uri) {
        return String.join("\n",
                "- route:",
                "    id: target-billing",
                "    from:",
                "      uri: direct:target-billing",
                "      steps:",
                "        - " + step + ":",
                "            uri: " + uri,
                "");
    }

    /** The repository's target files and one more, in a folder of their own (what a deployment mounts). */
    private Path targetsWith(String name, String content) throws IOException {
        Path targets = Files.createDirectories(brokerDir.resolveSibling(brokerDir.getFileName() + "-targets"));
        try (Stream<Path> files = Files.list(ProjectFiles.path("routes/targets"))) {
            for (Path file : files.toList()) {
                Files.copy(file, targets.resolve(file.getFileName()));
            }
        }
        Files.writeString(targets.resolve(name), content);
        return targets;
    }

    /** Starts the application as Camel Main does with these settings over the test's; returns why it failed. */
    private Throwable failedStart(Map<String, String> overrides) {
        Main main = main(overrides);
        try {
            main.start();
        } catch (Exception expected) {
            return expected;
        }
        main.stop();
        throw new AssertionError("the start did not fail with " + overrides);
    }

    private Main main(Map<String, String> overrides) {
        Main main = new Main(io.dataversesync.Main.class);
        // Dataverse and the target are not needed: the routes are not started (a start that fails never starts
        // them; the next start only has to bring the broker up)
        ServiceProcess.settings(httpPort, FreePorts.free(), FreePorts.free(), brokerDir).forEach(main::addOverrideProperty);
        main.addOverrideProperty("camel.main.auto-startup", "false");
        main.addOverrideProperty("sync.local.broker.url", url);
        overrides.forEach(main::addOverrideProperty);
        return main;
    }

    private void assertNoBrokerLeft() {
        // the in-VM acceptor is gone: a client cannot connect any more
        assertThatThrownBy(() -> {
            try (ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(url);
                    Connection connection = factory.createConnection()) {
                connection.start();
            }
        }).as("a connection to %s after the failed start", url).isInstanceOf(jakarta.jms.JMSException.class);
        // and so are the broker's threads (stopping ends its pools; give them the time a shared CPU may need)
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(brokerThreads()).isEmpty());
    }

    /** A normal start on the same broker folder and URL brings the broker up (neither fails nor waits for a lock). */
    private void assertTheNextStartSucceeds() {
        Main main = main(Map.of());
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            main.start();
            try {
                EmbeddedBroker broker = main.getCamelContext().getRegistry().lookupByNameAndType("embeddedBroker", EmbeddedBroker.class);
                assertThat(broker.isActive()).isTrue();
                // and with the journal's sync timeout of application.properties, not Artemis's own default
                assertThat(broker.journalBufferTimeoutInEffect()).isEqualTo(Duration.ofNanos(1000L
                        * Long.parseLong(ProjectFiles.applicationProperty("sync.local.broker.journal-buffer-timeout-us"))));
                try (ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(url);
                        Connection connection = factory.createConnection()) {
                    connection.start();
                }
            } finally {
                main.stop();
            }
        });
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(brokerThreads()).isEmpty());
    }

    /**
     * Artemis's threads, but for the JMS client's shared pools (activemq-client-global, the in-VM connector's), which
     * this test's own connections start and which outlive them by design.
     */
    private static List<String> brokerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(name -> name.toLowerCase(Locale.ROOT).contains("activemq"))
                .filter(name -> !name.contains("activemq-client-global") && !name.contains("in-v-m-connector")).toList();
    }
}
