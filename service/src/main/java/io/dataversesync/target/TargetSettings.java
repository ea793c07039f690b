package io.dataversesync.target;

import java.time.Duration;
import java.util.Set;

/**
 * What the service needs to know of one target beyond its route file (routes/targets/NAME.camel.yaml holds the API
 * contract): read from sync.target.NAME.* by {@link TargetCatalog}.
 *
 * @param name      the target's name (queue, subscription, metric tag, property prefix)
 * @param entities  the Dataverse tables it subscribes to
 * @param auth      how its calls authenticate
 * @param writeBack its columns on the Dataverse row
 * @param breaker   its circuit breaker
 * @param bulkhead  the most calls it receives at once
 * @param bulkheadWait how long a message waits for a free slot (the target's response timeout)
 */
public record TargetSettings(String name, Set<String> entities, Auth auth, WriteBack writeBack, Breaker breaker, int bulkhead,
        Duration bulkheadWait) {

    public enum AuthMode { BEARER, API_KEY, OAUTH2, NONE }

    /**
     * @param mode          bearer | api-key | oauth2 | none
     * @param secretKey     property holding the bearer secret or API key (e.g. {{azure:...}} for Key Vault)
     * @param apiKeyHeader  header carrying the API key (api-key)
     * @param credential    oauth2: client-secret | managed-identity | workload-identity | default | client-credentials
     * @param scope         oauth2: the scope asked for, e.g. api://target-app/.default
     */
    public record Auth(AuthMode mode, String secretKey, String apiKeyHeader, String credential, String scope, String tenantId,
            String clientId, String clientSecretKey, String tokenUrl) {
    }

    /**
     * @param targetIdColumn the target's row id
     * @param hashColumn     hash of the payload it holds (a notification mapping to it is an echo, not a change)
     * @param statusColumn   its own status, or null when the row's overall status is its status (a single target)
     */
    public record WriteBack(String targetIdColumn, String hashColumn, String statusColumn) {
    }

    /** resilience4j terms: failure rate % over a count window of calls, at least minimumCalls, open for openFor. */
    public record Breaker(float failureRate, int windowSize, int minimumCalls, Duration openFor, int halfOpenCalls) {
    }

    public boolean subscribes(String entity) {
        return entities.contains(entity);
    }
}
