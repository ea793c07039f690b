package io.dataversesync.telemetry;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Configuration;

/**
 * Tracing, only when {@code camel.opentelemetry2.enabled=true} (the azure profile; off in the local default, where
 * the environment variable CAMEL_OPENTELEMETRY2_ENABLED=true turns it on). Found by Camel Main's package scan of
 * io.dataversesync (no registration needed in SyncBeans).
 * <p>
 * camel-opentelemetry2 4.17 is initialised by Camel Main before configuration classes run; it takes the
 * OpenTelemetry Tracer and ContextPropagators from the registry if there is exactly one of each, else from
 * {@code GlobalOpenTelemetry.get()}. With opentelemetry-sdk-extension-autoconfigure on the classpath,
 * GlobalOpenTelemetry builds the SDK from the standard OTEL_* environment variables when
 * {@code OTEL_JAVA_GLOBAL_AUTOCONFIGURE_ENABLED=true}; otherwise (tests, local) it is a no-op and nothing is exported.
 * Production environment: OTEL_JAVA_GLOBAL_AUTOCONFIGURE_ENABLED=true, OTEL_SERVICE_NAME=dataverse-sync,
 * OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 (collector with the azuremonitor exporter, or an Azure
 * Monitor OTLP endpoint), OTEL_METRICS_EXPORTER=none, OTEL_LOGS_EXPORTER=none (metrics are Prometheus, logs JSON).
 * <p>
 * This class adds {@link CorrelationIdSpanTagger} so every route span carries {@code sync.correlation_id}.
 */
@Configuration
public class TelemetryConfiguration implements CamelConfiguration {
    public static final String ENABLED = "camel.opentelemetry2.enabled";

    @Override
    public void configure(CamelContext context) {
        boolean enabled = context.getPropertiesComponent().resolveProperty(ENABLED).map(Boolean::parseBoolean).orElse(false);
        if (enabled) {
            context.getCamelContextExtension().addInterceptStrategy(new CorrelationIdSpanTagger());
        }
    }
}
