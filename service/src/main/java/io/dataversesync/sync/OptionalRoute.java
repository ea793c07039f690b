package io.dataversesync.sync;

import org.apache.camel.Route;
import org.apache.camel.support.RoutePolicySupport;

/**
 * Starts a route only when its feature is switched on (sync.outbox.enabled, sync.intake.enabled): a route file refers
 * to it as its {@code routePolicy}. Why not {@code autoStartup: "{{...}}"}: docs/decisions.md, "Optional routes".
 */
public class OptionalRoute extends RoutePolicySupport {
    private final boolean enabled;

    public OptionalRoute(boolean enabled) {
        this.enabled = enabled;
    }

    @Override
    public void onInit(Route route) {
        route.setAutoStartup(enabled);
    }

    public boolean enabled() {
        return enabled;
    }
}
