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
 * <p>Each request may also bring a shorter wait of its own ({@link #submit(Object, long, Duration)}, see
 * {@link BatchWait}): the batch then goes by the earliest deadline of its requests, like a group commit: while
 * maxInFlight of this batcher's batches are out (set with {@link #maxInFlight(int)}), a batch whose deadline has
 * passed keeps collecting until one comes back (never beyond its window). So a change that cannot afford to wait
 * the window still shares its request with everything that arrived during the previous one, and the request rate
 * of a batcher stays at about maxInFlight per round trip however fast changes come. With more than one allowed out,
 * such a batch also goes no sooner than a round trip ÷ maxInFlight after the last one went (the round trip measured,
 * a moving average): batches sent back to back would leave the next request the whole round trip to wait again, so
 * spaced they halve the longest wait (at 2) for the same number of requests.
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
    private volatile int maxInFlight; // 0: no limit
    private Batch current; // guarded by this
    private int inFlight; // guarded by this: batches handed to the flusher and not back yet
    private long lastDispatchNanos; // guarded by this: when the last batch was handed to the flusher
    private long roundTripNanos; // guarded by this: moving average of how long a batch took to come back (0: none yet)

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

    /**
     * How many of this batcher's batches may be out at once before a batch whose (short) deadline has passed waits
     * for one to come back; 0 (the default): no limit. Above 1, such a batch also waits until a round trip ÷ batches
     * has passed since the last one went. Full batches and batches whose window closed always go.
     */
    public MicroBatcher<R, S> maxInFlight(int batches) {
        this.maxInFlight = Math.max(0, batches);
        return this;
    }

    /** How many requests wait in the open batch now (0 when none is open). */
    public synchronized int openBatchSize() {
        return current == null ? 0 : current.requests.size();
    }

    /** Adds the request to the open batch and waits for its result; the flusher's exception is rethrown as is. */
    public S submit(R request, Duration timeout) throws Exception {
        return submit(request, windowMillis, timeout);
    }

    /**
     * As {@link #submit(Object, Duration)}, but this request lets its batch wait at most {@code maxWaitMillis}
     * (capped by the window) before it goes, as far as {@link #maxInFlight(int)} lets it go.
     */
    public S submit(R request, long maxWaitMillis, Duration timeout) throws Exception {
        CompletableFuture<S> result = new CompletableFuture<>();
        Batch full = null;
        Batch cut = null;
        synchronized (this) {
            if (current != null && !admission.admits(java.util.Collections.unmodifiableList(current.requests), request)) {
                cut = current; // the request does not fit: the open batch goes as it is, the request starts the next
                current = null;
                dispatched();
            }
            if (current == null) {
                Batch opened = new Batch(System.nanoTime());
                current = opened;
                if (maxSize > 1 && windowMillis > 0) {
                    timer.schedule(() -> flushOnTimer(opened), windowMillis, TimeUnit.MILLISECONDS);
                }
            }
            current.add(request, result);
            long wait = Math.max(0, Math.min(windowMillis, maxWaitMillis));
            if (current.requests.size() >= maxSize || wait == 0 && nanosUntilDispatchable() == 0) {
                full = current;
                current = null;
                dispatched();
            } else if (wait == 0) {
                current.due = true; // it goes as soon as one of the batches out comes back (sendDue), or once spaced
                checkAgainWhenSpaced(current);
            } else if (wait < windowMillis) {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
                if (deadline < current.deadline) {
                    current.deadline = deadline;
                    Batch batch = current;
                    timer.schedule(() -> flushOnTimer(batch), wait, TimeUnit.MILLISECONDS);
                }
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

    /**
     * How long a batch whose deadline passed must still wait as far as maxInFlight is concerned: 0 = it may go now,
     * -1 = until a batch out comes back, otherwise the nanoseconds left of its spacing (caller holds the lock).
     */
    private long nanosUntilDispatchable() {
        int limit = maxInFlight;
        if (limit <= 0 || inFlight == 0) {
            return 0;
        }
        if (inFlight >= limit) {
            return -1;
        }
        return Math.max(0, roundTripNanos / limit - (System.nanoTime() - lastDispatchNanos));
    }

    /** A batch is handed to the flusher (caller holds the lock). */
    private void dispatched() {
        inFlight++;
        lastDispatchNanos = System.nanoTime();
    }

    /** A due batch held only by its spacing is looked at again when the spacing has passed (caller holds the lock). */
    private void checkAgainWhenSpaced(Batch batch) {
        long spacing = nanosUntilDispatchable();
        if (spacing > 0 && !batch.spacingCheck) { // one check pending per batch, not one per request that joins it
            batch.spacingCheck = true;
            timer.schedule(() -> {
                synchronized (this) {
                    batch.spacingCheck = false;
                }
                flushOnTimer(batch);
            }, spacing, TimeUnit.NANOSECONDS);
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
            boolean windowClosed = System.nanoTime() - batch.openedAt >= TimeUnit.MILLISECONDS.toNanos(windowMillis);
            if (!windowClosed && nanosUntilDispatchable() != 0) {
                // sent when one of the batches out comes back (sendDue), once spaced, or when its window closes
                batch.due = true;
                checkAgainWhenSpaced(batch);
                return;
            }
            current = null;
            dispatched();
        }
        workers.execute(batch::send);
    }

    /**
     * A batch came back after {@code roundTrip} nanoseconds: the open batch goes now if its deadline passed while it
     * waited for that (or once spaced, if another is still out).
     */
    private void sendDue(long roundTrip) {
        Batch due = null;
        synchronized (this) {
            inFlight--;
            roundTripNanos = roundTripNanos == 0 ? roundTrip : roundTripNanos + (roundTrip - roundTripNanos) / 4;
            if (current != null && current.due) {
                if (nanosUntilDispatchable() == 0) {
                    due = current;
                    current = null;
                    dispatched();
                } else {
                    checkAgainWhenSpaced(current);
                }
            }
        }
        if (due != null) {
            workers.execute(due::send);
        }
    }

    private final class Batch {
        final List<R> requests = new ArrayList<>();
        final List<CompletableFuture<S>> results = new ArrayList<>();
        final long openedAt;
        long deadline = Long.MAX_VALUE; // guarded by the batcher: the earliest deadline of its requests (nanoTime)
        boolean due; // guarded by the batcher: its deadline passed while maxInFlight batches were out
        boolean spacingCheck; // guarded by the batcher: a look at it is scheduled for when its spacing has passed

        Batch(long openedAt) {
            this.openedAt = openedAt;
        }

        void add(R request, CompletableFuture<S> result) {
            requests.add(request);
            results.add(result);
        }

        void send() {
            long began = System.nanoTime();
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
            } finally {
                sendDue(System.nanoTime() - began);
            }
        }
    }
}
