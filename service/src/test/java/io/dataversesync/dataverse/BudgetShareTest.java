package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class BudgetShareTest {
    // 1,000 requests and 100,000 ms per 300 s window, 10 % headroom
    static final DataverseRequestGate.Limits LIMITS = new DataverseRequestGate.Limits(1000, 100_000, Duration.ofSeconds(300), 0.9, 1,
            Duration.ZERO);

    @Test
    void theShareOfTheRequestsAfterHeadroomTimesTheUsers() throws Exception {
        MutableClock clock = new MutableClock(1_000_000);
        BudgetShare share = new BudgetShare(0.01, LIMITS, 1, clock);
        assertThat(share.requestsPerWindow()).isEqualTo(9); // 1,000 x 0.9 x 0.01
        for (int i = 0; i < 9; i++) {
            assertThat(share.millisUntilSendable(1)).isZero();
            share.acquire(1);
        }
        assertThat(share.millisUntilSendable(1)).as("the tenth waits for the first to leave the window").isEqualTo(300_000);
        clock.advance(300_000);
        assertThat(share.millisUntilSendable(1)).isZero();
        assertThat(new BudgetShare(0.01, LIMITS, 3, clock).requestsPerWindow()).as("three users, three budgets").isEqualTo(27);
    }

    @Test
    void theShareOfTheExecutionTime() throws Exception {
        MutableClock clock = new MutableClock(1_000_000);
        BudgetShare share = new BudgetShare(0.2, LIMITS, 1, clock); // 100,000 x 0.9 x 0.2 = 18,000 ms
        share.acquire(10_000);
        assertThat(share.millisUntilSendable(5_000)).isZero();
        share.acquire(5_000);
        assertThat(share.millisUntilSendable(5_000)).isEqualTo(300_000);
    }

    @Test
    void aShareOutsideZeroToOneIsRefused() {
        assertThatThrownBy(() -> new BudgetShare(0, LIMITS, 1, new MutableClock(1_000_000))).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> new BudgetShare(1.5, LIMITS, 1, new MutableClock(1_000_000))).hasMessageContaining("(0, 1]");
    }
}
