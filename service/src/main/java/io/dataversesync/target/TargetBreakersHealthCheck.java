package io.dataversesync.target;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Readiness detail of the targets: a target whose breaker is open or half-open makes the service degraded, not
 * down (it keeps consuming, delivering to the other targets and holding that target's messages), so the check stays
 * UP and says which targets are degraded (status "degraded", one detail per target).
 */
public class TargetBreakersHealthCheck extends AbstractHealthCheck {
    private final TargetBreakers breakers;

    public TargetBreakersHealthCheck(TargetBreakers breakers) {
        super("dataverse-sync", "targets");
        this.breakers = breakers;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Map<String, String> degraded = breakers.degraded();
        breakers.breakers().forEach((name, b) -> builder.detail("target." + name, b.getState().name()));
        builder.detail("status", degraded.isEmpty() ? "ok" : "degraded");
        if (!degraded.isEmpty()) {
            builder.message("degraded: circuit breaker not closed for " + degraded);
        }
        builder.up();
    }
}
