package io.dataversesync.emulator;

/**
 * What a request costs the Dataverse emulator in server execution time, in milliseconds, for the execution-time
 * limit of service protection: "Combined execution time of incoming requests exceeded limit of 1,200,000
 * milliseconds over time window of 300 seconds" (error 0x80072321,
 * https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#execution-time). Dataverse measures real
 * server time; the emulator has none worth measuring, so it charges this model instead.
 * <p>
 * Every answered API request costs {@link #requestOverheadMs()} plus its operations: a GET {@link #readPerRowMs()}
 * per row returned, a write that creates a row {@link #createMs()}, one that updates a row {@link #updateMs()}, a
 * delete {@link #deleteMs()}. A {@code $batch} is one request (one overhead) whose every operation is charged in
 * full: "Batch operations ... can be very demanding" (same page).
 *
 * @param readPerRowMs      per row a GET returns (a single-row GET returns one)
 * @param createMs          per row a POST or an upsert (PATCH) creates
 * @param updateMs          per row a PATCH updates
 * @param deleteMs          per row a DELETE removes
 * @param requestOverheadMs per request, whatever it does (a $batch pays it once)
 */
public record CostModel(double readPerRowMs, double createMs, double updateMs, double deleteMs,
                        double requestOverheadMs) {

    /** A plausible default: a few milliseconds per request, 1 ms per row read, 10 ms per row written. */
    public static final CostModel DEFAULT = new CostModel(1, 10, 10, 10, 5);

    /** Every request free: the execution-time limit then never triggers. */
    public static final CostModel FREE = new CostModel(0, 0, 0, 0, 0);

    public CostModel {
        check("readPerRowMs", readPerRowMs);
        check("createMs", createMs);
        check("updateMs", updateMs);
        check("deleteMs", deleteMs);
        check("requestOverheadMs", requestOverheadMs);
    }

    private static void check(String name, double value) {
        // the negated test also refuses NaN
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be a finite number >= 0, not " + value);
        }
    }

    /** A GET that returned {@code rows} rows, overhead included. */
    public double costOfRead(int rows) {
        return requestOverheadMs + rows * readPerRowMs;
    }

    /** A single create, update or delete request, overhead included. */
    public double costOfWrite(int creates, int updates, int deletes) {
        return requestOverheadMs + costOfOperations(0, creates, updates, deletes);
    }

    /** Operations without the overhead, e.g. those inside a $batch. */
    public double costOfOperations(int rowsRead, int creates, int updates, int deletes) {
        return rowsRead * readPerRowMs + creates * createMs + updates * updateMs + deletes * deleteMs;
    }

    /** One request (a $batch counts once) that did all these operations, overhead included. */
    public double costOf(int rowsRead, int creates, int updates, int deletes) {
        return requestOverheadMs + costOfOperations(rowsRead, creates, updates, deletes);
    }
}
