package io.dataversesync.dataverse;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.stream.Collectors;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import reactor.core.publisher.Mono;

/**
 * OAuth2 client credentials against the Dataverse emulator's token endpoint. Written here because
 * azure-identity's credentials insist on an https Entra ID authority; everything around it (caching, refresh)
 * is the same azure-core code production uses. Local mode only.
 */
public class EmulatorTokenCredential implements TokenCredential {
    private final HttpClient http;
    private final URI tokenUrl;
    private final String clientId;
    private final String clientSecret;
    private final ObjectMapper json;

    public EmulatorTokenCredential(HttpClient http, String tokenUrl, String clientId, String clientSecret, ObjectMapper json) {
        this.http = http;
        this.tokenUrl = URI.create(tokenUrl);
        this.clientId = clientId;
        this.clientSecret = clientSecret;
        this.json = json;
    }

    @Override
    public Mono<AccessToken> getToken(TokenRequestContext request) {
        return Mono.fromCallable(() -> fetch(request));
    }

    private AccessToken fetch(TokenRequestContext request) throws Exception {
        String form = "grant_type=client_credentials&client_id=" + enc(clientId) + "&client_secret=" + enc(clientSecret)
                + "&scope=" + enc(request.getScopes().stream().collect(Collectors.joining(" ")));
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(tokenUrl)
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new com.azure.core.exception.ClientAuthenticationException(
                    "token endpoint answered " + response.statusCode() + ": " + response.body(), null);
        }
        JsonNode body = json.readTree(response.body());
        return new AccessToken(body.path("access_token").asText(),
                OffsetDateTime.now().plusSeconds(body.path("expires_in").asLong(3600)));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s == null ? "" : s, StandardCharsets.UTF_8);
    }
}
