package io.dataversesync.ops;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The audit trail of operator actions (replay, purge, on-demand sync): who, when, what, how many. One JSON object
 * per line, appended and forced to disk before the API answers, so it survives a restart (locally beside the
 * broker's journal; on Kubernetes a volume). Plain file on purpose: an append-only log that an operator can also
 * read with {@code tail}, no database to run. Each record is also logged (logger {@code io.dataversesync.ops.audit}).
 */
public class OpsAudit {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger("io.dataversesync.ops.audit");
    private final Path file;
    private final ObjectMapper json;
    private final Clock clock;

    public OpsAudit(Path file, ObjectMapper json, Clock clock) {
        this.file = file;
        this.json = json;
        this.clock = clock;
    }

    /** Appends one record ({@code at} is added) and forces it to disk. */
    public synchronized ObjectNode record(String who, String action, ObjectNode what) throws IOException {
        ObjectNode entry = json.createObjectNode();
        entry.put("at", clock.instant().toString());
        entry.put("who", who);
        entry.put("action", action);
        entry.setAll(what);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        byte[] line = (json.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(line));
            ch.force(true);
        }
        // also one log line per record: with several replicas each pod keeps its own file, the log collector sees all
        LOG.info("Operations audit: {}", entry);
        return entry;
    }

    /** The newest {@code limit} records, newest first (a line that does not parse, e.g. cut by a crash, is skipped). */
    public synchronized List<JsonNode> newest(int limit) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            try {
                if (!line.isBlank()) {
                    out.add(json.readTree(line));
                }
            } catch (IOException e) {
                // a torn last line after a crash: the records before it stand
            }
        }
        Collections.reverse(out);
        return out.size() > limit ? out.subList(0, limit) : out;
    }
}
