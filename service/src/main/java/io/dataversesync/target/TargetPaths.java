package io.dataversesync.target;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dataversesync.exchange.SyncProperties;
import org.apache.camel.Exchange;

/**
 * Fills a target's path template (upsertPath, deletePath of routes/targets/*.camel.yaml): {sourceRowId},
 * {entity}, {targetRowId}, and in a saga {step.NAME} (the row id an earlier step's target answered). Every value is
 * URL-encoded as one path segment, so no value, whatever a target answered, can change the path or add a query.
 * Written here because Camel's simple language has no per-value URL encoding for a path.
 */
public class TargetPaths {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z][A-Za-z0-9.-]*)}");

    /** The filled template as the target call's path (CamelHttpPath). */
    public void setHttpPath(Exchange exchange, String template) {
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, expand(exchange, template));
    }

    public String expand(Exchange exchange, String template) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            String value = value(exchange, name);
            if (value == null || value.isBlank()) {
                throw new IllegalStateException("path " + template + " needs {" + name + "}, which this message does not have");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20")));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String value(Exchange exchange, String name) {
        return switch (name) {
            case "sourceRowId" -> exchange.getProperty(SyncProperties.SOURCE_ROW_ID, String.class);
            case "entity" -> exchange.getProperty(SyncProperties.ENTITY, String.class);
            case "targetRowId" -> exchange.getProperty(SyncProperties.TARGET_ROW_ID, String.class);
            default -> name.startsWith("step.") ? SagaState.stepTargetRowId(exchange, name.substring("step.".length())) : null;
        };
    }
}
