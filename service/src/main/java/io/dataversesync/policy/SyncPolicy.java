package io.dataversesync.policy;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.security.CorrelationIds;
import io.dataversesync.security.SafeText;
import org.apache.camel.Exchange;

/**
 * The decision half of the one error policy every queue consumer shares (routes/retry-policy.camel.yaml
 * holds the routing half). Given the failed exchange it sets:
 * syncDecision = retry | hold | dead-letter, and for a retry or hold the delay, due time and next RetryCount;
 * for a dead letter the reason and a description (exception, hop, RetryCount, correlation id).
 * Settings are per consumer route: sync.policy.ROUTE_ID.KEY, falling back to sync.policy.KEY.
 */
public class SyncPolicy {
    public static final String RETRY = "retry";
    public static final String DEAD_LETTER = "dead-letter";
    /** Re-scheduled like a retry, RetryCount unchanged: the dependency is down, not this message ({@link Holds}). */
    public static final String HOLD = "hold";
    private static final int MAX_DESCRIPTION = 1024;

    private final ErrorClassifier classifier;
    private final Function<String, String> property;
    private final Clock clock;
    private final Holds holds;

    public SyncPolicy(ErrorClassifier classifier, Function<String, String> property, Clock clock) {
        this(classifier, property, clock, Holds.NONE);
    }

    public SyncPolicy(ErrorClassifier classifier, Function<String, String> property, Clock clock, Holds holds) {
        this.classifier = classifier;
        this.property = property;
        this.clock = clock;
        this.holds = holds;
    }

    public void decide(Exchange exchange) {
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (failure == null) {
            failure = exchange.getException();
        }
        Classification verdict = classifier.classify(failure);
        int retryCount = exchange.getProperty(SyncProperties.RETRY_COUNT, 0, Integer.class);
        RetrySettings settings = settingsFor(exchange.getFromRouteId());

        java.util.Optional<Duration> hold = verdict.isTransient() ? holds.holdFor(exchange, failure) : java.util.Optional.empty();
        if (hold.isPresent()) {
            exchange.setProperty(SyncProperties.DECISION, HOLD);
            exchange.setProperty(SyncProperties.RETRY_DELAY_MS, hold.get().toMillis());
            exchange.setProperty(SyncProperties.RETRY_AT, clock.millis() + hold.get().toMillis());
            exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, retryCount);
            exchange.setProperty(SyncProperties.FAILURE_REASON, verdict.reason());
            exchange.setProperty(SyncProperties.FAILURE_DESCRIPTION, describe(exchange, verdict, retryCount));
            return;
        }
        if (verdict.isTransient() && RetrySchedule.hasRetriesLeft(settings, retryCount)) {
            Duration delay = RetrySchedule.delay(settings, retryCount, verdict.retryAfter(), () -> ThreadLocalRandom.current().nextDouble());
            exchange.setProperty(SyncProperties.DECISION, RETRY);
            exchange.setProperty(SyncProperties.RETRY_DELAY_MS, delay.toMillis());
            exchange.setProperty(SyncProperties.RETRY_AT, clock.millis() + delay.toMillis());
            exchange.setProperty(SyncProperties.NEXT_RETRY_COUNT, retryCount + 1);
            exchange.setProperty(SyncProperties.FAILURE_REASON, verdict.reason());
            exchange.setProperty(SyncProperties.FAILURE_DESCRIPTION, describe(exchange, verdict, retryCount));
            return;
        }
        String reason = verdict.isTransient() ? "RetriesExhausted" : verdict.reason();
        exchange.setProperty(SyncProperties.DECISION, DEAD_LETTER);
        exchange.setProperty(SyncProperties.FAILURE_REASON, reason);
        exchange.setProperty(SyncProperties.FAILURE_DESCRIPTION, describe(exchange, verdict, retryCount));
    }

    public RetrySettings settingsFor(String routeId) {
        return new RetrySettings(
                Integer.parseInt(setting(routeId, "max-retries")),
                Duration.ofMillis(Long.parseLong(setting(routeId, "base-delay-ms"))),
                Double.parseDouble(setting(routeId, "multiplier")),
                Duration.ofMillis(Long.parseLong(setting(routeId, "max-delay-ms"))),
                Double.parseDouble(setting(routeId, "jitter")));
    }

    /** The route's own setting, else the shared one; application.properties holds every shared default. */
    private String setting(String routeId, String key) {
        String v = routeId == null ? null : property.apply("sync.policy." + routeId + "." + key);
        if (v == null || v.isBlank()) {
            v = property.apply("sync.policy." + key);
        }
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("missing required property sync.policy." + key);
        }
        return v.trim();
    }

    private static String describe(Exchange exchange, Classification verdict, int retryCount) {
        String d = "hop=" + SyncProperties.hopName(exchange.getProperty(SyncProperties.HOP, String.class))
                + "; retryCount=" + retryCount
                + "; correlationId=" + exchange.getProperty(SyncProperties.CORRELATION_ID, String.class)
                + (exchange.getProperty(CorrelationIds.ORIGINAL) == null ? ""
                        : " (replaced; received: '" + exchange.getProperty(CorrelationIds.ORIGINAL, String.class) + "')")
                + (exchange.getProperty(SyncProperties.SAGA_ID) == null ? ""
                        : "; saga=" + exchange.getProperty(SyncProperties.SAGA, String.class) + " " + exchange.getProperty(SyncProperties.SAGA_ID, String.class))
                + "; failure=" + verdict.reason() + " (" + verdict.kind().name().toLowerCase() + ")"
                + "; " + verdict.detail();
        // the detail quotes exception messages and a service's answer: outside text (SafeText)
        d = SafeText.escape(d);
        return d.length() > MAX_DESCRIPTION ? d.substring(0, MAX_DESCRIPTION) : d;
    }
}
