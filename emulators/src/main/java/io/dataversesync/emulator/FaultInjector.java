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

    /**
     * What an emulator should do instead of (or on top of) serving the request: {@link Kind#STATUS} answers
     * {@code status} (with {@code Retry-After} when given) without serving it; {@link Kind#TIMEOUT} serves the
     * request (its effect applies when it arrives) and holds the answer back for {@code delay}, so a client with a
     * shorter timeout gives up on a request that was done; {@link Kind#RESET} closes the connection without any
     * answer and without serving the request (what a client sees of a connection reset: no response at all).
     */
    public record Fault(Kind kind, int status, Integer retryAfterSeconds, Duration delay) {
        public enum Kind { STATUS, TIMEOUT, RESET }

        public Fault(int status, Integer retryAfterSeconds) {
            this(Kind.STATUS, status, retryAfterSeconds, Duration.ZERO);
        }

        public static Fault status(int status) {
            return new Fault(status, null);
        }

        /** 429 with Retry-After, as Dataverse's service protection answers. */
        public static Fault throttled(int retryAfterSeconds) {
            return new Fault(429, retryAfterSeconds);
        }

        public static Fault timeout(Duration answerDelay) {
            return new Fault(Kind.TIMEOUT, 0, null, answerDelay);
        }

        public static Fault reset() {
            return new Fault(Kind.RESET, 0, null, Duration.ZERO);
        }

        /** e.g. 429, 503, timeout, reset: how the counters name it. */
        public String label() {
            return switch (kind) {
                case STATUS -> String.valueOf(status);
                case TIMEOUT -> "timeout";
                case RESET -> "reset";
            };
        }
    }

    private record FailNextRule(String method, AtomicInteger remaining, Fault fault) {
    }

    private record ErrorRateRule(double rate, int status) {
    }

    /** A share of requests fails, each with one of several faults picked at random (equally likely). */
    private record MixRule(double rate, java.util.List<Fault> faults) {
    }

    private static final String ANY = "*";

    private final ConcurrentLinkedQueue<FailNextRule> failNextRules = new ConcurrentLinkedQueue<>();
    private final Map<String, ErrorRateRule> errorRates = new ConcurrentHashMap<>();
    private final Map<String, Duration> latencies = new ConcurrentHashMap<>();
    private final Map<String, MixRule> mixes = new ConcurrentHashMap<>();
    /** Faults handed out, by {@link Fault#label()}. */
    private final Map<String, java.util.concurrent.atomic.AtomicLong> injected = new ConcurrentHashMap<>();

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

    /**
     * Fails a random share (0..1) of requests with this method (null = any), each with one of {@code faults}
     * picked at random: e.g. 429 with Retry-After, 500, 503, a timeout and a reset mixed. A rate of 0 removes the
     * rule. Checked after the fail-next rules and before {@link #errorRate}.
     */
    public FaultInjector mixedFaults(String method, double rate, java.util.List<Fault> faults) {
        if (rate < 0 || rate > 1) {
            throw new IllegalArgumentException("rate must be within 0..1");
        }
        if (rate == 0) {
            mixes.remove(key(method));
            return this;
        }
        if (faults == null || faults.isEmpty()) {
            throw new IllegalArgumentException("name at least one fault");
        }
        mixes.put(key(method), new MixRule(rate, java.util.List.copyOf(faults)));
        return this;
    }

    /** How many faults were handed out, by {@link Fault#label()} (e.g. {@code 429}, {@code timeout}). */
    public Map<String, Long> injectedCounts() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        injected.forEach((label, count) -> counts.put(label, count.get()));
        return counts;
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
        mixes.clear();
    }

    /** Delay to apply to a request with this method. */
    public Duration latencyFor(String method) {
        Duration specific = latencies.get(key(method));
        return specific != null ? specific : latencies.getOrDefault(ANY, Duration.ZERO);
    }

    /** Consumes and returns the fault for a request with this method, if any applies. */
    public Optional<Fault> nextFault(String method) {
        Optional<Fault> fault = pick(method);
        fault.ifPresent(f -> injected.computeIfAbsent(f.label(), l -> new java.util.concurrent.atomic.AtomicLong()).incrementAndGet());
        return fault;
    }

    private Optional<Fault> pick(String method) {
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
        MixRule mix = mixes.get(wanted);
        if (mix == null) {
            mix = mixes.get(ANY);
        }
        if (mix != null && ThreadLocalRandom.current().nextDouble() < mix.rate()) {
            return Optional.of(mix.faults().get(ThreadLocalRandom.current().nextInt(mix.faults().size())));
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
