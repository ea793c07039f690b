package io.dataversesync.dataverse;

/**
 * How long one change may hold its read or write-back batch open: a pure decision (tested in BatchWaitTest).
 *
 * <p>A batch window saves Dataverse requests and costs latency. For a change that has already waited seconds (a
 * burst's backlog, a slow target's trickle, a retry), a window of a few hundred milliseconds adds little and
 * saves much: it waits the whole window. A fresh change at light load would see its latency doubled by the same
 * window: it waits at most {@code ageShare} of the time it has already taken (its age, from its announcement), so
 * batching never adds more than that share to anyone's latency. What a short wait costs in requests is bounded by
 * the batcher's group commit (MicroBatcher#maxInFlight: while a batch is out, the next keeps collecting), and it is
 * only paid out of spare budget: once a user's sliding-window budget (requests or execution time, whichever is
 * used more) is {@code spareBudgetBelow} used, every change waits the whole window again, so that sustained load
 * converges to what the service protection limits allow instead of spending them on latency.
 *
 * @param ageShare         share of a change's age it may be asked to wait; 0 turns the shortening off
 * @param spareBudgetBelow the budget use (0..1, see DataverseClient#budgetUsed) from which windows are whole again
 */
public record BatchWait(double ageShare, double spareBudgetBelow) {
    public BatchWait {
        if (!(ageShare >= 0) || !(spareBudgetBelow >= 0 && spareBudgetBelow <= 1)) {
            throw new IllegalArgumentException("sync.batching.age-share must be >= 0 and sync.batching.spare-budget-below in 0..1");
        }
    }

    /** Whole windows always: the behaviour before this existed. */
    public static BatchWait wholeWindows() {
        return new BatchWait(0, 0);
    }

    /**
     * @param windowMillis the batcher's window
     * @param ageMillis    how long ago the change was announced (negative or unknown: treated as fresh)
     * @param budgetUsed   how much of the least used user's budget is spent, 0..1; asked only when the age would
     *                     shorten the window (it locks every user's gate: not for each late change of a burst)
     * @return how long this change may hold its batch open, 0..windowMillis
     */
    public long allowanceMillis(long windowMillis, long ageMillis, java.util.function.DoubleSupplier budgetUsed) {
        double share = ageShare * Math.max(0, ageMillis);
        if (ageShare <= 0 || share >= windowMillis || !(budgetUsed.getAsDouble() < spareBudgetBelow)) {
            return windowMillis;
        }
        return (long) Math.max(0, share);
    }
}
