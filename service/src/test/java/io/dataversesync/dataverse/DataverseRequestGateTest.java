package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class DataverseRequestGateTest {
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private DataverseRequestGate gate(int perWindow, int maxConcurrent, Duration maxWait) {
        return new DataverseRequestGate("app-user", perWindow, Duration.ofSeconds(1), 1.0, maxConcurrent, maxWait, Clock.systemUTC(), meters);
    }

    @Test
    void afterA429EveryRequestOfThatUserWaitsForRetryAfter() throws Exception {
        DataverseRequestGate gate = gate(1000, 10, Duration.ofSeconds(5));
        gate.pauseFor(Duration.ofMillis(300));
        assertThat(gate.millisUntilSendable()).isBetween(200L, 300L);
        long start = System.nanoTime();
        gate.acquire();
        gate.release();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(250));
        assertThat(meters.get("dataverse.limiter.wait").timer().count()).isEqualTo(1);
    }

    @Test
    void aPauseLongerThanMaxWaitFailsAtOnceAsATransientPacingTimeout() {
        DataverseRequestGate gate = gate(1000, 10, Duration.ofMillis(100));
        gate.pauseFor(Duration.ofSeconds(30));
        assertThatThrownBy(gate::acquire).isInstanceOf(DataverseRequestGate.PacingTimeoutException.class)
                .hasMessageContaining("paused by a 429");
    }

    @Test
    void theWindowBudgetMakesTheNextRequestWait() throws Exception {
        DataverseRequestGate gate = gate(2, 10, Duration.ofSeconds(5));
        gate.acquire();
        gate.release();
        gate.acquire();
        gate.release();
        assertThat(gate.millisUntilSendable()).isGreaterThan(500L); // the third waits for the 1 s window to slide
    }

    @Test
    void concurrencyIsCapped() throws Exception {
        DataverseRequestGate gate = gate(1000, 1, Duration.ofMillis(100));
        gate.acquire();
        assertThatThrownBy(gate::acquire).isInstanceOf(DataverseRequestGate.PacingTimeoutException.class)
                .hasMessageContaining("concurrent requests");
        gate.release();
        gate.acquire();
        gate.release();
    }
}
