package io.dataversesync.broker;

import java.nio.file.Path;
import java.util.List;

import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import io.dataversesync.target.Sagas;
import org.apache.camel.support.service.ServiceSupport;

/**
 * The local transport: an embedded, persistent ActiveMQ Artemis broker reached in-VM. It mirrors what the
 * service relies on in Service Bus: messages survive a restart (journal on disk), scheduled delivery (retry
 * copies), and a dead-letter queue per queue (QUEUE.DLQ) that also receives, as a safety net, any message the
 * broker delivered max-delivery-attempts times without a commit.
 */
public class EmbeddedBroker extends ServiceSupport {
    private final Path dataDir;
    private final String url;
    private final List<String> queues;
    private final Topic topic;
    private final int maxDeliveryAttempts;
    private final long redeliveryDelayMs;
    private final Integer tcpPort;
    private EmbeddedActiveMQ server;
    private long journalBufferTimeoutNanos = -1; // -1: Artemis's default

    /**
     * How long the journal may hold a durable write (a persistent send, a transaction's commit) to sync it together
     * with others: Artemis's NIO default is 3.33 ms (300 syncs per second), which every commit waits for part of,
     * and a change makes four of them on its way (sync.local.broker.journal-buffer-timeout-us, README "Steady").
     * Under load the buffer fills and syncs sooner anyway; a shorter timeout costs more syncs only while commits
     * trickle in. Takes effect at the next start.
     */
    public EmbeddedBroker journalBufferTimeout(java.time.Duration timeout) {
        this.journalBufferTimeoutNanos = timeout.toNanos();
        return this;
    }

    /**
     * The topic changes are published on: a multicast address with one durable queue per subscription
     * ({@code <address>.<name>}). A target's queue takes what is published for everyone (no syncSubscriber
     * property) and what is meant for it alone (a retry copy, a replay: syncSubscriber = its name); a later saga
     * step's and a compensation's queue only the latter. The same rules as the Service Bus subscriptions'
     * (docs/decisions.md, "Fan-out through a topic").
     */
    public record Topic(String address, List<Sagas.Subscription> subscriptions) {
        public static String queue(String address, String subscriber) {
            return address + "." + subscriber;
        }
    }

    public EmbeddedBroker(Path dataDir, String url, List<String> queues, Topic topic, int maxDeliveryAttempts, long redeliveryDelayMs) {
        this(dataDir, url, queues, topic, maxDeliveryAttempts, redeliveryDelayMs, null);
    }

    /**
     * @param tcpPort when not null, the broker also accepts clients over TCP on 127.0.0.1 at this port (loopback
     *                only, no security: for a local process that sends notifications or reads the queues, e.g. a
     *                test that runs the service in a process of its own and kills it)
     */
    public EmbeddedBroker(Path dataDir, String url, List<String> queues, Topic topic, int maxDeliveryAttempts, long redeliveryDelayMs,
            Integer tcpPort) {
        this.tcpPort = tcpPort;
        this.dataDir = dataDir;
        this.url = url;
        this.queues = queues;
        this.topic = topic;
        this.maxDeliveryAttempts = maxDeliveryAttempts;
        this.redeliveryDelayMs = redeliveryDelayMs;
    }

    @Override
    protected synchronized void doStart() throws Exception {
        if (server != null) {
            return;
        }
        Configuration config = new ConfigurationImpl()
                .setName("dataverse-sync-local")
                .setPersistenceEnabled(true)
                .setJournalType(JournalType.NIO) // AIO needs libaio, which a plain machine lacks
                .setJournalDirectory(dataDir.resolve("journal").toString())
                .setBindingsDirectory(dataDir.resolve("bindings").toString())
                .setLargeMessagesDirectory(dataDir.resolve("large-messages").toString())
                .setPagingDirectory(dataDir.resolve("paging").toString())
                .setSecurityEnabled(false)
                .setJMXManagementEnabled(false);
        if (journalBufferTimeoutNanos >= 0) {
            config.setJournalBufferTimeout_NIO((int) Math.min(Integer.MAX_VALUE, journalBufferTimeoutNanos));
        }
        config.addAcceptorConfiguration("in-vm", url);
        if (tcpPort != null) {
            requireFreeLoopbackPort(tcpPort);
            config.addAcceptorConfiguration("loopback-tcp", "tcp://127.0.0.1:" + tcpPort);
        }
        for (String queue : queues) {
            String deadLetter = deadLetterQueue(queue);
            config.addAddressSetting(queue, safetyNet(deadLetter));
            config.addQueueConfiguration(QueueConfiguration.of(queue).setRoutingType(RoutingType.ANYCAST));
            config.addQueueConfiguration(QueueConfiguration.of(deadLetter).setRoutingType(RoutingType.ANYCAST));
        }
        if (topic != null) {
            // the broker's own safety net works per address: one for the topic (our policy dead-letters into each
            // subscriber's QUEUE.DLQ itself)
            config.addAddressSetting(topic.address(), safetyNet(deadLetterQueue(topic.address())));
            config.addQueueConfiguration(QueueConfiguration.of(deadLetterQueue(topic.address())).setRoutingType(RoutingType.ANYCAST));
            for (Sagas.Subscription subscription : topic.subscriptions()) {
                String queue = Topic.queue(topic.address(), subscription.name());
                config.addQueueConfiguration(QueueConfiguration.of(queue).setAddress(topic.address())
                        .setRoutingType(RoutingType.MULTICAST).setDurable(true).setFilterString(subscription.filter()));
                config.addQueueConfiguration(QueueConfiguration.of(deadLetterQueue(queue)).setRoutingType(RoutingType.ANYCAST));
            }
        }
        EmbeddedActiveMQ embedded = new EmbeddedActiveMQ();
        embedded.setConfiguration(config);
        embedded.start();
        server = embedded;
    }

    /**
     * Artemis only logs an acceptor that cannot bind and runs on without it, so a port already taken (another
     * service, a broker a killed run left behind) would leave the chaos runs' clients talking to whatever holds it:
     * the start fails here instead, naming the setting. The probe binds and closes at once; a process that takes
     * the port in between is still only logged by Artemis.
     */
    static void requireFreeLoopbackPort(int port) {
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("sync.local.broker.tcp-port " + port + ": 127.0.0.1:" + port
                    + " cannot be listened on (" + e.getMessage() + "); free it or choose another port", e);
        }
    }

    private AddressSettings safetyNet(String deadLetter) {
        return new AddressSettings()
                .setDeadLetterAddress(SimpleString.of(deadLetter))
                .setMaxDeliveryAttempts(maxDeliveryAttempts)
                .setRedeliveryDelay(redeliveryDelayMs);
    }

    @Override
    protected synchronized void doStop() throws Exception {
        if (server != null) {
            server.stop();
            server = null;
        }
    }

    public synchronized boolean isActive() {
        return server != null && server.getActiveMQServer() != null && server.getActiveMQServer().isActive();
    }

    /** Messages waiting in a queue, including scheduled ones not yet due. */
    public long messageCount(String queue) {
        var binding = locate(queue);
        return binding == null ? 0 : binding.getMessageCount();
    }

    /** How many message groups (rows pinned to a consumer) a queue holds now. */
    public long groupCount(String queue) {
        var binding = locate(queue);
        return binding == null ? 0 : binding.getGroupCount();
    }

    /** Lets go of a row's message group on a queue: its next message goes to any free consumer (GroupReleasingContainers). */
    public void releaseGroup(String queue, String group) {
        var binding = locate(queue);
        if (binding != null) {
            binding.resetGroup(SimpleString.of(group));
        }
    }

    public long scheduledCount(String queue) {
        var binding = locate(queue);
        return binding == null ? 0 : binding.getScheduledCount();
    }

    /** The broker's queue of that name, or null when there is none. */
    private org.apache.activemq.artemis.core.server.Queue locate(String queue) {
        return server.getActiveMQServer().locateQueue(SimpleString.of(queue));
    }

    public String url() {
        return url;
    }

    /** The journal buffer timeout the running broker uses (see {@link #journalBufferTimeout}). */
    public synchronized java.time.Duration journalBufferTimeoutInEffect() {
        return java.time.Duration.ofNanos(server.getActiveMQServer().getConfiguration().getJournalBufferTimeout_NIO());
    }

    public static String deadLetterQueue(String queue) {
        return queue + ".DLQ";
    }
}
