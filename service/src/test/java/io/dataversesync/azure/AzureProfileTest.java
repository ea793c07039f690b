package io.dataversesync.azure;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import com.azure.messaging.servicebus.ServiceBusSenderClient;
import com.azure.messaging.servicebus.models.ServiceBusReceiveMode;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.target.Sagas;
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
 * started: nothing connects), and every endpoint resolves to the intended Service Bus options; the same with a saga
 * configured (a second application, {@link #sagaContext()}).
 */
class AzureProfileTest {
    static final String NAMESPACE = "contoso-sync.servicebus.windows.net";
    static Main main;
    static CamelContext context;
    /** Calls of the {{azure:...}} properties function (camel-azure-key-vault's is replaced by this recorder). */
    static final List<String> keyVaultLookups = new ArrayList<>();
    static final List<String> SAGA_TARGETS = List.of("customers", "mdm", "crm", "erp");
    /** The application with a saga (sagaContext()), booted by the first test that needs it. */
    static Main sagaMain;
    static final List<String> sagaKeyVaultLookups = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        main = boot(Map.of(), keyVaultLookups);
        context = main.getCamelContext();
    }

    /**
     * Camel Main with the azure profile, routes created but not started, the Key Vault properties function replaced
     * by a recorder of its lookups; overrides on top of what every boot sets.
     */
    static Main boot(Map<String, String> overrides, List<String> kvLookups) throws Exception {
        // GlobalOpenTelemetry stays a no-op even if the CI environment sets OTEL_JAVA_GLOBAL_AUTOCONFIGURE_ENABLED
        System.setProperty("otel.java.global-autoconfigure.enabled", "false");
        // the workload identity credential is built from these (AKS injects them as environment variables)
        System.setProperty("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001");
        System.setProperty("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002");
        System.setProperty("AZURE_FEDERATED_TOKEN_FILE", "target/does-not-exist-token");

        Main m = new Main(io.dataversesync.Main.class);
        m.configure().withProfile("azure"); // = CAMEL_MAIN_PROFILE=azure
        m.addOverrideProperty("camel.main.auto-startup", "false");
        m.addOverrideProperty("sync.http.port", String.valueOf(FreePorts.free()));
        m.addOverrideProperty("sync.routes.location", io.dataversesync.ProjectFiles.routesLocation());
        m.addOverrideProperty("sync.servicebus.namespace", NAMESPACE);
        m.addOverrideProperty("dataverse.url", "https://contoso.crm.dynamics.com");
        m.addOverrideProperty("sync.target.customers.url", "https://target.example.com");
        m.addOverrideProperty("camel.vault.azure.vault-name", "contoso-kv");
        m.addOverrideProperty("sync.ops.entra.tenant-id", "00000000-0000-0000-0000-000000000002");
        m.addOverrideProperty("sync.ops.entra.audience", "api://dataverse-sync-ops");
        overrides.forEach(m::addOverrideProperty);
        m.addMainListener(new org.apache.camel.main.MainListenerSupport() {
            @Override
            public void beforeConfigure(org.apache.camel.main.BaseMainSupport b) {
                b.getCamelContext().getPropertiesComponent().addPropertiesFunction(new PropertiesFunction() {
                    @Override
                    public String getName() {
                        return "azure";
                    }

                    @Override
                    public String apply(String remainder) {
                        kvLookups.add(remainder);
                        return "kv-" + remainder;
                    }
                });
            }
        });
        m.start();
        return m;
    }

    @AfterAll
    static void stop() {
        if (sagaMain != null) {
            sagaMain.stop();
        }
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
        // operations: Service Bus dead-letter subqueues, Entra ID tokens, no topic safety-net queue (Artemis only)
        assertThat(context.getRegistry().lookupByName("deadLetterStore")).isInstanceOf(io.dataversesync.ops.ServiceBusDeadLetters.class);
        assertThat(context.getRegistry().lookupByNameAndType("opsQueues", io.dataversesync.ops.OpsQueues.class).all())
                .extracting(io.dataversesync.ops.OpsQueues.OpsQueue::name)
                .containsExactly("dataverse-outbound", "dataverse-ack", "dataverse-changes.customers");
        assertThat(context.resolvePropertyPlaceholders("{{sync.ops.auth}}")).isEqualTo("entra");
        assertThat(context.resolvePropertyPlaceholders("{{sync.ops.entra.jwks-url}}"))
                .isEqualTo("https://login.microsoftonline.com/00000000-0000-0000-0000-000000000002/discovery/v2.0/keys");
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
    void theIntakeConsumerIsAPeekLockConsumerWithoutSessionsAndOffByDefault() {
        Endpoint endpoint = context.getRoute("intake-relay-consumer").getEndpoint();
        assertThat(endpoint.getEndpointUri()).startsWith("azure-servicebus://dataverse-intake?");
        ServiceBusConfiguration c = ((ServiceBusEndpoint) endpoint).getConfiguration();
        // Dataverse's built-in service endpoint cannot set a SessionId: its queue has no sessions
        assertThat(c.isSessionEnabled()).isFalse();
        assertThat(c.getServiceBusReceiveMode()).isEqualTo(ServiceBusReceiveMode.PEEK_LOCK);
        assertThat(c.isEnableDeadLettering()).isTrue();
        assertThat(c.getCredentialType()).isEqualTo(CredentialType.AZURE_IDENTITY);
        assertThat(c.getFullyQualifiedNamespace()).isEqualTo(NAMESPACE);
        assertThat(c.getMaxConcurrentCalls()).isEqualTo(Integer.parseInt(context.resolvePropertyPlaceholders("{{sync.consumers.intake}}")));
        assertThat(context.getRoute("outbound-sync-consumer").isAutoStartup()).as("control: a route that is not optional").isTrue();
        assertThat(context.getRoute("intake-relay-consumer").isAutoStartup()).as("sync.intake.enabled = false").isFalse();
        assertThat(context.getRoute("outbox-relay").isAutoStartup()).as("sync.outbox.enabled = false").isFalse();
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
        return consumer(context, routeId, entity);
    }

    /** A route's consumer: a peek-lock session consumer of the entity with native dead-lettering, workload identity. */
    static ServiceBusConfiguration consumer(CamelContext context, String routeId, String entity) {
        assertThat(context.getRoute(routeId)).as("route %s", routeId).isNotNull();
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

    // ---- with a saga --------------------------------------------------------------------------------------

    /**
     * The azure profile with a saga: sync.sagas=onboarding, steps mdm,crm,erp, their files from
     * src/test/resources/saga/targets loaded besides the repository's (the profile's own routes-include-pattern
     * plus that folder, as FanOutSupport does locally). A second application of its own, booted on first use: the
     * first one checks the profile as deployed (customers alone), and a saga that fails to boot fails only these
     * tests.
     */
    static CamelContext sagaContext() throws Exception {
        if (sagaMain == null) {
            Properties azure = new Properties();
            try (var in = java.nio.file.Files.newBufferedReader(io.dataversesync.ProjectFiles.path("application-azure.properties"))) {
                azure.load(in);
            }
            String include = azure.getProperty("camel.main.routes-include-pattern").trim() + ",file:"
                    + io.dataversesync.ProjectFiles.path("service/src/test/resources/saga/targets") + "/*.camel.yaml";
            Map<String, String> overrides = new LinkedHashMap<>();
            overrides.put("camel.main.routes-include-pattern", include);
            overrides.put("sync.targets", String.join(",", SAGA_TARGETS));
            overrides.put("sync.sagas", "onboarding");
            overrides.put("sync.saga.onboarding.steps", "mdm,crm,erp");
            for (String step : List.of("mdm", "crm", "erp")) {
                String p = "sync.target." + step + ".";
                overrides.put(p + "url", "https://" + step + ".example.com");
                overrides.put(p + "entities", "account");
                overrides.put(p + "auth", "none");
                overrides.put(p + "writeback.target-id-column", "new_" + step + "id");
                overrides.put(p + "writeback.hash-column", "new_" + step + "hash");
                overrides.put(p + "writeback.status-column", "new_" + step + "status");
                overrides.put(p + "connect-timeout-ms", "5000");
                overrides.put(p + "response-timeout-ms", "30000");
                overrides.put(p + "breaker.failure-rate", "50");
                overrides.put(p + "breaker.window-size", "20");
                overrides.put(p + "breaker.minimum-calls", "10");
                overrides.put(p + "breaker.open-ms", "10000");
                overrides.put(p + "breaker.half-open-calls", "3");
                overrides.put(p + "bulkhead.max-concurrent-calls", "16");
            }
            overrides.put("sync.target.customers.writeback.status-column", "new_customersstatus");
            sagaMain = boot(overrides, sagaKeyVaultLookups);
        }
        return sagaMain.getCamelContext();
    }

    @Test
    void withASagaLaterStepsAndCompensationsConsumeTheirOwnSessionSubscriptionsOnTheChangesTopic() throws Exception {
        CamelContext saga = sagaContext();
        String topic = saga.resolvePropertyPlaceholders("{{sync.topic.changes}}");
        int subscriber = Integer.parseInt(saga.resolvePropertyPlaceholders("{{sync.consumers.subscriber}}"));
        // the brief's two: a later step (directed-only subscription crm), the first step's compensation
        ServiceBusConfiguration crm = consumer(saga, "target-crm", topic);
        assertThat(crm.getServiceBusType()).isEqualTo(ServiceBusType.topic);
        assertThat(crm.getSubscriptionName()).isEqualTo("crm");
        ServiceBusConfiguration mdmCompensation = consumer(saga, "compensate-mdm", topic);
        assertThat(mdmCompensation.getServiceBusType()).isEqualTo(ServiceBusType.topic);
        assertThat(mdmCompensation.getSubscriptionName()).isEqualTo("mdm-compensation");

        // and every other: one consumer route per subscription the app expects (Sagas.subscriptions, the queues the
        // local broker creates and the subscriptions k8s/README.md creates on Service Bus)
        Sagas sagas = Sagas.fromProperties(key -> saga.getPropertiesComponent().resolveProperty(key).orElse(null), SAGA_TARGETS);
        List<Sagas.Subscription> subscriptions = sagas.subscriptions(SAGA_TARGETS);
        assertThat(subscriptions).extracting(Sagas.Subscription::name).containsExactly("customers", "mdm", "mdm-compensation",
                "crm", "crm-compensation", "erp", "erp-compensation");
        for (Sagas.Subscription s : subscriptions) {
            String routeId = s.name().endsWith(Sagas.COMPENSATION_SUFFIX)
                    ? "compensate-" + s.name().substring(0, s.name().length() - Sagas.COMPENSATION_SUFFIX.length())
                    : "target-" + s.name();
            ServiceBusConfiguration c = consumer(saga, routeId, topic);
            assertThat(c.getServiceBusType()).as(routeId).isEqualTo(ServiceBusType.topic);
            assertThat(c.getSubscriptionName()).as(routeId).isEqualTo(s.name());
            assertThat(c.getMaxConcurrentCalls()).as(routeId).isEqualTo(subscriber);
        }
    }

    @Test
    void withASagaDirectedSendsAreTheServiceBusRouteAndNothingIsStarted() throws Exception {
        CamelContext saga = sagaContext();
        assertThat(saga.getRoute("transport-send-directed")).isNotNull();
        assertThat(saga.getRoute("transport-send-directed").getSourceLocation()).contains("transport/servicebus.camel.yaml");
        assertThat(saga.getRoutes()).noneSatisfy(r -> assertThat(r.getSourceLocation()).contains("transport/artemis"));
        assertThat(saga.getRoutes()).allSatisfy(r -> assertThat(r.getSourceLocation()).doesNotContain("routes/local"));
        assertThat(saga.getRoutes()).allSatisfy(r -> assertThat(saga.getRouteController().getRouteStatus(r.getRouteId()).isStarted()).isFalse());
        // the saga's targets use no secret: nothing was read from Key Vault
        assertThat(sagaKeyVaultLookups).isEmpty();
    }
}
