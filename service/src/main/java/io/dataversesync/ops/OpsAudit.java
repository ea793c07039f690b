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

    /** Fails (and so refuses the action) when the trail cannot be written: nothing is done that would go unrecorded. */
    public synchronized void ensureWritable() throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            // opened for append: writable
        }
    }

    /**
     * The newest {@code limit} records, newest first, from this file and its siblings ({@code ops-audit*.jsonl} in the
     * same folder: with several replicas on a shared volume each pod appends to a file of its own, named after the pod,
     * and every pod reads them all). A line that does not parse (torn by a crash) is skipped.
     */
    public synchronized List<JsonNode> newest(int limit) throws IOException {
        Path folder = file.toAbsolutePath().getParent();
        List<Path> files = new ArrayList<>();
        if (folder != null && Files.isDirectory(folder)) {
            try (var list = Files.newDirectoryStream(folder, "ops-audit*.jsonl")) {
                list.forEach(files::add);
            }
        }
        if (Files.exists(file) && !files.contains(file.toAbsolutePath())) {
            files.add(file.toAbsolutePath());
        }
        List<JsonNode> out = new ArrayList<>();
        for (Path f : files) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                try {
                    if (!line.isBlank()) {
                        out.add(json.readTree(line));
                    }
                } catch (IOException e) {
                    // a torn last line after a crash: the records before it stand
                }
            }
        }
        // ISO-8601 instants of one clock sort as text; a stable sort keeps a file's own order among equal times
        out.sort((a, b) -> b.path("at").asText().compareTo(a.path("at").asText()));
        return out.size() > limit ? new ArrayList<>(out.subList(0, limit)) : out;
    }
}
