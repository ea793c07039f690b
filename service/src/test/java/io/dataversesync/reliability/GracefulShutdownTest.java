package io.dataversesync.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.ProjectFiles;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.emulator.EmulatorMain;
import io.dataversesync.emulator.EmulatorOptions;
import io.dataversesync.transport.ArtemisTransport;
import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.SimpleEventNotifierSupport;
import org.apache.camel.support.SynchronizationAdapter;
import org.junit.jupiter.api.Test;

/**
 * Graceful shutdown (issue 3): stop the service mid-burst, start it again on the same broker folder, and nothing is
 * lost: no dead letter, the outbound and ack queues drain, every notification was carried through, every row ends
 * Synced with its latest values, and the shutdown fits in Camel's shutdown timeout (which the pod's
 * terminationGracePeriodSeconds must cover).
 *
 * <p>The real application runs twice in this JVM through {@link org.apache.camel.main.Main} (the same way
 * io.dataversesync.Main runs it; {@code completed()} is what Camel Main's hang-up interceptor calls on SIGTERM).
 * The broker journal is the same folder in both runs. Dataverse and the target system are the standalone emulators
 * ({@link EmulatorMain}, as `java -jar emulators/target/dataverse-sync-emulators.jar` runs them), started once and
 * outliving both runs of the service (sync.local.emulators.in-process = false): like the real systems, they keep
 * their data while the service restarts.
 */
class GracefulShutdownTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OUTBOUND = "dataverse-outbound";
    private static final String ACK = "dataverse-ack";
    private static final int ROWS = 100;
    private static final int CHANGES_PER_ROW = 3;
    private static final Duration PUT_LATENCY = Duration.ofMillis(20);

    private final Path brokerDir = Path.of("target/test-brokers/graceful-" + UUID.randomUUID());
    private final int httpPort = FreePorts.free();
    private final int dataversePort = FreePorts.free();
    private final int targetPort = FreePorts.free();

    @Test
    void stopMidBurstThenRestartOnTheSameBrokerLosesNothing() throws Exception {
        try (EmulatorMain.Running emulators = EmulatorMain.start(EmulatorOptions.parse(
                "--dataverse-port=" + dataversePort, "--target-port=" + targetPort, "--seed=0"))) {
            stopMidBurstThenRestart(emulators);
        }
    }

    private void stopMidBurstThenRestart(EmulatorMain.Running local1) throws Exception {
        // ---------------------------------------------------------------- run 1: the burst, stopped half-way
        AppRun first = new AppRun(1);
        first.outbound.holdAfter = ROWS;
        first.start();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            ids.add(local1.dataverse().upsertRow("accounts", null, account(i, 0)));
        }
        local1.target().faults().latency("PUT", PUT_LATENCY);

        Set<String> sent = new HashSet<>();
        long burstStarted = System.nanoTime();
        ConnectionFactory factory = first.context.getRegistry().lookupByNameAndType("artemisConnectionFactory", ConnectionFactory.class);
        try (Connection connection = factory.createConnection()) {
            // one transaction per round of changes: each round's notifications reach the queue together, a burst
            Session session = connection.createSession(true, Session.SESSION_TRANSACTED);
            MessageProducer producer = session.createProducer(session.createQueue(OUTBOUND));
            for (int round = 1; round <= CHANGES_PER_ROW; round++) {
                for (int i = 0; i < ROWS; i++) {
                    String id = ids.get(i);
                    ObjectNode change = JSON.createObjectNode();
                    change.put("name", name(i, round));
                    change.put("telephone1", String.format("+1-425-555-%04d", round * 1000 + i));
                    local1.dataverse().upsertRow("accounts", id, change);
                    // what the Dataverse plugin step does: correlation id, requested-at, group = the row
                    TextMessage message = session.createTextMessage(
                            "{\"entity\":\"account\",\"sourceRowId\":\"" + id + "\",\"operation\":\"Update\"}");
                    String correlationId = UUID.randomUUID().toString();
                    message.setJMSCorrelationID(correlationId);
                    message.setLongProperty(ArtemisTransport.REQUESTED_AT, System.currentTimeMillis());
                    message.setStringProperty(ArtemisTransport.GROUP_ID, id);
                    producer.send(message);
                    sent.add(correlationId);
                }
                session.commit();
            }
        }
        long sentMillis = (System.nanoTime() - burstStarted) / 1_000_000;

        // Stop while the consumers are busy. Exchanges that start after the first ROWS are held (a slow call in
        // flight), so the moment is deterministic: they cannot finish before the stop begins, and the notifications
        // behind them are still waiting. They are let go once the stop has begun, as a slow call would end.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1)).until(() ->
                first.outbound.held.get() > 0);
        int inFlightOutbound = first.outbound.inFlight.get();
        int inFlightAck = first.ack.inFlight.get();
        int camelInflight = first.context.getInflightRepository().size();
        long waitingOutbound = first.broker().messageCount(OUTBOUND);
        long waitingAck = first.broker().messageCount(ACK);
        long deliveringOutbound = deliveringCount(first.broker(), OUTBOUND);
        long shutdownTimeoutSeconds = TimeUnit.SECONDS.convert(first.context.getShutdownStrategy().getTimeout(),
                first.context.getShutdownStrategy().getTimeUnit());
        long stopMillis = first.stopReleasingHeldExchanges();
        boolean timedOut = first.context.getShutdownStrategy().hasTimeoutOccurred();
        long burstMillisRun1 = (System.nanoTime() - burstStarted) / 1_000_000;

        // whatever was in flight finished (or was rolled back for redelivery): nothing is left half-done
        assertThat(first.outbound.inFlight.get()).isZero();
        assertThat(first.ack.inFlight.get()).isZero();
        assertThat(inFlightOutbound).as("outbound exchanges in flight when the stop began").isPositive();
        assertThat(waitingOutbound).as("notifications not yet settled when the stop began").isPositive();
        assertThat(timedOut).as("Camel's graceful shutdown hit its timeout").isFalse();
        assertThat(stopMillis).as("shutdown duration (ms)").isLessThan(TimeUnit.SECONDS.toMillis(shutdownTimeoutSeconds));

        // Dataverse and the target keep their data while the service restarts (the emulators run on)
        long targetPutsRun1 = local1.target().requests().stream().filter(r -> r.method().equals("PUT")).count();

        // ---------------------------------------------------------------- run 2: same broker folder
        AppRun second = new AppRun(2);
        long restartStarted = System.nanoTime();
        second.start();
        EmulatorMain.Running local2 = local1;
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                second.broker().messageCount(OUTBOUND) == 0 && second.broker().messageCount(ACK) == 0
                        && second.outbound.inFlight.get() == 0 && second.ack.inFlight.get() == 0
                        && allSynced(local2, ids));
        long drainMillis = (System.nanoTime() - restartStarted) / 1_000_000;

        try {
            // nothing dead-lettered, in either run (the dead-letter queues are in the same journal)
            assertThat(second.broker().messageCount(EmbeddedBroker.deadLetterQueue(OUTBOUND))).isZero();
            assertThat(second.broker().messageCount(EmbeddedBroker.deadLetterQueue(ACK))).isZero();
            assertThat(second.broker().scheduledCount(OUTBOUND) + second.broker().scheduledCount(ACK)).isZero();

            // every row: latest values at the target, Synced in Dataverse, one target record each
            for (int i = 0; i < ROWS; i++) {
                String id = ids.get(i);
                ObjectNode record = local2.target().record("customers", id).orElseThrow();
                ObjectNode row = local2.dataverse().row("accounts", id).orElseThrow();
                assertThat(record.path("name").asText()).isEqualTo(name(i, CHANGES_PER_ROW));
                assertThat(record.path("phone").asText()).isEqualTo(row.path("telephone1").asText());
                assertThat(row.path("new_syncstatus").asText()).isEqualTo("Synced");
                assertThat(row.path("new_targetrowid").asText()).isEqualTo(record.path("id").asText());
            }
            assertThat(local2.target().records("customers")).hasSize(ROWS);

            // every notification was carried through the outbound consumer (synced, or covered by a later read)
            Set<String> carried = new HashSet<>(first.outbound.succeeded);
            carried.addAll(second.outbound.succeeded);
            assertThat(sent).hasSize(ROWS * CHANGES_PER_ROW);
            assertThat(carried).containsAll(sent);
        } finally {
            long redeliveredFlag = second.outbound.redelivered.get();
            Set<String> twice = new HashSet<>(first.outbound.succeeded);
            twice.retainAll(second.outbound.succeeded);
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("notifications", sent.size());
            figures.put("send ms", sentMillis);
            figures.put("run1 ms until stop returned", burstMillisRun1);
            figures.put("outbound in flight at stop", inFlightOutbound);
            figures.put("outbound held (slow call) at stop", first.outbound.held.get());
            figures.put("ack in flight at stop", inFlightAck);
            figures.put("camel inflight exchanges at stop", camelInflight);
            figures.put("outbound delivering (broker) at stop", deliveringOutbound);
            figures.put("outbound waiting at stop", waitingOutbound);
            figures.put("ack waiting at stop", waitingAck);
            figures.put("shutdown ms", stopMillis);
            figures.put("shutdown timeout s", shutdownTimeoutSeconds);
            figures.put("run1 outbound carried", first.outbound.succeeded.size());
            figures.put("run1 ack written back", first.ack.succeeded.size());
            figures.put("run2 outbound waiting at restart", second.outboundAtRestart);
            figures.put("run2 ack waiting at restart", second.ackAtRestart);
            figures.put("run2 outbound exchanges", second.outbound.started.get());
            figures.put("run2 outbound redelivered (JMSRedelivered)", redeliveredFlag);
            figures.put("run2 ack redelivered (JMSRedelivered)", second.ack.redelivered.get());
            figures.put("carried in both runs", twice.size());
            figures.put("run1 outbound max in flight / consumer threads used", first.outbound.maxInFlight.get() + "/" + first.outbound.threads.size());
            figures.put("run2 outbound max in flight / consumer threads used", second.outbound.maxInFlight.get() + "/" + second.outbound.threads.size());
            figures.put("run2 ack max in flight / consumer threads used", second.ack.maxInFlight.get() + "/" + second.ack.threads.size());
            figures.put("run2 drain ms", drainMillis);
            figures.put("target PUTs run1/run2", targetPutsRun1 + "/" + (local2.target().requests().stream()
                    .filter(r -> r.method().equals("PUT")).count() - targetPutsRun1));
            System.out.println("[figures] graceful shutdown: " + figures);
            second.stop();
        }
    }

    /** The pod must give Camel its whole shutdown timeout: terminationGracePeriodSeconds covers it. */
    @Test
    void terminationGracePeriodCoversTheShutdownTimeout() throws IOException {
        Path deployment = ProjectFiles.path("k8s/base/deployment.yaml");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(deployment), "no k8s/base/deployment.yaml");
        String yaml = Files.readString(deployment);
        Matcher grace = Pattern.compile("terminationGracePeriodSeconds:\\s*(\\d+)").matcher(yaml);
        assertThat(grace.find()).as("terminationGracePeriodSeconds in " + deployment).isTrue();
        long shutdownTimeout = Long.parseLong(ProjectFiles.applicationProperty("camel.main.shutdown-timeout", "45"));
        Matcher preStop = Pattern.compile("sleep\\s+(\\d+)").matcher(yaml);
        long preStopSleep = preStop.find() ? Long.parseLong(preStop.group(1)) : 0;
        assertThat(Long.parseLong(grace.group(1))).isGreaterThan(shutdownTimeout + preStopSleep);
    }

    // ------------------------------------------------------------------------------------------ the app runs

    /** Exchanges of one consumer route: started, in flight, carried through without an exception. */
    static final class RouteTap {
        final AtomicInteger started = new AtomicInteger();
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger redelivered = new AtomicInteger();
        final AtomicInteger maxInFlight = new AtomicInteger();
        final Set<String> succeeded = ConcurrentHashMap.newKeySet();
        final Set<String> threads = ConcurrentHashMap.newKeySet();
        /** Exchanges numbered above holdAfter wait here until released (or 30 s): a slow call in flight. */
        final CountDownLatch hold = new CountDownLatch(1);
        final AtomicInteger held = new AtomicInteger();
        volatile int holdAfter = Integer.MAX_VALUE;

        void begin(Exchange exchange) throws InterruptedException {
            int number = started.incrementAndGet();
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            threads.add(Thread.currentThread().getName());
            if (Boolean.TRUE.equals(exchange.getMessage().getHeader("JMSRedelivered", Boolean.class))) {
                redelivered.incrementAndGet();
            }
            String correlationId = exchange.getMessage().getHeader(ArtemisTransport.CORRELATION_ID, String.class);
            exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
                @Override
                public void onDone(Exchange done) {
                    if (!done.isFailed() && done.getProperty(Exchange.EXCEPTION_CAUGHT) == null && correlationId != null) {
                        succeeded.add(correlationId);
                    }
                    inFlight.decrementAndGet();
                }
            });
            if (number > holdAfter) {
                held.incrementAndGet();
                hold.await(30, TimeUnit.SECONDS);
            }
        }
    }

    /** One run of the application in this JVM ({@link ServiceProcess.InJvm}), on this test's ports and broker folder. */
    final class AppRun {
        final int number;
        final RouteTap outbound = new RouteTap();
        final RouteTap ack = new RouteTap();
        final ServiceProcess.InJvm service;
        volatile CamelContext context;
        volatile long outboundAtRestart = -1;
        volatile long ackAtRestart = -1;

        AppRun(int number) {
            this.number = number;
            service = new ServiceProcess.InJvm("app-run-" + number,
                    ServiceProcess.settings(httpPort, dataversePort, targetPort, brokerDir), camel -> {
                        context = camel;
                        // what waits when the consumers are about to start: the broker is a service the context
                        // starts before the routes (EmbeddedBrokerConfiguration), so it is up from this event on
                        camel.getManagementStrategy().addEventNotifier(new SimpleEventNotifierSupport() {
                            @Override
                            public void notify(CamelEvent event) {
                                if (event instanceof CamelEvent.CamelContextRoutesStartingEvent) {
                                    outboundAtRestart = broker().messageCount(OUTBOUND);
                                    ackAtRestart = broker().messageCount(ACK);
                                }
                            }
                        });
                        try {
                            AdviceWith.adviceWith(camel, "outbound-sync-consumer", r -> r.weaveAddFirst().process(outbound::begin));
                            AdviceWith.adviceWith(camel, "ack-writeback-consumer", r -> r.weaveAddFirst().process(ack::begin));
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
        }

        void start() throws Exception {
            service.start();
        }

        /** What Camel Main's hang-up interceptor does on SIGTERM; returns how long the stop took (ms). */
        long stop() throws InterruptedException {
            return service.stop();
        }

        /** Stops as {@link #stop()} does; the held exchanges are let go once Camel has begun to stop. */
        long stopReleasingHeldExchanges() throws InterruptedException {
            Thread releaser = new Thread(() -> {
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5))
                        .until(() -> context.isStopping() || context.isStopped());
                try {
                    Thread.sleep(200); // the shutdown strategy is now waiting for them
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                outbound.hold.countDown();
            }, "release-held-" + number);
            releaser.start();
            try {
                return stop();
            } finally {
                outbound.hold.countDown();
                releaser.join(TimeUnit.SECONDS.toMillis(35));
            }
        }

        EmbeddedBroker broker() {
            return context.getRegistry().lookupByNameAndType("embeddedBroker", EmbeddedBroker.class);
        }

    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static boolean allSynced(EmulatorMain.Running local, List<String> ids) {
        for (int i = 0; i < ids.size(); i++) {
            ObjectNode row = local.dataverse().row("accounts", ids.get(i)).orElse(null);
            var record = local.target().record("customers", ids.get(i));
            if (row == null || !"Synced".equals(row.path("new_syncstatus").asText()) || record.isEmpty()
                    || !name(i, CHANGES_PER_ROW).equals(record.get().path("name").asText())) {
                return false;
            }
        }
        return true;
    }

    private static ObjectNode account(int i, int round) {
        ObjectNode row = JSON.createObjectNode();
        row.put("name", name(i, round));
        row.put("accountnumber", String.format("GS-%05d", i));
        row.put("telephone1", "+1-425-555-0100");
        row.put("emailaddress1", "graceful" + i + "@example.com");
        row.put("address1_city", "Redmond");
        row.put("statecode", 0);
        return row;
    }

    private static String name(int row, int round) {
        return "Graceful row " + row + " v" + round;
    }

    /** Messages delivered to consumers and not yet acknowledged (includes the consumers' prefetch buffers). */
    private static long deliveringCount(EmbeddedBroker broker, String queue) {
        try {
            var field = EmbeddedBroker.class.getDeclaredField("server");
            field.setAccessible(true);
            var embedded = (org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ) field.get(broker);
            var binding = embedded.getActiveMQServer().locateQueue(org.apache.activemq.artemis.api.core.SimpleString.of(queue));
            return binding == null ? -1 : binding.getDeliveringCount();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1; // a figure only, not an assertion
        }
    }
}
