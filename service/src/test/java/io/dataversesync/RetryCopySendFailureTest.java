package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import io.dataversesync.emulator.RecordedRequest;
import org.apache.camel.builder.AdviceWith;
import org.junit.jupiter.api.Test;

/**
 * Nothing is lost between "send the retry copy" and "settle the original": when the copy cannot be sent, the
 * original is not settled (the JMS transaction rolls back) and the broker delivers it again.
 */
class RetryCopySendFailureTest extends SyncTestSupport {

    @Test
    void whenTheRetryCopyCannotBeSentTheOriginalIsDeliveredAgain() throws Exception {
        AtomicInteger failedSends = new AtomicInteger();
        AdviceWith.adviceWith(context, "transport-send-retry", route -> route.weaveById("send-retry-copy-to-target").before().process(exchange -> {
            if (failedSends.getAndIncrement() == 0) {
                throw new jakarta.jms.JMSException("broker refused the retry copy (simulated)");
            }
        }));
        String id = createAccount("Copy lost in transit");
        target().faults().failNext("PUT", 1, 503);
        notifyChange("account", id);

        awaitSynced(id);
        assertThat(failedSends.get()).isEqualTo(1);
        // attempt 1 failed at the target, its copy could not be sent -> rollback -> redelivery of the original
        assertThat(targetCalls("PUT", id)).extracting(RecordedRequest::status).containsExactly(503, 201);
        assertThat(receiveDeadLetter(CUSTOMERS_QUEUE, Duration.ofMillis(300))).isNull();
    }

    @Test
    void whenThePolicyItselfKeepsFailingTheBrokerDeadLettersTheMessageAfterMaxDeliveryAttempts() throws Exception {
        AdviceWith.adviceWith(context, "transport-send-retry", route -> route.weaveById("send-retry-copy-to-target").before().process(exchange -> {
            throw new jakarta.jms.JMSException("broker refuses every retry copy (simulated)");
        }));
        String id = createAccount("Poison");
        target().faults().failNext("PUT", 1000, 503);
        notifyChange("account", id);

        // 10 deliveries (sync.local.broker.max-delivery-attempts), 100 ms apart, then the broker's own dead-letter move:
        // for the queues on the changes topic that is the topic's safety-net queue (EmbeddedBroker)
        org.apache.camel.Exchange deadLetter = receiveDeadLetter("dataverse-changes", Duration.ofSeconds(20));
        assertThat(deadLetter).as("moved to the dead-letter queue by the broker, not lost").isNotNull();
        assertThat(deadLetter.getMessage().getBody(String.class)).contains(id);
        assertThat(targetCalls("PUT", id)).hasSize(10);
    }
}
