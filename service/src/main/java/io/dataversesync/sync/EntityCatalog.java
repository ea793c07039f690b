package io.dataversesync.sync;

import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The tables configured for sync, read from properties:
 * <pre>
 * sync.entities=account,contact
 * sync.entity.account.entity-set=accounts
 * sync.entity.account.id-column=accountid
 * sync.entity.account.columns=name,accountnumber
 * sync.entity.account.on-deleted=delete
 * </pre>
 */
public class EntityCatalog {
    private final Map<String, EntitySettings> byLogicalName = new LinkedHashMap<>();

    public EntityCatalog(Collection<EntitySettings> entities) {
        entities.forEach(e -> byLogicalName.put(e.logicalName(), e));
    }

    /** @param property looks a property up by key, returning null when absent */
    public static EntityCatalog fromProperties(Function<String, String> property) {
        String names = required(property, "sync.entities");
        List<EntitySettings> list = splitList(names).stream().map(name -> {
            String prefix = "sync.entity." + name + ".";
            return new EntitySettings(name,
                    required(property, prefix + "entity-set"),
                    required(property, prefix + "id-column"),
                    splitList(required(property, prefix + "columns")),
                    EntitySettings.OnDeleted.parse(Optional.ofNullable(property.apply(prefix + "on-deleted")).orElse("delete")));
        }).toList();
        return new EntityCatalog(list);
    }

    public Optional<EntitySettings> find(String logicalName) {
        return logicalName == null ? Optional.empty() : Optional.ofNullable(byLogicalName.get(logicalName.toLowerCase()));
    }

    public EntitySettings get(String logicalName) {
        return find(logicalName).orElseThrow(() -> new IllegalStateException("entity not configured: " + logicalName));
    }

    public Collection<EntitySettings> all() {
        return byLogicalName.values();
    }

    public String names() {
        return String.join(",", byLogicalName.keySet());
    }

    static List<String> splitList(String value) {
        return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static String required(Function<String, String> property, String key) {
        String v = property.apply(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("missing required property " + key);
        }
        return v.trim();
    }
}
