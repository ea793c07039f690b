package io.dataversesync.azure;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.azure.messaging.servicebus.models.ServiceBusReceiveMode;
import io.dataversesync.transport.ServiceBusTransport;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Route;
import org.apache.camel.component.azure.servicebus.CredentialType;
import org.apache.camel.component.azure.servicebus.ServiceBusConfiguration;
import org.apache.camel.component.azure.servicebus.ServiceBusEndpoint;
import org.apache.camel.component.azure.servicebus.ServiceBusProducerOperationDefinition;
import org.apache.camel.main.Main;
import org.apache.camel.spi.CamelTracingService;
import org.apache.camel.spi.PropertiesFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The azure profile, offline: Camel Main with CAMEL_MAIN_PROFILE=azure builds the context (routes created, not
 * started: nothing connects), and every endpoint resolves to the intended Service Bus options.
 */
class AzureProfileTest {
    static final String NAMESPACE = "contoso-sync.servicebus.windows.net";
    static Main main;
    static CamelContext context;
    /** Calls of the {{azure:...}} properties function (camel-azure-key-vault's is replaced by this recorder). */
    static final List<String> keyVaultLookups = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        // GlobalOpenTelemetry stays a no-op even if the CI environment sets OTEL_JAVA_GLOBAL_AUTOCONFIGURE_ENABLED
        System.setProperty("otel.java.global-autoconfigure.enabled", "false");
        // the workload identity credential is built from these (AKS injects them as environment variables)
        System.setProperty("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001");
        System.setProperty("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002");
        System.setProperty("AZURE_FEDERATED_TOKEN_FILE", "target/does-not-exist-token");

        main = new Main(io.dataversesync.Main.class);
        main.configure().withProfile("azure"); // = CAMEL_MAIN_PROFILE=azure
        main.addOverrideProperty("camel.main.auto-startup", "false");
        main.addOverrideProperty("sync.http.port", String.valueOf(freePort()));
        main.addOverrideProperty("sync.routes.location", io.dataversesync.ProjectFiles.routesLocation());
        main.addOverrideProperty("sync.servicebus.namespace", NAMESPACE);
        main.addOverrideProperty("dataverse.url", "https://contoso.crm.dynamics.com");
        main.addOverrideProperty("sync.target.customers.url", "https://target.example.com");
        main.addOverrideProperty("camel.vault.azure.vault-name", "contoso-kv");
        main.addMainListener(new org.apache.camel.main.MainListenerSupport() {
            @Override
            public void beforeConfigure(org.apache.camel.main.BaseMainSupport m) {
                m.getCamelContext().getPropertiesComponent().addPropertiesFunction(new PropertiesFunction() {
                    @Override
                    public String getName() {
                        return "azure";
                    }

                    @Override
                    public String apply(String remainder) {
                        keyVaultLookups.add(remainder);
                        return "kv-" + remainder;
                    }
                });
            }
        });
        main.start();
        context = main.getCamelContext();
    }

    @AfterAll
    static void stop() {
        if (main != null) {
            main.stop();
        }
    }

    @Test
    void profileIsAzureAndNothingLocalIsLoaded() {
        assertThat(context.resolvePropertyPlaceholders("{{sync.transport}}")).isEqualTo("servicebus");
        assertThat(context.getRegistry().lookupByName("syncTransport")).isInstanceOf(ServiceBusTransport.class);
        assertThat(context.getRegistry().lookupByName("localEnvironment")).isNull();
        assertThat(context.getRegistry().lookupByName("demoLoad")).isNull();
        assertThat(context.getRegistry().lookupByName("artemisConnectionFactory")).isNull();
        List<String> routeIds = context.getRoutes().stream().map(Route::getRouteId).toList();
        assertThat(routeIds).contains("outbound-sync-consumer", "ack-writeback-consumer", "policy-retry", "policy-dead-letter")
                .noneMatch(id -> id.startsWith("demo-") || id.startsWith("emulator-"));
        assertThat(context.getRoutes()).allSatisfy(r -> assertThat(r.getSourceLocation()).doesNotContain("routes/local"));
        // nothing started: no consumer connects to Service Bus
        assertThat(context.getRoutes()).allSatisfy(r -> assertThat(context.getRouteController().getRouteStatus(r.getRouteId()).isStarted()).isFalse());
    }

    @Test
    void consumersArePeekLockSessionConsumersWithNativeDeadLettering() {
        ServiceBusConfiguration outbound = consumer("outbound-sync-consumer", "dataverse-outbound");
        assertThat(outbound.getMaxConcurrentCalls()).isEqualTo(Integer.parseInt(context.resolvePropertyPlaceholders("{{sync.consumers.outbound}}")));
        ServiceBusConfiguration ack = consumer("ack-writeback-consumer", "dataverse-ack");
        assertThat(ack.getMaxConcurrentCalls()).isEqualTo(Integer.parseInt(context.resolvePropertyPlaceholders("{{sync.consumers.ack}}")));
    }

    private ServiceBusConfiguration consumer(String routeId, String queue) {
        Endpoint endpoint = context.getRoute(routeId).getEndpoint();
        assertThat(endpoint).isInstanceOf(ServiceBusEndpoint.class);
        assertThat(endpoint.getEndpointUri()).startsWith("azure-servicebus://" + queue + "?");
        ServiceBusConfiguration c = ((ServiceBusEndpoint) endpoint).getConfiguration();
        assertThat(c.getTopicOrQueueName()).isEqualTo(queue);
        assertThat(c.getServiceBusReceiveMode()).isEqualTo(ServiceBusReceiveMode.PEEK_LOCK);
        assertThat(c.isSessionEnabled()).isTrue();
        assertThat(c.isEnableDeadLettering()).isTrue();
        assertThat(c.getSubQueue()).isNull();
        assertThat(c.getPrefetchCount()).isEqualTo(0);
        assertThat(c.getMaxAutoLockRenewDuration()).isEqualTo(Duration.ofMinutes(5).toMillis()); // PT5M, converted to ms
        assertThat(c.getCredentialType()).isEqualTo(CredentialType.AZURE_IDENTITY);
        assertThat(c.getFullyQualifiedNamespace()).isEqualTo(NAMESPACE);
        assertThat(c.getConnectionString()).isNull();
        return c;
    }

    @Test
    void transportStepsAreTheServiceBusRoutes() throws Exception {
        // one switch (sync.transport = servicebus) picks routes/transport/servicebus.camel.yaml: every send is a named
        // route there, no bean: endpoint hides in a property
        for (String id : List.of("transport-send-ack", "transport-send-retry", "transport-dead-letter", "transport-send-notification")) {
            assertThat(context.getRoute(id)).as(id).isNotNull();
            assertThat(context.getRoute(id).getSourceLocation()).as(id).contains("transport/servicebus.camel.yaml");
        }
        assertThat(context.getRoutes()).noneSatisfy(r -> assertThat(r.getSourceLocation()).contains("transport/artemis"));
        assertThat(context.resolvePropertyPlaceholders("{{sync.endpoint.outbound}}")).startsWith("azure-servicebus:dataverse-outbound?");
        for (String file : List.of("application.properties", "application-azure.properties")) {
            assertThat(java.nio.file.Files.readAllLines(io.dataversesync.ProjectFiles.path(file)))
                    .as("%s hides no step as a bean: endpoint", file)
                    .noneMatch(line -> !line.trim().startsWith("#") && line.matches(".*=\\s*bean:.*"));
        }

        // the sender clients are built from the same options as the consumers (same namespace and identity)
        ServiceBusEndpoint sender = context.getEndpoint("azure-servicebus:dataverse-ack?"
                + context.resolvePropertyPlaceholders("{{" + ServiceBusTransport.SENDER_OPTIONS_PROPERTY + "}}"), ServiceBusEndpoint.class);
        assertThat(sender.getConfiguration().getFullyQualifiedNamespace()).isEqualTo(NAMESPACE);
        assertThat(sender.getConfiguration().getCredentialType()).isEqualTo(CredentialType.AZURE_IDENTITY);
        assertThat(sender.getConfiguration().getProducerOperation()).isEqualTo(ServiceBusProducerOperationDefinition.sendMessages);
    }

    @Test
    void keyVaultSecretIsReadOnFirstUseAndCachedNotAtStartup() {
        // nothing reads Key Vault while the service starts: a message must first pass validation
        assertThat(keyVaultLookups).doesNotContain("target-api-key");
        var auth = context.getRegistry().lookupByNameAndType("targetAuth", io.dataversesync.target.TargetAuth.class);
        for (int i = 0; i < 2; i++) {
            var exchange = new org.apache.camel.support.DefaultExchange(context);
            auth.apply(exchange, "customers");
            assertThat(exchange.getMessage().getHeader("Authorization")).isEqualTo("Bearer kv-target-api-key");
        }
        assertThat(keyVaultLookups).containsOnlyOnce("target-api-key");
    }

    @Test
    void tracingIsOnWithTheCorrelationIdTagger() {
        assertThat(context.hasService(CamelTracingService.class)).isNotNull();
        assertThat(context.getCamelContextExtension().getInterceptStrategies())
                .anyMatch(s -> s instanceof io.dataversesync.telemetry.CorrelationIdSpanTagger);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
