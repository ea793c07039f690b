package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class DataverseRequestGateTest {
    private static final long U = RateLimitHeaders.UNKNOWN;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private DataverseRequestGate gate(int perWindow, int maxConcurrent, Duration maxWait) {
        return new DataverseRequestGate("app-user", new DataverseRequestGate.Limits(perWindow, 1_000_000, Duration.ofSeconds(1), 1.0,
                maxConcurrent, maxWait), Clock.systemUTC(), meters);
    }

    /** A 1 s window on a clock the test moves: nothing in these tests sleeps. */
    private DataverseRequestGate gate(int perWindow, long executionMsPerWindow, double headroom, Duration maxWait, Clock clock) {
        return new DataverseRequestGate("app-user", new DataverseRequestGate.Limits(perWindow, executionMsPerWindow, Duration.ofSeconds(1),
                headroom, 10, maxWait), clock, meters);
    }

    /** A request whose answer is not looked at: its estimate stays reserved at its send time. */
    private static void send(DataverseRequestGate gate, long costMs) throws InterruptedException {
        gate.acquire(costMs);
        gate.release();
    }

    /** A request answered with {@code remaining}: what the gate books for it. */
    private static java.util.OptionalLong answered(DataverseRequestGate gate, long costMs, RateLimitHeaders.Remaining remaining)
            throws InterruptedException {
        DataverseRequestGate.Ticket ticket = gate.acquire(costMs);
        gate.release();
        return gate.onResponse(ticket, remaining);
    }

    @Test
    void afterA429EveryRequestOfThatUserWaitsForRetryAfter() throws Exception {
        DataverseRequestGate gate = gate(1000, 10, Duration.ofSeconds(5));
        gate.pauseFor(Duration.ofMillis(300));
        assertThat(gate.millisUntilSendable()).isBetween(200L, 300L);
        long start = System.nanoTime();
        send(gate, 5);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(250));
        assertThat(meters.get("dataverse.limiter.wait").timer().count()).isEqualTo(1);
    }

    @Test
    void aPauseLongerThanMaxWaitFailsAtOnceAsATransientPacingTimeout() {
        DataverseRequestGate gate = gate(1000, 10, Duration.ofMillis(100));
        gate.pauseFor(Duration.ofSeconds(30));
        assertThatThrownBy(() -> gate.acquire(5)).isInstanceOf(DataverseRequestGate.PacingTimeoutException.class)
                .hasMessageContaining("paused by a 429");
    }

    @Test
    void theWindowBudgetMakesTheNextRequestWait() throws Exception {
        DataverseRequestGate gate = gate(2, 10, Duration.ofSeconds(5));
        send(gate, 5);
        send(gate, 5);
        assertThat(gate.millisUntilSendable()).isGreaterThan(500L); // the third waits for the 1 s window to slide
    }

    @Test
    void concurrencyIsCapped() throws Exception {
        DataverseRequestGate gate = gate(1000, 1, Duration.ofMillis(100));
        gate.acquire(5);
        assertThatThrownBy(() -> gate.acquire(5)).isInstanceOf(DataverseRequestGate.PacingTimeoutException.class)
                .hasMessageContaining("concurrent requests");
        gate.release();
        send(gate, 5);
    }

    @Test
    void theExecutionTimeBudgetHoldsRequestsWhenSpentAndFreesAsTheWindowSlides() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 100, 1.0, Duration.ofSeconds(5), clock);
        send(gate, 60); // at 0
        clock.set(200);
        send(gate, 30); // at 200: 90 of 100 ms spent, far from the request limit
        clock.set(300);
        assertThat(gate.millisUntilSendable(10)).isZero();
        assertThat(gate.millisUntilSendable(20)).isEqualTo(700); // until the 60 ms of t=0 leave the window at 1000
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(10);
        clock.set(1000);
        assertThat(gate.millisUntilSendable(20)).isZero();
        assertThat(gate.millisUntilSendable(80)).isEqualTo(200); // 30 + 80 > 100: also the 30 ms of t=200 must leave
        send(gate, 70);
        assertThat(gate.executionMsRemainingEstimate()).isZero();
    }

    @Test
    void aRequestThatWouldWaitLongerThanMaxWaitForExecutionTimeFailsAsAPacingTimeout() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 100, 1.0, Duration.ofMillis(100), clock);
        send(gate, 90);
        assertThatThrownBy(() -> gate.acquire(20)).isInstanceOf(DataverseRequestGate.PacingTimeoutException.class)
                .hasMessageContaining("no execution time");
        clock.set(950);
        send(gate, 20); // 50 ms until the window frees: within max-wait (sleeps those 50 ms)
    }

    @Test
    void theHeadroomAppliesToTheExecutionTimeToo() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 1000, 0.9, Duration.ofSeconds(5), clock);
        assertThat(gate.executionMsBudget()).isEqualTo(900);
        send(gate, 850);
        assertThat(gate.millisUntilSendable(50)).isZero();
        assertThat(gate.millisUntilSendable(51)).isEqualTo(1000);
    }

    @Test
    void whenTheServerReportsLessTimeThanTheGateBelievesTheGateTrustsTheServer() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 1000, 0.9, Duration.ofSeconds(5), clock);
        // the gate believes 900 remain after this request; another client of the same user (or a low estimate)
        // spent 400 more
        answered(gate, 100, new RateLimitHeaders.Remaining(U, 500));
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(500);
        // 500 used + 450 > 900: the next request waits until enough leaves the window (here: all of t=0)
        clock.set(10);
        assertThat(gate.millisUntilSendable(400)).isZero();
        assertThat(gate.millisUntilSendable(450)).isEqualTo(990);
        clock.set(1000);
        assertThat(gate.millisUntilSendable(450)).isZero();
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(1000);
    }

    @Test
    void timingNoiseIsNotBookedAndAServerReportingMoreThanTheGateBelievesChangesNothing() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 1000, 0.9, Duration.ofSeconds(5), clock);
        // the first report (no baseline yet): the estimate is booked; the server counts 5 more: noise (1% = 10)
        answered(gate, 100, new RateLimitHeaders.Remaining(U, 895));
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(900);
        answered(gate, 100, RateLimitHeaders.NOTHING); // no headers: unknown, not zero; the estimate is booked
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(800);
        // the server says all is left (e.g. another web server answered): the gate keeps its own, more cautious view
        answered(gate, 100, new RateLimitHeaders.Remaining(U, 1000));
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(700);
    }

    @Test
    void whenTheServerReportsFewerRequestsThanTheNextNeedsRequestsWaitForTheWindow() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(100, 1_000_000, 0.9, Duration.ofSeconds(5), clock);
        answered(gate, 5, new RateLimitHeaders.Remaining(0, U)); // others used the rest of this user's 100
        clock.set(1);
        assertThat(gate.millisUntilSendable()).isEqualTo(999);
        clock.set(1000);
        assertThat(gate.millisUntilSendable()).isZero();
    }

    @Test
    void theCorrectionBooksWhatTheServerCountsBeyondTheGate() {
        // limit 1000, the gate holds 300
        assertThat(DataverseRequestGate.correction(1000, 300, 500, 10)).isEqualTo(200); // the server used 500
        assertThat(DataverseRequestGate.correction(1000, 300, 700, 10)).isZero(); // exactly as believed
        assertThat(DataverseRequestGate.correction(1000, 300, 800, 10)).isZero(); // less used than believed: kept
        assertThat(DataverseRequestGate.correction(1000, 300, 695, 10)).isZero(); // 5 off: noise (tolerance 10)
        // near the end of the budget even a small difference counts: less is left than the next request needs
        assertThat(DataverseRequestGate.correction(1000, 995, 3, 10)).isEqualTo(2);
    }

    @Test
    void theCostTheServerChargedIsTheDropOfTheHeaderPlusWhatLeftTheWindow() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 1000, 1.0, Duration.ofSeconds(5), clock);
        assertThat(answered(gate, 10, new RateLimitHeaders.Remaining(U, 990))).isEmpty(); // the first report: no baseline
        clock.set(100);
        assertThat(answered(gate, 10, new RateLimitHeaders.Remaining(U, 975))).hasValue(15);
        assertThat(gate.executionMsRemainingEstimate()).as("the budget holds estimates; 5 off is noise").isEqualTo(980);
        clock.set(1000); // the 10 of t=0 left the window: the server gave them back, then charged this one 20
        assertThat(answered(gate, 10, new RateLimitHeaders.Remaining(U, 975 + 10 - 20))).hasValue(20);
        // the estimates missed 15 ms (5 + 10) by now: beyond the tolerance, the gate books them
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(965);
    }

    @Test
    void whatAnEstimateReservedIsBookedWhenTheAnswerIsInSoItLeavesTheWindowWhenTheServersCharge() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 100, 1.0, Duration.ofSeconds(5), clock);
        DataverseRequestGate.Ticket ticket = gate.acquire(60);
        gate.release();
        clock.set(400); // a slow request: Dataverse charges it when it has run
        gate.onResponse(ticket, RateLimitHeaders.NOTHING);
        clock.set(1000);
        assertThat(gate.millisUntilSendable(60)).isEqualTo(400); // not free at 1000 (send time + window) but at 1400
        gate.onNoAnswer(gate.acquire(30)); // no answer: its estimate stays, booked at that time
        assertThat(gate.executionMsRemainingEstimate()).isEqualTo(10);
    }

    @Test
    void noRequestCountsOnAnUnansweredOneLeavingTheWindowBeforeRequestsUsuallyAnswer() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 100, 1.0, Duration.ofSeconds(5), clock);
        DataverseRequestGate.Ticket slow = gate.acquire(60);
        gate.release();
        clock.set(400);
        gate.onResponse(slow, RateLimitHeaders.NOTHING); // requests take up to 400 ms here
        gate.acquire(30); // in flight from 400: its cost may be booked as late as 800, leaving at 1800
        gate.release();
        assertThat(gate.millisUntilSendable(20)).isEqualTo(1800 - 400);
        clock.set(1000);
        gate.onResponse(gate.acquire(5), RateLimitHeaders.NOTHING); // a quick one: the lag decays to 400 * 0.95
        gate.release();
        assertThat(gate.millisUntilSendable(20)).isEqualTo(400 + 1000 + 380 - 1000);
    }

    @Test
    void answersThatOvertookEachOtherStillAddUpToWhatTheServerCharged() throws Exception {
        MutableClock clock = new MutableClock(0);
        DataverseRequestGate gate = gate(1000, 10_000, 1.0, Duration.ofSeconds(5), clock);
        answered(gate, 10, new RateLimitHeaders.Remaining(U, 10_000 - 10)); // baseline
        DataverseRequestGate.Ticket a = gate.acquire(10);
        DataverseRequestGate.Ticket b = gate.acquire(10);
        DataverseRequestGate.Ticket c = gate.acquire(10);
        // the server ran b (30), then a (20), then c (40); the answer of a is handled before the one of b
        assertThat(gate.onResponse(a, new RateLimitHeaders.Remaining(U, 9_990 - 30 - 20))).hasValue(50);
        assertThat(gate.onResponse(b, new RateLimitHeaders.Remaining(U, 9_990 - 30))).hasValue(0);
        assertThat(gate.onResponse(c, new RateLimitHeaders.Remaining(U, 9_990 - 30 - 20 - 40))).hasValue(40);
        // 50 + 0 + 40: what the server charged, though not each to its own answer
    }
}
