package io.dataversesync.target;

/**
 * FanOutTest again with sync.writeback.overall-status = formula: the overall status is a Dataverse formula column
 * over the targets' status columns (the emulator computes it as the organisation's formula would), so the
 * write-backs neither read nor write it; the row must still end Synced, or Failed naming the failed target.
 */
class FanOutFormulaTest extends FanOutTest {
    static {
        System.setProperty("sync.writeback.overall-status", "formula");
    }
}
