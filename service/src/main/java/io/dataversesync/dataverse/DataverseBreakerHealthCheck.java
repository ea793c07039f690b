package io.dataversesync.dataverse;

import java.util.Map;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Readiness detail of Dataverse, like TargetBreakersHealthCheck: an open or half-open Dataverse breaker makes the
 * service degraded, not down (DOWN would make Kubernetes restart pods that are only waiting for Dataverse, and their
 * held messages are safe on the broker): UP with status "degraded" and the breaker's state.
 */
public class DataverseBreakerHealthCheck extends AbstractHealthCheck {
    private final DataverseBreaker breaker;

    public DataverseBreakerHealthCheck(DataverseBreaker breaker) {
        super("dataverse-sync", "dataverse");
        this.breaker = breaker;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        CircuitBreaker.State state = breaker.state();
        builder.detail("dataverse", state.name());
        boolean degraded = state != CircuitBreaker.State.CLOSED;
        builder.detail("status", degraded ? "degraded" : "ok");
        if (degraded) {
            builder.message("degraded: the Dataverse circuit breaker is " + state + " (messages are held until it closes)");
        }
        builder.up();
    }
}
