package io.dataversesync.ops;

import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.reconcile.ReconcileRequest;
import io.dataversesync.reconcile.Reconciler;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;

/**
 * Reconciliation on demand through the operations API: {@code POST /ops/api/reconcile} checks the request, records it
 * in the audit trail and starts the run ({@code direct:reconcile}, the same route the schedules use) without holding
 * the HTTP call for the minutes a large table takes; {@code GET /ops/api/reconcile/reports} shows the last reports.
 */
public class OpsReconcile {
    /** The most reports one answer holds. */
    static final int MAX_REPORTS = 50;

    private final org.apache.camel.CamelContext context;
    private final ProducerTemplate producer;
    private final ObjectMapper json;

    /**
     * The reconciler and the operations API's audit trail are looked up when a request comes: Camel binds the beans
     * of one configuration class in an order of its own, and these two are declared in other blocks of SyncBeans.
     */
    public OpsReconcile(org.apache.camel.CamelContext context, ProducerTemplate producer, ObjectMapper json) {
        this.context = context;
        this.producer = producer;
        this.json = json;
    }

    private Reconciler reconciler() {
        return context.getRegistry().mandatoryFindSingleByType(Reconciler.class);
    }

    /** 202 with the accepted request; 400 for a request the run would refuse, 409 while a run is under way. */
    public String start(Exchange exchange) throws Exception {
        String body = exchange.getMessage().getBody(String.class);
        if (body == null || body.isBlank()) {
            body = "{}";
        }
        String who = OpsApi.who(exchange);
        ReconcileRequest request;
        try {
            request = ReconcileRequest.parse(body, json, "ops:" + who);
        } catch (ReconcileRequest.InvalidRequestException e) {
            throw new OpsException(400, e.getMessage());
        }
        Reconciler reconciler = reconciler();
        OpsAudit audit = context.getRegistry().mandatoryFindSingleByType(OpsApi.class).audit();
        if (reconciler.isRunning()) {
            throw new OpsException(409, "a reconciliation run is under way; its report will be in /ops/api/reconcile/reports");
        }
        ObjectNode what = request.toJson(json);
        audit.record(who, "reconcile", what);
        // the run's own report says how it ended; the caller polls the reports
        producer.asyncRequestBodyAndHeader("direct:reconcile", json.writeValueAsString(what), "reconcileTrigger", "ops:" + who);
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
        ObjectNode out = json.createObjectNode();
        out.put("accepted", true);
        out.set("request", what);
        out.put("reports", "/ops/api/reconcile/reports");
        return json.writeValueAsString(out);
    }

    /** The last reports, newest first ({@code count}: 1..50, default 10). */
    public String reports(Exchange exchange) throws Exception {
        String count = exchange.getMessage().getHeader("count", String.class);
        int n = 10;
        if (count != null) {
            try {
                n = Integer.parseInt(count.trim());
            } catch (NumberFormatException e) {
                throw new OpsException(400, "count must be a number from 1 to " + MAX_REPORTS);
            }
            if (n < 1 || n > MAX_REPORTS) {
                throw new OpsException(400, "count must be a number from 1 to " + MAX_REPORTS);
            }
        }
        List<ObjectNode> reports = reconciler().latestReports(n);
        ObjectNode out = json.createObjectNode();
        ArrayNode items = out.putArray("reports");
        reports.forEach(items::add);
        return json.writeValueAsString(out);
    }
}
