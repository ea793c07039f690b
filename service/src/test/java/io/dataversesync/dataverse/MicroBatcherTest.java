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
}
