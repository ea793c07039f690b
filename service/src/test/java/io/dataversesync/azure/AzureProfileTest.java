package io.dataversesync.azure;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.azure.messaging.servicebus.ServiceBusSenderClient;
import com.azure.messaging.servicebus.models.ServiceBusReceiveMode;
import io.dataversesync.transport.ServiceBusTransport;
import io.dataversesync.transport.ServiceBusTransport.Destination;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Route;
import org.apache.camel.component.azure.servicebus.CredentialType;
import org.apache.camel.component.azure.servicebus.ServiceBusConfiguration;
import org.apache.camel.component.azure.servicebus.ServiceBusEndpoint;
import org.apache.camel.component.azure.servicebus.ServiceBusProducerOperationDefinition;
import org.apache.camel.component.azure.servicebus.ServiceBusType;
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
        assertThat(routeIds).contains("outbound-sync-consumer", "ack-writeback-consumer", "policy-retry", "policy-dead-letter",
                        "target-customers", "transport-publish-change")
                .noneMatch(id -> id.startsWith("demo-") || id.startsWith("emulator-"));
        assertThat(context.getRoutes()).allSatisfy(r -> assertThat(r.getSourceLocation()).doesNotContain("routes/local"));
        // nothing started: no consumer connects to Service Bus
        assertThat(context.getRoutes()).allSatisfy(r -> assertThat(context.getRouteController().getRouteStatus(r.getRouteId()).isStarted()).isFalse());
    }

    @Test
    void consumersArePeekLockSessionConsumersWithNativeDeadLettering() {
        ServiceBusConfiguration outbound = consumer("outbound-sync-consumer", "dataverse-outbound");
        assertThat(outbound.getServiceBusType()).isEqualTo(ServiceBusType.queue);
        assertThat(outbound.getMaxConcurrentCalls()).isEqualTo(Integer.parseInt(context.resolvePropertyPlaceholders("{{sync.consumers.outbound}}")));
        ServiceBusConfiguration ack = consumer("ack-writeback-consumer", "dataverse-ack");
        assertThat(ack.getServiceBusType()).isEqualTo(ServiceBusType.queue);
        assertThat(ack.getMaxConcurrentCalls()).isEqualTo(Integer.parseInt(context.resolvePropertyPlaceholders("{{sync.consumers.ack}}")));
    }

    @Test
    void eachTargetConsumesItsOwnSessionSubscriptionOnTheChangesTopic() {
        assertThat(context.resolvePropertyPlaceholders("{{sync.targets}}")).isEqualTo("customers");
        String topic = context.resolvePropertyPlaceholders("{{sync.topic.changes}}");
        assertThat(topic).isEqualTo("dataverse-changes");
        ServiceBusConfiguration customers = consumer("target-customers", topic);
        assertThat(customers.getServiceBusType()).isEqualTo(ServiceBusType.topic);
        assertThat(customers.getSubscriptionName()).isEqualTo("customers");
        assertThat(customers.getMaxConcurrentCalls()).isEqualTo(Integer.parseInt(context.resolvePropertyPlaceholders("{{sync.consumers.subscriber}}")));
        // (only routes/targets/customers.camel.yaml declares target-customers: the azure profile loads the targets folder)
    }

    private ServiceBusConfiguration consumer(String routeId, String entity) {
        Endpoint endpoint = context.getRoute(routeId).getEndpoint();
        assertThat(endpoint).isInstanceOf(ServiceBusEndpoint.class);
        assertThat(endpoint.getEndpointUri()).startsWith("azure-servicebus://" + entity + "?");
        ServiceBusConfiguration c = ((ServiceBusEndpoint) endpoint).getConfiguration();
        assertThat(c.getTopicOrQueueName()).isEqualTo(entity);
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
        for (String id : List.of("transport-send-ack", "transport-send-retry", "transport-dead-letter", "transport-send-notification",
                "transport-publish-change")) {
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
    void sendsToTheTopicUseATopicSenderAndSendsToQueuesAQueueSender() throws Exception {
        ServiceBusTransport.CamelSenders senders = new ServiceBusTransport.CamelSenders(context);
        Destination topic = Destination.topic(context.resolvePropertyPlaceholders("{{sync.topic.changes}}"));
        Destination queue = Destination.queue(context.resolvePropertyPlaceholders("{{sync.queue.ack}}"));
        for (Destination to : List.of(topic, queue)) {
            ServiceBusConfiguration c = senders.endpoint(to).getConfiguration();
            assertThat(c.getTopicOrQueueName()).isEqualTo(to.name());
            assertThat(c.getServiceBusType()).isEqualTo(to.type());
            assertThat(c.getFullyQualifiedNamespace()).isEqualTo(NAMESPACE);
            assertThat(c.getCredentialType()).isEqualTo(CredentialType.AZURE_IDENTITY);
            // Camel's factory builds sender().topicName(..) or .queueName(..) from serviceBusType; building the
            // client does not connect (that happens on the first send)
            try (ServiceBusSenderClient client = senders.create(to)) {
                assertThat(client.getEntityPath()).isEqualTo(to.name());
                assertThat(client.getFullyQualifiedNamespace()).isEqualTo(NAMESPACE);
                // azure-messaging-servicebus 7.17 types a sender built with topicName(..) as SUBSCRIPTION (its one
                // "topic path" type); what matters is that it is not built as a queue sender
                if (to.type() == ServiceBusType.queue) {
                    assertThat(String.valueOf(sdkEntityType(client))).isEqualTo("QUEUE");
                } else {
                    assertThat(String.valueOf(sdkEntityType(client))).isNotEqualTo("QUEUE");
                }
            }
        }
    }

    /** The entity type the SDK's sender was built for (not public: MessagingEntityType of the async client). */
    private static Object sdkEntityType(ServiceBusSenderClient client) throws Exception {
        java.lang.reflect.Field async = ServiceBusSenderClient.class.getDeclaredField("asyncClient");
        async.setAccessible(true);
        Object asyncClient = async.get(client);
        java.lang.reflect.Field type = asyncClient.getClass().getDeclaredField("entityType");
        type.setAccessible(true);
        return type.get(asyncClient);
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
