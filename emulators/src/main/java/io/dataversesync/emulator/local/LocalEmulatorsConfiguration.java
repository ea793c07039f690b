package io.dataversesync.emulator.local;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Configuration;
import org.apache.camel.spi.PropertiesComponent;

/**
 * The emulators inside a Camel application: whenever this jar is on the classpath of the service (the demo, the
 * service's tests, the benchmark), Camel Main's package scan finds this class and, in the local mode
 * ({@code sync.local.enabled}, false in the azure profile) with {@code sync.local.emulators.in-process} on,
 * starts both emulators on the ports the service's default properties point at. The service itself knows nothing
 * of them: without this jar it talks to whatever listens there (e.g. the standalone emulator program).
 */
@Configuration
public class LocalEmulatorsConfiguration implements CamelConfiguration {

    @Override
    public void configure(CamelContext context) throws Exception {
        PropertiesComponent p = context.getPropertiesComponent();
        if (!Boolean.parseBoolean(p.resolveProperty("sync.local.enabled").orElse("false"))
                || !Boolean.parseBoolean(p.resolveProperty("sync.local.emulators.in-process").orElse("false"))) {
            return;
        }
        LocalEnvironment local = LocalEnvironment.create(
                Integer.parseInt(required(p, "sync.local.dataverse-port")),
                Integer.parseInt(required(p, "sync.local.dataverse.request-budget")),
                Duration.ofSeconds(Long.parseLong(required(p, "sync.local.dataverse.budget-window-seconds"))),
                first(required(p, "dataverse.auth.client-id")),
                first(required(p, "dataverse.auth.client-secret")),
                Integer.parseInt(required(p, "sync.local.target-port")),
                required(p, "target.api-key"),
                tables(p));
        local.startNow();
        // stopped by Camel after the routes (services stop in reverse order of addition)
        context.addService(local, true, true);
        context.getRegistry().bind("localEnvironment", local);
    }

    /** The tables the service syncs (sync.entities and sync.entity.NAME.entity-set / id-column). */
    private static Map<String, String[]> tables(PropertiesComponent p) {
        Map<String, String[]> tables = new LinkedHashMap<>();
        for (String entity : required(p, "sync.entities").split(",")) {
            String name = entity.trim();
            if (!name.isEmpty()) {
                tables.put(required(p, "sync.entity." + name + ".entity-set"),
                        new String[] {name, required(p, "sync.entity." + name + ".id-column")});
            }
        }
        return tables;
    }

    private static String first(String commaSeparated) {
        return commaSeparated.split(",")[0].trim();
    }

    private static String required(PropertiesComponent p, String key) {
        return p.resolveProperty(key).map(String::trim).filter(v -> !v.isEmpty())
                .orElseThrow(() -> new IllegalArgumentException("missing required property " + key));
    }
}
