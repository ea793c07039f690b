package io.dataversesync.emulator.local;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dataversesync.emulator.CostModel;
import io.dataversesync.emulator.DataverseEmulator;
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
 * <p>
 * Every synced table declares its columns (the id column, {@code sync.entity.NAME.columns} and the write-back
 * columns {@code sync.writeback.*-column}), so a misspelt column in the configuration fails here as it would
 * against Dataverse. Every application user of {@code dataverse.auth.client-id} / {@code client-secret}
 * (comma-separated, paired by position) gets a token. Optional properties, with the emulator's defaults:
 * {@code sync.local.dataverse.execution-budget-ms} (1200000; 0 = no limit),
 * {@code sync.local.dataverse.cost.read-row-ms}, {@code .cost.create-ms}, {@code .cost.update-ms},
 * {@code .cost.delete-ms}, {@code .cost.request-ms} ({@link CostModel#DEFAULT}),
 * {@code sync.local.dataverse.cost-as-latency} (false) and {@code sync.local.dataverse.max-concurrent-requests}
 * (0 = no limit).
 */
@Configuration
public class LocalEmulatorsConfiguration implements CamelConfiguration {

    private static final String PREFIX = "sync.local.dataverse.";

    @Override
    public void configure(CamelContext context) throws Exception {
        PropertiesComponent p = context.getPropertiesComponent();
        if (!Boolean.parseBoolean(p.resolveProperty("sync.local.enabled").orElse("false"))) {
            return;
        }
        if (!Boolean.parseBoolean(required(p, "sync.local.emulators.in-process"))) {
            // the emulators run elsewhere (the standalone program): the views point there
            context.getRegistry().bind("emulatorViews", new RemoteEmulatorViews(
                    Integer.parseInt(required(p, "sync.local.dataverse-port")), Integer.parseInt(required(p, "sync.local.target-port"))));
            return;
        }
        List<String> clientIds = list(required(p, "dataverse.auth.client-id"));
        List<String> secrets = list(required(p, "dataverse.auth.client-secret"));
        if (clientIds.isEmpty() || secrets.isEmpty()) {
            throw new IllegalArgumentException("dataverse.auth.client-id and client-secret must name at least one user");
        }
        CostModel defaults = CostModel.DEFAULT;
        DataverseEmulator.Settings settings = new DataverseEmulator.Settings()
                .port(Integer.parseInt(required(p, "sync.local.dataverse-port")))
                .clientId(clientIds.get(0))
                .clientSecret(secrets.get(0))
                .requestBudget(Integer.parseInt(required(p, PREFIX + "request-budget")))
                .budgetWindow(Duration.ofSeconds(Long.parseLong(required(p, PREFIX + "budget-window-seconds"))))
                .maxConcurrentRequests(Integer.parseInt(optional(p, PREFIX + "max-concurrent-requests", "0")))
                .executionTimeBudget(Duration.ofMillis(Math.round(number(p, PREFIX + "execution-budget-ms", 1_200_000))))
                .costModel(new CostModel(
                        number(p, PREFIX + "cost.read-row-ms", defaults.readPerRowMs()),
                        number(p, PREFIX + "cost.create-ms", defaults.createMs()),
                        number(p, PREFIX + "cost.update-ms", defaults.updateMs()),
                        number(p, PREFIX + "cost.delete-ms", defaults.deleteMs()),
                        number(p, PREFIX + "cost.request-ms", defaults.requestOverheadMs())))
                .costAsLatency(Boolean.parseBoolean(optional(p, PREFIX + "cost-as-latency", "false")));
        for (int i = 1; i < clientIds.size() && i < secrets.size(); i++) {
            settings.additionalClient(clientIds.get(i), secrets.get(i));
        }
        Map<String, String[]> tables = new LinkedHashMap<>();
        Map<String, Set<String>> columns = new LinkedHashMap<>();
        tables(p, tables, columns);
        outboxTable(p, tables, columns);
        LocalEnvironment local = LocalEnvironment.create(settings,
                Integer.parseInt(required(p, "sync.local.target-port")), required(p, "sync.local.target-api-key"), tables, columns);
        if ("formula".equals(optional(p, "sync.writeback.overall-status", "service"))) {
            overallStatusFormulas(p, tables, local.dataverse());
        }
        local.startNow();
        // stopped by Camel after the routes (services stop in reverse order of addition)
        context.addService(local, true, true);
        context.getRegistry().bind("localEnvironment", local);
        context.getRegistry().bind("emulatorViews", local);
    }

    /**
     * The tables the service syncs (sync.entities and sync.entity.NAME.entity-set / id-column) and their columns:
     * the id column, sync.entity.NAME.columns and the write-back columns (the emulator adds the ones it stamps).
     */
    private static void tables(PropertiesComponent p, Map<String, String[]> tables, Map<String, Set<String>> columns) {
        List<String> writeBack = new ArrayList<>(List.of(
                required(p, "sync.writeback.status-column"),
                required(p, "sync.writeback.synced-at-column"),
                required(p, "sync.writeback.error-column")));
        // each target's own columns (sync.targets, sync.target.NAME.writeback.*)
        for (String target : list(required(p, "sync.targets"))) {
            for (String column : List.of("target-id-column", "hash-column", "status-column")) {
                String name = optional(p, "sync.target." + target + ".writeback." + column, null);
                if (name != null) {
                    writeBack.add(name);
                }
            }
        }
        // the Retrying status' next attempt (sync.writeback.next-attempt-column)
        String nextAttempt = optional(p, "sync.writeback.next-attempt-column", null);
        if (nextAttempt != null) {
            writeBack.add(nextAttempt);
        }
        for (String entity : required(p, "sync.entities").split(",")) {
            String name = entity.trim();
            if (name.isEmpty()) {
                continue;
            }
            String entitySet = required(p, "sync.entity." + name + ".entity-set");
            String idColumn = required(p, "sync.entity." + name + ".id-column");
            tables.put(entitySet, new String[] {name, idColumn});
            Set<String> declared = new LinkedHashSet<>();
            declared.add(idColumn);
            declared.addAll(list(required(p, "sync.entity." + name + ".columns")));
            declared.addAll(writeBack);
            columns.put(entitySet, declared);
        }
    }

    /**
     * The outbox table the service's outbox relay reads (sync.outbox.entity-set, id-column, columns.*), with its
     * columns declared, so a test (or the demo) creates records through the Web API as the plug-in does. Its logical
     * name is the id column without its "id" suffix (Dataverse's convention for custom tables).
     */
    private static void outboxTable(PropertiesComponent p, Map<String, String[]> tables, Map<String, Set<String>> columns) {
        String entitySet = optional(p, "sync.outbox.entity-set", null);
        String idColumn = optional(p, "sync.outbox.id-column", null);
        if (entitySet == null || idColumn == null || tables.containsKey(entitySet)) {
            return;
        }
        String logicalName = idColumn.endsWith("id") ? idColumn.substring(0, idColumn.length() - 2) : idColumn;
        tables.put(entitySet, new String[] {logicalName, idColumn});
        Set<String> declared = new LinkedHashSet<>();
        declared.add(idColumn);
        for (String column : List.of("entity", "row-id", "correlation-id", "status", "error", "created")) {
            declared.add(required(p, "sync.outbox.columns." + column));
        }
        columns.put(entitySet, declared);
    }

    /**
     * sync.writeback.overall-status = formula: the overall status column of each synced table is a formula column over
     * the status columns of the targets subscribed to it, as the organisation defines it in Dataverse (README,
     * "Overall status"; the same rule as DataverseHops.overallStatus of the service mode).
     */
    private static void overallStatusFormulas(PropertiesComponent p, Map<String, String[]> tables, DataverseEmulator dataverse) {
        String overall = required(p, "sync.writeback.status-column");
        tables.forEach((entitySet, names) -> {
            List<String> statusColumns = new ArrayList<>();
            for (String target : list(required(p, "sync.targets"))) {
                if (list(optional(p, "sync.target." + target + ".entities", "")).contains(names[0])) {
                    statusColumns.add(required(p, "sync.target." + target + ".writeback.status-column"));
                }
            }
            dataverse.registerFormulaColumn(entitySet, overall, row -> {
                List<String> statuses = statusColumns.stream().map(c -> row.path(c).asText(null)).toList();
                if (statuses.contains("CompensationFailed")) {
                    return "Failed";
                }
                if (statuses.contains("Compensated")) {
                    return "Compensated";
                }
                if (statuses.contains("Failed")) {
                    return "Failed";
                }
                if (statuses.contains("Retrying")) {
                    return "Retrying";
                }
                return statuses.stream().allMatch("Synced"::equals) ? "Synced" : "Syncing";
            });
        });
    }

    private static List<String> list(String commaSeparated) {
        List<String> items = new ArrayList<>();
        for (String item : commaSeparated.split(",")) {
            if (!item.isBlank()) {
                items.add(item.trim());
            }
        }
        return items;
    }

    private static double number(PropertiesComponent p, String key, double defaultValue) {
        String text = optional(p, key, null);
        if (text == null) {
            return defaultValue;
        }
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("property " + key + " must be a number, not '" + text + "'", e);
        }
    }

    private static String optional(PropertiesComponent p, String key, String defaultValue) {
        return p.resolveProperty(key).map(String::trim).filter(v -> !v.isEmpty()).orElse(defaultValue);
    }

    private static String required(PropertiesComponent p, String key) {
        return p.resolveProperty(key).map(String::trim).filter(v -> !v.isEmpty())
                .orElseThrow(() -> new IllegalArgumentException("missing required property " + key));
    }
}
