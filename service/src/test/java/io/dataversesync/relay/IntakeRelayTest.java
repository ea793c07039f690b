package io.dataversesync.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.transport.ArtemisTransport;
import org.apache.camel.Exchange;
import org.apache.camel.ServiceStatus;
import org.apache.camel.builder.AdviceWith;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The intake relay on the real broker: what Dataverse's built-in service endpoint posts (a RemoteExecutionContext,
 * no session, no group) to the intake queue is relayed to the outbound queue with the row as its message group and
 * synced; an invalid message is dead-lettered with the reason and nothing is relayed.
 */
class IntakeRelayTest extends SyncTestSupport {
    private static final String INTAKE = "dataverse-intake";

    static {
        System.setProperty("sync.intake.enabled", "true");
    }

    /** JMSXGroupID of every notification sent to the outbound queue from the intake relay, in order. */
    private final List<String> relayedGroups = new CopyOnWriteArrayList<>();

    @BeforeEach
    void recordRelayedGroups() throws Exception {
        AdviceWith.adviceWith(context, "intake-relay-consumer", route -> route.weaveById("intake-relay-send-notification").after()
                .process(exchange -> relayedGroups.add(exchange.getMessage().getHeader(ArtemisTransport.GROUP_ID, String.class))));
    }

    @Test
    void aRemoteExecutionContextOnTheIntakeQueueIsRelayedWithTheRowAsItsGroupAndSynced() throws Exception {
        ObjectNode remote = remoteExecutionContext();
        String id = createAccount("Contoso via the built-in endpoint");
        remote.put("PrimaryEntityId", id.toUpperCase());
        send(INTAKE, remote.toString(), null);

        awaitSynced(id);
        assertThat(relayedGroups).containsExactly(id);
        // the RemoteExecutionContext's CorrelationId travels on (the built-in endpoint sets no message correlation id)
        assertThat(targetCalls("PUT", id).get(0).headers()).containsEntry("x-correlation-id", remote.path("CorrelationId").asText());
        assertThat(broker().messageCount(INTAKE)).isZero();
        assertThat(context.getRouteController().getRouteStatus("outbox-relay")).as("the outbox relay is off by default")
                .isEqualTo(ServiceStatus.Stopped);
    }

    @Test
    void aRelayThatCannotBeSentIsNotLost() throws Exception {
        AtomicInteger failures = new AtomicInteger();
        AdviceWith.adviceWith(context, "transport-send-notification", route -> route.weaveById("send-notification").before().process(exchange -> {
            if (INTAKE.equals(exchange.getProperty("syncQueue")) && failures.getAndIncrement() == 0) {
                throw new jakarta.jms.JMSException("broker refused the relayed notification (simulated)");
            }
        }));
        ObjectNode remote = remoteExecutionContext();
        String id = createAccount("Relay refused once");
        remote.put("PrimaryEntityId", id);
        send(INTAKE, remote.toString(), null);

        awaitSynced(id);
        // refused once (the policy sent a retry copy to the intake queue in the same transaction), relayed on the retry
        assertThat(failures.get()).isEqualTo(2);
        assertThat(relayedGroups).containsExactly(id);
    }

    @Test
    void anInvalidMessageIsDeadLetteredWithTheReasonAndNothingIsRelayed() throws Exception {
        ObjectNode remote = remoteExecutionContext();
        remote.put("PrimaryEntityId", "../../accounts");
        send(INTAKE, remote.toString(), null);
        send(INTAKE, "{\"entity\":\"account\",\"sourceRowId\":\"a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d\"}", null);
        ObjectNode contact = remoteExecutionContext();
        contact.put("PrimaryEntityName", "contact");
        send(INTAKE, contact.toString(), null);

        // the intake queue has several consumers: the three dead letters come in any order
        List<String> descriptions = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Exchange deadLetter = receiveDeadLetter(INTAKE, Duration.ofSeconds(20));
            assertThat(deadLetter).as("dead letter %d of 3", i + 1).isNotNull();
            assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_REASON)).isEqualTo("InvalidMessage");
            descriptions.add(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class));
        }
        assertThat(descriptions).allSatisfy(d -> assertThat(d).contains("hop=validate-intake"));
        for (String expected : List.of("sourceRowId must be a GUID", "lacks PrimaryEntityName or PrimaryEntityId", "unknown entity 'contact'")) {
            assertThat(descriptions).as("a dead letter with %s", expected).anySatisfy(d -> assertThat(d).contains(expected));
        }
        assertThat(relayedGroups).isEmpty();
        assertThat(broker().messageCount(OUTBOUND)).isZero();
        assertThat(target().requests()).isEmpty();
    }

    private ObjectNode remoteExecutionContext() throws Exception {
        return json(new String(getClass().getResourceAsStream("/samples/remote-execution-context-update.json").readAllBytes()));
    }
}
