package io.dataversesync.policy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import org.apache.camel.http.base.HttpOperationFailedException;

/**
 * Decides whether a failure is worth retrying. Pure: it looks only at the exception chain.
 * Transient: 408, 429, 5xx, timeouts, connection failures, broker (JMS / AMQP) hiccups.
 * Permanent: other 4xx (401 after the client's one token refresh), malformed messages, unknown entities,
 * mapping errors, values refused as illegal arguments. Anything unrecognised is treated as transient: a bounded number of retries followed by the
 * dead-letter queue loses nothing, whereas dead-lettering a passing glitch would need a person to replay it.
 */
public class ErrorClassifier {
    private final Clock clock;

    public ErrorClassifier(Clock clock) {
        this.clock = clock;
    }

    public Classification classify(Throwable failure) {
        if (failure == null) {
            return Classification.transientFailure("Unknown", "no exception recorded", null);
        }
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            Classification c = classifyOne(t);
            if (c != null) {
                return c;
            }
        }
        return Classification.transientFailure("Unclassified", describe(failure), null);
    }

    private Classification classifyOne(Throwable t) {
        if (t instanceof PermanentSyncException p) {
            return Classification.permanentFailure(p.reason(), describe(t));
        }
        if (t instanceof HttpStatusFailure h) {
            return byStatus(h.service(), h.statusCode(), h.retryAfter(), t);
        }
        if (t instanceof HttpOperationFailedException h) {
            Duration retryAfter = RetryAfter.parse(header(h.getResponseHeaders(), "Retry-After"), clock.instant());
            return byStatus("Target", h.getStatusCode(), retryAfter, t);
        }
        if (t instanceof HttpTimeoutException || t instanceof SocketTimeoutException || t instanceof TimeoutException) {
            return Classification.transientFailure("Timeout", describe(t), null);
        }
        if (t instanceof ConnectException) {
            return Classification.transientFailure("ConnectionFailed", describe(t), null);
        }
        String name = t.getClass().getName();
        if (name.startsWith("jakarta.jms.") || name.startsWith("javax.jms.") || name.startsWith("org.springframework.jms.")
                || name.startsWith("com.azure.messaging.servicebus.") || name.startsWith("com.azure.core.amqp.")) {
            return Classification.transientFailure("BrokerUnavailable", describe(t), null);
        }
        if (name.equals("io.github.resilience4j.circuitbreaker.CallNotPermittedException")) {
            // "CircuitBreaker 'NAME' is OPEN ...": Dataverse's breaker (DataverseBreaker.NAME) or a target's
            boolean dataverse = t.getMessage() != null && t.getMessage().startsWith("CircuitBreaker 'Dataverse'");
            return Classification.transientFailure(dataverse ? "DataverseCircuitOpen" : "TargetCircuitOpen", describe(t), null);
        }
        if (name.equals("io.github.resilience4j.bulkhead.BulkheadFullException")) {
            return Classification.transientFailure("TargetBulkheadFull", describe(t), null);
        }
        if (name.equals("com.azure.identity.CredentialUnavailableException")
                || name.equals("com.azure.core.exception.ClientAuthenticationException")) {
            return Classification.permanentFailure("AuthenticationFailed", describe(t));
        }
        if (t instanceof IOException) {
            return Classification.transientFailure("IOError", describe(t), null);
        }
        if (t instanceof IllegalArgumentException) {
            // a value refused as such (an invalid header or URI, a number that is none): the same message gets the
            // same refusal every time, so retrying it only delays the dead letter. Values from a message are checked
            // when it is read (SyncMessages, CorrelationIds); one that slips through must not pass for transient.
            return Classification.permanentFailure("InvalidValue", describe(t));
        }
        return null;
    }

    private static Classification byStatus(String service, int status, Duration retryAfter, Throwable t) {
        String detail = describe(t);
        if (status == 429) {
            return Classification.transientFailure(service + "Throttled", detail, retryAfter);
        }
        if (status == 408 || status >= 500) {
            return Classification.transientFailure(service + "Http" + status, detail, retryAfter);
        }
        if (status == 401) {
            return Classification.permanentFailure(service + "Unauthorized", detail);
        }
        return Classification.permanentFailure(service + "Http" + status, detail);
    }

    private static String header(Map<String, String> headers, String name) {
        if (headers == null) {
            return null;
        }
        for (Map.Entry<String, String> e : headers.entrySet()) {
            if (e.getKey() != null && e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    static String describe(Throwable t) {
        String message = t.getMessage();
        String d = t.getClass().getSimpleName() + (message == null ? "" : ": " + message);
        if (t instanceof HttpOperationFailedException h && h.getResponseBody() != null && !h.getResponseBody().isBlank()) {
            // the service's own explanation is what a person replaying the dead letter needs most
            String body = h.getResponseBody().strip();
            d += "; response: " + (body.length() > 300 ? body.substring(0, 300) + "..." : body);
        }
        return d;
    }
}
