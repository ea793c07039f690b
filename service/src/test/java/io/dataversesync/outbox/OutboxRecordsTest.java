package io.dataversesync.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import org.junit.jupiter.api.Test;

/** The relay's decision per outbox record, from the record alone. */
class OutboxRecordsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
    private static final String RECORD = "0b7e0a55-1111-4c8e-9a6b-000000000001";
    private static final String ROW = "A3B1C2D4-5E6F-4A7B-8C9D-0E1F2A3B4C5D";

    private final OutboxSettings settings = settings("pending", "failed", "invalid");
    private final OutboxRecords records = new OutboxRecords(settings, new EntityCatalog(List.of(
            new EntitySettings("account", "accounts", "accountid", List.of("name"), EntitySettings.OnDeleted.DELETE))));

    private static OutboxSettings settings(String pending, String failed, String invalid) {
        return new OutboxSettings(new EntitySettings("new_syncoutboxes", "new_syncoutboxes", "new_syncoutboxid", List.of(),
                EntitySettings.OnDeleted.DELETE), "new_entity", "new_rowid", "new_correlationid", "new_status", "new_error", "createdon",
                pending, failed, invalid, Duration.ofMinutes(5), 100, 1000, 2000);
    }

    private static ObjectNode record(String status, String createdOn) {
        ObjectNode r = JSON.createObjectNode();
        r.put("new_syncoutboxid", RECORD);
        r.put("new_entity", "account");
        r.put("new_rowid", ROW);
        r.put("new_correlationid", "9f2c47d1-6a8b-4e55-b1f0-2d6f0c3e8a71");
        r.put("new_status", status);
        r.put("createdon", createdOn);
        return r;
    }

    @Test
    void aFailedRecordIsRelayedWithItsKeysNormalised() {
        OutboxRecords.Decision d = records.decide(record("failed", "2026-11-25T09:59:59Z"), NOW);
        assertThat(d).isEqualTo(new OutboxRecords.Relay(RECORD, "account", ROW.toLowerCase(), "9f2c47d1-6a8b-4e55-b1f0-2d6f0c3e8a71",
                Instant.parse("2026-11-25T09:59:59Z").toEpochMilli()));
    }

    @Test
    void aPendingRecordWaitsUntilItIsStale() {
        assertThat(records.decide(record("pending", "2026-11-25T09:56:00Z"), NOW)).isInstanceOf(OutboxRecords.Wait.class);
        assertThat(records.decide(record("pending", "2026-11-25T09:55:00Z"), NOW)).isInstanceOf(OutboxRecords.Relay.class);
        assertThat(records.decide(record("pending", null), NOW)).isInstanceOf(OutboxRecords.Refuse.class);
    }

    @Test
    void otherStatusesAreLeftAlone() {
        assertThat(records.decide(record("invalid", "2026-11-25T09:00:00Z"), NOW)).isInstanceOf(OutboxRecords.Wait.class);
        assertThat(records.decide(record(null, "2026-11-25T09:00:00Z"), NOW)).isInstanceOf(OutboxRecords.Wait.class);
    }

    @Test
    void aRecordNamingNoSyncedTableNoGuidOrAnOddCorrelationIdIsRefusedWithTheReason() {
        ObjectNode unknown = record("failed", null).put("new_entity", "contact");
        assertThat(records.decide(unknown, NOW)).isInstanceOfSatisfying(OutboxRecords.Refuse.class,
                r -> assertThat(r.reason()).contains("'contact' is not a synced table"));
        ObjectNode traversal = record("failed", null).put("new_rowid", "../accounts");
        assertThat(records.decide(traversal, NOW)).isInstanceOfSatisfying(OutboxRecords.Refuse.class,
                r -> assertThat(r.reason()).contains("new_rowid must be a GUID, was '../accounts'"));
        ObjectNode header = record("failed", null).put("new_correlationid", "abc\r\nX-Injected: 1");
        assertThat(records.decide(header, NOW)).isInstanceOfSatisfying(OutboxRecords.Refuse.class,
                r -> assertThat(r.reason()).contains("new_correlationid").contains("abc??X-Injected: 1").doesNotContain("\n"));
        ObjectNode empty = record("failed", null).put("new_entity", " ");
        assertThat(records.decide(empty, NOW)).isInstanceOf(OutboxRecords.Refuse.class);
    }

    @Test
    void aMissingCorrelationIdIsLeftToTheRelay() {
        ObjectNode r = record("failed", null);
        r.putNull("new_correlationid");
        assertThat(records.decide(r, NOW)).isInstanceOfSatisfying(OutboxRecords.Relay.class, relay -> {
            assertThat(relay.correlationId()).isNull();
            assertThat(relay.createdAt()).isNull();
        });
    }

    @Test
    void aRecordWithoutAGuidKeyCannotEvenBeMarked() {
        ObjectNode r = record("failed", null).put("new_syncoutboxid", "1");
        assertThat(records.decide(r, NOW)).isInstanceOf(OutboxRecords.Wait.class).extracting(OutboxRecords.Decision::recordId).isNull();
    }

    @Test
    void theFilterAndSettingsAreBuiltFromTheSettingsOnly() {
        assertThat(settings.filter()).isEqualTo("Microsoft.Dynamics.CRM.In(PropertyName='new_status',PropertyValues=['failed','pending'])");
        assertThat(settings.columns()).containsExactly("new_syncoutboxid", "new_entity", "new_rowid", "new_correlationid", "new_status",
                "new_error", "createdon");
        assertThat(settings("o'k", "failed", "invalid").filter()).contains("'o''k'");
        assertThatThrownBy(() -> settings("failed", "failed", "invalid")).hasMessageContaining("three different values");
    }
}
