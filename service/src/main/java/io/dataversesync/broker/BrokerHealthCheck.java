package io.dataversesync.broker;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/** Readiness and liveness of the embedded broker: the service is not ready while its transport is down. */
public class BrokerHealthCheck extends AbstractHealthCheck {
    private final EmbeddedBroker broker;

    public BrokerHealthCheck(EmbeddedBroker broker) {
        super("dataverse-sync", "embedded-broker");
        this.broker = broker;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("url", broker.url());
        if (broker.isActive()) {
            builder.up();
        } else {
            builder.message("embedded Artemis broker is not active").down();
        }
    }
}
