package io.dataversesync.sync;

import io.dataversesync.exchange.SyncProperties;
import static org.assertj.core.api.Assertions.assertThat;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

class SyncDedupeTest {
    private final SyncDedupe dedupe = new SyncDedupe(true, 0, 1000);

    private static Exchange message(String row, long requestedAt) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(SyncProperties.ENTITY, "account");
        e.setProperty(SyncProperties.SOURCE_ROW_ID, row);
        e.setProperty(SyncProperties.REQUESTED_AT, requestedAt);
        return e;
    }

    private static Exchange delivered(String row, long requestedAt, long readAt, String hash) {
        Exchange e = message(row, requestedAt);
        e.setProperty(SyncProperties.READ_AT, readAt);
        e.setProperty(SyncProperties.PAYLOAD_HASH, hash);
        return e;
    }

    @Test
    void aChangeAnnouncedBeforeADeliveredReadNeedsNoReadOfItsOwn() {
        dedupe.recordDelivered(delivered("r1", 100, 500, "h1"));
        assertThat(dedupe.alreadyDelivered(message("r1", 400))).isTrue();
        assertThat(dedupe.alreadyDelivered(message("r1", 600))).isFalse(); // announced after the read: may be newer
        assertThat(dedupe.alreadyDelivered(message("r2", 400))).isFalse(); // another row
    }

    /**
     * Found by the crash run: a change published from a read at 900 (it covers notifications up to 900, which the
     * outbound hop skipped on its behalf) reaches the target after a change read at 500 was delivered. Its own
     * notification was announced at 400, before 500, yet it must be delivered: it carries what the read at 500 did not.
     */
    @Test
    void aChangePublishedFromANewerReadIsNotCoveredByAnOlderDeliveredRead() {
        dedupe.recordDelivered(delivered("r1", 100, 500, "h1"));
        Exchange newer = message("r1", 400);
        newer.setProperty(SyncProperties.COVERED_UNTIL, 900L);
        assertThat(dedupe.alreadyDelivered(newer)).isFalse();
        Exchange older = message("r1", 300);
        older.setProperty(SyncProperties.COVERED_UNTIL, 450L);
        assertThat(dedupe.alreadyDelivered(older)).isTrue();
    }

    @Test
    void clockSkewMarginKeepsBorderlineChanges() {
        SyncDedupe careful = new SyncDedupe(true, 2000, 1000);
        careful.recordDelivered(delivered("r1", 100, 5000, "h1"));
        assertThat(careful.alreadyDelivered(message("r1", 2500))).isTrue();
        assertThat(careful.alreadyDelivered(message("r1", 3500))).isFalse();
    }

    @Test
    void thePayloadLastDeliveredIsNotSentAgain() {
        dedupe.recordDelivered(delivered("r1", 100, 500, "h1"));
        assertThat(dedupe.unchanged(delivered("r1", 700, 800, "h1"))).isTrue();
        assertThat(dedupe.unchanged(delivered("r1", 900, 1000, "h2"))).isFalse();
    }

    @Test
    void theHashStoredOnTheRowStopsTheEchoOfOurWriteBack() {
        Exchange echo = delivered("r9", 700, 800, "h7");
        echo.setProperty(SyncProperties.ROW_SYNCED_HASH, "h7");
        assertThat(dedupe.unchanged(echo)).isTrue();
        // and this read now counts as delivered
        assertThat(dedupe.alreadyDelivered(message("r9", 750))).isTrue();
    }

    @Test
    void switchedOffItNeverSkips() {
        SyncDedupe off = new SyncDedupe(false, 0, 10);
        off.recordDelivered(delivered("r1", 100, 500, "h1"));
        assertThat(off.alreadyDelivered(message("r1", 1))).isFalse();
        assertThat(off.unchanged(delivered("r1", 1, 2, "h1"))).isFalse();
    }

    @Test
    void memoryIsBounded() {
        SyncDedupe small = new SyncDedupe(true, 0, 2);
        small.recordDelivered(delivered("a", 1, 10, "x"));
        small.recordDelivered(delivered("b", 1, 10, "x"));
        small.recordDelivered(delivered("c", 1, 10, "x"));
        assertThat(small.alreadyDelivered(message("a", 5))).isFalse(); // forgotten: costs a read, nothing else
        assertThat(small.alreadyDelivered(message("c", 5))).isTrue();
    }
}
