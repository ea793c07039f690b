package io.dataversesync.target;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.policy.ErrorClassifier;
import io.dataversesync.policy.Holds;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.spi.Synchronization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One resilience4j circuit breaker and one bulkhead per target, around each target's call in
 * routes/target-template.camel.yaml: {@link #admit} before the row is read, {@link #occupy} before the call,
 * {@link #succeeded} after it, and a failure is recorded when the error policy decides on it ({@link #holdFor}).
 * Not Camel's circuitBreaker EIP: in the 4.17 YAML
 * DSL it cannot inherit the route's error handler, so a failure inside it would bypass the shared error policy and
 * the broker would redeliver the message as is (docs/decisions.md, "Target circuit breaker and bulkhead").
 * <ul>
 * <li>only transient failures count (a 400 means the target is up and refused this payload);</li>
 * <li>while a target's breaker is open its messages are held rather than its consumer suspended: suspending a
 * route while messages are in flight made Camel skip the error policy for them (they were rolled back and redelivered
 * by the broker, counting towards its own dead-lettering); a held message is re-scheduled once per open-ms, before
 * its row is read, so a target that is down costs neither retries nor Dataverse requests;</li>
 * <li>a message that could not reach its target because the breaker was open or half-open, or whose failure
 * happened while it was, is held ({@link Holds}): re-scheduled with its RetryCount unchanged, never dead-lettered
 * for it, and never completed as delivered (a rejected call is a failure, unlike Camel's EIP's default);</li>
 * <li>the bulkhead: at most sync.target.NAME.bulkhead.max-concurrent-calls calls at once; a consumer thread waits
 * for a free slot up to the target's response timeout, then the message is held briefly;</li>
 * <li>state per target as a metric (dataverse_sync_target_breaker_state: 0 closed, 1 half-open, 2 open) and in
 * health (degraded, not down: the service and the other targets keep working).</li>
 * </ul>
 */
public class TargetBreakers implements Holds {
    private static final Logger LOG = LoggerFactory.getLogger(TargetBreakers.class);
    /** How long a message is held when the bulkhead is full (the target is busy, not down). */
    private static final Duration BULKHEAD_HOLD = Duration.ofSeconds(1);

    /** Exchange property: the call was admitted (System.nanoTime at admission); removed once its outcome is recorded. */
    static final String ADMITTED_AT = "syncTargetAdmittedAt";
    /** Exchange property: the call holds a slot of its target's bulkhead; removed when the slot is given back. */
    static final String BULKHEAD_SLOT = "syncTargetBulkheadSlot";

    private final Map<String, CircuitBreaker> breakers = new LinkedHashMap<>();
    private final Map<String, Bulkhead> bulkheads = new LinkedHashMap<>();
    private final Map<String, Duration> openFor = new LinkedHashMap<>();
    public TargetBreakers(TargetCatalog targets, ErrorClassifier classifier, MeterRegistry registry) {
        for (TargetSettings target : targets.all()) {
            TargetSettings.Breaker b = target.breaker();
            CircuitBreakerConfig config = CircuitBreakerConfig.custom()
                    .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                    .slidingWindowSize(b.windowSize())
                    .minimumNumberOfCalls(b.minimumCalls())
                    .failureRateThreshold(b.failureRate())
                    .waitDurationInOpenState(b.openFor())
                    .permittedNumberOfCallsInHalfOpenState(b.halfOpenCalls())
                    .automaticTransitionFromOpenToHalfOpenEnabled(true)
                    .recordException(t -> classifier.classify(t).isTransient())
                    .writableStackTraceEnabled(false)
                    .build();
            CircuitBreaker breaker = CircuitBreaker.of(target.name(), config);
            breaker.getEventPublisher().onStateTransition(event -> onTransition(target.name(), event.getStateTransition()));
            breakers.put(target.name(), breaker);
            bulkheads.put(target.name(), Bulkhead.of(target.name(), BulkheadConfig.custom()
                    .maxConcurrentCalls(target.bulkhead())
                    .maxWaitDuration(target.bulkheadWait())
                    .writableStackTraceEnabled(false)
                    .build()));
            openFor.put(target.name(), b.openFor());
            Gauge.builder("dataverse.sync.target.breaker.state", breaker, TargetBreakers::stateValue)
                    .description("Circuit breaker of a target: 0 closed, 1 half-open, 2 open")
                    .tag("target", target.name())
                    .register(registry);
        }
    }

    /**
     * Before the row is read: a permission from the target's breaker (CallNotPermittedException while open, or
     * half-open with its probes taken), so that a message held for an open breaker costs Dataverse nothing. The slot
     * of the bulkhead is taken later, just before the call ({@link #occupy}); whatever the exchange holds is given
     * back when it completes, whatever happens.
     */
    public void admit(Exchange exchange) {
        CircuitBreaker breaker = breakers.get(exchange.getProperty(SyncProperties.TARGET, String.class));
        breaker.acquirePermission();
        exchange.setProperty(ADMITTED_AT, System.nanoTime());
        exchange.getExchangeExtension().addOnCompletion(new Synchronization() {
            @Override
            public void onComplete(Exchange done) {
                release(done);
            }

            @Override
            public void onFailure(Exchange done) {
                release(done);
            }

            private void release(Exchange done) {
                releaseSlot(done);
                if (done.removeProperty(ADMITTED_AT) != null) {
                    // neither success nor failure recorded (e.g. the exchange stopped otherwise): no verdict
                    breaker.releasePermission();
                }
            }
        });
    }

    /**
     * Just before the call, once the row is read and mapped: a slot of the target's bulkhead (BulkheadFullException
     * after waiting up to the target's response timeout: the message is held briefly), given back as soon as the call
     * succeeded ({@link #succeeded}: the bulkhead bounds calls to the target, not the acknowledgement that follows),
     * else when the exchange completes. Not in {@link #admit}: a copy whose row must be read again (a retry, a replay,
     * a snapshot too old to trust) waits for its read's batch, up to sync.coalesce.retry-window-ms; holding a slot
     * meanwhile, a backlog of such copies left a target one call per slot and window, and the backlog never caught
     * up (README, "Late reads").
     */
    public void occupy(Exchange exchange) {
        Bulkhead bulkhead = bulkheads.get(exchange.getProperty(SyncProperties.TARGET, String.class));
        bulkhead.acquirePermission();
        exchange.setProperty(BULKHEAD_SLOT, bulkhead);
    }

    /** After the call answered with success: the verdict for the breaker, and the bulkhead slot back. */
    public void succeeded(Exchange exchange) {
        Long admittedAt = (Long) exchange.removeProperty(ADMITTED_AT);
        if (admittedAt != null) {
            breakers.get(exchange.getProperty(SyncProperties.TARGET, String.class))
                    .onSuccess(System.nanoTime() - admittedAt, java.util.concurrent.TimeUnit.NANOSECONDS);
        }
        releaseSlot(exchange);
    }

    /** Gives the exchange's bulkhead slot back, once (the exchange runs on one consumer thread). */
    private static void releaseSlot(Exchange exchange) {
        if (exchange.removeProperty(BULKHEAD_SLOT) instanceof Bulkhead bulkhead) {
            bulkhead.onComplete();
        }
    }

    public Map<String, CircuitBreaker> breakers() {
        return breakers;
    }

    public CircuitBreaker.State state(String target) {
        CircuitBreaker b = breakers.get(target);
        return b == null ? CircuitBreaker.State.CLOSED : b.getState();
    }

    /** Targets whose breaker is not closed, with their state. */
    public Map<String, String> degraded() {
        Map<String, String> out = new LinkedHashMap<>();
        breakers.forEach((name, b) -> {
            if (b.getState() != CircuitBreaker.State.CLOSED) {
                out.put(name, b.getState().name());
            }
        });
        return out;
    }

    @Override
    public Optional<Duration> holdFor(Exchange exchange, Throwable failure) {
        String target = exchange.getProperty(SyncProperties.TARGET, String.class);
        CircuitBreaker breaker = target == null ? null : breakers.get(target);
        if (breaker == null || failure == null) {
            return Optional.empty();
        }
        boolean atTarget = SyncProperties.TARGET_HOP.equals(exchange.getProperty(SyncProperties.HOP, String.class));
        Long admittedAt = (Long) exchange.removeProperty(ADMITTED_AT);
        if (admittedAt != null && atTarget) {
            // the call was made and failed: the breaker counts it if it is transient (its recordException rule)
            breaker.onError(System.nanoTime() - admittedAt, java.util.concurrent.TimeUnit.NANOSECONDS, failure);
        } else if (admittedAt != null) {
            // admitted, but failed before the call (reading the row, mapping): no verdict on the target
            breaker.releasePermission();
        }
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof CallNotPermittedException c && target.equals(c.getCausingCircuitBreakerName())) {
                // this target's breaker (Dataverse's, refusing a re-read of the row, is DataverseBreaker's to decide)
                return Optional.of(openFor.get(target));
            }
            if (t instanceof BulkheadFullException) {
                return Optional.of(BULKHEAD_HOLD);
            }
        }
        // a failure at the target's hop while its breaker is open or half-open: the target is down, not this message
        if (atTarget && breaker.getState() != CircuitBreaker.State.CLOSED) {
            return Optional.of(openFor.get(target));
        }
        return Optional.empty();
    }

    private void onTransition(String target, CircuitBreaker.StateTransition transition) {
        LOG.warn("Target {} circuit breaker: {} -> {}", target, transition.getFromState(), transition.getToState());
    }

    private static double stateValue(CircuitBreaker b) {
        return switch (b.getState()) {
            case CLOSED, DISABLED, METRICS_ONLY -> 0;
            case HALF_OPEN -> 1;
            case OPEN, FORCED_OPEN -> 2;
        };
    }
}
