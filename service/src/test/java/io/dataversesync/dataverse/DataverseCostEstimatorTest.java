package io.dataversesync.dataverse;

import static io.dataversesync.dataverse.DataverseCostEstimator.Kind.READ;
import static io.dataversesync.dataverse.DataverseCostEstimator.Kind.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class DataverseCostEstimatorTest {
    private final DataverseCostEstimator costs = new DataverseCostEstimator(new DataverseCostEstimator.Priors(1, 10, 5), 0.2);

    @Test
    void itStartsFromThePriorsPerKind() {
        assertThat(costs.estimate(READ, 1)).isEqualTo(6);
        assertThat(costs.estimate(READ, 100)).isEqualTo(105);
        assertThat(costs.estimate(WRITE, 1)).isEqualTo(15);
        assertThat(costs.estimate(WRITE, 200)).isEqualTo(2005); // a $batch pays for every operation in full
    }

    @Test
    void itLearnsFromRequestDurations() {
        for (int i = 0; i < 40; i++) {
            costs.learnFromDuration(WRITE, 100, 2010); // 20 ms per write, twice the prior
        }
        assertThat((double) costs.estimate(WRITE, 100)).isCloseTo(2010, within(20.0));
        assertThat((double) costs.estimate(WRITE, 200)).isCloseTo(4010, within(60.0));
        assertThat((double) costs.estimate(READ, 100)).as("reads keep their own per-row cost").isLessThan(115);
    }

    @Test
    void onceTheServerReportsCostsItOutranksTheDurations() {
        for (int i = 0; i < 40 * DataverseCostEstimator.ANSWERS_PER_STEP; i++) {
            costs.learnFromServer(READ, 100, 52); // half the prior
        }
        assertThat((double) costs.estimate(READ, 100)).isCloseTo(52, within(2.0));
        double[] before = costs.model();
        costs.learnFromDuration(READ, 100, 5000); // network and queueing, not execution
        assertThat(costs.model()).containsExactly(before);
    }

    @Test
    void withDurationLearningOffOnlyTheServerTeachesTheEstimate() {
        DataverseCostEstimator serverOnly = new DataverseCostEstimator(new DataverseCostEstimator.Priors(1, 10, 5), 0.2, false);
        for (int i = 0; i < 40; i++) {
            serverOnly.learnFromDuration(WRITE, 100, 20_000); // a busy host: queueing, not execution
        }
        assertThat(serverOnly.estimate(WRITE, 100)).isEqualTo(1005);
        for (int i = 0; i < 40 * DataverseCostEstimator.ANSWERS_PER_STEP; i++) {
            serverOnly.learnFromServer(WRITE, 100, 2010);
        }
        assertThat((double) serverOnly.estimate(WRITE, 100)).isCloseTo(2010, within(20.0));
    }

    @Test
    void oneOddObservationMovesTheEstimateOnlyAStep() {
        costs.learnFromDuration(WRITE, 1, 1_000_000);
        assertThat(costs.estimate(WRITE, 1)).isEqualTo(24); // 15 * (1 + 0.2 * (4 - 1)): the ratio is capped at 4
        costs.learnFromDuration(WRITE, 1, 0);
        assertThat(costs.estimate(WRITE, 1)).isEqualTo(20); // 24 * (1 - 0.2) = 19.2, rounded up
    }

    @Test
    void serverChargesAreLearnedSummedOverSeveralAnswersSoThatOneAnswerCarryingAnothersChargeDoesNotSkewIt() {
        // the first answer is exact (it was alone in flight) and seeds the estimate; then requests in flight
        // together: one answer's header drop holds the charge of two, the next answer's none
        costs.learnFromServer(WRITE, 1, 30);
        for (int i = 0; i < 20 * DataverseCostEstimator.ANSWERS_PER_STEP; i++) {
            costs.learnFromServer(WRITE, 1, i % 4 == 0 ? 120 : 0); // 4 answers of 30 ms each, all on the first
        }
        assertThat((double) costs.estimate(WRITE, 1)).isCloseTo(30, within(1.0));
    }

    @Test
    void theFirstAnswerSeedsTheEstimateThenChargesMoveItOnlyOnceAStepIsComplete() {
        assertThat(costs.estimate(READ, 1)).isEqualTo(6);
        costs.learnFromServer(READ, 1, 60);
        assertThat(costs.estimate(READ, 1)).isEqualTo(60); // the first answer seeds: 10 times the prediction, taken whole
        for (int i = 1; i < DataverseCostEstimator.ANSWERS_PER_STEP; i++) {
            costs.learnFromServer(READ, 1, 600);
        }
        assertThat(costs.estimate(READ, 1)).isEqualTo(60);
        costs.learnFromServer(READ, 1, 600);
        assertThat(costs.estimate(READ, 1)).isEqualTo(96); // then steps: 60 * (1 + 0.2 * (4 - 1)), capped at 4
    }

    @Test
    void aPriorFarTooLowIsReplacedByTheFirstStepTheServerReports() {
        // writes cost 60 ms where the prior said 10: one answer, and the estimate is right
        costs.learnFromServer(WRITE, 100, 100 * 60 + 5);
        assertThat((double) costs.estimate(WRITE, 100)).isCloseTo(6005, within(10.0));
        // a kind the server has not reported on yet keeps its per-row prior (the request overhead is shared)
        assertThat(costs.model()[1]).isEqualTo(1.0);
    }

    @Test
    void nonsenseSettingsAreRefused() {
        assertThatThrownBy(() -> new DataverseCostEstimator(new DataverseCostEstimator.Priors(1, 10, 5), 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new DataverseCostEstimator(new DataverseCostEstimator.Priors(-1, 10, 5), 0.2))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
