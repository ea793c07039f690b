package io.dataversesync.reconcile;

/** The kinds of drift between Dataverse and a target, by the names the report and the metrics use. */
public enum DriftClass {
    /** The row exists in Dataverse, is marked synced, and the target does not hold it. */
    MISSING("missing"),
    /** The target holds something else than the row's mapped payload (or the row's stored hash is not the payload's). */
    DIFFERENT("different"),
    /** The target holds a record whose row is gone from Dataverse. */
    ORPHAN("orphan"),
    /** The row never reached the target (no hash written back) or is marked Failed for it. */
    NEVER_SYNCED("neverSynced");

    private final String key;

    DriftClass(String key) {
        this.key = key;
    }

    /** The name in reports, metrics and the benchmark's JSON. */
    public String key() {
        return key;
    }
}
