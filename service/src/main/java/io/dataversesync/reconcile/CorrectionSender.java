package io.dataversesync.reconcile;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** Queues a run's corrections through the normal pipeline ({@link Reconciler.Corrector}). */
final class CorrectionSender {
    private final Reconciler.Corrector corrector;
    private final int senders;

    CorrectionSender(Reconciler.Corrector corrector, int senders) {
        this.corrector = corrector;
        this.senders = senders;
    }

    /**
     * Sends the corrections, several at once (each is one persistent send to the outbound queue; there is no order
     * to keep: one correction per key and target). Stops at the first failure; what was sent is counted.
     */
    void correct(ReconcileRun run) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(senders, run.corrections.size())));
        AtomicLong sent = new AtomicLong();
        AtomicReference<Exception> failure = new AtomicReference<>();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (ReconcileRun.Correction c : run.corrections) {
                futures.add(pool.submit(() -> {
                    if (failure.get() != null) {
                        return;
                    }
                    try {
                        corrector.send(c.entity(), c.key(), c.operation(), c.target(), run.runId);
                        sent.incrementAndGet();
                    } catch (Exception e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            run.sent = sent.get();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("sending corrections failed: " + failure.get().getMessage(), failure.get());
        }
    }
}
