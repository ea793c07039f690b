package io.dataversesync.bench;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.spi.CamelEvent.ExchangeSendingEvent;
import org.apache.camel.spi.CamelEvent.ExchangeSentEvent;
import org.apache.camel.support.EventNotifierSupport;

/**
 * Where a change's time goes inside the service between its read and its target call, seen from Camel's own events
 * (the emulators see only both ends): when the outbound consumer sent the change on the topic, when the target's
 * consumer took its copy (the exchange's creation) and when that consumer sent the call. First attempt of each row
 * only. A diagnostic of the steady scenario; nothing of the service depends on it.
 */
final class StageProbe extends EventNotifierSupport {
    /** Per row: published (sent on the topic), taken by the target's consumer, target call sent; epoch ms. */
    record Times(long published, long taken, long called) {
    }

    private final String targetRouteId;
    private final Map<String, Long> published = new ConcurrentHashMap<>();
    private final Map<String, Times> times = new ConcurrentHashMap<>();

    StageProbe(String targetRouteId) {
        this.targetRouteId = targetRouteId;
        setIgnoreCamelContextEvents(true);
        setIgnoreCamelContextInitEvents(true);
        setIgnoreRouteEvents(true);
        setIgnoreServiceEvents(true);
        setIgnoreExchangeCreatedEvent(true);
        setIgnoreExchangeCompletedEvent(true);
        setIgnoreExchangeFailedEvents(true);
        setIgnoreExchangeRedeliveryEvents(true);
        setIgnoreExchangeAsyncProcessingStartedEvents(true);
        setIgnoreStepEvents(true);
    }

    @Override
    public void notify(CamelEvent event) {
        if (event instanceof ExchangeSentEvent sent && sent.getEndpoint().getEndpointUri().contains("topic:")) {
            String row = row(sent.getExchange());
            if (row != null) {
                published.putIfAbsent(row, System.currentTimeMillis());
            }
        } else if (event instanceof ExchangeSendingEvent sending && sending.getEndpoint().getEndpointUri().startsWith("http")
                && targetRouteId.equals(sending.getExchange().getFromRouteId())) {
            String row = row(sending.getExchange());
            Long at = row == null ? null : published.get(row);
            if (at != null) {
                times.putIfAbsent(row, new Times(at, sending.getExchange().getClock().getCreated(), System.currentTimeMillis()));
            }
        }
    }

    Times times(String row) {
        return times.get(row.toLowerCase());
    }

    private static String row(Exchange exchange) {
        String row = exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
        return row == null ? null : row.toLowerCase();
    }
}
