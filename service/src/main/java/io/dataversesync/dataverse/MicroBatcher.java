package io.dataversesync.dataverse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Gathers requests that arrive from many consumer threads within a short window (or until the batch is full)
 * and sends them as one. Each caller blocks for its own result, so every message keeps its own settlement in
 * its own transaction.
 *
 * Why not Camel's aggregate EIP: the aggregator completes a new, combined exchange on another thread, while
 * here each queue message must stay on its consumer thread (synchronous, transacted JMS; Service Bus lock
 * renewal in 4.17) and get back its own row or its own error.
 *
 * A batch is cut (sent) when it reaches maxSize, when its window closes, or when the caller's {@link Admission}
 * refuses the next request (e.g. the combined request would cost too much): that request then opens the next batch.
 *
 * @param <R> one request (a row id, a write-back)
 * @param <S> its result, in the same order as the requests handed to the flusher
 */
public final class MicroBatcher<R, S> {
    private final String name;
    private final int maxSize;
    private final long windowMillis;
    private final Function<List<R>, List<S>> flusher;
    private final ScheduledExecutorService timer;
    private final ExecutorService workers;
    private final java.util.function.LongSupplier millisUntilSendable;
    private final Admission<R> admission;
    private Batch current; // guarded by this

    /** Whether an open batch may take one more request (maxSize applies anyway); a lone request is always taken. */
    @FunctionalInterface
    public interface Admission<R> {
        /** @param batch the requests of the open batch (not empty; do not keep or change it) */
        boolean admits(List<R> batch, R next);

        static <R> Admission<R> any() {
            return (batch, next) -> true;
        }
    }

    public MicroBatcher(String name, int maxSize, Duration window, Function<List<R>, List<S>> flusher,
            ScheduledExecutorService timer, ExecutorService workers) {
        this(name, maxSize, window, flusher, timer, workers, () -> 0L);
    }

    /**
     * @param millisUntilSendable how long a request would wait for the pacing gate now: while it would wait, an
     *                            open batch keeps collecting (up to maxSize), so scarce requests carry more rows
     */
    public MicroBatcher(String name, int maxSize, Duration window, Function<List<R>, List<S>> flusher,
            ScheduledExecutorService timer, ExecutorService workers, java.util.function.LongSupplier millisUntilSendable) {
        this(name, maxSize, window, flusher, timer, workers, millisUntilSendable, Admission.any());
    }

    /** @param admission whether the open batch may grow by one more request; refused, the batch is sent without it */
    public MicroBatcher(String name, int maxSize, Duration window, Function<List<R>, List<S>> flusher,
            ScheduledExecutorService timer, ExecutorService workers, java.util.function.LongSupplier millisUntilSendable,
            Admission<R> admission) {
        if (maxSize < 1) {
            throw new IllegalArgumentException("maxSize must be >= 1");
        }
        this.name = name;
        this.maxSize = maxSize;
        this.windowMillis = Math.max(0, window.toMillis());
        this.flusher = flusher;
        this.timer = timer;
        this.workers = workers;
        this.millisUntilSendable = millisUntilSendable;
        this.admission = admission;
    }

    /** Adds the request to the open batch and waits for its result; the flusher's exception is rethrown as is. */
    public S submit(R request, Duration timeout) throws Exception {
        CompletableFuture<S> result = new CompletableFuture<>();
        Batch full = null;
        Batch cut = null;
        synchronized (this) {
            if (current != null && !admission.admits(java.util.Collections.unmodifiableList(current.requests), request)) {
                cut = current; // the request does not fit: the open batch goes as it is, the request starts the next
                current = null;
            }
            if (current == null) {
                Batch opened = new Batch();
                current = opened;
                if (maxSize > 1 && windowMillis > 0) {
                    timer.schedule(() -> flushOnTimer(opened), windowMillis, TimeUnit.MILLISECONDS);
                }
            }
            current.add(request, result);
            if (current.requests.size() >= maxSize || windowMillis == 0) {
                full = current;
                current = null;
            }
        }
        if (cut != null) {
            workers.execute(cut::send); // this thread stays with its own batch, which may fill up meanwhile
        }
        if (full != null) {
            full.send(); // the thread that filled the batch sends it: no hand-over when load is high
        }
        try {
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            throw e;
        } catch (TimeoutException e) {
            throw new TimeoutException(name + ": no answer within " + timeout.toMillis() + " ms");
        }
    }

    private void flushOnTimer(Batch batch) {
        long wait = millisUntilSendable.getAsLong();
        synchronized (this) {
            if (current != batch) {
                return; // already sent because it filled up
            }
            if (wait > 0) {
                // it could not be sent yet anyway: keep the batch open until it could, or until it is full
                timer.schedule(() -> flushOnTimer(batch), Math.min(wait, 1000), TimeUnit.MILLISECONDS);
                return;
            }
            current = null;
        }
        workers.execute(batch::send);
    }

    private final class Batch {
        final List<R> requests = new ArrayList<>();
        final List<CompletableFuture<S>> results = new ArrayList<>();

        void add(R request, CompletableFuture<S> result) {
            requests.add(request);
            results.add(result);
        }

        void send() {
            try {
                List<S> answers = flusher.apply(requests);
                if (answers.size() != requests.size()) {
                    throw new IllegalStateException(name + ": " + answers.size() + " answers for " + requests.size() + " requests");
                }
                for (int i = 0; i < answers.size(); i++) {
                    results.get(i).complete(answers.get(i));
                }
            } catch (Throwable t) {
                results.forEach(r -> r.completeExceptionally(t));
            }
        }
    }
}
