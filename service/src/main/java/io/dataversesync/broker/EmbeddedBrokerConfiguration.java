package io.dataversesync.broker;

import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Configuration;
import org.apache.camel.PropertyInject;
import org.apache.camel.component.jms.JmsComponent;

/**
 * The local default transport: the embedded, persistent Artemis broker and the JMS connection factory of the
 * jms: endpoints (routes/transport/artemis.camel.yaml and the consumers). A service of the CamelContext: Camel starts
 * it as the context starts, before any route (so the consumers find it up), and stops it after the routes, on a
 * normal stop and when the start fails (see {@link #configure}). Nothing happens outside the local mode
 * (sync.local.enabled is false in the azure profile).
 */
@Configuration
public class EmbeddedBrokerConfiguration implements CamelConfiguration {
    @PropertyInject("sync.local.enabled")
    private boolean local;
    @PropertyInject("sync.local.broker.url")
    private String url;
    @PropertyInject("sync.local.broker.data-dir")
    private String dataDir;
    @PropertyInject("sync.queue.outbound")
    private String outboundQueue;
    @PropertyInject("sync.queue.ack")
    private String ackQueue;
    @PropertyInject("sync.intake.enabled")
    private boolean intake;
    @PropertyInject("sync.queue.intake")
    private String intakeQueue;
    @PropertyInject("sync.topic.changes")
    private String changesTopic;
    @PropertyInject("sync.targets")
    private String targets;
    @PropertyInject("sync.local.broker.max-delivery-attempts")
    private int maxDeliveryAttempts;
    @PropertyInject("sync.local.broker.redelivery-delay-ms")
    private long redeliveryDelayMs;
    @PropertyInject("sync.local.broker.tcp-port")
    private String tcpPort;
    @PropertyInject("sync.local.broker.journal-buffer-timeout-us")
    private long journalBufferTimeoutMicros;

    /** Each target's queue and each saga step's compensation queue (sync.targets, sync.sagas). */
    private java.util.List<io.dataversesync.target.Sagas.Subscription> subscriptions(CamelContext context) {
        java.util.List<String> names = io.dataversesync.target.TargetNames.parse(targets);
        return io.dataversesync.target.Sagas.fromProperties(key -> context.getPropertiesComponent().resolveProperty(key).orElse(null), names)
                .subscriptions(names);
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        if (!local) {
            return;
        }
        EmbeddedBroker broker = new EmbeddedBroker(java.nio.file.Path.of(dataDir.trim()), url.trim(),
                intake ? java.util.List.of(outboundQueue.trim(), ackQueue.trim(), intakeQueue.trim())
                        : java.util.List.of(outboundQueue.trim(), ackQueue.trim()),
                new EmbeddedBroker.Topic(changesTopic.trim(), subscriptions(context)),
                maxDeliveryAttempts, redeliveryDelayMs,
                tcpPort == null || tcpPort.isBlank() ? null : Integer.valueOf(tcpPort.trim()));
        // Not started here (Camel 4.17): Camel Main runs this while it configures Camel, and a failure after it
        // (a route file that does not load, a route that cannot be built in CamelContext.init) ends the start
        // before the context's doStart, and nothing stops what was started then (BaseService.start stops only
        // after a failed doStart; Main stops nothing after a failed init): journal lock, acceptors and threads
        // would stay, the process would not end, and in one JVM the next start on the folder fails or waits.
        // Added with forceStart, the context starts it itself early in its doStart (DeferServiceStartupListener:
        // after the components, before the routes' consumers), so a failed start stops it like any service, and
        // a normal stop stops it after the routes (FailedStartTest).
        if (journalBufferTimeoutMicros < 0) {
            throw new IllegalArgumentException("sync.local.broker.journal-buffer-timeout-us must be >= 0");
        }
        broker.journalBufferTimeout(java.time.Duration.ofNanos(journalBufferTimeoutMicros * 1000));
        context.addService(broker, true, true);
        context.getRegistry().bind("embeddedBroker", broker);
        context.getRegistry().bind("brokerHealthCheck", new BrokerHealthCheck(broker));

        ActiveMQConnectionFactory connectionFactory = new ActiveMQConnectionFactory(url.trim());
        // no client-side prefetch: with message groups (per-row ordering) a prefetching consumer would take a
        // whole backlog, and with it every row's group, leaving the other consumers idle
        connectionFactory.setConsumerWindowSize(0);
        // each send of a JMS producer (Spring's JmsTemplate) looks its queue up again, a blocking round trip to the
        // broker; the session keeps what it looked up instead (every queue the service sends to is declared in the
        // broker's configuration, EmbeddedBroker: none is auto-created, none deleted while it runs)
        connectionFactory.setCacheDestinations(true);
        context.getRegistry().bind("artemisConnectionFactory", connectionFactory);
        // the consumers' listener containers: a row's message group is let go once its message is committed
        context.getRegistry().bind("artemisGroupReleasingContainers", new GroupReleasingContainers(broker));
        context.getComponent("jms", JmsComponent.class).setConnectionFactory(connectionFactory);
    }
}
