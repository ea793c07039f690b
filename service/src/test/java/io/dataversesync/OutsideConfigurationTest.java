package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import io.dataversesync.emulator.FreePorts;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;

/**
 * README's way to configure the service from an outside file (camel.main.file-configurations, env
 * CAMEL_MAIN_FILECONFIGURATIONS): the file adds to and overrides the built-in application.properties, so it holds
 * only what differs. (Camel Main's -pl option replaces the built-in file instead: a partial file then fails with
 * "missing required property".)
 */
class OutsideConfigurationTest {

    @Test
    void aPartialOutsideFileOverridesWhatItNamesAndKeepsEveryOtherDefault() throws Exception {
        Path dir = Path.of("target/outside-config/" + UUID.randomUUID());
        Files.createDirectories(dir);
        int port = FreePorts.free();
        Path file = dir.resolve("application.properties");
        Files.writeString(file, String.join("\n",
                "sync.http.port = " + port,
                "sync.queue.outbound = custom-outbound",
                "sync.local.dataverse-port = " + FreePorts.free(),
                "sync.local.target-port = " + FreePorts.free(),
                "sync.local.broker.data-dir = " + dir.resolve("broker"),
                ""));

        Main main = new Main(io.dataversesync.Main.class);
        main.addInitialProperty("camel.main.file-configurations", file.toAbsolutePath().toString());
        main.addOverrideProperty("camel.main.auto-startup", "false");
        main.addOverrideProperty("sync.routes.location", ProjectFiles.routesLocation());
        main.start();
        try {
            CamelContext context = main.getCamelContext();
            assertThat(context.resolvePropertyPlaceholders("{{sync.queue.outbound}}")).isEqualTo("custom-outbound");
            assertThat(context.resolvePropertyPlaceholders("{{sync.http.port}}")).isEqualTo(String.valueOf(port));
            // not in the file: the built-in defaults still hold
            assertThat(context.resolvePropertyPlaceholders("{{sync.policy.max-retries}}")).isEqualTo("5");
            assertThat(context.resolvePropertyPlaceholders("{{sync.queue.ack}}")).isEqualTo("dataverse-ack");
            assertThat(context.getRoute("outbound-sync-consumer").getEndpoint().getEndpointUri()).contains("custom-outbound");
        } finally {
            main.stop();
        }
    }
}
