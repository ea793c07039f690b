package io.dataversesync.ops;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

/** HTTP answers of the operations routes that are not the API's data: refusals, failures and the console's files. */
public class OpsHttp {
    /** The console's files (service/src/main/resources/ops/): nothing else is ever served from the jar. */
    private static final Map<String, String> CONSOLE_FILES = Map.of(
            "index.html", "text/html; charset=utf-8",
            "console.js", "text/javascript; charset=utf-8",
            "console.css", "text/css; charset=utf-8");

    private final ObjectMapper json;

    public OpsHttp(ObjectMapper json) {
        this.json = json;
    }

    /** An {@link OpsException}: its status and message; a 401 names the scheme (RFC 6750). */
    public String refusal(Exchange exchange) {
        OpsException e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, OpsException.class);
        int status = e == null ? 400 : e.status();
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        if (status == 401) {
            exchange.getMessage().setHeader("WWW-Authenticate", "Bearer realm=\"dataverse-sync-ops\"");
        }
        return json.createObjectNode().put("error", e == null ? "refused" : e.getMessage()).put("status", status).toString();
    }

    /** Anything unexpected: a 500 that says to look at the log (the exception is logged by the route, never returned). */
    public String failure(Exchange exchange) {
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 500);
        return json.createObjectNode().put("error", "the operation failed; the service log has the details").put("status", 500).toString();
    }

    public void consoleFile(Exchange exchange) throws IOException {
        Message m = exchange.getMessage();
        String name = m.getHeader("file", String.class);
        String type = name == null ? null : CONSOLE_FILES.get(name);
        m.removeHeaders("*");
        if (type == null) {
            m.setHeader(Exchange.HTTP_RESPONSE_CODE, 404);
            m.setHeader(Exchange.CONTENT_TYPE, "text/plain");
            m.setBody("not found");
            return;
        }
        try (InputStream in = OpsHttp.class.getResourceAsStream("/ops/" + name)) {
            if (in == null) {
                throw new IOException("the console file ops/" + name + " is missing from the jar");
            }
            m.setBody(in.readAllBytes());
        }
        m.setHeader(Exchange.CONTENT_TYPE, type);
        m.setHeader("Cache-Control", "no-cache");
        // the page runs only its own script and style sheet and talks only to this service
        m.setHeader("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                + "connect-src 'self'; frame-ancestors 'none'");
        m.setHeader("X-Content-Type-Options", "nosniff");
    }
}
