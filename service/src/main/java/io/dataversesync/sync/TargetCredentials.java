package io.dataversesync.sync;

import java.time.Clock;
import java.time.Duration;

import org.apache.camel.CamelContext;

/**
 * The target system's API key, resolved on first use (after a message passed validation, never at start-up)
 * and cached for a while. In the azure profile the property is {{azure:target-api-key}}: camel-azure-key-vault
 * reads the secret from Key Vault when the placeholder is resolved, so the cache keeps Key Vault calls to one per
 * TTL, and a rotated secret is picked up when the TTL runs out.
 */
public class TargetCredentials {
    private final CamelContext context;
    private final String placeholder;
    private final Duration ttl;
    private final Clock clock;
    private String cached;
    private long expiresAt;

    public TargetCredentials(CamelContext context, String propertyKey, Duration ttl, Clock clock) {
        this.context = context;
        this.placeholder = "{{" + propertyKey + "}}";
        this.ttl = ttl;
        this.clock = clock;
    }

    /** The value of the Authorization header for the target. */
    public synchronized String authorization() {
        long now = clock.millis();
        if (cached == null || now >= expiresAt) {
            cached = context.resolvePropertyPlaceholders(placeholder);
            expiresAt = now + ttl.toMillis();
        }
        return "Bearer " + cached;
    }
}
