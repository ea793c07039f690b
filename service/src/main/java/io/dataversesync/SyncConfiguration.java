package io.dataversesync;

import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
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
import io.dataversesync.dataverse.DataverseRequestGate;
import io.dataversesync.dataverse.DataverseTokenProvider;
import io.dataversesync.dataverse.DataverseUser;
import io.dataversesync.dataverse.WriteBackColumns;
import io.dataversesync.broker.BrokerHealthCheck;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.dataverse.EmulatorTokenCredential;
import io.dataversesync.policy.ErrorClassifier;
import io.dataversesync.policy.SyncPolicy;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.sync.SyncDedupe;
import io.dataversesync.sync.SyncMessages;
import io.dataversesync.sync.SyncMetrics;
import io.dataversesync.sync.TargetCredentials;
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
        registry.bind("targetCredentials", new TargetCredentials(context, "target.api-key",
                Duration.ofSeconds(Long.parseLong(required(property, "target.api-key-cache-seconds"))), clock));

        if (Boolean.parseBoolean(property.apply("sync.local.enabled"))) {
            startEmbeddedBroker(context, property);
        }

        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        MeterRegistry meters = meterRegistry(registry);
        List<DataverseUser> users = dataverseUsers(property, http, json, clock, meters);
        DataverseClient client = new DataverseClient(http, required(property, "dataverse.url"), users, json,
                Duration.ofMillis(Long.parseLong(required(property, "dataverse.timeout-ms"))), clock, meters);
        WriteBackColumns columns = new WriteBackColumns(required(property, "sync.writeback.target-id-column"),
                required(property, "sync.writeback.status-column"), required(property, "sync.writeback.synced-at-column"),
                required(property, "sync.writeback.error-column"), Integer.parseInt(required(property, "sync.writeback.error-max-length")),
                required(property, "sync.writeback.synced-hash-column"));
        // threads owned by Camel: shut down with the context
        var executors = context.getExecutorServiceManager();
        var batchTimer = executors.newScheduledThreadPool(this, "dataverse-batch-timer", 1);
        var batchWorkers = executors.newCachedThreadPool(this, "dataverse-batch");
        registry.bind("dataverseClient", client);
        registry.bind("dataverse", new DataverseHops(client, entities, columns, json, clock,
                batching(property, "sync.coalesce"), batching(property, "sync.writeback.batch"), batchTimer, batchWorkers));
        registry.bind("syncDedupe", new SyncDedupe(Boolean.parseBoolean(required(property, "sync.dedupe.enabled")),
                Long.parseLong(required(property, "sync.dedupe.clock-skew-ms")), Integer.parseInt(required(property, "sync.dedupe.max-rows"))));
    }

    private static Transport transport(String name, Clock clock) {
        return switch (name) {
            case "artemis" -> new ArtemisTransport(clock);
            case "servicebus" -> new ServiceBusTransport(clock);
            default -> throw new IllegalArgumentException("sync.transport must be artemis or servicebus, was " + name);
        };
    }

    /**
     * The local default transport: the embedded, persistent Artemis broker, started now so that the JMS consumers
     * find it up, stopped by Camel after the routes.
     */
    private static void startEmbeddedBroker(CamelContext context, Function<String, String> property) throws Exception {
        String brokerUrl = required(property, "sync.local.broker.url");
        EmbeddedBroker broker = new EmbeddedBroker(
                Path.of(required(property, "sync.local.broker.data-dir")),
                brokerUrl,
                List.of(required(property, "sync.queue.outbound"), required(property, "sync.queue.ack")),
                Integer.parseInt(required(property, "sync.local.broker.max-delivery-attempts")),
                Long.parseLong(required(property, "sync.local.broker.redelivery-delay-ms")));
        broker.start();
        context.addService(broker, true, true);
        context.getRegistry().bind("embeddedBroker", broker);
        context.getRegistry().bind("brokerHealthCheck", new BrokerHealthCheck(broker));

        ActiveMQConnectionFactory connectionFactory = new ActiveMQConnectionFactory(brokerUrl);
        // no client-side prefetch: with message groups (per-row ordering) a prefetching consumer would take a
        // whole backlog, and with it every row's group, leaving the other consumers idle
        connectionFactory.setConsumerWindowSize(0);
        context.getRegistry().bind("artemisConnectionFactory", connectionFactory);
        context.getComponent("jms", JmsComponent.class).setConnectionFactory(connectionFactory);
    }

    /**
     * The application users the Web API is called as. dataverse.auth.client-id may list several (comma separated;
     * with client-secret mode, dataverse.auth.client-secret lists the secrets in the same order): Dataverse counts
     * its service protection limits per user, so several users spread the load.
     */
    private static List<DataverseUser> dataverseUsers(Function<String, String> property, HttpClient http, ObjectMapper json,
            Clock clock, MeterRegistry meters) {
        String mode = required(property, "dataverse.auth.mode");
        String scope = required(property, "dataverse.auth.scope");
        List<String> clientIds = list(property.apply("dataverse.auth.client-id"));
        List<String> secrets = list(property.apply("dataverse.auth.client-secret"));
        if (clientIds.isEmpty()) {
            clientIds = List.of(""); // the identity's own default (system-assigned managed identity, workload identity env)
        }
        boolean pacing = Boolean.parseBoolean(required(property, "dataverse.limits.enabled"));
        List<DataverseUser> users = new ArrayList<>();
        for (int i = 0; i < clientIds.size(); i++) {
            String clientId = clientIds.get(i);
            String secret = i < secrets.size() ? secrets.get(i) : null;
            String name = clientId.isEmpty() ? "default" : clientId;
            DataverseRequestGate gate = pacing ? new DataverseRequestGate(name,
                    Integer.parseInt(required(property, "dataverse.limits.requests-per-window")),
                    Duration.ofSeconds(Long.parseLong(required(property, "dataverse.limits.window-seconds"))),
                    Double.parseDouble(required(property, "dataverse.limits.headroom")),
                    Integer.parseInt(required(property, "dataverse.limits.max-concurrent")),
                    Duration.ofMillis(Long.parseLong(required(property, "dataverse.limits.max-wait-ms"))), clock, meters) : null;
            users.add(new DataverseUser(name, new DataverseTokenProvider(credential(mode, property, clientId, secret, http, json), scope), gate));
        }
        return users;
    }

    private static TokenCredential credential(String mode, Function<String, String> property, String clientId, String secret,
            HttpClient http, ObjectMapper json) {
        boolean hasClientId = !clientId.isEmpty();
        return switch (mode) {
            case "emulator" -> new EmulatorTokenCredential(http, required(property, "dataverse.auth.token-url"), clientId, secret, json);
            case "client-secret" -> new ClientSecretCredentialBuilder()
                    .tenantId(required(property, "dataverse.auth.tenant-id"))
                    .clientId(clientId)
                    .clientSecret(secret)
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

    private static DataverseHops.Batching batching(Function<String, String> property, String prefix) {
        return new DataverseHops.Batching(Boolean.parseBoolean(required(property, prefix + ".enabled")),
                Duration.ofMillis(Long.parseLong(required(property, prefix + ".window-ms"))),
                Integer.parseInt(required(property, prefix + ".max-rows")),
                Duration.ofMillis(Long.parseLong(required(property, "dataverse.timeout-ms")) * 2));
    }

    private static List<String> list(String value) {
        if (value == null || value.isBlank()) {
            return List.of();
        }
        return java.util.Arrays.stream(value.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
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
