package io.dataversesync.emulator;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The command line of {@link EmulatorMain}: {@code --name=value} options. Every default equals the service's
 * local-mode default (application.properties: ports, client credentials, target API key, request budget, the
 * synced table), so the service runs against the standalone program without any setting changed.
 */
public final class EmulatorOptions {

    /** A command line that cannot be run; the message says what is wrong and with which option. */
    public static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** A table the Dataverse emulator serves, e.g. accounts:account:accountid. */
    public record Table(String entitySet, String logicalName, String idColumn) {
    }

    /** The alternate keys declared by default: accountnumber of accounts (when accounts is served). */
    static final String DEFAULT_ALTERNATE_KEYS = "accounts:accountnumber";

    private record Spec(String name, String defaultValue, String description) {
    }

    /** In the order --help lists them. */
    private static final List<Spec> SPECS = List.of(
            new Spec("dataverse-port", "18081", "port of the Dataverse Web API emulator on 127.0.0.1 (0 = any free port)"),
            new Spec("target-port", "18082", "port of the target system emulator on 127.0.0.1 (0 = any free port)"),
            new Spec("client-id", "local-sync-app", "client id the token endpoint accepts (client credentials)"),
            new Spec("client-secret", "local-secret", "client secret the token endpoint accepts"),
            new Spec("target-api-key", "local-target-key", "API key the target emulator expects (Authorization: Bearer <key>)"),
            new Spec("request-budget", "6000", "Dataverse requests per window per application user before 429 (0 = no limit)"),
            new Spec("budget-window-seconds", "300", "length of the sliding window of the request and execution-time budgets"),
            new Spec("max-concurrent-requests", "0", "concurrent Dataverse requests per application user before 429 (0 = no limit; Dataverse: 52)"),
            new Spec("execution-budget-ms", "1200000", "combined execution time (cost model) per window per application user before 429 (0 = no limit)"),
            new Spec("cost-read-row-ms", plain(CostModel.DEFAULT.readPerRowMs()), "execution ms charged per row a GET returns"),
            new Spec("cost-create-ms", plain(CostModel.DEFAULT.createMs()), "execution ms charged per row created (POST, upsert)"),
            new Spec("cost-update-ms", plain(CostModel.DEFAULT.updateMs()), "execution ms charged per row updated (PATCH)"),
            new Spec("cost-delete-ms", plain(CostModel.DEFAULT.deleteMs()), "execution ms charged per row deleted"),
            new Spec("cost-request-ms", plain(CostModel.DEFAULT.requestOverheadMs()), "execution ms charged per request (a $batch once)"),
            new Spec("cost-as-latency", "false", "also delay every Dataverse answer by the execution ms it cost (true/false)"),
            new Spec("change-tracking-token-seconds", "604800", "how long a change tracking delta token stays valid (Dataverse: 7 days)"),
            new Spec("tables", "accounts:account:accountid", "tables served, comma-separated entitySet:logicalName:idColumn"),
            new Spec("columns", "", "declared columns, comma-separated entitySet:col|col|... (entitySet:* = any column); "
                    + "unlisted: accounts declares the account columns (README), other tables take any column"),
            new Spec("alternate-keys", DEFAULT_ALTERNATE_KEYS, "alternate keys, comma-separated entitySet:col[+col...] (empty = none)"),
            new Spec("seed", "20", "rows created in the first table at start, with account columns (0 = none)"),
            new Spec("dataverse-latency-ms", "0", "delay added to every Dataverse API answer"),
            new Spec("dataverse-error-rate", "0", "share (0..1) of Dataverse API requests answered with --dataverse-error-status"),
            new Spec("dataverse-error-status", "503", "HTTP status of injected Dataverse errors (400..599)"),
            new Spec("target-latency-ms", "0", "delay added to every target API answer"),
            new Spec("target-error-rate", "0", "share (0..1) of target API requests answered with --target-error-status"),
            new Spec("target-error-status", "503", "HTTP status of injected target errors (400..599)"));

    private final boolean help;
    private final int dataversePort;
    private final int targetPort;
    private final String clientId;
    private final String clientSecret;
    private final String targetApiKey;
    private final int requestBudget;
    private final Duration budgetWindow;
    private final int maxConcurrentRequests;
    private final Duration executionTimeBudget;
    private final CostModel costModel;
    private final boolean costAsLatency;
    private final Duration changeTrackingTokenLifetime;
    private final List<Table> tables;
    private final Map<String, List<String>> columns;
    private final Map<String, List<List<String>>> alternateKeys;
    private final int seed;
    private final Duration dataverseLatency;
    private final double dataverseErrorRate;
    private final int dataverseErrorStatus;
    private final Duration targetLatency;
    private final double targetErrorRate;
    private final int targetErrorStatus;

    private EmulatorOptions(boolean help, Map<String, String> values) throws UsageException {
        this.help = help;
        this.dataversePort = port(values, "dataverse-port");
        this.targetPort = port(values, "target-port");
        this.clientId = text(values, "client-id");
        this.clientSecret = text(values, "client-secret");
        this.targetApiKey = text(values, "target-api-key");
        this.requestBudget = integer(values, "request-budget", 0, Integer.MAX_VALUE);
        this.budgetWindow = Duration.ofSeconds(integer(values, "budget-window-seconds", 1, Integer.MAX_VALUE));
        this.maxConcurrentRequests = integer(values, "max-concurrent-requests", 0, Integer.MAX_VALUE);
        this.executionTimeBudget = Duration.ofMillis(integer(values, "execution-budget-ms", 0, Integer.MAX_VALUE));
        this.costModel = new CostModel(milliseconds(values, "cost-read-row-ms"), milliseconds(values, "cost-create-ms"),
                milliseconds(values, "cost-update-ms"), milliseconds(values, "cost-delete-ms"),
                milliseconds(values, "cost-request-ms"));
        this.costAsLatency = bool(values, "cost-as-latency");
        this.changeTrackingTokenLifetime = Duration.ofSeconds(integer(values, "change-tracking-token-seconds", 0, Integer.MAX_VALUE));
        this.tables = tables(values);
        this.columns = columns(values, tables);
        this.alternateKeys = alternateKeys(values, tables, columns);
        this.seed = integer(values, "seed", 0, 1_000_000);
        this.dataverseLatency = Duration.ofMillis(integer(values, "dataverse-latency-ms", 0, Integer.MAX_VALUE));
        this.dataverseErrorRate = rate(values, "dataverse-error-rate");
        this.dataverseErrorStatus = integer(values, "dataverse-error-status", 400, 599);
        this.targetLatency = Duration.ofMillis(integer(values, "target-latency-ms", 0, Integer.MAX_VALUE));
        this.targetErrorRate = rate(values, "target-error-rate");
        this.targetErrorStatus = integer(values, "target-error-status", 400, 599);
        if (dataversePort != 0 && dataversePort == targetPort) {
            throw new UsageException("--dataverse-port and --target-port must differ (both are " + dataversePort + ")");
        }
    }

    /**
     * Reads {@code --name=value} arguments over the defaults. {@code --help} (or {@code -h}) anywhere asks for the
     * usage only and wins over any other argument.
     */
    public static EmulatorOptions parse(String... args) throws UsageException {
        Map<String, String> values = defaultValues();
        for (String arg : args) {
            if (arg.equals("--help") || arg.equals("-h")) {
                return new EmulatorOptions(true, values);
            }
        }
        Set<String> seen = new HashSet<>();
        for (String arg : args) {
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument '" + arg + "': options are --name=value");
            }
            int eq = arg.indexOf('=');
            String name = arg.substring(2, eq < 0 ? arg.length() : eq);
            if (!values.containsKey(name)) {
                throw new UsageException("unknown option --" + name);
            }
            if (eq < 0) {
                throw new UsageException("option --" + name + " needs a value: --" + name + "=<value>");
            }
            if (!seen.add(name)) {
                throw new UsageException("option --" + name + " is given more than once");
            }
            values.put(name, arg.substring(eq + 1));
        }
        return new EmulatorOptions(false, values);
    }

    /** The options with every default, as without arguments. */
    public static EmulatorOptions defaults() {
        try {
            return new EmulatorOptions(false, defaultValues());
        } catch (UsageException e) {
            throw new IllegalStateException("a default does not parse", e);
        }
    }

    /** What --help prints: the command and every option with its default. */
    public static String usage() {
        StringBuilder out = new StringBuilder();
        out.append("Usage: java -jar emulators/target/dataverse-sync-emulators.jar [--name=value ...]\n")
                .append("Runs the Dataverse Web API emulator and the target system emulator on 127.0.0.1 until killed.\n\n")
                .append("Options (default in brackets):\n");
        int width = SPECS.stream().mapToInt(spec -> spec.name().length()).max().orElse(0) + 2;
        for (Spec spec : SPECS) {
            out.append("  --").append(spec.name()).append(" ".repeat(width - spec.name().length()))
                    .append(spec.description()).append(" [").append(spec.defaultValue()).append("]\n");
        }
        out.append("  --help").append(" ".repeat(width - 4)).append("print this help and exit\n");
        return out.toString();
    }

    private static Map<String, String> defaultValues() {
        Map<String, String> values = new LinkedHashMap<>();
        SPECS.forEach(spec -> values.put(spec.name(), spec.defaultValue()));
        return values;
    }

    // ---------------------------------------------------------------- value parsing

    private static int port(Map<String, String> values, String name) throws UsageException {
        return integer(values, name, 0, 65_535);
    }

    private static int integer(Map<String, String> values, String name, int min, int max) throws UsageException {
        String text = values.get(name).trim();
        int value;
        try {
            value = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a whole number, not '" + text + "'");
        }
        if (value < min || value > max) {
            throw new UsageException("--" + name + " must be within " + min + ".." + max + ", not " + value);
        }
        return value;
    }

    private static double rate(Map<String, String> values, String name) throws UsageException {
        String text = values.get(name).trim();
        double value;
        try {
            value = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number within 0..1, not '" + text + "'");
        }
        // the negated test also refuses NaN
        if (!(value >= 0 && value <= 1)) {
            throw new UsageException("--" + name + " must be within 0..1, not " + text);
        }
        return value;
    }

    /** A finite, non-negative number of milliseconds (decimals allowed). */
    private static double milliseconds(Map<String, String> values, String name) throws UsageException {
        String text = values.get(name).trim();
        double value;
        try {
            value = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number of milliseconds, not '" + text + "'");
        }
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new UsageException("--" + name + " must be a number >= 0, not " + text);
        }
        return value;
    }

    private static boolean bool(Map<String, String> values, String name) throws UsageException {
        String text = values.get(name).trim();
        if (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(text);
        }
        throw new UsageException("--" + name + " must be true or false, not '" + text + "'");
    }

    /** 1.0 -> "1", 0.5 -> "0.5": how --help shows a default. */
    private static String plain(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    private static String text(Map<String, String> values, String name) throws UsageException {
        String text = values.get(name).trim();
        if (text.isEmpty()) {
            throw new UsageException("--" + name + " must not be empty");
        }
        return text;
    }

    private static List<Table> tables(Map<String, String> values) throws UsageException {
        List<Table> tables = new ArrayList<>();
        Set<String> entitySets = new HashSet<>();
        for (String entry : values.get("tables").split(",", -1)) {
            String[] parts = entry.trim().split(":", -1);
            if (parts.length != 3 || parts[0].isBlank() || parts[1].isBlank() || parts[2].isBlank()) {
                throw new UsageException("--tables entries are entitySet:logicalName:idColumn "
                        + "(e.g. accounts:account:accountid), not '" + entry.trim() + "'");
            }
            Table table = new Table(parts[0].trim(), parts[1].trim(), parts[2].trim());
            if (!entitySets.add(table.entitySet())) {
                throw new UsageException("--tables names entity set '" + table.entitySet() + "' more than once");
            }
            tables.add(table);
        }
        return List.copyOf(tables);
    }

    /**
     * entitySet to declared columns. Entries {@code entitySet:col|col|...} (or {@code entitySet:*}, any column)
     * replace the default: an {@code accounts} table declares {@link SampleAccounts#COLUMNS}, others any column.
     */
    private static Map<String, List<String>> columns(Map<String, String> values, List<Table> tables) throws UsageException {
        Set<String> served = new HashSet<>();
        tables.forEach(table -> served.add(table.entitySet()));
        Map<String, List<String>> declared = new LinkedHashMap<>();
        Set<String> given = new HashSet<>();
        String option = values.get("columns").trim();
        if (!option.isEmpty()) {
            for (String entry : option.split(",", -1)) {
                int colon = entry.indexOf(':');
                String entitySet = colon < 0 ? "" : entry.substring(0, colon).trim();
                String list = colon < 0 ? "" : entry.substring(colon + 1).trim();
                if (entitySet.isEmpty() || list.isEmpty()) {
                    throw new UsageException("--columns entries are entitySet:col|col|... or entitySet:* "
                            + "(e.g. accounts:name|accountnumber), not '" + entry.trim() + "'");
                }
                if (!served.contains(entitySet)) {
                    throw new UsageException("--columns names entity set '" + entitySet + "' that --tables does not serve");
                }
                if (!given.add(entitySet)) {
                    throw new UsageException("--columns names entity set '" + entitySet + "' more than once");
                }
                if (list.equals("*")) {
                    continue;
                }
                Set<String> names = new LinkedHashSet<>();
                for (String column : list.split("\\|", -1)) {
                    if (column.isBlank()) {
                        throw new UsageException("--columns has an empty column name for '" + entitySet + "'");
                    }
                    names.add(column.trim());
                }
                declared.put(entitySet, List.copyOf(names));
            }
        }
        if (served.contains("accounts") && !given.contains("accounts")) {
            declared.put("accounts", SampleAccounts.COLUMNS);
        }
        return Map.copyOf(declared);
    }

    /** entitySet to its alternate keys; the default names accounts and is dropped when accounts is not served. */
    private static Map<String, List<List<String>>> alternateKeys(Map<String, String> values, List<Table> tables,
            Map<String, List<String>> columns) throws UsageException {
        Map<String, Table> served = new LinkedHashMap<>();
        tables.forEach(table -> served.put(table.entitySet(), table));
        String option = values.get("alternate-keys").trim();
        boolean isDefault = option.equals(DEFAULT_ALTERNATE_KEYS);
        Map<String, List<List<String>>> keys = new LinkedHashMap<>();
        if (option.isEmpty()) {
            return Map.of();
        }
        for (String entry : option.split(",", -1)) {
            int colon = entry.indexOf(':');
            String entitySet = colon < 0 ? "" : entry.substring(0, colon).trim();
            String list = colon < 0 ? "" : entry.substring(colon + 1).trim();
            if (entitySet.isEmpty() || list.isEmpty()) {
                throw new UsageException("--alternate-keys entries are entitySet:col[+col...] "
                        + "(e.g. accounts:accountnumber), not '" + entry.trim() + "'");
            }
            Table table = served.get(entitySet);
            if (table == null) {
                if (isDefault) {
                    continue;
                }
                throw new UsageException("--alternate-keys names entity set '" + entitySet + "' that --tables does not serve");
            }
            List<String> key = new ArrayList<>();
            for (String column : list.split("\\+", -1)) {
                String name = column.trim();
                if (name.isEmpty()) {
                    throw new UsageException("--alternate-keys has an empty column name for '" + entitySet + "'");
                }
                List<String> declared = columns.get(entitySet);
                if (declared != null && !declared.contains(name) && !name.equals(table.idColumn())) {
                    throw new UsageException("--alternate-keys column '" + name + "' is not a declared column of '"
                            + entitySet + "' (see --columns)");
                }
                key.add(name);
            }
            keys.computeIfAbsent(entitySet, e -> new ArrayList<>()).add(List.copyOf(key));
        }
        Map<String, List<List<String>>> copy = new LinkedHashMap<>();
        keys.forEach((entitySet, list) -> copy.put(entitySet, List.copyOf(list)));
        return Map.copyOf(copy);
    }

    // ---------------------------------------------------------------- values

    /** True when the command line asked for the usage only. */
    public boolean help() { return help; }
    public int dataversePort() { return dataversePort; }
    public int targetPort() { return targetPort; }
    public String clientId() { return clientId; }
    public String clientSecret() { return clientSecret; }
    public String targetApiKey() { return targetApiKey; }
    public int requestBudget() { return requestBudget; }
    public Duration budgetWindow() { return budgetWindow; }
    public int maxConcurrentRequests() { return maxConcurrentRequests; }
    /** Execution time per window per application user; zero = no limit. */
    public Duration executionTimeBudget() { return executionTimeBudget; }
    public CostModel costModel() { return costModel; }
    public boolean costAsLatency() { return costAsLatency; }
    public Duration changeTrackingTokenLifetime() { return changeTrackingTokenLifetime; }
    /** At least one; the first one receives the seeded rows. */
    public List<Table> tables() { return tables; }
    /** Declared columns by entity set; a served table that is absent takes any column. */
    public Map<String, List<String>> columns() { return columns; }
    /** Alternate keys by entity set, each a list of columns. */
    public Map<String, List<List<String>>> alternateKeys() { return alternateKeys; }
    public int seed() { return seed; }
    public Duration dataverseLatency() { return dataverseLatency; }
    public double dataverseErrorRate() { return dataverseErrorRate; }
    public int dataverseErrorStatus() { return dataverseErrorStatus; }
    public Duration targetLatency() { return targetLatency; }
    public double targetErrorRate() { return targetErrorRate; }
    public int targetErrorStatus() { return targetErrorStatus; }
}
