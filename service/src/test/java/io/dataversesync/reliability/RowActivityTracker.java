package io.dataversesync.reliability;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.support.SynchronizationAdapter;

/**
 * Route-level counterpart of the emulators' ConcurrencyTracker: how many exchanges of the outbound consumer are
 * working on the same row at once, from the first step of the route until the exchange is done (its unit of work
 * completes, just before the JMS transaction commits). Used as the first step of the consumer route (advice).
 */
final class RowActivityTracker implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, AtomicInteger> current = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> max = new ConcurrentHashMap<>();
    private final AtomicInteger currentTotal = new AtomicInteger();
    private final AtomicInteger maxTotal = new AtomicInteger();
    private final AtomicInteger exchanges = new AtomicInteger();

    @Override
    public void process(Exchange exchange) throws Exception {
        String row = rowOf(exchange.getMessage().getBody(String.class));
        int now = current.computeIfAbsent(row, r -> new AtomicInteger()).incrementAndGet();
        max.computeIfAbsent(row, r -> new AtomicInteger()).accumulateAndGet(now, Math::max);
        maxTotal.accumulateAndGet(currentTotal.incrementAndGet(), Math::max);
        exchanges.incrementAndGet();
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                current.get(row).decrementAndGet();
                currentTotal.decrementAndGet();
            }
        });
    }

    int maxForRow(String row) {
        AtomicInteger value = max.get(row);
        return value == null ? 0 : value.get();
    }

    Map<String, Integer> maxPerRow() {
        Map<String, Integer> snapshot = new TreeMap<>();
        max.forEach((row, value) -> snapshot.put(row, value.get()));
        return snapshot;
    }

    int maxTotal() {
        return maxTotal.get();
    }

    int inFlight() {
        return currentTotal.get();
    }

    int exchanges() {
        return exchanges.get();
    }

    private static String rowOf(String body) {
        try {
            JsonNode node = JSON.readTree(body == null ? "{}" : body);
            return node.path("sourceRowId").asText("?");
        } catch (Exception e) {
            return "?";
        }
    }
}
