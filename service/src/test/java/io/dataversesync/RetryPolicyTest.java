package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.transport.ArtemisTransport;
import org.apache.camel.Exchange;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The one error policy on both consumers: scheduled retry copies with exponential backoff (base 50 ms,
 * multiplier 2, no jitter, 3 retries in these tests), Retry-After as the floor, dead-letter with a reason.
 */
class RetryPolicyTest extends SyncTestSupport {

    MockEndpoint retryCopies;

    /** Observes every retry copy right after it was handed to the broker (advice by route and step id). */
    @BeforeEach
    void tapRetryCopies() throws Exception {
        // a target's retry copies go back through the topic (send-retry-copy-to-target), the others to their queue
        AdviceWith.adviceWith(context, "transport-send-retry", route -> {
            route.weaveById("send-retry-copy").after().to("mock:retry-copies");
            route.weaveById("send-retry-copy-to-target").after().to("mock:retry-copies");
        });
        retryCopies = context.getEndpoint("mock:retry-copies", MockEndpoint.class);
    }

    @Test
    void transientTargetFailureIsRetriedWithGrowingRetryCountOnTheBackoffSchedule() {
        String id = createAccount("Flaky target");
        target().faults().failNext("PUT", 2, 503);
        String correlationId = notifyChange("account", id);

        awaitSynced(id);
        assertThat(targetCalls("PUT", id)).extracting(RecordedRequest::status).containsExactly(503, 503, 201);
        // every attempt re-read the row: a retry never resends old data
        assertThat(dataverseCalls("GET", id)).hasSize(3);

        List<Exchange> copies = retryCopies.getReceivedExchanges();
        assertThat(copies).hasSize(2);
        for (int n = 0; n < copies.size(); n++) {
            Exchange copy = copies.get(n);
            long expectedDelay = Math.round(50 * Math.pow(2, n)); // base * multiplier^RetryCount
            assertThat(copy.getMessage().getHeader(ArtemisTransport.RETRY_COUNT, Integer.class)).isEqualTo(n + 1);
            assertThat(copy.getProperty(SyncProperties.RETRY_DELAY_MS, Long.class)).isEqualTo(expectedDelay);
            assertThat(copy.getMessage().getHeader(ArtemisTransport.SCHEDULED_DELIVERY, Long.class))
                    .isEqualTo(copy.getProperty(SyncProperties.RETRY_AT, Long.class));
            assertThat(copy.getMessage().getHeader(ArtemisTransport.CORRELATION_ID)).isEqualTo(correlationId);
            assertThat(copy.getMessage().getHeader(ArtemisTransport.GROUP_ID)).isEqualTo(id);
            assertThat(copy.getMessage().getBody(String.class)).contains("\"sourceRowId\":\"" + id + "\"");
            assertThat(copy.getProperty(SyncProperties.FAILURE_REASON)).isEqualTo("TargetHttp503");
        }
        assertThat(receiveDeadLetter(CUSTOMERS_QUEUE, Duration.ofMillis(200))).isNull();
    }

    @Test
    void retryAfterOfA429IsTheFloorOfTheDelay() {
        String id = createAccount("Throttled target");
        target().faults().failNext("PUT", 1, 429, 1);
        notifyChange("account", id);

        awaitSynced(id);
        Exchange copy = retryCopies.getReceivedExchanges().get(0);
        assertThat(copy.getProperty(SyncProperties.RETRY_DELAY_MS, Long.class)).isEqualTo(1000L); // not 50 ms
        List<RecordedRequest> puts = targetCalls("PUT", id);
        assertThat(Duration.between(puts.get(0).at(), puts.get(1).at())).isGreaterThanOrEqualTo(Duration.ofMillis(950));
    }

    @Test
    void dataverseThrottlingIsRetriedAfterItsRetryAfter() {
        String id = createAccount("Throttled Dataverse");
        dataverse().faults().failNext("GET", 1, 429, 2);
        notifyChange("account", id);

        await().atMost(Duration.ofSeconds(20)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText()));
        assertThat(retryCopies.getReceivedExchanges().get(0).getProperty(SyncProperties.RETRY_DELAY_MS, Long.class)).isEqualTo(2000L);
        assertThat(retryCopies.getReceivedExchanges().get(0).getProperty(SyncProperties.FAILURE_REASON)).isEqualTo("DataverseThrottled");
    }

    @Test
    void permanentTargetErrorIsDeadLetteredAfterOneAttemptAndTheRowMarkedFailed() {
        String id = createAccount("Rejected by target");
        target().faults().failNext("PUT", 1, 400);
        String correlationId = notifyChange("account", id);

        // the target's own dead-letter queue
        Exchange deadLetter = receiveDeadLetter(CUSTOMERS_QUEUE, Duration.ofSeconds(10));
        assertThat(deadLetter).isNotNull();
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_REASON)).isEqualTo("TargetHttp400");
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class))
                .contains("hop=call-target").contains("retryCount=0").contains("correlationId=" + correlationId);
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.CORRELATION_ID)).isEqualTo(correlationId);
        assertThat(deadLetter.getMessage().getBody(String.class)).contains(id);
        assertThat(targetCalls("PUT", id)).hasSize(1);
        assertThat(retryCopies.getReceivedExchanges()).isEmpty();

        await().atMost(Duration.ofSeconds(5)).until(() -> "Failed".equals(row(id).path("new_syncstatus").asText()));
        assertThat(row(id).path("new_syncerror").asText()).startsWith("customers: TargetHttp400");
    }

    @Test
    void exhaustedRetriesAreDeadLettered() {
        String id = createAccount("Target down for good");
        target().faults().failNext("PUT", 100, 503);
        notifyChange("account", id);

        Exchange deadLetter = receiveDeadLetter(CUSTOMERS_QUEUE, Duration.ofSeconds(15));
        assertThat(deadLetter).isNotNull();
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_REASON)).isEqualTo("RetriesExhausted");
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class))
                .contains("retryCount=3").contains("TargetHttp503");
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.RETRY_COUNT, Integer.class)).isEqualTo(3);
        assertThat(targetCalls("PUT", id)).hasSize(4); // the attempt and 3 retries
        assertThat(retryCopies.getReceivedExchanges()).extracting(e -> e.getMessage().getHeader(ArtemisTransport.RETRY_COUNT, Integer.class))
                .containsExactly(1, 2, 3);
        await().atMost(Duration.ofSeconds(5)).until(() -> "Failed".equals(row(id).path("new_syncstatus").asText()));
    }

    @Test
    void failedWriteBackIsRetriedWithoutCallingTheTargetAgain() {
        String id = createAccount("Write-back trouble");
        dataverse().faults().failNext("PATCH", 2, 503);
        notifyChange("account", id);

        awaitSynced(id);
        assertThat(targetCalls("PUT", id)).hasSize(1);
        assertThat(dataverseCalls("GET", id)).hasSize(1);
        assertThat(dataverseCalls("PATCH", id)).extracting(RecordedRequest::status).containsExactly(503, 503, 204);
        assertThat(retryCopies.getReceivedExchanges()).allSatisfy(copy ->
                assertThat(copy.getProperty(SyncProperties.QUEUE)).isEqualTo(ACK));
    }

    @Test
    void theRetryReadsTheLatestRowNotTheOneOfTheFailedAttempt() {
        String id = createAccount("Version one");
        // the first attempt fails and asks for a 1 s pause: the row changes in between
        target().faults().failNext("PUT", 1, 503, 1);
        notifyChange("account", id);
        await().atMost(Duration.ofSeconds(10)).until(() -> targetCalls("PUT", id).size() == 1);
        changeAccount(id, "name", "Version two");

        awaitSynced(id);
        List<RecordedRequest> puts = targetCalls("PUT", id);
        assertThat(puts).hasSize(2);
        assertThat(json(puts.get(1).body()).path("name").asText()).isEqualTo("Version two");
        assertThat(puts).filteredOn(p -> p.status() < 300).allSatisfy(p ->
                assertThat(json(p.body()).path("name").asText()).isEqualTo("Version two"));
        assertThat(target().record("customers", id).orElseThrow().path("name").asText()).isEqualTo("Version two");
    }

    @Test
    void expiredTokenIsRefreshedOnceAndTheSyncGoesOn() {
        String first = createAccount("Takes the first token");
        notifyChange("account", first);
        awaitSynced(first);
        String id = createAccount("Token expiry");
        dataverse().revokeTokens(); // the cached token is now rejected with 401, as an expired one would be
        notifyChange("account", id);

        awaitSynced(id);
        assertThat(dataverseCalls("GET", id)).extracting(RecordedRequest::status).containsExactly(401, 200);
        assertThat(retryCopies.getReceivedExchanges()).isEmpty();
    }
}
