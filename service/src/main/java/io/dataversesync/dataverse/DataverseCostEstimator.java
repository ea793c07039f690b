package io.dataversesync.dataverse;

/**
 * What one Dataverse request will cost in execution time (the milliseconds Dataverse counts against the user's
 * 1,200,000 per 300 s): {@code request overhead + rows × cost per row of its kind} (read: per row returned; write:
 * per operation, a $batch pays for each one in full). One per application user.
 *
 * <p>It starts from configured priors and learns with an exponentially weighted moving average: an observed cost
 * {@code c} for requests predicted at {@code p} moves the overhead and the kind's per-row cost by the weight times
 * {@code c / p - 1} (each in proportion to its share of the prediction), i.e. the prediction moves by the weight
 * toward what was observed. The ratio is capped at 4, so that one odd observation cannot wreck the estimate. The
 * first answer the server reports for a kind seeds it instead (weight 1, ratio capped at {@value #MAX_SEED_RATIO}),
 * as a moving average starts from its first sample: a prior is a guess, and a prior four times too low, learned at
 * 0.2 a step, stayed too low for some sixty answers, long enough for the requests in flight to cross the
 * execution-time limit (a 429 at the start of the benchmark's users scenario). That first answer is exact: the
 * client sends one request of a kind at a time until it is in (DataverseClient.Lane#untilFirstAnswer). Two sources:
 * <ul>
 * <li>the cost the server reported ({@link #learnFromServer}: how much {@code x-ms-ratelimit-time-remaining-xrm-requests}
 * dropped across the answer, see {@link DataverseRequestGate#onResponse}), authoritative: once one arrived,
 * durations are no longer used. With requests in flight together, the drop is lumpy (one answer may carry the
 * charge of another that overtook it, the other none), so these are learned {@value #ANSWERS_PER_STEP} answers of
 * a kind at a time: their summed charge against their summed prediction;</li>
 * <li>the request's duration ({@link #learnFromDuration}): an upper bound of the execution time (it includes the
 * network), learned per answer until the server reports costs.</li>
 * </ul>
 * The estimate does not have to be exact: the gate books what the server reported and reconciles its budget with
 * the headers after every answer. The estimate decides how long a request waits for the execution-time budget
 * before it is sent and how large a batch may grow.
 */
public final class DataverseCostEstimator {
    public enum Kind { READ, WRITE }

    /** Starting values in milliseconds (dataverse.limits.cost.*). */
    public record Priors(double readRowMs, double writeMs, double requestMs) {
    }

    /** Server-reported answers of one kind summed into one learning step. */
    static final int ANSWERS_PER_STEP = 8;
    private static final double MIN_MS = 0.01;
    private static final double MAX_RATIO = 4;
    static final int MAX_SEED_RATIO = 16;

    private final double weight;
    private final boolean learnFromDurations;
    private double requestMs; // guarded by this
    private double readRowMs; // guarded by this
    private double writeMs; // guarded by this
    private boolean serverReports; // guarded by this
    private final boolean[] seeded = new boolean[Kind.values().length]; // guarded by this: a server step was learned
    // server-reported answers not learned yet, per kind (guarded by this)
    private final int[] pendingAnswers = new int[Kind.values().length];
    private final double[] pendingObserved = new double[Kind.values().length];
    private final double[] pendingPredicted = new double[Kind.values().length];

    /** @param weight of a new observation in the moving average, in (0, 1] */
    public DataverseCostEstimator(Priors priors, double weight) {
        this(priors, weight, true);
    }

    /**
     * @param learnFromDurations whether durations teach the estimate until the server reports costs. Off in the
     *        service by default (dataverse.limits.cost.learn-from-durations): on a busy host a duration measures
     *        queueing for CPU and connections more than execution, and an inflated estimate would cut batches small
     *        and hold requests the limits allow. Real Dataverse sends the rate-limit headers on every answer, so the
     *        priors only have to last until the first one.
     */
    public DataverseCostEstimator(Priors priors, double weight, boolean learnFromDurations) {
        this.learnFromDurations = learnFromDurations;
        if (!(weight > 0 && weight <= 1)) {
            throw new IllegalArgumentException("the learning rate must be in (0, 1], was " + weight);
        }
        if (priors.readRowMs() < 0 || priors.writeMs() < 0 || priors.requestMs() < 0) {
            throw new IllegalArgumentException("cost priors must not be negative: " + priors);
        }
        this.weight = weight;
        this.requestMs = Math.max(MIN_MS, priors.requestMs());
        this.readRowMs = Math.max(MIN_MS, priors.readRowMs());
        this.writeMs = Math.max(MIN_MS, priors.writeMs());
    }

    /** Estimated execution milliseconds of one request of {@code rows} rows (at least 1). */
    public synchronized long estimate(Kind kind, int rows) {
        return Math.max(1, (long) Math.ceil(predict(kind, rows)));
    }

    /** The server charged {@code observedMs} for this request (learned with the other answers of its step). */
    public synchronized void learnFromServer(Kind kind, int rows, long observedMs) {
        if (observedMs < 0) {
            return;
        }
        serverReports = true;
        int k = kind.ordinal();
        if (!seeded[k]) {
            learn(kind, observedMs / predict(kind, rows), 1, MAX_SEED_RATIO);
            seeded[k] = true;
            return;
        }
        pendingAnswers[k]++;
        pendingObserved[k] += observedMs;
        pendingPredicted[k] += predict(kind, rows);
        if (pendingAnswers[k] >= ANSWERS_PER_STEP) {
            learn(kind, pendingObserved[k] / pendingPredicted[k], weight, MAX_RATIO);
            pendingAnswers[k] = 0;
            pendingObserved[k] = 0;
            pendingPredicted[k] = 0;
        }
    }

    /** The request took {@code durationMs} from sending to its answer; ignored once the server reports costs. */
    public synchronized void learnFromDuration(Kind kind, int rows, long durationMs) {
        if (learnFromDurations && !serverReports && durationMs >= 0) {
            learn(kind, durationMs / predict(kind, rows), weight, MAX_RATIO);
        }
    }

    /** The current model, for tests and logs: {request, read row, write} in milliseconds. */
    public synchronized double[] model() {
        return new double[] {requestMs, readRowMs, writeMs};
    }

    private double predict(Kind kind, int rows) {
        return requestMs + Math.max(0, rows) * (kind == Kind.READ ? readRowMs : writeMs);
    }

    private void learn(Kind kind, double observedToPredicted, double stepWeight, double maxRatio) {
        double factor = 1 + stepWeight * (Math.min(maxRatio, observedToPredicted) - 1);
        requestMs = Math.max(MIN_MS, requestMs * factor);
        if (kind == Kind.READ) {
            readRowMs = Math.max(MIN_MS, readRowMs * factor);
        } else {
            writeMs = Math.max(MIN_MS, writeMs * factor);
        }
    }
}
