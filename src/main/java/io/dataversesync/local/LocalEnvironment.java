package io.dataversesync.local;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.dataversesync.local.emulator.DataverseEmulator;
import io.dataversesync.local.emulator.TargetEmulator;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import org.apache.camel.support.service.ServiceSupport;

/**
 * Everything the local mode needs instead of Azure: the embedded broker and the Dataverse and target emulators
 * on loopback. Started while Camel is configured (before any consumer connects), stopped after the routes.
 * Never created in the azure profile.
 */
public class LocalEnvironment extends ServiceSupport {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private final EmbeddedBroker broker;
    private final DataverseEmulator dataverse;
    private final TargetEmulator target;

    public LocalEnvironment(EmbeddedBroker broker, DataverseEmulator dataverse, TargetEmulator target, EntityCatalog entities) {
        this.broker = broker;
        this.dataverse = dataverse;
        this.target = target;
        for (EntitySettings e : entities.all()) {
            dataverse.registerTable(e.entitySet(), e.logicalName(), e.idColumn());
        }
    }

    public static LocalEnvironment create(Path brokerDir, String brokerUrl, List<String> queues, int maxDeliveryAttempts,
            long redeliveryDelayMs, int dataversePort, int requestBudget, Duration budgetWindow, String clientId,
            String clientSecret, int targetPort, String targetApiKey, EntityCatalog entities) {
        EmbeddedBroker broker = new EmbeddedBroker(brokerDir, brokerUrl, queues, maxDeliveryAttempts, redeliveryDelayMs);
        DataverseEmulator dataverse = new DataverseEmulator(new DataverseEmulator.Settings()
                .port(dataversePort).clientId(clientId).clientSecret(clientSecret)
                .requestBudget(requestBudget).budgetWindow(budgetWindow));
        TargetEmulator target = new TargetEmulator(new TargetEmulator.Settings().port(targetPort).apiKey(targetApiKey));
        return new LocalEnvironment(broker, dataverse, target, entities);
    }

    /** Starts at once (not waiting for Camel's service start) so the JMS consumers find the broker up. */
    public void startNow() throws Exception {
        broker.start();
        dataverse.start();
        target.start();
    }

    @Override
    protected void doStart() throws Exception {
        startNow();
    }

    @Override
    protected void doStop() throws Exception {
        target.stop();
        dataverse.stop();
        broker.stop();
    }

    /** For the local views on the service's HTTP port. */
    public String dataverseRowsJson(String entitySet) {
        var list = JSON.createArrayNode();
        dataverse.rows(entitySet).forEach(list::add);
        return JSON.createObjectNode().set("value", list).toString();
    }

    public String targetRecordsJson(String collection) {
        var list = JSON.createArrayNode();
        target.records(collection).forEach(list::add);
        return JSON.createObjectNode().set("value", list).toString();
    }

    public EmbeddedBroker broker() {
        return broker;
    }

    public DataverseEmulator dataverse() {
        return dataverse;
    }

    public TargetEmulator target() {
        return target;
    }
}
