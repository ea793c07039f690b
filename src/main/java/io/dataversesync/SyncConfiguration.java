package io.dataversesync;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

import com.azure.core.credential.TokenCredential;
import com.azure.identity.ClientSecretCredentialBuilder;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import com.azure.identity.WorkloadIdentityCredentialBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.dataverse.DataverseClient;
import io.dataversesync.dataverse.DataverseHops;
import io.dataversesync.dataverse.DataverseTokenProvider;
import io.dataversesync.dataverse.WriteBackColumns;
import io.dataversesync.local.BrokerHealthCheck;
import io.dataversesync.local.DemoLoad;
import io.dataversesync.local.EmbeddedBroker;
import io.dataversesync.local.EmulatorTokenCredential;
import io.dataversesync.local.LocalEnvironment;
import io.dataversesync.policy.ErrorClassifier;
import io.dataversesync.policy.SyncPolicy;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.sync.SyncMessages;
import io.dataversesync.sync.SyncMetrics;
import io.dataversesync.transport.ArtemisTransport;
import io.dataversesync.transport.ServiceBusTransport;
import io.dataversesync.transport.Transport;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Configuration;
import org.apache.camel.component.jms.JmsComponent;
import org.apache.camel.spi.Registry;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * Binds every bean the routes use, from properties. The routes refer to them by name: syncTransport,
 * syncMessages, syncPolicy, syncMetrics, dataverse; in local mode also localEnvironment and demoLoad.
 */
@Configuration
public class SyncConfiguration implements CamelConfiguration {

    @Override
    public void configure(CamelContext context) throws Exception {
        Function<String, String> property = key -> context.getPropertiesComponent().resolveProperty(key).orElse(null);
        Registry registry = context.getRegistry();
        Clock clock = Clock.systemUTC();
        ObjectMapper json = new ObjectMapper();
        EntityCatalog entities = EntityCatalog.fromProperties(property);

        registry.bind("clock", clock);
        registry.bind("syncJson", json);
        registry.bind("entityCatalog", entities);
        registry.bind("syncMessages", new SyncMessages(json, entities, clock));
        registry.bind("syncPolicy", new SyncPolicy(new ErrorClassifier(clock), property, clock));
        registry.bind("syncMetrics", new SyncMetrics(meterRegistry(registry), clock));
        registry.bind("syncTransport", transport(required(property, "sync.transport"), clock));

        LocalEnvironment local = null;
        if (Boolean.parseBoolean(property.apply("sync.local.enabled"))) {
            local = startLocalEnvironment(context, property, entities, json);
        }

        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        DataverseTokenProvider tokens = new DataverseTokenProvider(credential(property, http, json), required(property, "dataverse.auth.scope"));
        DataverseClient client = new DataverseClient(http, required(property, "dataverse.url"), tokens, json,
                Duration.ofMillis(Long.parseLong(required(property, "dataverse.timeout-ms"))), clock);
        WriteBackColumns columns = new WriteBackColumns(required(property, "sync.writeback.target-id-column"),
                required(property, "sync.writeback.status-column"), required(property, "sync.writeback.synced-at-column"),
                required(property, "sync.writeback.error-column"), Integer.parseInt(required(property, "sync.writeback.error-max-length")));
        registry.bind("dataverseTokens", tokens);
        registry.bind("dataverseClient", client);
        registry.bind("dataverse", new DataverseHops(client, entities, columns, json, clock));

        if (local != null) {
            EntitySettings first = entities.all().iterator().next();
            registry.bind("demoLoad", new DemoLoad(local.dataverse(), json, first.logicalName(), first.entitySet(),
                    Integer.parseInt(required(property, "sync.demo.accounts"))));
        }
    }

    private static Transport transport(String name, Clock clock) {
        return switch (name) {
            case "artemis" -> new ArtemisTransport(clock);
            case "servicebus" -> new ServiceBusTransport(clock);
            default -> throw new IllegalArgumentException("sync.transport must be artemis or servicebus, was " + name);
        };
    }

    private static LocalEnvironment startLocalEnvironment(CamelContext context, Function<String, String> property,
            EntityCatalog entities, ObjectMapper json) throws Exception {
        String brokerUrl = required(property, "sync.local.broker.url");
        LocalEnvironment local = LocalEnvironment.create(
                Path.of(required(property, "sync.local.broker.data-dir")),
                brokerUrl,
                List.of(required(property, "sync.queue.outbound"), required(property, "sync.queue.ack")),
                Integer.parseInt(required(property, "sync.local.broker.max-delivery-attempts")),
                Long.parseLong(required(property, "sync.local.broker.redelivery-delay-ms")),
                Integer.parseInt(required(property, "sync.local.dataverse-port")),
                Integer.parseInt(required(property, "sync.local.dataverse.request-budget")),
                Duration.ofSeconds(Long.parseLong(required(property, "sync.local.dataverse.budget-window-seconds"))),
                required(property, "dataverse.auth.client-id"),
                required(property, "dataverse.auth.client-secret"),
                Integer.parseInt(required(property, "sync.local.target-port")),
                required(property, "target.api-key"),
                entities);
        local.startNow();
        // stopped by Camel after the routes (services stop in reverse order of addition)
        context.addService(local, true, true);
        context.getRegistry().bind("localEnvironment", local);
        context.getRegistry().bind("brokerHealthCheck", new BrokerHealthCheck(local.broker()));

        ActiveMQConnectionFactory connectionFactory = new ActiveMQConnectionFactory(brokerUrl);
        context.getRegistry().bind("artemisConnectionFactory", connectionFactory);
        context.getComponent("jms", JmsComponent.class).setConnectionFactory(connectionFactory);
        return local;
    }

    private static TokenCredential credential(Function<String, String> property, HttpClient http, ObjectMapper json) {
        String mode = required(property, "dataverse.auth.mode");
        String clientId = property.apply("dataverse.auth.client-id");
        boolean hasClientId = clientId != null && !clientId.isBlank();
        return switch (mode) {
            case "emulator" -> new EmulatorTokenCredential(http, required(property, "dataverse.auth.token-url"),
                    clientId, property.apply("dataverse.auth.client-secret"), json);
            case "client-secret" -> new ClientSecretCredentialBuilder()
                    .tenantId(required(property, "dataverse.auth.tenant-id"))
                    .clientId(required(property, "dataverse.auth.client-id"))
                    .clientSecret(required(property, "dataverse.auth.client-secret"))
                    .build();
            case "managed-identity" -> hasClientId
                    ? new ManagedIdentityCredentialBuilder().clientId(clientId).build()
                    : new ManagedIdentityCredentialBuilder().build();
            case "workload-identity" -> hasClientId
                    ? new WorkloadIdentityCredentialBuilder().clientId(clientId).build()
                    : new WorkloadIdentityCredentialBuilder().build();
            case "default" -> new DefaultAzureCredentialBuilder().build();
            default -> throw new IllegalArgumentException("dataverse.auth.mode must be emulator, client-secret, "
                    + "managed-identity, workload-identity or default, was " + mode);
        };
    }

    /** One registry for Camel's metrics and ours, so /observe/metrics shows both. */
    private static MeterRegistry meterRegistry(Registry registry) {
        MeterRegistry existing = registry.lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        if (existing != null) {
            return existing;
        }
        PrometheusMeterRegistry created = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.bind("metricsRegistry", created);
        return created;
    }

    static String required(Function<String, String> property, String key) {
        String v = property.apply(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("missing required property " + key);
        }
        return v.trim();
    }
}
