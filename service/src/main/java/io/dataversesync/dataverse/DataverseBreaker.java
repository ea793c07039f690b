package io.dataversesync.dataverse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.policy.Holds;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Dataverse Web API's circuit breaker, modelled on the targets' ({@code TargetBreakers}, docs/decisions.md "Target
 * circuit breaker and bulkhead"): a resilience4j breaker that every request of {@link DataverseClient} passes
 * ({@link #acquire} before it is sent, {@link #record} with its answer). It opens when dataverse.breaker.failure-rate %
 * of the last requests found Dataverse down: 5xx, 408, no answer (connection refused, timeout). A 429 or a 4xx is an
 * answer of a Dataverse that is up, and counts as a success. While it is open no request is sent (CallNotPermittedException)
 * and the error policy holds the message ({@link #holdFor}): re-scheduled after open-ms with its RetryCount unchanged,
 * never dead-lettered for the outage; that is what keeps a Dataverse outage longer than the retry schedule from
 * dead-lettering every change and every write-back (the ack consumer holds its Synced and Failed marks the same way).
 * State as the metric dataverse_sync_dataverse_breaker_state (0 closed, 1 half-open, 2 open) and in health (degraded,
 * not down: Kubernetes must not restart a pod for an outage of Dataverse).
 */
public class DataverseBreaker implements Holds {
    /** The breaker's name; no target can be named so (target names are lower case). */
    public static final String NAME = "Dataverse";
    private static final Logger LOG = LoggerFactory.getLogger(DataverseBreaker.class);

    /** dataverse.breaker.*: as a target's breaker. */
    public record Settings(int failureRate, int windowSize, int minimumCalls, Duration openFor, int halfOpenCalls) {
        public Settings {
            if (failureRate < 1 || failureRate > 100) {
                throw new IllegalArgumentException("dataverse.breaker.failure-rate must be 1..100, was " + failureRate);
            }
            if (windowSize < 1 || minimumCalls < 1 || halfOpenCalls < 1) {
                throw new IllegalArgumentException("dataverse.breaker.window-size, minimum-calls and half-open-calls must be at least 1");
            }
            if (openFor.isNegative() || openFor.isZero()) {
                throw new IllegalArgumentException("dataverse.breaker.open-ms must be positive");
            }
        }
    }

    private final CircuitBreaker breaker;
    private final Duration openFor;

    public DataverseBreaker(Settings settings, MeterRegistry registry) {
        this.openFor = settings.openFor();
        this.breaker = CircuitBreaker.of(NAME, CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(settings.windowSize())
                .minimumNumberOfCalls(settings.minimumCalls())
                .failureRateThreshold(settings.failureRate())
                .waitDurationInOpenState(settings.openFor())
                .permittedNumberOfCallsInHalfOpenState(settings.halfOpenCalls())
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .writableStackTraceEnabled(false)
                .build());
        breaker.getEventPublisher().onStateTransition(event -> LOG.warn("Dataverse circuit breaker: {} -> {}",
                event.getStateTransition().getFromState(), event.getStateTransition().getToState()));
        Gauge.builder("dataverse.sync.dataverse.breaker.state", breaker, DataverseBreaker::stateValue)
                .description("Circuit breaker of the Dataverse Web API: 0 closed, 1 half-open, 2 open")
                .register(registry);
    }

    /**
     * The routes' step before a Dataverse hop (admit-dataverse): while the breaker is open the message is held at once,
     * before it waits in a coalesced read or a batched write-back. Takes no half-open probe (the request does).
     */
    public void admit() {
        if (breaker.getState() == CircuitBreaker.State.OPEN) {
            throw CallNotPermittedException.createCallNotPermittedException(breaker);
        }
    }

    /** Before a request: CallNotPermittedException while open, or half-open with its probes taken. */
    public void acquire() {
        breaker.acquirePermission();
    }

    /** A request answered with this status after {@code nanos}. */
    public void record(int status, long nanos) {
        if (status >= 500 || status == 408) {
            breaker.onError(nanos, TimeUnit.NANOSECONDS, new DataverseException(status, null, "Dataverse is down", null));
        } else {
            breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /** A request that got no answer: an IOException (refused, reset, timeout) counts; anything else gives no verdict. */
    public void recordNoAnswer(Throwable failure, long nanos) {
        if (failure instanceof IOException) {
            breaker.onError(nanos, TimeUnit.NANOSECONDS, failure);
        } else {
            breaker.releasePermission();
        }
    }

    public CircuitBreaker.State state() {
        return breaker.getState();
    }

    /**
     * A message that could not reach Dataverse because the breaker is open, or whose Dataverse request failed as an
     * outage while the breaker is not closed, is held for open-ms. A failure at a target's call is the target's
     * (TargetBreakers decides on it).
     */
    @Override
    public Optional<Duration> holdFor(Exchange exchange, Throwable failure) {
        if (failure == null || SyncProperties.TARGET_HOP.equals(exchange.getProperty(SyncProperties.HOP, String.class))) {
            return Optional.empty();
        }
        boolean outage = false;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof CallNotPermittedException c && NAME.equals(c.getCausingCircuitBreakerName())) {
                return Optional.of(openFor);
            }
            if ((t instanceof DataverseException d && (d.statusCode() >= 500 || d.statusCode() == 408))
                    || t instanceof IOException || t instanceof UncheckedIOException) {
                outage = true;
            }
        }
        return outage && breaker.getState() != CircuitBreaker.State.CLOSED ? Optional.of(openFor) : Optional.empty();
    }

    private static double stateValue(CircuitBreaker b) {
        return switch (b.getState()) {
            case CLOSED, DISABLED, METRICS_ONLY -> 0;
            case HALF_OPEN -> 1;
            case OPEN, FORCED_OPEN -> 2;
        };
    }
}
