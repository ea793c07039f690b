package io.dataversesync.target;

import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import com.azure.core.credential.TokenCredential;
import com.azure.identity.ClientSecretCredentialBuilder;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import com.azure.identity.WorkloadIdentityCredentialBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.dataverse.DataverseTokenProvider;
import io.dataversesync.dataverse.EmulatorTokenCredential;
import org.apache.camel.Exchange;

/**
 * The credentials of each target's calls, as its settings declare (sync.target.NAME.auth):
 * <ul>
 * <li>bearer / api-key: a secret from a property (in the azure profile {{azure:NAME}}: camel-azure-key-vault reads
 * it when the placeholder is resolved). Resolved on first use, after a message passed validation, never at
 * start-up, and kept for sync.target.secret-cache-seconds, so a rotated secret is picked up after that.</li>
 * <li>oauth2: an azure-identity credential (managed identity, workload identity, client secret, or any OAuth2
 * client-credentials token endpoint), tokens cached and refreshed by azure-core (the same
 * {@link DataverseTokenProvider} as Dataverse's).</li>
 * </ul>
 */
public class TargetAuth {
    private record Cached(String value, long expiresAt) {
    }

    private final TargetCatalog targets;
    private final Function<String, String> resolve;
    private final Duration secretTtl;
    private final Clock clock;
    private final HttpClient http;
    private final ObjectMapper json;
    private final Map<String, Cached> secrets = new ConcurrentHashMap<>();
    private final Map<String, DataverseTokenProvider> tokens = new ConcurrentHashMap<>();

    /** @param resolve resolves a property key to its value (placeholders, Key Vault) */
    public TargetAuth(TargetCatalog targets, Function<String, String> resolve, Duration secretTtl, Clock clock, HttpClient http, ObjectMapper json) {
        this.targets = targets;
        this.resolve = resolve;
        this.secretTtl = secretTtl;
        this.clock = clock;
        this.http = http;
        this.json = json;
    }

    /** Sets the target's authentication header on the message about to be sent to it. */
    public void apply(Exchange exchange, String target) {
        TargetSettings.Auth auth = targets.get(target).auth();
        switch (auth.mode()) {
            case BEARER -> exchange.getMessage().setHeader("Authorization", "Bearer " + secret(auth.secretKey()));
            case API_KEY -> exchange.getMessage().setHeader(auth.apiKeyHeader(), secret(auth.secretKey()));
            case OAUTH2 -> exchange.getMessage().setHeader("Authorization", "Bearer "
                    + tokens.computeIfAbsent(target, t -> new DataverseTokenProvider(credential(t, auth), auth.scope())).token());
            case NONE -> {
            }
        }
    }

    private String secret(String key) {
        long now = clock.millis();
        Cached cached = secrets.get(key);
        if (cached == null || now >= cached.expiresAt()) {
            String value = resolve.apply(key);
            if (value == null || value.isBlank()) {
                throw new IllegalStateException("the target secret " + key + " is not set");
            }
            cached = new Cached(value.trim(), now + secretTtl.toMillis());
            secrets.put(key, cached);
        }
        return cached.value();
    }

    private TokenCredential credential(String target, TargetSettings.Auth auth) {
        String clientId = auth.clientId();
        boolean hasClientId = clientId != null && !clientId.isBlank();
        return switch (auth.credential()) {
            case "client-secret" -> new ClientSecretCredentialBuilder().tenantId(auth.tenantId()).clientId(clientId)
                    .clientSecret(secret(auth.clientSecretKey())).build();
            case "managed-identity" -> hasClientId ? new ManagedIdentityCredentialBuilder().clientId(clientId).build()
                    : new ManagedIdentityCredentialBuilder().build();
            case "workload-identity" -> hasClientId ? new WorkloadIdentityCredentialBuilder().clientId(clientId).build()
                    : new WorkloadIdentityCredentialBuilder().build();
            case "default" -> new DefaultAzureCredentialBuilder().build();
            // any OAuth2 token endpoint (client credentials grant), e.g. a non-Entra target or the local emulators
            case "client-credentials" -> new EmulatorTokenCredential(http, auth.tokenUrl(), clientId, secret(auth.clientSecretKey()), json);
            default -> throw new IllegalArgumentException("sync.target." + target + ".oauth2.credential must be client-secret, "
                    + "managed-identity, workload-identity, default or client-credentials, was " + auth.credential());
        };
    }
}
