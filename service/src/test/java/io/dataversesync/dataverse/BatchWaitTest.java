package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BatchWaitTest {
    private final BatchWait wait = new BatchWait(0.1, 0.8);

    @Test
    void aFreshChangeWaitsAShareOfItsAge() {
        assertThat(wait.allowanceMillis(500, 0, () -> 0)).isZero();
        assertThat(wait.allowanceMillis(500, 120, () -> 0.2)).isEqualTo(12);
    }

    @Test
    void aLateChangeWaitsTheWholeWindowAndNeverMore() {
        assertThat(wait.allowanceMillis(500, 60_000, () -> 0)).isEqualTo(500);
        assertThat(wait.allowanceMillis(30, 400, () -> 0)).isEqualTo(30);
    }

    @Test
    void aChangeFromTheFutureCountsAsFresh() {
        assertThat(wait.allowanceMillis(500, -5_000, () -> 0)).isZero();
    }

    @Test
    void onceTheBudgetIsNoLongerSpareEveryChangeWaitsTheWholeWindow() {
        assertThat(wait.allowanceMillis(500, 0, () -> 0.79)).isZero();
        assertThat(wait.allowanceMillis(500, 0, () -> 0.8)).isEqualTo(500);
        assertThat(wait.allowanceMillis(500, 0, () -> Double.NaN)).isEqualTo(500);
    }

    @Test
    void offMeansWholeWindows() {
        assertThat(BatchWait.wholeWindows().allowanceMillis(500, 0, () -> 0)).isEqualTo(500);
        assertThat(new BatchWait(0, 1).allowanceMillis(30, 10, () -> 0)).isEqualTo(30);
    }

    @Test
    void badSettingsAreRefused() {
        assertThatThrownBy(() -> new BatchWait(-1, 0.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BatchWait(0.1, 1.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BatchWait(Double.NaN, 0.5)).isInstanceOf(IllegalArgumentException.class);
    }
}
