package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DataverseHopsTest {
    private final DataverseCostEstimator costs = new DataverseCostEstimator(new DataverseCostEstimator.Priors(1, 10, 5), 0.2);

    @Test
    void aWriteBatchIsCutWhenItsEstimatedCostWouldExceedTheCap() {
        // 5 ms a request + 10 ms a write: 200 writes = 2005 ms, within 20000; 1999 writes = 19995 ms; 2000 do not fit
        assertThat(DataverseHops.fitsOneRequest(200, rows -> costs.estimate(DataverseCostEstimator.Kind.WRITE, rows), 20_000)).isTrue();
        assertThat(DataverseHops.fitsOneRequest(1999, rows -> costs.estimate(DataverseCostEstimator.Kind.WRITE, rows), 20_000)).isTrue();
        assertThat(DataverseHops.fitsOneRequest(2000, rows -> costs.estimate(DataverseCostEstimator.Kind.WRITE, rows), 20_000)).isFalse();
    }

    @Test
    void theCutFollowsWhatTheEstimatorLearned() {
        for (int i = 0; i < 50 * DataverseCostEstimator.ANSWERS_PER_STEP; i++) {
            costs.learnFromServer(DataverseCostEstimator.Kind.WRITE, 100, 10_005); // writes cost 100 ms here
        }
        // ~50 ms a request + ~100 ms a write: 210 writes ~ 21 s no longer fit, 150 ~ 15 s do
        assertThat(DataverseHops.fitsOneRequest(210, rows -> costs.estimate(DataverseCostEstimator.Kind.WRITE, rows), 20_000)).isFalse();
        assertThat(DataverseHops.fitsOneRequest(150, rows -> costs.estimate(DataverseCostEstimator.Kind.WRITE, rows), 20_000)).isTrue();
    }

    @Test
    void aSingleRowAlwaysGoes() {
        assertThat(DataverseHops.fitsOneRequest(1, rows -> 1_000_000, 20_000)).isTrue();
    }

    @Test
    void theOverallStatusRuleRanksARetryingTargetBelowAFailedOneAndAboveSyncedAndSyncing() {
        assertThat(DataverseHops.overallStatus(java.util.List.of("Synced", "Retrying"))).isEqualTo("Retrying");
        assertThat(DataverseHops.overallStatus(java.util.List.of("Failed", "Retrying"))).isEqualTo("Failed");
        assertThat(DataverseHops.overallStatus(java.util.Arrays.asList("Retrying", null))).isEqualTo("Retrying");
        assertThat(DataverseHops.overallStatus(java.util.Arrays.asList("Synced", null))).isEqualTo("Syncing");
        assertThat(DataverseHops.overallStatus(java.util.List.of("Synced", "Synced"))).isEqualTo("Synced");
    }
}
