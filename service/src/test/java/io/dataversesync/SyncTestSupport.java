package io.dataversesync;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.broker.EmbeddedBroker;
import io.dataversesync.emulator.local.LocalEnvironment;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.emulator.RecordedRequest;
import io.dataversesync.emulator.TargetEmulator;
import org.apache.camel.BeanInject;
import org.apache.camel.CamelContext;
import org.apache.camel.ConsumerTemplate;
import org.apache.camel.EndpointInject;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Runs the real application (Camel Main, YAML routes, embedded Artemis, emulators on loopback) with test
 * tuning: short backoff without jitter, free ports and a fresh broker folder per test class
 * (Surefire gives each class its own JVM).
 */
@CamelMainTest(mainClass = Main.class, properties = {
        "sync.routes.location={{sys:test.routes.location}}",
        "sync.http.port={{sys:test.port.http}}",
        "sync.local.dataverse-port={{sys:test.port.dataverse}}",
        "sync.local.target-port={{sys:test.port.target}}",
        "sync.local.broker.data-dir={{sys:test.broker.dir}}",
        "sync.local.broker.redelivery-delay-ms=100",
        "sync.policy.base-delay-ms=50",
        "sync.policy.multiplier=2.0",
        "sync.policy.jitter=0",
        "sync.policy.max-retries=3",
        "sync.policy.ack-writeback-consumer.max-retries=3",
        // retries wait 50 ms here, not seconds: their reads need not wait a second to share a query either
        "sync.coalesce.retry-window-ms=100",
        "sync.mappings.location={{sys:test.mappings.location:classpath:routes/mappings}}",
        "dataverse.timeout-ms=5000",
        "camel.component.http.response-timeout=5000",
        "camel.component.http.so-timeout=5000",
        "sync.reconcile.schedule.enabled=false",
        "sync.reconcile.incremental.enabled=false",
        "sync.reconcile.data-dir={{sys:test.reconcile.dir}}"
})
public abstract class SyncTestSupport {
    protected static final String OUTBOUND = "dataverse-outbound";
    protected static final String ACK = "dataverse-ack";
    /** The customers target's queue on the changes topic: its copies, retries and dead letters. */
    protected static final String CUSTOMERS_QUEUE = "dataverse-changes.customers";
    protected static final ObjectMapper JSON = new ObjectMapper();

    static {
        // the repository's route files themselves, as the integration team edits them (see ProjectFiles)
        System.setProperty("test.routes.location", ProjectFiles.routesLocation());
        System.setProperty("test.port.http", String.valueOf(FreePorts.free()));
        System.setProperty("test.port.dataverse", String.valueOf(FreePorts.free()));
        System.setProperty("test.port.target", String.valueOf(FreePorts.free()));
        System.setProperty("test.broker.dir", "target/test-brokers/" + UUID.randomUUID());
        System.setProperty("test.reconcile.dir", "target/test-reconcile/" + UUID.randomUUID());
    }

    @BeanInject
    protected CamelContext context;
    @EndpointInject
    protected ProducerTemplate producer;
    @EndpointInject
    protected ConsumerTemplate consumer;

    protected LocalEnvironment local() {
        return context.getRegistry().lookupByNameAndType("localEnvironment", LocalEnvironment.class);
    }

    protected EmbeddedBroker broker() {
        return context.getRegistry().lookupByNameAndType("embeddedBroker", EmbeddedBroker.class);
    }

    protected DataverseEmulator dataverse() {
        return local().dataverse();
    }

    protected TargetEmulator target() {
        return local().target();
    }

    @BeforeEach
    void resetEmulators() {
        dataverse().faults().clear();
        target().faults().clear();
        dataverse().clearRequests();
        target().clearRequests();
    }

    @AfterEach
    void clearFaults() {
        dataverse().faults().clear();
        target().faults().clear();
    }

    protected String createAccount(String name) {
        ObjectNode row = JSON.createObjectNode();
        row.put("name", name);
        row.put("accountnumber", "ACC-" + Math.abs(name.hashCode() % 100000));
        row.put("telephone1", "+1-425-555-0100");
        row.put("emailaddress1", "info@example.com");
        row.put("address1_city", "Redmond");
        row.put("statecode", 0);
        return dataverse().upsertRow("accounts", null, row);
    }

    protected void changeAccount(String id, String column, String value) {
        ObjectNode change = JSON.createObjectNode();
        change.put(column, value);
        dataverse().upsertRow("accounts", id, change);
    }

    /** What the Dataverse plugin step does: a notification on the outbound queue. Returns the correlation id. */
    protected String notifyChange(String entity, String rowId) {
        String correlationId = UUID.randomUUID().toString();
        send(OUTBOUND, "{\"entity\":\"" + entity + "\",\"sourceRowId\":\"" + rowId + "\",\"operation\":\"Update\"}", correlationId);
        return correlationId;
    }

    protected void send(String queue, String body, String correlationId) {
        Map<String, Object> headers = new HashMap<>();
        if (correlationId != null) {
            headers.put("JMSCorrelationID", correlationId);
        }
        producer.sendBodyAndHeaders("jms:queue:" + queue, body, headers);
    }

    protected ObjectNode row(String id) {
        return dataverse().row("accounts", id).orElseThrow();
    }

    protected ObjectNode awaitSynced(String id) {
        await().atMost(Duration.ofSeconds(20)).until(() -> "Synced".equals(row(id).path("new_syncstatus").asText()));
        return row(id);
    }

    /** Receives the next dead letter of a queue, or null after the timeout. */
    protected Exchange receiveDeadLetter(String queue, Duration timeout) {
        return consumer.receive("jms:queue:" + queue + ".DLQ", timeout.toMillis());
    }

    protected List<RecordedRequest> targetCalls(String method, String rowId) {
        List<RecordedRequest> calls = new ArrayList<>();
        for (RecordedRequest r : target().requests()) {
            if (r.method().equals(method) && r.path().endsWith("/" + rowId)) {
                calls.add(r);
            }
        }
        return calls;
    }

    protected List<RecordedRequest> dataverseCalls(String method, String rowId) {
        List<RecordedRequest> calls = new ArrayList<>();
        for (RecordedRequest r : dataverse().requests()) {
            if (r.method().equals(method) && r.path().contains(rowId)) {
                calls.add(r);
            }
        }
        return calls;
    }

    protected static ObjectNode json(String text) {
        try {
            return (ObjectNode) JSON.readTree(text);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
