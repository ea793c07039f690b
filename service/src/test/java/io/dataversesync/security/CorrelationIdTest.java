package io.dataversesync.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.RecordedRequest;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, first defect: a valid change whose correlation id (the message's, or a RemoteExecutionContext's
 * CorrelationId when the message has none) holds CR/LF or characters outside Latin-1 was never synced: the id went
 * unchecked into X-Correlation-ID, the HTTP client refused it with an IllegalArgumentException, the policy took that
 * for transient and dead-lettered the change after its retries. It must be synced, and no outgoing header carries
 * the raw id. (Written before the fix: every test here but the last one failed with a dead-lettered change.)
 */
class CorrelationIdTest extends SyncTestSupport {
    /** What an outgoing X-Correlation-ID may be (CorrelationIds#isValid): printable, no spaces, no quotes. */
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._:@/+={}-]{1,128}");

    @Test
    void aCorrelationIdWithCrLfNeverStopsAValidChange() {
        assertSyncedWithSafeHeaders("cid-1\r\nX-Injected: yes");
    }

    @Test
    void aCorrelationIdOutsideLatin1NeverStopsAValidChange() {
        assertSyncedWithSafeHeaders("корреляция-€-" + "\u2028" + "1");
    }

    @Test
    void aRemoteExecutionContextsCorrelationIdWithCrLfNeverStopsAValidChange() {
        String id = createAccount("Plugin context");
        ObjectNode context = JSON.createObjectNode();
        context.put("PrimaryEntityName", "account");
        context.put("PrimaryEntityId", id);
        context.put("MessageName", "Update");
        context.put("CorrelationId", "9f2c47d1\r\n12:00:00.000 INFO  forged");
        send(OUTBOUND, context.toString(), null);
        assertSynced(id, "9f2c47d1");
    }

    @Test
    void aValidCorrelationIdIsKeptAsItIs() {
        String id = createAccount("Kept");
        send(OUTBOUND, notification(id), "order-42:retry/1");
        awaitSynced(id);
        await().atMost(Duration.ofSeconds(10)).until(() -> !targetCalls("PUT", id).isEmpty());
        assertThat(targetCalls("PUT", id)).allSatisfy(r -> assertThat(r.header("X-Correlation-ID")).isEqualTo("order-42:retry/1"));
        assertThat(dataverseCalls("GET", id)).allSatisfy(r -> assertThat(r.header("X-Correlation-ID")).isEqualTo("order-42:retry/1"));
    }

    private void assertSyncedWithSafeHeaders(String correlationId) {
        String id = createAccount("Odd id " + correlationId.length());
        send(OUTBOUND, notification(id), correlationId);
        assertSynced(id, correlationId);
    }

    private void assertSynced(String id, String rawPart) {
        ObjectNode row = awaitSynced(id);
        assertThat(target().record("customers", id)).isPresent();
        assertThat(target().record("customers", id).get().path("name").asText()).isEqualTo(row.path("name").asText());
        assertThat(receiveDeadLetter(OUTBOUND, Duration.ofMillis(200))).isNull();
        List<RecordedRequest> calls = new ArrayList<>(dataverseCalls("GET", id));
        calls.addAll(targetCalls("PUT", id));
        assertThat(calls).isNotEmpty().allSatisfy(r -> {
            String header = r.header("X-Correlation-ID");
            assertThat(header).matches(SAFE);
        });
        // the raw value reaches no header of any request
        List<RecordedRequest> all = new ArrayList<>(dataverse().requests());
        all.addAll(target().requests());
        assertThat(all).allSatisfy(r -> assertThat(r.headers().values()).noneMatch(v -> v.contains("\r") || v.contains("\n")
                || v.chars().anyMatch(c -> c > 0xFF)));
    }

    private static String notification(String id) {
        return "{\"entity\":\"account\",\"sourceRowId\":\"" + id + "\",\"operation\":\"Update\"}";
    }
}
