package io.dataversesync.reconcile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Keeps the reconciliation's reports and delta links durably, as JSON files in one folder
 * ({@code sync.reconcile.data-dir}, default {@code data/reconcile}; a volume in Kubernetes): the last reports can be
 * read after a restart, and an incremental run continues from the delta link the last run stored. Each file is
 * written to a temporary file and moved into place, so a crash never leaves half a report or a torn link.
 */
public class ReportStore {
    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS").withZone(ZoneOffset.UTC);

    private final Path folder;
    private final int keep;
    private final ObjectMapper json;

    public ReportStore(Path folder, int keep, ObjectMapper json) {
        if (keep < 1) {
            throw new IllegalArgumentException("sync.reconcile.report.keep must be at least 1, was " + keep);
        }
        this.folder = folder;
        this.keep = keep;
        this.json = json;
    }

    public Path folder() {
        return folder;
    }

    /** Stores a run's report (the oldest beyond {@code keep} are removed). */
    public synchronized void save(ObjectNode report, Instant startedAt, String runId) {
        write(folder.resolve("report-" + FILE_TIME.format(startedAt) + "-" + runId + ".json"), report);
        List<Path> reports = reportFiles();
        for (int i = 0; i < reports.size() - keep; i++) {
            try {
                Files.deleteIfExists(reports.get(i));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The last {@code count} reports, newest first. */
    public synchronized List<ObjectNode> latest(int count) {
        List<Path> reports = reportFiles();
        List<ObjectNode> latest = new ArrayList<>();
        for (int i = reports.size() - 1; i >= 0 && latest.size() < count; i--) {
            try {
                latest.add((ObjectNode) json.readTree(reports.get(i).toFile()));
            } catch (IOException | ClassCastException e) {
                // an unreadable file is skipped, not fatal
            }
        }
        return latest;
    }

    /** The delta link an incremental run continues from, for this entity and set of targets. */
    public synchronized Optional<String> deltaLink(String key) {
        Path file = folder.resolve("delta-" + key + ".json");
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(json.readTree(file.toFile()).path("deltaLink").asText(null));
        } catch (IOException e) {
            return Optional.empty(); // unreadable: a full run starts over
        }
    }

    public synchronized void saveDeltaLink(String key, String deltaLink, Instant at) {
        ObjectNode node = json.createObjectNode().put("deltaLink", deltaLink).put("savedAt", at.toString());
        write(folder.resolve("delta-" + key + ".json"), node);
    }

    private List<Path> reportFiles() {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(p -> p.getFileName().toString().startsWith("report-") && p.getFileName().toString().endsWith(".json"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void write(Path file, ObjectNode content) {
        try {
            Files.createDirectories(folder);
            Path temp = Files.createTempFile(folder, ".write-", ".tmp");
            json.writerWithDefaultPrettyPrinter().writeValue(temp.toFile(), content);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }
}
