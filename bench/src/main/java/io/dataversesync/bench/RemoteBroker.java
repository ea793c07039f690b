package io.dataversesync.bench;

import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.QueueConnection;
import jakarta.jms.QueueRequestor;
import jakarta.jms.QueueSession;
import jakarta.jms.Session;
import org.apache.activemq.artemis.api.core.management.ResourceNames;
import org.apache.activemq.artemis.api.jms.ActiveMQJMSClient;
import org.apache.activemq.artemis.api.jms.management.JMSManagementHelper;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * The queue depths of the embedded broker of a service in a process of its own, asked over its loopback TCP acceptor
 * ({@code sync.local.broker.tcp-port}) from Artemis's management address: a queue's {@code messageCount} (waiting,
 * being delivered and scheduled) and {@code scheduledCount}.
 */
final class RemoteBroker implements SyncBenchmark.QueueDepth, AutoCloseable {
    private final String url;
    private final ActiveMQConnectionFactory factory;
    private final QueueConnection connection;
    /** Not transacted: a management request must reach the broker before its reply can come. */
    private final QueueSession session;
    private final QueueRequestor management;

    RemoteBroker(int port) throws JMSException {
        this.url = "tcp://127.0.0.1:" + port;
        this.factory = new ActiveMQConnectionFactory(url);
        this.connection = factory.createQueueConnection();
        connection.start();
        this.session = connection.createQueueSession(false, Session.AUTO_ACKNOWLEDGE);
        this.management = new QueueRequestor(session, ActiveMQJMSClient.createQueue("activemq.management"));
    }

    String url() {
        return url;
    }

    @Override
    public long messages(String queue) {
        return attribute(queue, "messageCount");
    }

    @Override
    public long scheduled(String queue) {
        return attribute(queue, "scheduledCount");
    }

    /** A queue that does not exist (yet) holds nothing: the management call fails for it, and that reads as 0. */
    private synchronized long attribute(String queue, String name) {
        try {
            Message request = session.createMessage();
            JMSManagementHelper.putAttribute(request, ResourceNames.QUEUE + queue, name);
            Message reply = management.request(request);
            if (!JMSManagementHelper.hasOperationSucceeded(reply)) {
                return 0;
            }
            Object result = JMSManagementHelper.getResult(reply);
            return result == null ? 0 : ((Number) result).longValue();
        } catch (Exception e) {
            throw new IllegalStateException("the broker at " + url + " did not answer for " + queue + "." + name, e);
        }
    }

    @Override
    public void close() {
        try {
            connection.close();
        } catch (JMSException e) {
            // the service may be gone already
        }
        factory.close();
    }
}
