package io.dataversesync.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.dataversesync.SyncTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * sync.ops.auth = entra on the real application: tokens signed with a test key whose public half a JWKS endpoint on
 * loopback publishes (as the tenant's discovery/v2.0/keys does), checked for signature, issuer, audience and expiry;
 * app roles decide: reader looks, operator also acts. No token or a bad one: 401; the wrong role: 403.
 */
class OpsEntraAuthTest extends SyncTestSupport {
    static final String ISSUER = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";
    static final String AUDIENCE = "api://dataverse-sync-ops";
    static final RSAKey KEY = generate("tenant-key");
    static final RSAKey OTHER_KEY = generate("tenant-key"); // same kid, another key: a forgery
    static final HttpServer JWKS;

    static {
        try {
            JWKS = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        byte[] keys = new JWKSet(KEY.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        JWKS.createContext("/discovery/v2.0/keys", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, keys.length);
            exchange.getResponseBody().write(keys);
            exchange.close();
        });
        JWKS.start();
        System.setProperty("sync.ops.auth", "entra");
        System.setProperty("sync.ops.entra.jwks-url", "http://127.0.0.1:" + JWKS.getAddress().getPort() + "/discovery/v2.0/keys");
        System.setProperty("sync.ops.entra.issuer", ISSUER);
        System.setProperty("sync.ops.entra.audience", AUDIENCE);
        System.setProperty("sync.ops.audit.file", System.getProperty("test.broker.dir") + "/ops-audit.jsonl");
    }

    @AfterAll
    static void stopJwks() {
        JWKS.stop(0);
    }

    final OpsHttpClient http = new OpsHttpClient();

    static RSAKey generate(String kid) {
        try {
            return new RSAKeyGenerator(2048).keyID(kid).generate();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String token(RSAKey key, String issuer, String audience, Instant expires, List<String> roles) {
        try {
            JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().issuer(issuer).audience(audience).subject("operator-sub")
                    .claim("preferred_username", "night.operator@contoso.com").issueTime(new Date()).expirationTime(Date.from(expires));
            if (roles != null) {
                claims.claim("roles", roles);
            }
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
                    claims.build());
            jwt.sign(new RSASSASigner(key));
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String valid(String... roles) {
        return token(KEY, ISSUER, AUDIENCE, Instant.now().plusSeconds(600), List.of(roles));
    }

    @Test
    void readerLooksOperatorActsOthersAreRefused() {
        String reader = valid("Sync.Reader");
        String operator = valid("Sync.Operator");
        String purgeNothing = "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"reason\":\"NoSuchReason\",\"confirm\":true}";

        assertThat(http.get("/ops/api/queues", reader).status()).isEqualTo(200);
        assertThat(http.get("/ops/api/audit", reader).status()).isEqualTo(200);
        OpsHttpClient.Answer readerPurge = http.post("/ops/api/dead-letters/purge", purgeNothing, reader);
        assertThat(readerPurge.status()).isEqualTo(403);
        assertThat(readerPurge.json().path("error").asText()).contains("Sync.Operator");
        assertThat(http.post("/ops/api/dead-letters/replay", "{\"queue\":\"" + CUSTOMERS_QUEUE + "\",\"all\":true}", reader).status()).isEqualTo(403);
        assertThat(http.post("/ops/api/sync", "{\"entity\":\"account\",\"ids\":[]}", reader).status()).isEqualTo(403);

        assertThat(http.get("/ops/api/queues", operator).status()).isEqualTo(200);
        OpsHttpClient.Answer purged = http.post("/ops/api/dead-letters/purge", purgeNothing, operator);
        assertThat(purged.status()).as(purged.body()).isEqualTo(200);
        assertThat(purged.json().path("purged").asInt()).isZero();
        assertThat(http.get("/ops/api/audit?limit=1", reader).json().path("items").get(0).path("who").asText())
                .isEqualTo("night.operator@contoso.com");

        // signed in, but no role of this app
        assertThat(http.get("/ops/api/queues", valid()).status()).isEqualTo(403);
        assertThat(http.get("/ops/api/queues", valid("Some.Other.Role")).status()).isEqualTo(403);
    }

    @Test
    void missingExpiredForgedOrForeignTokensAre401() {
        List<String> roles = List.of("Sync.Operator");
        for (String bad : new String[] {
            null,
            "not-a-jwt",
            token(KEY, ISSUER, AUDIENCE, Instant.now().minusSeconds(3600), roles), // expired
            token(KEY, ISSUER, "api://another-app", Instant.now().plusSeconds(600), roles), // another audience
            token(KEY, "https://login.microsoftonline.com/another-tenant/v2.0", AUDIENCE, Instant.now().plusSeconds(600), roles),
            token(OTHER_KEY, ISSUER, AUDIENCE, Instant.now().plusSeconds(600), roles), // not the tenant's key
        }) {
            OpsHttpClient.Answer a = http.get("/ops/api/queues", bad);
            assertThat(a.status()).as("token %s: %s", bad, a.body()).isEqualTo(401);
            assertThat(a.response().headers().firstValue("WWW-Authenticate")).isPresent();
        }
        // a local key means nothing here
        assertThat(http.get("/ops/api/queues", "test-ops-key-0123456789abcdef").status()).isEqualTo(401);
        assertThat(http.get("/observe/health", null).status()).isEqualTo(200);
    }
}
