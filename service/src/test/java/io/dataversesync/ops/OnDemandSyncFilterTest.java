package io.dataversesync.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

/** What an on-demand sync's OData filter may be before it goes to Dataverse (pure). */
class OnDemandSyncFilterTest {
    @Test
    void plainODataExpressionsPass() {
        for (String ok : List.of("name eq 'Contoso'", "modifiedon ge 2026-11-01T00:00:00Z and statecode eq 0",
                "contains(name,'O''Brien')", "Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['a','b'])",
                "revenue gt 1000000 or (address1_city eq 'Zürich')")) {
            assertThat(OnDemandSync.validateFilter(ok, 1000)).isEqualTo(ok);
        }
    }

    @Test
    void queryStringSyntaxLineBreaksAndUnbalancedInputAre400() {
        for (String bad : List.of("", "   ", "name eq 'x'&$expand=all", "name eq 'x'?a=b", "name eq 'x'#", "name eq 'x'\r\nX: y",
                "name eq 'x", "(name eq 'x'", "name eq 'x')", "$select=name", "name eq \"x\"", "name eq 'x';drop", "a".repeat(1001))) {
            assertThatThrownBy(() -> OnDemandSync.validateFilter(bad, 1000)).as(bad).isInstanceOf(OpsException.class)
                    .satisfies(e -> assertThat(((OpsException) e).status()).isEqualTo(400));
        }
    }
}
