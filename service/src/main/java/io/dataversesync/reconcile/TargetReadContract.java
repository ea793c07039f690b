package io.dataversesync.reconcile;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetSettings;

/**
 * How the reconciliation reads what a target holds: properties {@code sync.target.<name>.read.*}, no Java per target.
 * Properties rather than template parameters: the read is not a route but a run-wide paged loop in Java, it is
 * optional (a target without one is compared through the hash on the row), and whether a target may be listed
 * at night is an environment's decision (a production API may forbid full listings) like its URL and credentials.
 * <ul>
 * <li>{@code list-path}: the first page of a listing, e.g. {@code /api/customers?limit={pageSize}}; each answer names
 * the next page ({@code next-link-field}, a path or a URL on the target's host), absent on the last one.</li>
 * <li>{@code by-ids-path}: records by key, e.g. {@code /api/customers?sourceRowIds={sourceRowIds}} (comma-separated,
 * each URL-encoded; at most {@code page-size} per request): what an incremental run reads.</li>
 * <li>{@code items-field} (the array of records in an answer), {@code key-field} (the Dataverse row id in a record),
 * {@code deleted-field} (a record whose field is true or set is a tombstone or soft-deleted: it counts as gone;
 * empty = none), {@code page-size}.</li>
 * </ul>
 * Unset keys other than the paths fall back to {@code sync.reconcile.target-read.*}.
 */
public record TargetReadContract(String target, String listPath, String byIdsPath, int pageSize, String itemsField, String nextLinkField,
        String keyField, String deletedField) {

    public boolean canList() {
        return listPath != null;
    }

    public boolean canReadByIds() {
        return byIdsPath != null;
    }

    /** Every declared target's contract (targets without one map to a contract that can do nothing). */
    public static Map<String, TargetReadContract> fromProperties(Function<String, String> property, TargetCatalog targets) {
        Map<String, TargetReadContract> contracts = new LinkedHashMap<>();
        for (TargetSettings t : targets.all()) {
            String prefix = "sync.target." + t.name() + ".read.";
            Function<String, String> setting = key -> Optional.ofNullable(blankToNull(property.apply(prefix + key)))
                    .orElseGet(() -> blankToNull(property.apply("sync.reconcile.target-read." + key)));
            String list = blankToNull(property.apply(prefix + "list-path"));
            String byIds = blankToNull(property.apply(prefix + "by-ids-path"));
            for (String path : new String[] {list, byIds}) {
                if (path != null && !path.startsWith("/")) {
                    throw new IllegalArgumentException("sync.target." + t.name() + ".read.*-path must start with '/', was '" + path + "'");
                }
            }
            if (byIds != null && !byIds.contains("{sourceRowIds}")) {
                throw new IllegalArgumentException(prefix + "by-ids-path needs {sourceRowIds}");
            }
            int pageSize;
            try {
                pageSize = Integer.parseInt(require(setting, prefix, "page-size"));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(prefix + "page-size must be a number");
            }
            if (pageSize < 1 || pageSize > 10_000) {
                throw new IllegalArgumentException(prefix + "page-size must be 1..10000, was " + pageSize);
            }
            contracts.put(t.name(), new TargetReadContract(t.name(), list, byIds, pageSize, require(setting, prefix, "items-field"),
                    require(setting, prefix, "next-link-field"), require(setting, prefix, "key-field"), setting.apply("deleted-field")));
        }
        return contracts;
    }

    private static String require(Function<String, String> setting, String prefix, String key) {
        String value = setting.apply(key);
        if (value == null) {
            throw new IllegalArgumentException("missing " + prefix + key + " (or sync.reconcile.target-read." + key + ")");
        }
        return value;
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }
}
