package io.dataversesync.reliability;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.FreePorts;
import io.dataversesync.emulator.EmulatorMain;
import io.dataversesync.emulator.EmulatorOptions;
import io.dataversesync.transport.ArtemisTransport;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageProducer;
import jakarta.jms.QueueConnection;
import jakarta.jms.QueueRequestor;
import jakarta.jms.QueueSession;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.apache.activemq.artemis.api.core.management.ResourceNames;
import org.apache.activemq.artemis.api.jms.ActiveMQJMSClient;
import org.apache.activemq.artemis.api.jms.management.JMSManagementHelper;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * A burst against the service in its own process ({@link ServiceProcess}) with Dataverse and the target as the
 * standalone emulators in this JVM, which outlive every kill of the service. Each change is real: the row is changed
 * in the Dataverse emulator first (its name carries the change's number, {@code "<prefix> <row> v<n>"}), then
 * announced on the outbound queue through the embedded broker's loopback TCP acceptor
 * ({@code sync.local.broker.tcp-port}), as the Dataverse plugin step would. The target keeps every payload it
 * applied per record, in order, from which {@link #audit} tells stale overwrites (an older version after a newer one)
 * and duplicates (the same version again).
 */
final class BurstRun implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String OUTBOUND = "dataverse-outbound";
    /** Every queue a change passes, and their dead-letter queues (the topic's own for the broker's safety net). */
    static final List<String> PIPELINE = List.of(OUTBOUND, "dataverse-changes.customers", "dataverse-ack");
    static final List<String> DEAD_LETTER = List.of("dataverse-outbound.DLQ", "dataverse-changes.customers.DLQ",
            "dataverse-ack.DLQ", "dataverse-changes.DLQ");
    private static final Pattern VERSION = Pattern.compile(" v(\\d+)$");

    final String prefix;
    final int rows;
    final int changesPerRow;
    final EmulatorMain.Running emulators;
    final int httpPort = FreePorts.free();
    final int brokerPort = FreePorts.free();
    final Path brokerDir;
    final Path logDir;
    final List<String> ids = new ArrayList<>();
    private final List<Long> startToReadyMs = new ArrayList<>();
    private ServiceProcess service;
    private ActiveMQConnectionFactory factory;
    private QueueConnection connection;
    private QueueSession session;
    /** Not transacted: a management request must reach the broker before its reply can come. */
    private QueueSession managementSession;
    private QueueRequestor management;
    private MessageProducer producer;
    private int sent;
    private int rowCursor;
    private int round = 1;

    BurstRun(String prefix, int rows, int changesPerRow, String... emulatorOptions) throws Exception {
        this.prefix = prefix;
        this.rows = rows;
        this.changesPerRow = changesPerRow;
        String run = prefix.toLowerCase().replace(' ', '-') + "-" + UUID.randomUUID();
        this.brokerDir = Path.of("target/test-brokers/" + run).toAbsolutePath();
        this.logDir = Path.of("target/service-logs/" + run).toAbsolutePath();
        List<String> options = new ArrayList<>(List.of("--dataverse-port=" + FreePorts.free(), "--target-port=" + FreePorts.free(), "--seed=0"));
        options.addAll(List.of(emulatorOptions));
        this.emulators = EmulatorMain.start(EmulatorOptions.parse(options.toArray(String[]::new)));
        emulators.target().keepHistory(true);
        emulators.dataverse().recordingLimit(1000);
        emulators.target().recordingLimit(1000);
        for (int i = 0; i < rows; i++) {
            ObjectNode row = JSON.createObjectNode();
            row.put("name", name(i, 0));
            row.put("accountnumber", String.format("CR-%06d", i));
            row.put("telephone1", "+1-425-555-0100");
            row.put("address1_city", "Redmond");
            row.put("statecode", 0);
            ids.add(emulators.dataverse().upsertRow("accounts", null, row));
        }
    }

    int total() {
        return rows * changesPerRow;
    }

    int sent() {
        return sent;
    }

    String name(int row, int version) {
        return prefix + " row " + row + " v" + version;
    }

    static int version(String name) {
        Matcher m = VERSION.matcher(name);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** The settings of every start: the shared ones, the broker's TCP acceptor, the given extras. */
    Map<String, String> settings(Map<String, String> extra) {
        Map<String, String> p = ServiceProcess.settings(httpPort, emulators.dataverse().port(), emulators.target().port(), brokerDir);
        p.put("sync.local.broker.tcp-port", String.valueOf(brokerPort));
        p.putAll(extra);
        return p;
    }

    /** Starts the service (256 MB heap: the service alone must fit in it), waits until ready, connects to its broker. */
    ServiceProcess start(Map<String, String> extra) throws Exception {
        int number = startToReadyMs.size() + 1;
        List<String> jvm = new ArrayList<>(List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError"));
        // more JVM options for a diagnosis, e.g. -Dchaos.service-jvm-options=-Dlog4j2.configurationFile=/path/debug.properties
        String more = System.getProperty("chaos.service-jvm-options", "").trim();
        if (!more.isEmpty()) {
            jvm.addAll(List.of(more.split("\\s+")));
        }
        service = ServiceProcess.start(settings(extra), jvm,
                logDir.resolve("service-" + number + ".log"));
        startToReadyMs.add(service.awaitReady(Duration.ofSeconds(120)));
        connect();
        return service;
    }

    ServiceProcess service() {
        return service;
    }

    List<Long> startToReadyMs() {
        return startToReadyMs;
    }

    /** SIGKILL: the broker connection of this side goes down with it. */
    void kill() throws InterruptedException {
        disconnect();
        service.kill();
    }

    private void connect() throws JMSException {
        factory = new ActiveMQConnectionFactory("tcp://127.0.0.1:" + brokerPort);
        connection = factory.createQueueConnection();
        connection.start();
        session = connection.createQueueSession(true, Session.SESSION_TRANSACTED);
        producer = session.createProducer(session.createQueue(OUTBOUND));
        managementSession = connection.createQueueSession(false, Session.AUTO_ACKNOWLEDGE);
        // one requestor (and reply queue) per connection: closing a QueueRequestor closes its session
        management = new QueueRequestor(managementSession, ActiveMQJMSClient.createQueue("activemq.management"));
    }

    private void disconnect() {
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (JMSException | RuntimeException e) {
            // the broker may already be gone
        }
        if (factory != null) {
            factory.close();
        }
        connection = null;
    }

    /**
     * Makes and announces the next changes, round by round over the rows (every row once per round), until
     * {@code upTo} changes were sent; one transaction per 50 notifications.
     */
    void sendUpTo(int upTo) throws JMSException {
        int inTransaction = 0;
        while (sent < Math.min(upTo, total())) {
            String id = ids.get(rowCursor);
            ObjectNode change = JSON.createObjectNode();
            change.put("name", name(rowCursor, round));
            change.put("telephone1", String.format("+1-425-%03d-%04d", round, rowCursor % 10_000));
            emulators.dataverse().upsertRow("accounts", id, change);
            TextMessage message = session.createTextMessage(
                    "{\"entity\":\"account\",\"sourceRowId\":\"" + id + "\",\"operation\":\"Update\"}");
            message.setJMSCorrelationID(UUID.randomUUID().toString());
            message.setLongProperty(ArtemisTransport.REQUESTED_AT, System.currentTimeMillis());
            message.setStringProperty(ArtemisTransport.GROUP_ID, id);
            producer.send(message);
            sent++;
            if (++inTransaction == 50) {
                session.commit();
                inTransaction = 0;
            }
            if (++rowCursor == rows) {
                rowCursor = 0;
                round++;
            }
        }
        session.commit();
    }

    /** Rows whose latest version is at the target and written back (Synced, the target's id). */
    int rowsSynced() {
        int synced = 0;
        for (int i = 0; i < ids.size(); i++) {
            ObjectNode row = emulators.dataverse().row("accounts", ids.get(i)).orElse(null);
            ObjectNode record = emulators.target().record("customers", ids.get(i)).orElse(null);
            if (row != null && record != null && "Synced".equals(row.path("new_syncstatus").asText())
                    && record.path("id").asText().equals(row.path("new_targetrowid").asText())
                    && row.path("name").asText().equals(record.path("name").asText())
                    && version(record.path("name").asText()) == changesPerRow) {
                synced++;
            }
        }
        return synced;
    }

    /** Up to five rows that are not (yet) synced with their latest version, and what each side holds: for a report. */
    List<String> unsynced() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < ids.size() && out.size() < 5; i++) {
            ObjectNode row = emulators.dataverse().row("accounts", ids.get(i)).orElse(null);
            ObjectNode record = emulators.target().record("customers", ids.get(i)).orElse(null);
            String rowText = row == null ? "no row" : row.path("name").asText() + " " + row.path("new_syncstatus").asText()
                    + " " + row.path("new_targetrowid").asText() + " " + row.path("new_syncerror").asText();
            String recordText = record == null ? "no record" : record.path("name").asText() + " " + record.path("id").asText();
            if (row == null || record == null || !"Synced".equals(row.path("new_syncstatus").asText())
                    || !record.path("id").asText().equals(row.path("new_targetrowid").asText())
                    || version(record.path("name").asText()) != changesPerRow) {
                out.add("row " + i + " " + ids.get(i) + ": dataverse [" + rowText + "] target [" + recordText + "]");
            }
        }
        return out;
    }

    /** Rows whose target record holds at least this version. */
    int rowsAtTarget(int version) {
        int count = 0;
        for (String id : ids) {
            ObjectNode record = emulators.target().record("customers", id).orElse(null);
            if (record != null && version(record.path("name").asText()) >= version) {
                count++;
            }
        }
        return count;
    }

    /** Payloads the target applied so far (every record's history). */
    long targetWrites() {
        long writes = 0;
        for (String id : ids) {
            writes += emulators.target().history("customers", id).size();
        }
        return writes;
    }

    /** Messages in a queue (waiting, being delivered and scheduled), asked from the broker's management address. */
    long messageCount(String queue) throws Exception {
        Message request = managementSession.createMessage();
        JMSManagementHelper.putAttribute(request, ResourceNames.QUEUE + queue, "messageCount");
        Message reply = management.request(request);
        Object result = JMSManagementHelper.getResult(reply);
        return result == null ? 0 : ((Number) result).longValue();
    }

    /** The pipeline's queues and the dead-letter queues, with what each holds. */
    Map<String, Long> queueCounts() throws Exception {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (String queue : PIPELINE) {
            counts.put(queue, messageCount(queue));
        }
        for (String queue : DEAD_LETTER) {
            counts.put(queue, messageCount(queue));
        }
        return counts;
    }

    boolean pipelineDrained() throws Exception {
        for (String queue : PIPELINE) {
            if (messageCount(queue) > 0) {
                return false;
            }
        }
        return true;
    }

    /** What the target received, per record, in the order it applied it. */
    record Audit(long writes, long staleOverwrites, long duplicates, List<String> staleExamples) {
    }

    Audit audit() {
        long writes = 0;
        long stale = 0;
        long duplicates = 0;
        List<String> examples = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            int newest = -1;
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (ObjectNode payload : emulators.target().history("customers", ids.get(i))) {
                writes++;
                int v = version(payload.path("name").asText());
                if (v < newest) {
                    stale++;
                    if (examples.size() < 5) {
                        examples.add("row " + i + ": v" + v + " after v" + newest);
                    }
                } else if (!seen.add(v)) {
                    duplicates++;
                }
                newest = Math.max(newest, v);
            }
        }
        return new Audit(writes, stale, duplicates, examples);
    }

    /** Sum of a Prometheus counter's series whose labels contain {@code labelFilter} (e.g. outcome="retried"). */
    long metric(String name, String labelFilter) {
        try {
            HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + httpPort + "/observe/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            double sum = 0;
            for (String line : answer.body().split("\n")) {
                if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && line.contains(labelFilter)) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return Math.round(sum);
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    @Override
    public void close() throws Exception {
        disconnect();
        if (service != null) {
            service.close();
        }
        emulators.close();
    }

    static int size(String property, int ciDefault) {
        return Integer.getInteger(property, ciDefault);
    }
}
