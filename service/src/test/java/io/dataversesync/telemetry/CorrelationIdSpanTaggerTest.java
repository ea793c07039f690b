package io.dataversesync.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.opentelemetry2.OpenTelemetryTracer;
import org.junit.jupiter.api.Test;

/** camel-opentelemetry2 4.17 with an in-memory exporter: the route spans carry sync.correlation_id, one trace. */
class CorrelationIdSpanTaggerTest {

    @Test
    void routeSpansCarryTheCorrelationId() throws Exception {
        InMemorySpanExporter exporter = InMemorySpanExporter.create();
        SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
        CamelContext context = new DefaultCamelContext();
        // camel-opentelemetry2 takes a single Tracer / ContextPropagators bean from the registry
        context.getRegistry().bind("tracer", Tracer.class, provider.get("camel"));
        context.getRegistry().bind("propagators", ContextPropagators.class, ContextPropagators.create(W3CTraceContextPropagator.getInstance()));
        OpenTelemetryTracer tracer = new OpenTelemetryTracer();
        tracer.setCamelContext(context);
        tracer.init(context);
        context.getCamelContextExtension().addInterceptStrategy(new CorrelationIdSpanTagger());
        // lambdas, not RouteBuilder subclasses: Camel Main's package scan of io.dataversesync would pick those up
        RouteBuilder.addRoutes(context, rb -> rb.from("direct:consumer").routeId("consumer")
                .setProperty("syncCorrelationId", rb.constant("corr-42"))
                .to("direct:hop"));
        RouteBuilder.addRoutes(context, rb -> rb.from("direct:hop").routeId("hop").setBody(rb.constant("done")));
        context.start();
        try {
            context.createProducerTemplate().sendBody("direct:consumer", "x");
        } finally {
            context.stop();
        }
        List<SpanData> spans = exporter.getFinishedSpanItems(); // (closing the provider would clear the exporter)
        provider.close();
        assertThat(spans).hasSizeGreaterThanOrEqualTo(2);
        assertThat(spans).extracting(SpanData::getTraceId).containsOnly(spans.get(0).getTraceId());
        List<SpanData> tagged = spans.stream()
                .filter(s -> "corr-42".equals(s.getAttributes().get(AttributeKey.stringKey(CorrelationIdSpanTagger.ATTRIBUTE))))
                .toList();
        assertThat(tagged).as("spans: %s", spans).hasSizeGreaterThanOrEqualTo(2);
    }
}
