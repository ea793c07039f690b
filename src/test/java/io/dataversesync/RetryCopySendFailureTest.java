package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import io.dataversesync.local.emulator.RecordedRequest;
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
        AdviceWith.adviceWith(context, "policy-retry", route -> route.weaveById("send-retry-copy").before().process(exchange -> {
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
        assertThat(receiveDeadLetter(OUTBOUND, Duration.ofMillis(300))).isNull();
    }
}
