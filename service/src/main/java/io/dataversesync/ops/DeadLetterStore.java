package io.dataversesync.ops;

import java.util.List;

/**
 * The dead-letter queues of one transport: {@link ArtemisDeadLetters} (local) and {@link ServiceBusDeadLetters}
 * (production). Selection (which dead letters a request means) is done by the caller on what {@link #browse}
 * returns, the same for both ({@link DeadLetterQuery}); a store only reads, replays and removes.
 */
public interface DeadLetterStore {
    /** Depths of a queue and its dead-letter queue (-1 when the transport cannot tell). */
    record Depth(String queue, long messages, long deadLetters) {
    }

    Depth depth(OpsQueues.OpsQueue queue);

    /** The queue's dead letters in queue order, at most {@code max} (the scan bound). */
    List<DeadLetter> browse(OpsQueues.OpsQueue queue, int max) throws Exception;

    /**
     * Sends each selected dead letter's replay (its {@link ReplayPlan}, due at {@code dueAt[i]} epoch ms), then
     * removes the original, never the other way round. Returns how many were replayed (selected ones already gone
     * are not counted).
     */
    int replay(OpsQueues.OpsQueue queue, List<DeadLetter> selected, List<ReplayPlan> plans, long[] dueAt) throws Exception;

    /** Removes the selected dead letters; returns how many were removed. */
    int purge(OpsQueues.OpsQueue queue, List<DeadLetter> selected) throws Exception;
}
