package io.dataversesync.target;

import java.util.Map;

import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;

/** The state of a saga as it travels in its messages (see the saga routes). */
public final class SagaState {
    private SagaState() {
    }

    /** The row id the target of an earlier step answered, or null. */
    @SuppressWarnings("unchecked")
    public static String stepTargetRowId(Exchange exchange, String step) {
        Map<String, String> results = exchange.getProperty(SyncProperties.SAGA_RESULTS, Map.class);
        return results == null ? null : results.get(step);
    }
}
