package io.dataversesync.emulator.local;

import java.time.Duration;
import java.util.Collection;
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
public class LocalEnvironment extends ServiceSupport implements EmulatorViews {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final DataverseEmulator dataverse;
    private final TargetEmulator target;

    public LocalEnvironment(DataverseEmulator dataverse, TargetEmulator target) {
        this.dataverse = dataverse;
        this.target = target;
    }

    /**
     * Schemaless tables and the emulator's default execution-time limit and cost model.
     *
     * @param tables entity set to {logical name, id column} of every table the emulator serves
     */
    public static LocalEnvironment create(int dataversePort, int requestBudget, Duration budgetWindow, String clientId,
            String clientSecret, int targetPort, String targetApiKey, Map<String, String[]> tables) {
        return create(new DataverseEmulator.Settings()
                .port(dataversePort).clientId(clientId).clientSecret(clientSecret)
                .requestBudget(requestBudget).budgetWindow(budgetWindow), targetPort, targetApiKey, tables, Map.of());
    }

    /**
     * @param dataverse the Dataverse emulator's settings (port, users, limits, cost model)
     * @param tables    entity set to {logical name, id column} of every table the emulator serves
     * @param columns   entity set to its declared columns; a table without an entry takes any column
     */
    public static LocalEnvironment create(DataverseEmulator.Settings dataverse, int targetPort, String targetApiKey,
            Map<String, String[]> tables, Map<String, ? extends Collection<String>> columns) {
        DataverseEmulator emulator = new DataverseEmulator(dataverse);
        tables.forEach((entitySet, names) -> {
            Collection<String> declared = columns.get(entitySet);
            if (declared == null) {
                emulator.registerTable(entitySet, names[0], names[1]);
            } else {
                emulator.registerTable(entitySet, names[0], names[1], declared);
            }
        });
        TargetEmulator target = new TargetEmulator(new TargetEmulator.Settings().port(targetPort).apiKey(targetApiKey));
        return new LocalEnvironment(emulator, target);
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
    @Override
    public String dataverseRowsJson(String entitySet) {
        var list = JSON.createArrayNode();
        dataverse.rows(entitySet).forEach(list::add);
        return JSON.createObjectNode().set("value", list).toString();
    }

    @Override
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
