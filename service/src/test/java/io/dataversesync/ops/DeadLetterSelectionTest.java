package io.dataversesync.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Which dead letters a request means, and what a dead letter says, the same for both transports (pure). */
class DeadLetterSelectionTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String DESCRIPTION = "hop=call-target; retryCount=2; correlationId=c-1; failure=TargetHttp400 (permanent); "
            + "HttpOperationFailedException: HTTP operation failed invoking http://x with statusCode: 400";

    static DeadLetter letter(String id, String reason, String entity, Instant at) {
        return new DeadLetter(id, null, "q", "q", reason, DESCRIPTION, "call-target", 2, 0, "c-1", entity,
                "5e740e6d-3077-4794-b27d-94798a7a1735", at, "HttpOperationFailedException", Map.of(), "{}");
    }

    @Test
    void descriptionsYieldHopAndExceptionType() {
        assertThat(DeadLetter.hopOf(DESCRIPTION)).isEqualTo("call-target");
        assertThat(DeadLetter.exceptionTypeOf(DESCRIPTION)).isEqualTo("HttpOperationFailedException");
        assertThat(DeadLetter.exceptionTypeOf("hop=validate; failure=InvalidMessage (permanent); InvalidMessageException: no entity"))
                .isEqualTo("InvalidMessageException");
        assertThat(DeadLetter.hopOf(null)).isEmpty();
        assertThat(DeadLetter.exceptionTypeOf("something else")).isEmpty();
    }

    @Test
    void serviceBusWrappingIsRemovedAndBrokerDeadLettersHaveAReason() {
        // what 4.17's consumer writes for our DeadLetterRequested (docs/decisions.md, "Service Bus dead letters")
        assertThat(DeadLetter.normalizeReason("io.dataversesync.transport.ServiceBusTransport$DeadLetterRequested: TargetHttp400"))
                .isEqualTo("TargetHttp400");
        assertThat(DeadLetter.normalizeDescription("dead-letter.description(" + DESCRIPTION + ")")).isEqualTo(DESCRIPTION);
        assertThat(DeadLetter.normalizeReason(null)).isEqualTo("MaxDeliveryCountExceeded");
        assertThat(DeadLetter.normalizeReason("TTLExpiredException")).isEqualTo("TTLExpiredException");
    }

    @Test
    void keysComeFromAnyOfOurBodiesOrADataverseContext() {
        assertThat(DeadLetter.keysOf(JSON, "{\"entity\":\"account\",\"sourceRowId\":\"r1\",\"operation\":\"Update\"}")).containsExactly("account", "r1");
        assertThat(DeadLetter.keysOf(JSON, "{\"PrimaryEntityName\":\"contact\",\"PrimaryEntityId\":\"r2\"}")).containsExactly("contact", "r2");
        assertThat(DeadLetter.keysOf(JSON, "not json")).containsExactly("", "");
    }

    @Test
    void serviceBusDeadLettersMapLikeArtemisOnes() {
        DeadLetter d = ServiceBusDeadLetters.deadLetter(JSON, "dataverse-changes.customers", "m-1", 42L, "c-9",
                "io.dataversesync.transport.ServiceBusTransport$DeadLetterRequested: TargetHttp400", "dead-letter.description(" + DESCRIPTION + ")",
                "dataverse-changes/subscriptions/customers", OffsetDateTime.of(2026, 11, 25, 10, 0, 0, 0, ZoneOffset.UTC), "row-1",
                Map.of("RetryCount", 3, "SyncReplayCount", 1, "syncEntity", "account"), "{\"entity\":\"account\",\"sourceRowId\":\"row-1\"}");
        assertThat(d.reason()).isEqualTo("TargetHttp400");
        assertThat(d.hop()).isEqualTo("call-target");
        assertThat(d.exceptionType()).isEqualTo("HttpOperationFailedException");
        assertThat(d.retryCount()).isEqualTo(3);
        assertThat(d.replayCount()).isEqualTo(1);
        assertThat(d.sequenceNumber()).isEqualTo(42L);
        assertThat(d.deadLetteredAt()).isEqualTo(Instant.parse("2026-11-25T10:00:00Z"));
        assertThat(d.entity()).isEqualTo("account");
        assertThat(d.sourceRowId()).isEqualTo("row-1");
        assertThat(d.properties()).containsEntry("SessionId", "row-1");
    }

    @Test
    void selectionByIdsReasonEntityAndTime() {
        Instant t = Instant.parse("2026-11-25T10:00:00Z");
        DeadLetter a = letter("5e740e6d-3077-4794-b27d-94798a7a1735", "TargetHttp400", "account", t);
        DeadLetter b = letter("4e2926b4-acef-4eb8-b93a-df36936f0630", "InvalidMessage", "contact", t.plusSeconds(60));

        DeadLetterQuery byId = DeadLetterQuery.of(List.of("{5E740E6D-3077-4794-B27D-94798A7A1735}"), null, null, null, null, null, true, 10);
        assertThat(List.of(a, b)).filteredOn(byId::matches).containsExactly(a);
        DeadLetterQuery byReason = DeadLetterQuery.of(null, "InvalidMessage", null, null, null, null, true, 10);
        assertThat(List.of(a, b)).filteredOn(byReason::matches).containsExactly(b);
        DeadLetterQuery byEntityAndTime = DeadLetterQuery.of(null, null, null, "ACCOUNT", "2026-11-25T09:00:00Z", "2026-11-25T10:00:30Z", true, 10);
        assertThat(List.of(a, b)).filteredOn(byEntityAndTime::matches).containsExactly(a);
        assertThat(DeadLetterQuery.of(null, null, "HttpOperationFailedException", null, null, null, true, 10).matches(a)).isTrue();
        assertThat(DeadLetterQuery.of(null, null, null, null, null, null, true, 10).selectsAll()).isTrue();
        // Service Bus ids are message ids, not necessarily GUIDs
        assertThat(DeadLetterQuery.of(List.of("dataverse:1234.5"), null, null, null, null, null, false, 10).ids()).containsExactly("dataverse:1234.5");
    }

    @Test
    void malformedSelectorsAre400() {
        for (Runnable bad : List.<Runnable>of(
                () -> DeadLetterQuery.of(List.of("not-a-guid"), null, null, null, null, null, true, 10),
                () -> DeadLetterQuery.of(List.of(), null, null, null, null, null, true, 10),
                () -> DeadLetterQuery.of(List.of("a b"), null, null, null, null, null, false, 10),
                () -> DeadLetterQuery.of(List.of("5e740e6d-3077-4794-b27d-94798a7a1735", "4e2926b4-acef-4eb8-b93a-df36936f0630"), null, null, null,
                        null, null, true, 1),
                () -> DeadLetterQuery.of(null, "x' OR '1'='1", null, null, null, null, true, 10),
                () -> DeadLetterQuery.of(null, "r".repeat(201), null, null, null, null, true, 10),
                () -> DeadLetterQuery.of(null, null, null, null, "yesterday", null, true, 10))) {
            assertThatThrownBy(bad::run).isInstanceOf(OpsException.class).satisfies(e -> assertThat(((OpsException) e).status()).isEqualTo(400));
        }
    }
}
