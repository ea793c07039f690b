package io.dataversesync.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.SyncTestSupport;
import io.dataversesync.emulator.RecordedRequest;
import org.junit.jupiter.api.Test;

/**
 * The row's status for people with sync.writeback.retrying-status.enabled: while the target fails transiently the
 * row shows Retrying with the next attempt's time and the failure, then Synced (next attempt and error cleared); when
 * the retries are exhausted, Failed with the reason.
 */
class RetryingStatusTest extends SyncTestSupport {
    private static final String NEXT_ATTEMPT = "new_syncnextattempt";

    static {
        System.setProperty("sync.writeback.retrying-status.enabled", "true");
        // the customers target's own schedule (sync.policy.<route id>.*): one retry, 3 s later, long enough to see Retrying
        System.setProperty("sync.policy.target-customers.base-delay-ms", "3000");
        System.setProperty("sync.policy.target-customers.max-retries", "1");
    }

    @Test
    void aTransientFailureShowsRetryingWithTheNextAttemptThenSynced() {
        String id = createAccount("Retrying Visible");
        notifyChange("account", id);
        awaitSynced(id);

        target().faults().failNext("PUT", 1, 503);
        changeAccount(id, "name", "Retrying Visible, renamed");
        Instant failedAt = Instant.now();
        notifyChange("account", id);

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> "Retrying".equals(status(id)));
        ObjectNode retrying = row(id);
        Instant nextAttempt = Instant.parse(retrying.path(NEXT_ATTEMPT).asText());
        assertThat(nextAttempt).isAfter(failedAt.plusMillis(2000)).isBefore(failedAt.plusSeconds(20));
        assertThat(retrying.path("new_syncerror").asText()).startsWith("customers: ").contains("retry 1 at " + nextAttempt);

        ObjectNode synced = awaitSynced(id);
        assertThat(synced.path(NEXT_ATTEMPT).isNull()).as("next attempt cleared").isTrue();
        assertThat(synced.path("new_syncerror").isNull()).as("error cleared").isTrue();
        assertThat(target().record("customers", id).orElseThrow().path("name").asText()).isEqualTo("Retrying Visible, renamed");
        // the retry was made when the row said it would be (scheduled delivery; no jitter in the tests)
        List<RecordedRequest> puts = targetCalls("PUT", id);
        assertThat(puts).extracting(RecordedRequest::status).containsExactly(201, 503, 200);
        assertThat(puts.get(2).at()).isAfterOrEqualTo(nextAttempt.minusMillis(200));
        // written in order through the write-back path: Synced, Retrying, Synced; never Retrying after the last Synced
        assertThat(writtenStatuses(id)).containsSubsequence("Synced", "Retrying", "Synced").endsWith("Synced");
    }

    @Test
    void exhaustedRetriesShowFailedWithTheReasonAndNoNextAttempt() {
        String id = createAccount("Retrying Then Failed");
        target().faults().failNext("PUT", 10, 503);
        notifyChange("account", id);

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> "Retrying".equals(status(id)));
        await().atMost(Duration.ofSeconds(30)).until(() -> "Failed".equals(status(id)));
        ObjectNode failed = row(id);
        assertThat(failed.path("new_syncerror").asText()).startsWith("customers: RetriesExhausted: ").contains("HTTP 503");
        assertThat(failed.path(NEXT_ATTEMPT).isNull()).as("no next attempt after the last one").isTrue();
        assertThat(receiveDeadLetter(CUSTOMERS_QUEUE, Duration.ofSeconds(10))).isNotNull();
    }

    private String status(String id) {
        return row(id).path("new_syncstatus").asText(null);
    }

    /** The overall statuses the write-backs wrote to the row, in order (PATCHes and the operations of $batch requests). */
    private List<String> writtenStatuses(String id) {
        return dataverse().requests().stream()
                .filter(r -> (r.method().equals("PATCH") && r.path().contains(id)) || (r.path().endsWith("$batch") && r.body().contains(id)))
                .map(r -> statusWritten(r, id))
                .filter(s -> s != null)
                .toList();
    }

    private static String statusWritten(RecordedRequest r, String id) {
        String body = r.body();
        if (r.method().equals("POST")) {
            // the JSON of this row's operation inside the multipart body
            int at = body.indexOf(id);
            int start = body.indexOf('{', at);
            int end = body.indexOf('}', start);
            body = start < 0 || end < 0 ? "{}" : body.substring(start, end + 1);
        }
        JsonNode status = json(body).get("new_syncstatus");
        return status == null || status.isNull() ? null : status.asText();
    }
}
