package io.dataversesync.ops;

import java.net.MalformedURLException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.ConfigurableJWTProcessor;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may use the operations API and page ({@code sync.ops.auth}): every {@code /ops/api} call passes
 * {@link #require} first. No credentials or a bad one: 401; a valid one without the role: 403.
 * <ul>
 * <li>{@code entra} (production): a Microsoft Entra ID access token as {@code Authorization: Bearer}, checked by
 * nimbus-jose-jwt: RS256 signature against the tenant's published keys (JWKS, cached and refreshed by the
 * library), issuer, audience, expiry (and not-before); app roles from the {@code roles} claim. The reader role may
 * look, the operator role may also replay, purge and sync.</li>
 * <li>{@code local}: one key ({@code sync.ops.local-key}) as the bearer, with both roles. Without a configured key
 * one is generated and printed once at start; a configured key is never logged (Camel's property summary masks it:
 * {@code camel.main.additional-sensitive-keywords}).</li>
 * </ul>
 */
public class OpsAuth {
    public static final String READER = "reader";
    public static final String OPERATOR = "operator";
    /** Exchange property: who the caller is (audit). */
    public static final String WHO = "opsWho";
    private static final Logger LOG = LoggerFactory.getLogger(OpsAuth.class);

    public record Principal(String who, Set<String> roles) {
    }

    private final byte[] localKey;
    private final ConfigurableJWTProcessor<SecurityContext> jwt;
    private final String readerRole;
    private final String operatorRole;

    private OpsAuth(byte[] localKey, ConfigurableJWTProcessor<SecurityContext> jwt, String readerRole, String operatorRole) {
        this.localKey = localKey;
        this.jwt = jwt;
        this.readerRole = readerRole;
        this.operatorRole = operatorRole;
    }

    public static OpsAuth local(String configuredKey) {
        String key = configuredKey == null ? "" : configuredKey.trim();
        if (key.isEmpty()) {
            byte[] random = new byte[24];
            new SecureRandom().nextBytes(random);
            key = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            // printed because it was generated: nobody else knows it; a configured key is never logged
            LOG.warn("Operations console (/ops/): no sync.ops.local-key configured, generated one for this run: {}", key);
        } else if (key.length() < 16) {
            throw new IllegalArgumentException("sync.ops.local-key must be at least 16 characters (or empty: one is generated at start)");
        }
        return new OpsAuth(key.getBytes(StandardCharsets.UTF_8), null, null, null);
    }

    public static OpsAuth entra(String jwksUrl, String issuer, String audience, String readerRole, String operatorRole) {
        for (String[] s : new String[][] {{"sync.ops.entra.jwks-url", jwksUrl}, {"sync.ops.entra.issuer", issuer},
                {"sync.ops.entra.audience", audience}, {"sync.ops.entra.reader-role", readerRole}, {"sync.ops.entra.operator-role", operatorRole}}) {
            if (s[1] == null || s[1].isBlank() || s[1].contains("<set")) {
                throw new IllegalArgumentException("sync.ops.auth = entra needs " + s[0]);
            }
        }
        JWKSource<SecurityContext> keys;
        try {
            keys = JWKSourceBuilder.create(URI.create(jwksUrl.trim()).toURL()).retrying(true).build();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("sync.ops.entra.jwks-url is not a URL: " + jwksUrl, e);
        }
        ConfigurableJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
        processor.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, keys));
        // (mutable sets: the verifier asks them whether they contain null, which Set.of answers with an exception)
        processor.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(new HashSet<>(Set.of(audience.trim())),
                new JWTClaimsSet.Builder().issuer(issuer.trim()).build(), new HashSet<>(Set.of("sub", "exp")), new HashSet<>()));
        return new OpsAuth(null, processor, readerRole.trim(), operatorRole.trim());
    }

    public static OpsAuth fromSettings(String mode, String localKey, String jwksUrl, String issuer, String audience, String readerRole,
            String operatorRole) {
        return switch (mode.trim()) {
            case "local" -> local(localKey);
            case "entra" -> entra(jwksUrl, issuer, audience, readerRole, operatorRole);
            default -> throw new IllegalArgumentException("sync.ops.auth must be local or entra, was " + mode);
        };
    }

    /** Step of every /ops/api route: the caller must have {@code role} (reader or operator); sets {@link #WHO}. */
    public void require(Exchange exchange, String role) {
        Principal p = authenticate(exchange.getMessage().getHeader("Authorization", String.class));
        boolean allowed = OPERATOR.equals(role) ? p.roles().contains(OPERATOR) : p.roles().contains(READER) || p.roles().contains(OPERATOR);
        if (!allowed) {
            throw new OpsException(403, p.who() + " lacks the " + role + " role" + (jwt == null ? "" : " (" + (OPERATOR.equals(role) ? operatorRole : readerRole) + ")"));
        }
        exchange.setProperty(WHO, p.who());
    }

    Principal authenticate(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7) || authorization.length() <= 7) {
            throw new OpsException(401, "authentication required: Authorization: Bearer <token>");
        }
        String token = authorization.substring(7).trim();
        if (jwt == null) {
            if (!MessageDigest.isEqual(localKey, token.getBytes(StandardCharsets.UTF_8))) {
                throw new OpsException(401, "the key is not the configured sync.ops.local-key");
            }
            return new Principal("local-key", Set.of(READER, OPERATOR));
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.process(token, null);
        } catch (Exception e) {
            // the library's reason (expired, wrong audience, bad signature ...) without the token itself
            throw new OpsException(401, "invalid token: " + OpsJson.abbreviate(e.getMessage()));
        }
        Set<String> roles = new HashSet<>();
        try {
            List<String> granted = claims.getStringListClaim("roles");
            if (granted != null) {
                if (granted.contains(readerRole)) {
                    roles.add(READER);
                }
                if (granted.contains(operatorRole)) {
                    roles.add(OPERATOR);
                }
            }
        } catch (java.text.ParseException e) {
            throw new OpsException(401, "invalid token: roles is not a list of strings");
        }
        return new Principal(who(claims), roles);
    }

    private static String who(JWTClaimsSet claims) {
        for (String claim : new String[] {"preferred_username", "upn", "name", "oid", "sub"}) {
            Object v = claims.getClaim(claim);
            if (v instanceof String s && !s.isBlank()) {
                return OpsJson.abbreviate(s);
            }
        }
        return "unknown";
    }
}
