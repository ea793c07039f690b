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
 * Where a change's time goes inside the service, seen from Camel's own events (the emulators see only the remote
 * calls): when the outbound consumer took the notification (the exchange's creation), when it sent the change on
 * the topic, when the target's consumer took its copy and when it sent the call, and when the ack consumer took the
 * acknowledgement. First attempt of each row only. A diagnostic of the steady scenario; nothing of the service
 * depends on it.
 */
final class StageProbe extends EventNotifierSupport {
    /** Per row: published (sent on the topic), taken by the target's consumer, target call sent; epoch ms. */
    record Times(long published, long taken, long called) {
    }

    private final String targetRouteId;
    private final Map<String, Long> published = new ConcurrentHashMap<>();
    private final Map<String, Times> times = new ConcurrentHashMap<>();
    private final Map<String, Long> outboundTaken = new ConcurrentHashMap<>();
    private final Map<String, Long> ackTaken = new ConcurrentHashMap<>();

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
        if (event instanceof ExchangeSendingEvent sending) {
            // the consumers' exchanges were created when they took their message; the row is known once validated
            String from = sending.getExchange().getFromRouteId();
            Map<String, Long> taken = "outbound-sync-consumer".equals(from) ? outboundTaken
                    : "ack-writeback-consumer".equals(from) ? ackTaken : null;
            String row = taken == null ? null : row(sending.getExchange());
            if (row != null) {
                taken.putIfAbsent(row, sending.getExchange().getClock().getCreated());
            }
        }
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

    void clear() {
        published.clear();
        times.clear();
        outboundTaken.clear();
        ackTaken.clear();
    }

    Times times(String row) {
        return times.get(row.toLowerCase());
    }

    /** When the outbound consumer took the row's notification (epoch ms), or null. */
    Long outboundTaken(String row) {
        return outboundTaken.get(row.toLowerCase());
    }

    /** When the ack consumer took the row's acknowledgement (epoch ms), or null. */
    Long ackTaken(String row) {
        return ackTaken.get(row.toLowerCase());
    }

    private static String row(Exchange exchange) {
        String row = exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
        return row == null ? null : row.toLowerCase();
    }
}
