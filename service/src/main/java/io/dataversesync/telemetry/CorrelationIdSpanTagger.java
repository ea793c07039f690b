package io.dataversesync.telemetry;

import io.dataversesync.exchange.SyncProperties;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import org.apache.camel.AsyncCallback;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Processor;
import org.apache.camel.spi.InterceptStrategy;
import org.apache.camel.support.processor.DelegateAsyncProcessor;

/**
 * Puts the sync correlation id on the spans camel-opentelemetry2 creates: before and after every processor of every
 * route, the current span (the route's span, or a sub-route's) gets the attribute {@value #ATTRIBUTE} from the
 * exchange property {@code syncCorrelationId} once that is known. camel-opentelemetry2 4.17 has no hook for custom
 * span attributes other than replacing the per-component span decorators, hence this small intercept strategy.
 * Without an OpenTelemetry SDK the current span is the no-op span and this costs one property lookup per step.
 */
public final class CorrelationIdSpanTagger implements InterceptStrategy {
    public static final String ATTRIBUTE = "sync.correlation_id";
    static final AttributeKey<String> KEY = AttributeKey.stringKey(ATTRIBUTE);

    @Override
    public Processor wrapProcessorInInterceptors(CamelContext context, NamedNode definition, Processor target, Processor nextTarget) {
        return new DelegateAsyncProcessor(target) {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                tag(exchange);
                return processor.process(exchange, doneSync -> {
                    tag(exchange);
                    callback.done(doneSync);
                });
            }

            @Override
            public String toString() {
                return "CorrelationIdSpanTagger[" + processor + "]";
            }
        };
    }

    static void tag(Exchange exchange) {
        String id = exchange.getProperty(SyncProperties.CORRELATION_ID, String.class);
        if (id != null) {
            Span span = Span.current();
            if (span.getSpanContext().isValid() && span.isRecording()) {
                span.setAttribute(KEY, id);
            }
        }
    }
}
