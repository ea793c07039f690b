package io.dataversesync.sync;

import org.apache.camel.Route;
import org.apache.camel.support.RoutePolicySupport;

/**
 * Starts a route only when its feature is switched on (sync.outbox.enabled, sync.intake.enabled): a route file refers
 * to it as its {@code routePolicy}. Why not {@code autoStartup: "{{...}}"}: the route's autoStartup is a boolean in
 * camel-yaml-dsl 4.17's schema, which every route file is validated against (RouteSchemaTest); a policy sets it when
 * the route is initialised, before Camel decides which routes start.
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
