package io.dataversesync.dataverse;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.SimpleTokenCache;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;

/**
 * Bearer tokens for the Dataverse Web API. Caching and proactive refresh before expiry are azure-core's
 * SimpleTokenCache; the credential is any azure-identity TokenCredential (managed identity, workload identity,
 * client secret) or, locally, the emulator's client-credentials endpoint. After a 401 the client calls
 * {@link #refresh()} once: a new cache forces a new token instead of reusing the rejected one.
 */
public class DataverseTokenProvider {
    private static final Duration TOKEN_TIMEOUT = Duration.ofSeconds(30);

    private final TokenCredential credential;
    private final TokenRequestContext request;
    private final AtomicReference<SimpleTokenCache> cache = new AtomicReference<>();

    /** @param scope e.g. https://contoso.crm.dynamics.com/.default */
    public DataverseTokenProvider(TokenCredential credential, String scope) {
        this.credential = credential;
        this.request = new TokenRequestContext().addScopes(scope);
        this.cache.set(newCache());
    }

    public String token() {
        AccessToken token = cache.get().getToken().block(TOKEN_TIMEOUT);
        if (token == null) {
            throw new IllegalStateException("no access token returned by " + credential.getClass().getSimpleName());
        }
        return token.getToken();
    }

    /** Drops the cached token; the next {@link #token()} asks the credential again. */
    public void refresh() {
        cache.set(newCache());
    }

    private SimpleTokenCache newCache() {
        return new SimpleTokenCache(() -> credential.getToken(request));
    }
}
