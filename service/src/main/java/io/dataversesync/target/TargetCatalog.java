package io.dataversesync.target;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import io.dataversesync.sync.EntityCatalog;

/**
 * The targets the service delivers to (sync.targets) and their settings (sync.target.NAME.*), checked at start-up:
 * a missing or malformed setting, or a subscription to an entity that is not synced, stops the start with the key
 * named.
 */
public class TargetCatalog {
    private final Map<String, TargetSettings> byName = new LinkedHashMap<>();

    public TargetCatalog(Collection<TargetSettings> targets) {
        targets.forEach(t -> byName.put(t.name(), t));
    }

    /** @param property looks a property up by key (placeholders resolved), null when absent */
    public static TargetCatalog fromProperties(Function<String, String> property, EntityCatalog entities) {
        List<TargetSettings> list = TargetNames.parse(property.apply("sync.targets")).stream()
                .map(name -> read(name, property, entities)).toList();
        return new TargetCatalog(list);
    }

    private static TargetSettings read(String name, Function<String, String> property, EntityCatalog entities) {
        String p = "sync.target." + name + ".";
        Set<String> subscribed = new LinkedHashSet<>();
        for (String entity : Arrays.stream(required(property, p + "entities").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()) {
            if (entities.find(entity).isEmpty()) {
                throw new IllegalArgumentException(p + "entities names '" + entity + "', which is not in sync.entities (" + entities.names() + ")");
            }
            subscribed.add(entity.toLowerCase(Locale.ROOT));
        }
        String mode = required(property, p + "auth").toLowerCase(Locale.ROOT);
        TargetSettings.AuthMode authMode = switch (mode) {
            case "bearer" -> TargetSettings.AuthMode.BEARER;
            case "api-key" -> TargetSettings.AuthMode.API_KEY;
            case "oauth2" -> TargetSettings.AuthMode.OAUTH2;
            case "none" -> TargetSettings.AuthMode.NONE;
            default -> throw new IllegalArgumentException(p + "auth must be bearer, api-key, oauth2 or none, was '" + mode + "'");
        };
        TargetSettings.Auth auth = new TargetSettings.Auth(authMode,
                authMode == TargetSettings.AuthMode.BEARER || authMode == TargetSettings.AuthMode.API_KEY ? requiredKey(property, p + "secret") : null,
                authMode == TargetSettings.AuthMode.API_KEY ? optional(property, p + "api-key-header", "X-Api-Key") : null,
                authMode == TargetSettings.AuthMode.OAUTH2 ? optional(property, p + "oauth2.credential", "default") : null,
                authMode == TargetSettings.AuthMode.OAUTH2 ? required(property, p + "oauth2.scope") : null,
                optional(property, p + "oauth2.tenant-id", null),
                optional(property, p + "oauth2.client-id", null),
                p + "oauth2.client-secret",
                optional(property, p + "oauth2.token-url", null));
        TargetSettings.WriteBack writeBack = new TargetSettings.WriteBack(
                required(property, p + "writeback.target-id-column"),
                required(property, p + "writeback.hash-column"),
                optional(property, p + "writeback.status-column", null));
        TargetSettings.Breaker breaker = new TargetSettings.Breaker(
                (float) number(property, p + "breaker.failure-rate", 1, 100),
                (int) number(property, p + "breaker.window-size", 1, 10_000),
                (int) number(property, p + "breaker.minimum-calls", 1, 10_000),
                Duration.ofMillis((long) number(property, p + "breaker.open-ms", 1, 86_400_000)),
                (int) number(property, p + "breaker.half-open-calls", 1, 1000));
        int bulkhead = (int) number(property, p + "bulkhead.max-concurrent-calls", 1, 10_000);
        Duration wait = Duration.ofMillis((long) number(property, p + "response-timeout-ms", 1, 600_000));
        number(property, p + "connect-timeout-ms", 1, 600_000);
        required(property, p + "url");
        return new TargetSettings(name, Set.copyOf(subscribed), auth, writeBack, breaker, bulkhead, wait);
    }

    public Optional<TargetSettings> find(String name) {
        return name == null ? Optional.empty() : Optional.ofNullable(byName.get(name));
    }

    public TargetSettings get(String name) {
        return find(name).orElseThrow(() -> new IllegalStateException("target not declared in sync.targets: " + name));
    }

    public Collection<TargetSettings> all() {
        return byName.values();
    }

    /** The targets subscribed to an entity, in declaration order. */
    public List<TargetSettings> subscribersOf(String entity) {
        return byName.values().stream().filter(t -> t.subscribes(entity)).toList();
    }

    public String names() {
        return String.join(",", byName.keySet());
    }

    private static String required(Function<String, String> property, String key) {
        String v = property.apply(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("missing required property " + key);
        }
        return v.trim();
    }

    /**
     * The key of a secret, not its value: it is resolved on first use, after a message passed validation (a
     * {{azure:...}} value is a Key Vault read), by {@link TargetAuth}.
     */
    private static String requiredKey(Function<String, String> property, String key) {
        return key;
    }

    private static String optional(Function<String, String> property, String key, String defaultValue) {
        String v = property.apply(key);
        return v == null || v.isBlank() ? defaultValue : v.trim();
    }

    private static double number(Function<String, String> property, String key, double min, double max) {
        String v = required(property, key);
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, was '" + v + "'");
        }
        if (d < min || d > max) {
            throw new IllegalArgumentException(key + " must be within " + (long) min + ".." + (long) max + ", was " + v);
        }
        return d;
    }
}
