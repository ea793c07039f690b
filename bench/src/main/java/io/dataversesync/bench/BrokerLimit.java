package io.dataversesync.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.dataversesync.broker.EmbeddedBroker;
import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.JMSContext;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * The ceiling of the local transport: persistent messages that just pass through two queues (A -> B in one
 * transaction, then consumed from B) with no work, on the same embedded broker configuration as the service.
 */
final class BrokerLimit {
    private BrokerLimit() {
    }

    static double messagesPerSecond(Path dataDir, int messages, int threads) throws Exception {
        EmbeddedBroker broker = new EmbeddedBroker(dataDir, "vm://9", List.of("bench-a", "bench-b"), null, 10, 100);
        broker.start();
        ActiveMQConnectionFactory cf = new ActiveMQConnectionFactory("vm://9");
        try (JMSContext sender = cf.createContext(JMSContext.AUTO_ACKNOWLEDGE)) {
            String body = "{\"entity\":\"account\",\"sourceRowId\":\"a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d\",\"operation\":\"Update\"}";
            Queue a = sender.createQueue("bench-a");
            var producer = sender.createProducer().setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int i = 0; i < messages; i++) {
                producer.send(a, body);
            }
        }
        AtomicInteger drained = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads * 2);
        long start = System.nanoTime();
        try (Connection connection = cf.createConnection()) {
            connection.start();
            for (int t = 0; t < threads; t++) {
                Session session = connection.createSession(true, Session.SESSION_TRANSACTED);
                MessageConsumer fromA = session.createConsumer(session.createQueue("bench-a"));
                MessageProducer toB = session.createProducer(session.createQueue("bench-b"));
                toB.setDeliveryMode(DeliveryMode.PERSISTENT);
                pool.execute(() -> move(session, fromA, toB, done));
                Session drainSession = connection.createSession(true, Session.SESSION_TRANSACTED);
                MessageConsumer fromB = drainSession.createConsumer(drainSession.createQueue("bench-b"));
                pool.execute(() -> drain(drainSession, fromB, drained, messages, done));
            }
            done.await(10, TimeUnit.MINUTES);
            double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
            return drained.get() / seconds;
        } finally {
            cf.close();
            broker.stop();
        }
    }

    private static void move(Session session, MessageConsumer from, MessageProducer to, CountDownLatch done) {
        try {
            while (done.getCount() > 0) {
                var m = from.receive(200);
                if (m != null) {
                    to.send(session.createTextMessage(((TextMessage) m).getText()));
                    session.commit();
                }
            }
        } catch (Exception stopped) {
            // the pool is shut down at the end of the measurement
        }
    }

    private static void drain(Session session, MessageConsumer from, AtomicInteger drained, int messages, CountDownLatch done) {
        try {
            while (done.getCount() > 0) {
                var m = from.receive(200);
                if (m != null) {
                    session.commit();
                    if (drained.incrementAndGet() >= messages) {
                        done.countDown();
                    }
                }
            }
        } catch (Exception stopped) {
            // the pool is shut down at the end of the measurement
        }
    }
}
