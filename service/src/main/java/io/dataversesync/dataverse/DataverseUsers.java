package io.dataversesync.dataverse;

import java.net.http.HttpClient;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.azure.core.credential.TokenCredential;
import com.azure.identity.ClientSecretCredentialBuilder;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import com.azure.identity.WorkloadIdentityCredentialBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The application users the Web API is called as: the one piece of wiring that must choose (which credential,
 * how many users), so it stays Java. dataverse.auth.client-id may list several (comma separated; in client-secret
 * mode dataverse.auth.client-secret lists the secrets in the same order): Dataverse counts its service protection
 * limits per user, so several users spread the load. Each user gets its own token cache, request gate (its budgets)
 * and cost estimator; {@link DataverseClient} sends each request as the user that can send it soonest.
 */
public final class DataverseUsers {

    /**
     * dataverse.auth.* and dataverse.limits.* (application.properties holds every default).
     *
     * @param limits       each user's service protection limits (used when pacing is on)
     * @param costPriors   where each user's cost estimator starts (dataverse.limits.cost.*)
     * @param learningRate weight of a new observation in the estimators' moving averages
     * @param learnFromDurations whether the estimators learn from durations before the server reports costs
     */
    public record Settings(String mode, String scope, String tokenUrl, String tenantId, String clientIds, String clientSecrets,
            boolean pacing, DataverseRequestGate.Limits limits, DataverseCostEstimator.Priors costPriors, double learningRate,
            boolean learnFromDurations) {
    }

    private DataverseUsers() {
    }

    public static List<DataverseUser> create(Settings s, HttpClient http, ObjectMapper json, Clock clock, MeterRegistry meters) {
        List<String> clientIds = list(s.clientIds());
        List<String> secrets = list(s.clientSecrets());
        if (clientIds.isEmpty()) {
            clientIds = List.of(""); // the identity's own default (system-assigned managed identity, workload identity env)
        }
        List<DataverseUser> users = new ArrayList<>();
        for (int i = 0; i < clientIds.size(); i++) {
            String clientId = clientIds.get(i);
            String secret = i < secrets.size() ? secrets.get(i) : null;
            String name = clientId.isEmpty() ? "default" : clientId;
            DataverseRequestGate gate = s.pacing() ? new DataverseRequestGate(name, s.limits(), clock, meters) : null;
            users.add(new DataverseUser(name, new DataverseTokenProvider(credential(s, clientId, secret, http, json), s.scope()), gate,
                    new DataverseCostEstimator(s.costPriors(), s.learningRate(), s.learnFromDurations())));
        }
        return users;
    }

    private static TokenCredential credential(Settings s, String clientId, String secret, HttpClient http, ObjectMapper json) {
        boolean hasClientId = !clientId.isEmpty();
        return switch (s.mode()) {
            case "emulator" -> new EmulatorTokenCredential(http, s.tokenUrl(), clientId, secret, json);
            case "client-secret" -> new ClientSecretCredentialBuilder()
                    .tenantId(required(s.tenantId(), "dataverse.auth.tenant-id"))
                    .clientId(clientId)
                    .clientSecret(secret)
                    .build();
            case "managed-identity" -> hasClientId
                    ? new ManagedIdentityCredentialBuilder().clientId(clientId).build()
                    : new ManagedIdentityCredentialBuilder().build();
            case "workload-identity" -> hasClientId
                    ? new WorkloadIdentityCredentialBuilder().clientId(clientId).build()
                    : new WorkloadIdentityCredentialBuilder().build();
            case "default" -> new DefaultAzureCredentialBuilder().build();
            default -> throw new IllegalArgumentException("dataverse.auth.mode must be emulator, client-secret, "
                    + "managed-identity, workload-identity or default, was " + s.mode());
        };
    }

    private static String required(String value, String key) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("missing required property " + key);
        }
        return value.trim();
    }

    private static List<String> list(String value) {
        if (value == null || value.isBlank()) {
            return List.of();
        }
        return Arrays.stream(value.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
    }
}
