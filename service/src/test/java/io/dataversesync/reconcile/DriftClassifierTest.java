package io.dataversesync.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class DriftClassifierTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static final JsonNode PAYLOAD = json("{\"name\":\"Fourth Coffee\",\"active\":true,\"phone\":null,\"n\":1}");
    static final DriftClassifier.Row SYNCED = new DriftClassifier.Row(PAYLOAD, "h1", "h1", "Synced");
    static final DriftClassifier.Held SAME = new DriftClassifier.Held(false,
            json("{\"id\":\"CUST-1\",\"name\":\"Fourth Coffee\",\"active\":true,\"n\":1.0,\"version\":3}"));

    @Test
    void inStepIsNoDrift() {
        assertThat(DriftClassifier.classify(SYNCED, SAME, true)).isEmpty();
        assertThat(DriftClassifier.classify(SYNCED, null, false)).as("hash compare").isEmpty();
    }

    @Test
    void missingAtTheTargetOrOnlyItsTombstone() {
        assertThat(DriftClassifier.classify(SYNCED, null, true)).contains(DriftClass.MISSING);
        assertThat(DriftClassifier.classify(SYNCED, new DriftClassifier.Held(true, SAME.record()), true)).contains(DriftClass.MISSING);
    }

    @Test
    void differentAtTheTargetOrByTheStoredHash() {
        DriftClassifier.Held changed = new DriftClassifier.Held(false, json("{\"name\":\"Changed by someone\",\"active\":true,\"n\":1}"));
        assertThat(DriftClassifier.classify(SYNCED, changed, true)).contains(DriftClass.DIFFERENT);
        DriftClassifier.Held lacksField = new DriftClassifier.Held(false, json("{\"name\":\"Fourth Coffee\",\"n\":1}"));
        assertThat(DriftClassifier.classify(SYNCED, lacksField, true)).contains(DriftClass.DIFFERENT);
        DriftClassifier.Row changedInDataverse = new DriftClassifier.Row(PAYLOAD, "h2", "h1", "Synced");
        assertThat(DriftClassifier.classify(changedInDataverse, null, false)).contains(DriftClass.DIFFERENT);
    }

    @Test
    void orphanWhenTheRowIsGoneAndTheTargetStillHoldsIt() {
        assertThat(DriftClassifier.classify(null, SAME, true)).contains(DriftClass.ORPHAN);
        assertThat(DriftClassifier.classify(null, new DriftClassifier.Held(true, SAME.record()), true)).as("already deleted").isEmpty();
        assertThat(DriftClassifier.classify(null, null, true)).isEmpty();
        assertThat(DriftClassifier.classify(null, null, false)).as("unreadable target: delete again, harmless").contains(DriftClass.ORPHAN);
    }

    @Test
    void neverSyncedOrFailedComesFirst() {
        DriftClassifier.Row never = new DriftClassifier.Row(PAYLOAD, "h1", null, null);
        assertThat(DriftClassifier.classify(never, null, true)).contains(DriftClass.NEVER_SYNCED);
        assertThat(DriftClassifier.classify(never, SAME, true)).contains(DriftClass.NEVER_SYNCED);
        DriftClassifier.Row failed = new DriftClassifier.Row(PAYLOAD, "h1", "h1", "Failed");
        assertThat(DriftClassifier.classify(failed, SAME, true)).contains(DriftClass.NEVER_SYNCED);
        assertThat(DriftClassifier.classify(failed, null, false)).contains(DriftClass.NEVER_SYNCED);
    }

    @Test
    void numbersCompareByValueAndNullEqualsAbsent() {
        assertThat(DriftClassifier.holds(json("{\"n\":1.0}"), json("{\"n\":1,\"x\":null}"))).isTrue();
        assertThat(DriftClassifier.holds(json("{\"n\":2}"), json("{\"n\":1}"))).isFalse();
        assertThat(DriftClassifier.holds(json("{\"n\":\"1\"}"), json("{\"n\":1}"))).as("a string is not a number").isFalse();
        assertThat(Optional.ofNullable(DriftClassifier.holds(null, PAYLOAD))).contains(false);
    }
}
