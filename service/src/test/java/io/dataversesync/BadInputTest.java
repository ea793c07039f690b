package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import io.dataversesync.transport.ArtemisTransport;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/** Bad input gets a clear reason on the dead-letter queue at once; the consumer keeps running. */
class BadInputTest extends SyncTestSupport {

    @Test
    void malformedJsonIsDeadLetteredWithAReason() {
        assertDeadLettered("{\"entity\": \"account\", \"sourceRowId\": ", "InvalidMessage", "malformed JSON");
    }

    @Test
    void unknownEntityIsDeadLettered() {
        assertDeadLettered("{\"entity\":\"contact\",\"sourceRowId\":\"5c5e3a1f-1b2e-ee11-9966-000d3a5b8c11\"}",
                "InvalidMessage", "unknown entity 'contact'");
    }

    @Test
    void pathTraversalInsteadOfARowIdNeverReachesDataverse() {
        assertDeadLettered("{\"entity\":\"account\",\"sourceRowId\":\"../accounts\"}", "InvalidMessage", "sourceRowId must be a GUID");
        assertDeadLettered("{\"entity\":\"account\",\"sourceRowId\":\"a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d)?$select=name\"}",
                "InvalidMessage", "sourceRowId must be a GUID");
        assertThat(dataverse().requests()).isEmpty();
    }

    @Test
    void emptyBodyAndUnknownOperationAreDeadLettered() {
        assertDeadLettered("", "InvalidMessage", "empty notification");
        assertDeadLettered("[1,2,3]", "InvalidMessage", "expected a JSON object");
        assertDeadLettered("{\"entity\":\"account\",\"sourceRowId\":\"5c5e3a1f-1b2e-ee11-9966-000d3a5b8c11\",\"operation\":\"Merge\"}",
                "InvalidMessage", "unsupported operation 'Merge'");
    }

    @Test
    void malformedAcknowledgementIsDeadLetteredFromTheAckQueue() {
        send(ACK, "{\"entity\":\"account\",\"sourceRowId\":\"not-a-guid\",\"targetRowId\":\"X\"}", "ack-1");
        Exchange deadLetter = receiveDeadLetter(ACK, Duration.ofSeconds(10));
        assertThat(deadLetter).isNotNull();
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_REASON)).isEqualTo("InvalidMessage");
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class)).contains("hop=validate-ack");
    }

    @Test
    void theConsumerKeepsSyncingAfterBadInput() {
        send(OUTBOUND, "not json at all", "bad-1");
        send(OUTBOUND, "{\"entity\":\"account\",\"sourceRowId\":\"../../etc/passwd\"}", "bad-2");
        String id = createAccount("After the bad ones");
        notifyChange("account", id);

        awaitSynced(id);
        assertThat(receiveDeadLetter(OUTBOUND, Duration.ofSeconds(5))).isNotNull();
        assertThat(receiveDeadLetter(OUTBOUND, Duration.ofSeconds(5))).isNotNull();
        assertThat(context.getRouteController().getRouteStatus("outbound-sync-consumer").isStarted()).isTrue();
    }

    private void assertDeadLettered(String body, String reason, String descriptionPart) {
        send(OUTBOUND, body, "bad-input");
        Exchange deadLetter = receiveDeadLetter(OUTBOUND, Duration.ofSeconds(10));
        assertThat(deadLetter).as("dead letter for %s", body).isNotNull();
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_REASON)).isEqualTo(reason);
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class))
                .contains("hop=validate").contains("correlationId=bad-input").contains(descriptionPart);
        assertThat(deadLetter.getMessage().getBody(String.class)).isEqualTo(body);
    }
}
