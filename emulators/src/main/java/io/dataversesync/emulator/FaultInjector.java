package io.dataversesync.emulator;

import java.time.Duration;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Thread-safe switches that make an emulator misbehave on purpose. A method of null means any method.
 * Faults are checked after authentication, so a test can fail real, authorised calls.
 */
public final class FaultInjector {

    /** What an emulator should answer instead of serving the request. */
    public record Fault(int status, Integer retryAfterSeconds) {
    }

    private record FailNextRule(String method, AtomicInteger remaining, Fault fault) {
    }

    private record ErrorRateRule(double rate, int status) {
    }

    private static final String ANY = "*";

    private final ConcurrentLinkedQueue<FailNextRule> failNextRules = new ConcurrentLinkedQueue<>();
    private final Map<String, ErrorRateRule> errorRates = new ConcurrentHashMap<>();
    private final Map<String, Duration> latencies = new ConcurrentHashMap<>();

    /** The next {@code times} requests with this method (null = any) are answered with {@code status}. */
    public FaultInjector failNext(String method, int times, int status) {
        return failNext(method, times, status, null);
    }

    /** Like {@link #failNext(String, int, int)} and adds a {@code Retry-After} header when given. */
    public FaultInjector failNext(String method, int times, int status, Integer retryAfterSeconds) {
        if (times <= 0) {
            throw new IllegalArgumentException("times must be positive");
        }
        failNextRules.add(new FailNextRule(key(method), new AtomicInteger(times), new Fault(status, retryAfterSeconds)));
        return this;
    }

    /** Fails a random share (0..1) of requests with this method (null = any). A rate of 0 removes the rule. */
    public FaultInjector errorRate(String method, double rate, int status) {
        if (rate < 0 || rate > 1) {
            throw new IllegalArgumentException("rate must be within 0..1");
        }
        if (rate == 0) {
            errorRates.remove(key(method));
        } else {
            errorRates.put(key(method), new ErrorRateRule(rate, status));
        }
        return this;
    }

    /** Delay added before answering every request. */
    public FaultInjector latency(Duration delay) {
        return latency(null, delay);
    }

    /** Delay for one method; it replaces (does not add to) the any-method delay. Zero or null removes it. */
    public FaultInjector latency(String method, Duration delay) {
        if (delay == null || delay.isZero() || delay.isNegative()) {
            latencies.remove(key(method));
        } else {
            latencies.put(key(method), delay);
        }
        return this;
    }

    /** Removes every fault and latency. */
    public void clear() {
        failNextRules.clear();
        errorRates.clear();
        latencies.clear();
    }

    /** Delay to apply to a request with this method. */
    public Duration latencyFor(String method) {
        Duration specific = latencies.get(key(method));
        return specific != null ? specific : latencies.getOrDefault(ANY, Duration.ZERO);
    }

    /** Consumes and returns the fault for a request with this method, if any applies. */
    public Optional<Fault> nextFault(String method) {
        String wanted = key(method);
        for (Iterator<FailNextRule> it = failNextRules.iterator(); it.hasNext(); ) {
            FailNextRule rule = it.next();
            if (!rule.method().equals(ANY) && !rule.method().equals(wanted)) {
                continue;
            }
            // CAS loop: concurrent requests must not consume more than 'times' failures
            int left;
            while ((left = rule.remaining().get()) > 0) {
                if (rule.remaining().compareAndSet(left, left - 1)) {
                    if (left == 1) {
                        failNextRules.remove(rule);
                    }
                    return Optional.of(rule.fault());
                }
            }
            failNextRules.remove(rule);
        }
        ErrorRateRule rate = errorRates.get(wanted);
        if (rate == null) {
            rate = errorRates.get(ANY);
        }
        if (rate != null && ThreadLocalRandom.current().nextDouble() < rate.rate()) {
            return Optional.of(new Fault(rate.status(), null));
        }
        return Optional.empty();
    }

    private static String key(String method) {
        return method == null ? ANY : method.toUpperCase(Locale.ROOT);
    }
}
