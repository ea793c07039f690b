package io.dataversesync.broker;

import io.dataversesync.transport.ArtemisTransport;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.Session;
import org.apache.camel.component.jms.DefaultJmsMessageListenerContainer;
import org.apache.camel.component.jms.JmsEndpoint;
import org.apache.camel.component.jms.MessageListenerContainerFactory;
import org.springframework.jms.listener.AbstractMessageListenerContainer;

/**
 * The listener containers of the embedded broker's consumers (sync.artemis.consumer-options: consumerType=Custom):
 * Camel's own, which also let go of a row's message group once its message is committed.
 *
 * <p>Why: per-row ordering sets JMSXGroupID to the row's id, and Artemis pins the group to the consumer that took its
 * first message for as long as that consumer lives. Our consumers live as long as the service, so each queue kept one
 * group per row ever synced: memory that grew with every distinct row (README, "Steady"). Artemis's bounded
 * alternative, group buckets, pins a bucket of rows to one consumer, and a new row then waits for whichever consumer
 * holds its bucket: the burst fell from 366 to 39 changes/s.
 *
 * <p>Why it keeps the order: a consumer takes one message at a time (no prefetch: the connection factory's consumer
 * window is 0), so when its transaction commits it holds no other message, and every other message of the row waits
 * in the queue, pinned to it. The group is released right after the commit and before the consumer asks for its next
 * message; the row's next message then goes to any free consumer, after the previous one's work is committed. A
 * message whose handling throws is rolled back, not committed: its group stays, and its redelivery keeps its place. A
 * retry copy the policy schedules is a message of its own that comes back behind the row's newer ones, as it did
 * while the group stayed (PerRowOrderingTest, orderingHoldsWhenRetryCopiesComeBackAfterNewerChanges).
 */
public final class GroupReleasingContainers implements MessageListenerContainerFactory {
    private final EmbeddedBroker broker;

    public GroupReleasingContainers(EmbeddedBroker broker) {
        this.broker = broker;
    }

    @Override
    public AbstractMessageListenerContainer createMessageListenerContainer(JmsEndpoint endpoint) {
        // a target's queue is named by its fully qualified name (address::queue): the group is the queue's
        String destination = endpoint.getDestinationName();
        String queue = destination.contains("::") ? destination.substring(destination.indexOf("::") + 2) : destination;
        return new DefaultJmsMessageListenerContainer(endpoint) {
            @Override
            protected void commitIfNecessary(Session session, Message message) throws JMSException {
                super.commitIfNecessary(session, message);
                String group = message == null ? null : message.getStringProperty(ArtemisTransport.GROUP_ID);
                if (group != null) {
                    broker.releaseGroup(queue, group);
                }
            }
        };
    }
}
