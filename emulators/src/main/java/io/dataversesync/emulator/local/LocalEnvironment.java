package io.dataversesync.emulator.local;

import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.TargetEmulator;
import org.apache.camel.support.service.ServiceSupport;

/**
 * The Dataverse and target emulators on loopback, inside the JVM of a Camel application (the demo, the tests, the
 * benchmark): started while Camel is configured, before any consumer runs, and stopped after the routes. Bound as
 * {@code localEnvironment}; the emulator views (routes/local/emulator-views.camel.yaml) read it.
 */
public class LocalEnvironment extends ServiceSupport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final DataverseEmulator dataverse;
    private final TargetEmulator target;

    public LocalEnvironment(DataverseEmulator dataverse, TargetEmulator target) {
        this.dataverse = dataverse;
        this.target = target;
    }

    /**
     * @param tables entity set to {logical name, id column} of every table the emulator serves
     */
    public static LocalEnvironment create(int dataversePort, int requestBudget, Duration budgetWindow, String clientId,
            String clientSecret, int targetPort, String targetApiKey, Map<String, String[]> tables) {
        DataverseEmulator dataverse = new DataverseEmulator(new DataverseEmulator.Settings()
                .port(dataversePort).clientId(clientId).clientSecret(clientSecret)
                .requestBudget(requestBudget).budgetWindow(budgetWindow));
        tables.forEach((entitySet, names) -> dataverse.registerTable(entitySet, names[0], names[1]));
        TargetEmulator target = new TargetEmulator(new TargetEmulator.Settings().port(targetPort).apiKey(targetApiKey));
        return new LocalEnvironment(dataverse, target);
    }

    /** Starts at once (not waiting for Camel's service start) so the first request finds the emulators up. */
    public void startNow() {
        dataverse.start();
        target.start();
    }

    @Override
    protected void doStart() {
        startNow();
    }

    @Override
    protected void doStop() {
        target.stop();
        dataverse.stop();
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

    public DataverseEmulator dataverse() {
        return dataverse;
    }

    public TargetEmulator target() {
        return target;
    }
}
