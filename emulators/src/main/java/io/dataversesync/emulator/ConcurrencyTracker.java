package io.dataversesync.emulator;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How many requests an emulator is serving at the same time: per {@code "METHOD /path"} key, per method and
 * overall, with the maximum seen since the last {@link #reset()}. A request counts from the moment the emulator
 * starts handling it (before any injected latency) until its answer is ready, just before it is written, so a
 * client that got the answer and sends its next request can never overlap with itself.
 *
 * <p>Used to prove per-row ordering: with one row per path, {@code maxInFlight("PUT", "/api/customers/<row>")}
 * must stay 1, while {@link #maxInFlightOfMethod(String)} above 1 shows requests did run in parallel.
 */
public final class ConcurrencyTracker {

    private final Map<String, AtomicInteger> current = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> max = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> currentByMethod = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> maxByMethod = new ConcurrentHashMap<>();
    private final AtomicInteger currentTotal = new AtomicInteger();
    private final AtomicInteger maxTotal = new AtomicInteger();
    private final AtomicLong overlaps = new AtomicLong();

    /** The key requests are tracked under, e.g. {@code "PUT /api/customers/42"}. */
    public static String key(String method, String path) {
        return method + " " + path;
    }

    /** A request starts being served. Every begin must be followed by one {@link #end}. */
    public void begin(String method, String path) {
        String key = key(method, path);
        int now = current.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        max.computeIfAbsent(key, k -> new AtomicInteger()).accumulateAndGet(now, Math::max);
        if (now > 1) {
            overlaps.incrementAndGet();
        }
        int byMethod = currentByMethod.computeIfAbsent(method, k -> new AtomicInteger()).incrementAndGet();
        maxByMethod.computeIfAbsent(method, k -> new AtomicInteger()).accumulateAndGet(byMethod, Math::max);
        maxTotal.accumulateAndGet(currentTotal.incrementAndGet(), Math::max);
    }

    /** The request's answer is ready. */
    public void end(String method, String path) {
        AtomicInteger counter = current.get(key(method, path));
        if (counter != null) {
            counter.decrementAndGet();
        }
        AtomicInteger byMethod = currentByMethod.get(method);
        if (byMethod != null) {
            byMethod.decrementAndGet();
        }
        currentTotal.decrementAndGet();
    }

    /** Most requests with this method and path served at once since the last reset; 0 if none. */
    public int maxInFlight(String method, String path) {
        AtomicInteger value = max.get(key(method, path));
        return value == null ? 0 : value.get();
    }

    /** Requests with this method and path being served right now. */
    public int inFlight(String method, String path) {
        AtomicInteger value = current.get(key(method, path));
        return value == null ? 0 : value.get();
    }

    /** Most requests with this method (any path) served at once since the last reset. */
    public int maxInFlightOfMethod(String method) {
        AtomicInteger value = maxByMethod.get(method);
        return value == null ? 0 : value.get();
    }

    /** Most requests (any method, any path) served at once since the last reset. */
    public int maxInFlightTotal() {
        return maxTotal.get();
    }

    /** Requests being served right now. */
    public int inFlightTotal() {
        return currentTotal.get();
    }

    /** Snapshot of the maximum per {@code "METHOD /path"} key, sorted by key. */
    public Map<String, Integer> maxInFlightByKey() {
        Map<String, Integer> snapshot = new TreeMap<>();
        max.forEach((key, value) -> snapshot.put(key, value.get()));
        return snapshot;
    }

    /** Requests that started while another one with the same method and path was still being served. */
    public long overlapCount() {
        return overlaps.get();
    }

    /** Forgets the maxima and overlaps; requests still being served keep counting (maxima restart from them). */
    public void reset() {
        max.clear();
        maxByMethod.clear();
        overlaps.set(0);
        current.forEach((key, value) -> {
            if (value.get() > 0) {
                max.computeIfAbsent(key, k -> new AtomicInteger()).accumulateAndGet(value.get(), Math::max);
            }
        });
        currentByMethod.forEach((key, value) -> {
            if (value.get() > 0) {
                maxByMethod.computeIfAbsent(key, k -> new AtomicInteger()).accumulateAndGet(value.get(), Math::max);
            }
        });
        maxTotal.set(Math.max(0, currentTotal.get()));
    }
}
