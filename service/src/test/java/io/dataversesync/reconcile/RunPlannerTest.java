package io.dataversesync.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** How a run compares one target: the pure decision {@link RunPlanner#compare} makes from the request and the contract. */
class RunPlannerTest {
    static final TargetReadContract LISTS = contract("/api/customers", null);
    static final TargetReadContract BY_IDS = contract(null, "/api/customers?sourceRowIds={sourceRowIds}");
    static final TargetReadContract NONE = contract(null, null);

    static TargetReadContract contract(String listPath, String byIdsPath) {
        return new TargetReadContract("customers", listPath, byIdsPath, 100, "items", "nextLink", "sourceRowId", null);
    }

    static ReconcileRequest request(ReconcileRequest.Mode mode, ReconcileRequest.Compare compare) {
        return new ReconcileRequest(null, null, mode, false, compare, "on-demand");
    }

    @Test
    void autoReadsTheTargetWhereItsContractAllowsTheMode() {
        assertThat(RunPlanner.compare(request(ReconcileRequest.Mode.FULL, ReconcileRequest.Compare.AUTO), "customers", LISTS))
                .isEqualTo(ReconcileRequest.Compare.TARGET);
        assertThat(RunPlanner.compare(request(ReconcileRequest.Mode.INCREMENTAL, ReconcileRequest.Compare.AUTO), "customers", BY_IDS))
                .isEqualTo(ReconcileRequest.Compare.TARGET);
        assertThat(RunPlanner.compare(request(ReconcileRequest.Mode.FULL, ReconcileRequest.Compare.AUTO), "customers", BY_IDS))
                .as("a full run needs the listing").isEqualTo(ReconcileRequest.Compare.HASH);
        assertThat(RunPlanner.compare(request(ReconcileRequest.Mode.INCREMENTAL, ReconcileRequest.Compare.AUTO), "customers", NONE))
                .isEqualTo(ReconcileRequest.Compare.HASH);
    }

    @Test
    void hashIsKeptEvenWhereTheTargetCanBeRead() {
        assertThat(RunPlanner.compare(request(ReconcileRequest.Mode.FULL, ReconcileRequest.Compare.HASH), "customers", LISTS))
                .isEqualTo(ReconcileRequest.Compare.HASH);
    }

    @Test
    void targetWithoutAContractForTheModeIsRefusedWithWhatToSet() {
        assertThatThrownBy(() -> RunPlanner.compare(request(ReconcileRequest.Mode.FULL, ReconcileRequest.Compare.TARGET), "customers", BY_IDS))
                .isInstanceOf(ReconcileRequest.InvalidRequestException.class)
                .hasMessage("target customers declares no read contract for a full compare with what it holds: set "
                        + "sync.target.customers.read.list-path, or ask for compare=hash");
        assertThatThrownBy(() -> RunPlanner.compare(request(ReconcileRequest.Mode.INCREMENTAL, ReconcileRequest.Compare.TARGET), "customers", NONE))
                .hasMessageContaining("set sync.target.customers.read.list-path or .read.by-ids-path");
    }
}
