package io.dataversesync;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Configuration;
import org.apache.camel.StartupListener;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;

/**
 * Fails the start when the HTTP server did not get its port (sync.http.port). Camel 4.17's Vert.x server only logs a
 * failed bind (a WARN, then an unhandled exception on its event loop) and the context starts without it: the service
 * would sync with no health, metrics or operations endpoints, and a Kubernetes liveness probe would restart it again
 * and again without saying why (docs/decisions.md, "An HTTP port already taken fails the start").
 */
@Configuration
public class HttpServerCheck implements CamelConfiguration {
    @Override
    public void configure(CamelContext context) throws Exception {
        context.addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext started, boolean alreadyStarted) {
                VertxPlatformHttpServer http = started.hasService(VertxPlatformHttpServer.class);
                // actualPort() is the configured port even when the bind failed; whether it listens is only said by
                // Vert.x's server base class (4.5): where that changes, the check lets the start go on as before
                if (http != null && http.getServer() instanceof io.vertx.core.net.impl.TCPServerBase server && !server.isListening()) {
                    throw new IllegalStateException("The HTTP server could not listen on " + http.getHost() + ":"
                            + http.getConfigurationPort() + " (sync.http.port): is another process using that port?");
                }
            }
        });
    }
}
