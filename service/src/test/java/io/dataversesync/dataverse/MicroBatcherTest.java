package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MicroBatcherTest {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final ExecutorService workers = Executors.newCachedThreadPool();
    private final ExecutorService callers = Executors.newFixedThreadPool(20);

    @AfterEach
    void stop() {
        timer.shutdownNow();
        workers.shutdownNow();
        callers.shutdownNow();
    }

    @Test
    void concurrentRequestsGoAsFewBatchesAndEachCallerGetsItsOwnAnswer() throws Exception {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        MicroBatcher<Integer, String> batcher = new MicroBatcher<>("test", 10, Duration.ofMillis(50), batch -> {
            batches.add(List.copyOf(batch));
            return batch.stream().map(i -> "answer-" + i).toList();
        }, timer, workers);

        List<Future<String>> answers = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            int request = i;
            answers.add(callers.submit(() -> batcher.submit(request, Duration.ofSeconds(5))));
        }
        for (int i = 0; i < 20; i++) {
            assertThat(answers.get(i).get()).isEqualTo("answer-" + i);
        }
        assertThat(batches).hasSizeLessThan(20);
        assertThat(batches).allSatisfy(b -> assertThat(b).hasSizeLessThanOrEqualTo(10));
        assertThat(batches.stream().mapToInt(List::size).sum()).isEqualTo(20);
    }

    @Test
    void aLoneRequestIsSentWhenTheWindowCloses() throws Exception {
        MicroBatcher<String, String> batcher = new MicroBatcher<>("test", 100, Duration.ofMillis(20),
                batch -> batch.stream().map(String::toUpperCase).toList(), timer, workers);
        assertThat(batcher.submit("a", Duration.ofSeconds(2))).isEqualTo("A");
    }

    @Test
    void aFailedBatchFailsEveryCallerWithTheSameException() {
        MicroBatcher<String, String> batcher = new MicroBatcher<>("test", 100, Duration.ofMillis(5), batch -> {
            throw new IllegalStateException("Dataverse unavailable");
        }, timer, workers);
        assertThatThrownBy(() -> batcher.submit("a", Duration.ofSeconds(2))).isInstanceOf(IllegalStateException.class)
                .hasMessage("Dataverse unavailable");
    }

    @Test
    void whilePacingHoldsRequestsBackTheOpenBatchKeepsCollecting() throws Exception {
        long openUntil = System.currentTimeMillis() + 300;
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        MicroBatcher<Integer, Integer> batcher = new MicroBatcher<>("test", 100, Duration.ofMillis(10), batch -> {
            sizes.add(batch.size());
            return batch;
        }, timer, workers, () -> Math.max(0, openUntil - System.currentTimeMillis()));

        List<Future<Integer>> answers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int request = i;
            answers.add(callers.submit(() -> batcher.submit(request, Duration.ofSeconds(5))));
            Thread.sleep(20); // far apart compared with the 10 ms window
        }
        for (Future<Integer> answer : answers) {
            answer.get();
        }
        assertThat(sizes).containsExactly(10); // one request once the gate opened, not ten
    }

    @Test
    void maxSizeOneSendsEachRequestAtOnce() throws Exception {
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        MicroBatcher<String, String> batcher = new MicroBatcher<>("test", 1, Duration.ofSeconds(10), batch -> {
            sizes.add(batch.size());
            return batch;
        }, timer, workers);
        assertThat(batcher.submit("x", Duration.ofMillis(500))).isEqualTo("x");
        assertThat(sizes).containsExactly(1);
    }

    @Test
    void aBatchIsCutWhenTheNextRequestWouldMakeItCostMoreThanTheCap() throws Exception {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        // what the caller decides: one request costs 5 + 10 per row and may cost at most 35, so 3 rows a batch
        MicroBatcher.Admission<Integer> withinCost = (batch, next) -> 5 + 10L * (batch.size() + 1) <= 35;
        MicroBatcher<Integer, Integer> batcher = new MicroBatcher<>("test", 100, Duration.ofMillis(200), batch -> {
            batches.add(List.copyOf(batch));
            return batch;
        }, timer, workers, () -> 0L, withinCost);

        List<Future<Integer>> answers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int request = i;
            answers.add(callers.submit(() -> batcher.submit(request, Duration.ofSeconds(5))));
        }
        for (int i = 0; i < 10; i++) {
            assertThat(answers.get(i).get()).isEqualTo(i); // each caller still gets its own answer
        }
        assertThat(batches).allSatisfy(b -> assertThat(b).hasSizeLessThanOrEqualTo(3));
        assertThat(batches.stream().mapToInt(List::size).sum()).isEqualTo(10);
        assertThat(batches).hasSizeGreaterThanOrEqualTo(4);
    }

    @Test
    void aLoneRequestGoesEvenWhenItAloneCostsMoreThanTheCap() throws Exception {
        MicroBatcher<String, String> batcher = new MicroBatcher<>("test", 100, Duration.ofMillis(10), batch -> batch, timer, workers,
                () -> 0L, (batch, next) -> false);
        assertThat(batcher.submit("huge", Duration.ofSeconds(2))).isEqualTo("huge");
    }

    @Test
    void aRequestThatMayNotWaitGoesAtOnceInsteadOfAfterTheWindow() throws Exception {
        MicroBatcher<String, String> batcher = new MicroBatcher<>("test", 100, Duration.ofSeconds(30), batch -> batch, timer, workers);
        // with the 30 s window it would time out after 5 s
        assertThat(batcher.submit("now", 0, Duration.ofSeconds(5))).isEqualTo("now");
    }

    @Test
    void whileABatchIsOutTheNextKeepsCollectingAndGoesWhenItComesBack() throws Exception {
        java.util.concurrent.CountDownLatch firstOut = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch releaseFirst = new java.util.concurrent.CountDownLatch(1);
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        MicroBatcher<Integer, Integer> batcher = new MicroBatcher<Integer, Integer>("test", 100, Duration.ofSeconds(30),
                holdingTheBatchWith(0, firstOut, releaseFirst, batches), timer, workers).maxInFlight(1);

        Future<Integer> first = callers.submit(() -> batcher.submit(0, 0, Duration.ofSeconds(10)));
        firstOut.await();
        List<Future<Integer>> next = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            int request = i;
            next.add(callers.submit(() -> batcher.submit(request, 0, Duration.ofSeconds(10))));
        }
        // every one of them is in the open batch, none sent: the first is still out
        long until = System.currentTimeMillis() + 5_000;
        while (waitingIn(batcher) < 5 && System.currentTimeMillis() < until) {
            Thread.sleep(5);
        }
        assertThat(waitingIn(batcher)).isEqualTo(5);
        assertThat(batches).hasSize(1);
        releaseFirst.countDown();
        assertThat(first.get()).isZero();
        for (int i = 0; i < 5; i++) {
            assertThat(next.get(i).get()).isEqualTo(i + 1);
        }
        assertThat(batches).extracting(List::size).containsExactly(1, 5);
    }

    @Test
    void aBatchThatWaitsForOneOutStillGoesWhenItsWindowCloses() throws Exception {
        java.util.concurrent.CountDownLatch releaseFirst = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch firstOut = new java.util.concurrent.CountDownLatch(1);
        MicroBatcher<String, String> batcher = new MicroBatcher<String, String>("test", 100, Duration.ofMillis(100),
                holdingTheBatchWith("first", firstOut, releaseFirst, new CopyOnWriteArrayList<>()), timer, workers).maxInFlight(1);
        Future<String> first = callers.submit(() -> batcher.submit("first", 0, Duration.ofSeconds(10)));
        firstOut.await();
        try {
            assertThat(batcher.submit("second", 0, Duration.ofSeconds(5))).isEqualTo("second"); // the first is still out
        } finally {
            releaseFirst.countDown();
        }
        assertThat(first.get()).isEqualTo("first");
    }

    @Test
    void withTwoOutAllowedADueBatchGoesHalfARoundTripAfterTheLastNotAtOnceNorWhenItComesBack() throws Exception {
        // every batch takes 400 ms to come back; the first one teaches the batcher its round trip
        List<Long> startedAt = new CopyOnWriteArrayList<>();
        MicroBatcher<Integer, Integer> batcher = new MicroBatcher<Integer, Integer>("test", 100, Duration.ofSeconds(30), batch -> {
            startedAt.add(System.nanoTime());
            try {
                Thread.sleep(400);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return batch;
        }, timer, workers).maxInFlight(2);
        assertThat(batcher.submit(0, 0, Duration.ofSeconds(10))).isZero();

        Future<Integer> first = callers.submit(() -> batcher.submit(1, 0, Duration.ofSeconds(10)));
        long until = System.currentTimeMillis() + 5_000;
        while (startedAt.size() < 2 && System.currentTimeMillis() < until) {
            Thread.sleep(1);
        }
        Future<Integer> second = callers.submit(() -> batcher.submit(2, 0, Duration.ofSeconds(10)));
        assertThat(first.get()).isEqualTo(1);
        assertThat(second.get()).isEqualTo(2);

        long apart = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(startedAt.get(2) - startedAt.get(1));
        // not back to back (a second one may be out, but only half a round trip after the first), and not after the
        // first came back (400 ms), as with one out
        assertThat(apart).isBetween(190L, 390L);
    }

    /** A flusher that answers each request with itself, and holds the batch containing {@code held} until released. */
    private static <T> java.util.function.Function<List<T>, List<T>> holdingTheBatchWith(T held, java.util.concurrent.CountDownLatch out,
            java.util.concurrent.CountDownLatch release, List<List<T>> batches) {
        return batch -> {
            batches.add(List.copyOf(batch));
            if (batch.contains(held)) {
                out.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return batch;
        };
    }

    private static int waitingIn(MicroBatcher<?, ?> batcher) {
        return batcher.openBatchSize();
    }
}
