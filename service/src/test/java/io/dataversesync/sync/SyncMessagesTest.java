package io.dataversesync.sync;

import io.dataversesync.exchange.SyncProperties;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.policy.InvalidMessageException;
import io.dataversesync.policy.MappingException;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

class SyncMessagesTest {
    private static final String ID = "a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    private final EntityCatalog entities = new EntityCatalog(List.of(new EntitySettings("account", "accounts", "accountid",
            List.of("name"), EntitySettings.OnDeleted.DELETE)));
    private final SyncMessages messages = new SyncMessages(new ObjectMapper(), entities, targets(entities), new io.dataversesync.target.Sagas(List.of()), Clock.systemUTC());

    /** One target, customers, subscribed to account (the properties a target declares). */
    static io.dataversesync.target.TargetCatalog targets(EntityCatalog entities) {
        java.util.Map<String, String> p = new java.util.HashMap<>();
        p.put("sync.targets", "customers");
        String t = "sync.target.customers.";
        p.put(t + "entities", "account");
        p.put(t + "auth", "none");
        p.put(t + "writeback.target-id-column", "new_targetrowid");
        p.put(t + "writeback.hash-column", "new_syncedhash");
        p.put(t + "breaker.failure-rate", "50");
        p.put(t + "breaker.window-size", "10");
        p.put(t + "breaker.minimum-calls", "5");
        p.put(t + "breaker.open-ms", "1000");
        p.put(t + "breaker.half-open-calls", "1");
        p.put(t + "bulkhead.max-concurrent-calls", "4");
        p.put(t + "url", "http://127.0.0.1:1");
        p.put(t + "connect-timeout-ms", "1000");
        p.put(t + "response-timeout-ms", "1000");
        return io.dataversesync.target.TargetCatalog.fromProperties(p::get, entities);
    }

    private Exchange received(String body) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(SyncProperties.ORIGINAL_BODY, body);
        return exchange;
    }

    @Test
    void ownNotificationIsRead() {
        Exchange e = received("{\"entity\":\"Account\",\"sourceRowId\":\"{" + ID.toUpperCase() + "}\",\"operation\":\"create\"}");
        messages.readNotification(e);
        assertThat(e.getProperty(SyncProperties.ENTITY)).isEqualTo("account");
        assertThat(e.getProperty(SyncProperties.SOURCE_ROW_ID)).isEqualTo(ID);
        assertThat(e.getProperty(SyncProperties.OPERATION)).isEqualTo("Create");
    }

    @Test
    void remoteExecutionContextIsRead() throws Exception {
        String sample = new String(getClass().getResourceAsStream("/samples/remote-execution-context-update.json").readAllBytes(), StandardCharsets.UTF_8);
        Exchange e = received(sample);
        messages.readNotification(e);
        assertThat(e.getProperty(SyncProperties.SOURCE_ROW_ID)).isEqualTo(ID);
        assertThat(e.getProperty(SyncProperties.OPERATION)).isEqualTo("Update");
        assertThat(e.getProperty(SyncProperties.CORRELATION_ID)).isEqualTo("9f2c47d1-6a8b-4e55-b1f0-2d6f0c3e8a71");
    }

    @Test
    void oversizedRemoteExecutionContextStillCarriesTheRowId() {
        // over 192 KB Dataverse drops InputParameters and images but keeps PrimaryEntityId
        Exchange e = received("{\"MessageName\":\"Update\",\"PrimaryEntityName\":\"account\",\"PrimaryEntityId\":\"" + ID
                + "\",\"MessageMaxSizeExceeded\":true,\"InputParameters\":[]}");
        messages.readNotification(e);
        assertThat(e.getProperty(SyncProperties.SOURCE_ROW_ID)).isEqualTo(ID);
    }

    @Test
    void invalidNotificationsAreRejectedWithClearReasons() {
        assertThatThrownBy(() -> messages.readNotification(received("{"))).isInstanceOf(InvalidMessageException.class).hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> messages.readNotification(received("{\"entity\":\"lead\",\"sourceRowId\":\"" + ID + "\"}")))
                .hasMessageContaining("unknown entity 'lead'").hasMessageContaining("configured: account");
        assertThatThrownBy(() -> messages.readNotification(received("{\"entity\":\"account\",\"sourceRowId\":\"../accounts\"}")))
                .hasMessageContaining("must be a GUID");
        assertThatThrownBy(() -> messages.readNotification(received("{\"entity\":\"account\"}"))).hasMessageContaining("must be a GUID");
    }

    @Test
    void mappedPayloadMustBeAnObjectAndIsHashed() {
        Exchange e = received("{}");
        e.setProperty(SyncProperties.ENTITY, "account");
        e.getMessage().setBody("{\"b\":1,\"a\":2}");
        messages.checkMappedPayload(e);
        assertThat(e.getProperty(SyncProperties.PAYLOAD_HASH, String.class)).hasSize(64);
        e.getMessage().setBody("\"just a string\"");
        assertThatThrownBy(() -> messages.checkMappedPayload(e)).isInstanceOf(MappingException.class).hasMessageContaining("JSON object");
    }

    @Test
    void anAckForATargetNotDeclaredIsRefused() {
        Exchange in = received("{\"target\":\"../../x\",\"entity\":\"account\",\"sourceRowId\":\"" + ID + "\",\"targetRowId\":\"T-1\"}");
        assertThatThrownBy(() -> messages.readAck(in)).isInstanceOf(io.dataversesync.policy.InvalidMessageException.class)
                .hasMessageContaining("no declared target");
    }

    @Test
    void ackRoundTrips() {
        Exchange out = received("{}");
        out.setProperty(SyncProperties.ENTITY, "account");
        out.setProperty(SyncProperties.SOURCE_ROW_ID, ID);
        out.setProperty(SyncProperties.TARGET_ROW_ID, "CUST-000042");
        out.setProperty(SyncProperties.OPERATION, "Update");
        out.setProperty(SyncProperties.CORRELATION_ID, "c-1");
        out.setProperty(SyncProperties.REQUESTED_AT, 1234L);
        out.setProperty(SyncProperties.TARGET, "customers");
        Exchange in = received(messages.ackBody(out));
        messages.readAck(in);
        assertThat(in.getProperty(SyncProperties.WRITE_BACK_TARGET)).isEqualTo("customers");
        assertThat(in.getProperty(SyncProperties.OUTCOME)).isEqualTo("synced");
        assertThat(in.getProperty(SyncProperties.TARGET_ROW_ID)).isEqualTo("CUST-000042");
        assertThat(in.getProperty(SyncProperties.CORRELATION_ID)).isEqualTo("c-1");
        assertThat(in.getProperty(SyncProperties.REQUESTED_AT)).isEqualTo(1234L);
    }

    @Test
    void aRetryingStatusRoundTripsThroughTheAckQueue() {
        Exchange out = received("{}");
        out.setProperty(SyncProperties.ENTITY, "account");
        out.setProperty(SyncProperties.SOURCE_ROW_ID, ID);
        out.setProperty(SyncProperties.OPERATION, "Update");
        out.setProperty(SyncProperties.CORRELATION_ID, "c-2");
        out.setProperty(SyncProperties.TARGET, "customers");
        out.setProperty(SyncProperties.RETRY_AT, 1_764_064_800_000L);
        out.setProperty(SyncProperties.NEXT_RETRY_COUNT, 2);
        out.setProperty(SyncProperties.FAILURE_REASON, "HttpStatus503");
        out.setProperty(SyncProperties.FAILURE_DESCRIPTION, "hop=call-target; retryCount=1");
        Exchange in = received(messages.retryingAckBody(out));
        messages.readAck(in);
        assertThat(in.getProperty(SyncProperties.OUTCOME)).isEqualTo("retrying");
        assertThat(in.getProperty(SyncProperties.WRITE_BACK_TARGET)).isEqualTo("customers");
        assertThat(in.getProperty(SyncProperties.RETRY_AT)).isEqualTo(1_764_064_800_000L);
        assertThat(in.getProperty(SyncProperties.NEXT_RETRY_COUNT)).isEqualTo(2);
        assertThat(in.getProperty(SyncProperties.FAILURE_REASON)).isEqualTo("HttpStatus503");
        assertThat(in.getProperty(SyncProperties.CORRELATION_ID)).isEqualTo("c-2");
        assertThatThrownBy(() -> messages.readAck(received("{\"target\":\"customers\",\"entity\":\"account\",\"sourceRowId\":\"" + ID
                + "\",\"outcome\":\"retrying\"}"))).hasMessageContaining("nextAttemptAt");
    }

    @Test
    void theIntakeTakesOnlyARemoteExecutionContext() throws Exception {
        String sample = new String(getClass().getResourceAsStream("/samples/remote-execution-context-update.json").readAllBytes(),
                java.nio.charset.StandardCharsets.UTF_8);
        Exchange e = received(sample);
        messages.readIntake(e);
        assertThat(e.getProperty(SyncProperties.ENTITY)).isEqualTo("account");
        assertThatThrownBy(() -> messages.readIntake(received("{\"entity\":\"account\",\"sourceRowId\":\"" + ID + "\"}")))
                .isInstanceOf(InvalidMessageException.class).hasMessageContaining("RemoteExecutionContext");
    }
}
