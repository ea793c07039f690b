package io.dataversesync.target;

/** SagaTest again with the overall status as a Dataverse formula column (sync.writeback.overall-status = formula). */
class SagaFormulaTest extends SagaTest {
    static {
        System.setProperty("sync.writeback.overall-status", "formula");
    }
}
