package io.dataversesync.mapping;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.dashjoin.jsonata.Jsonata;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.exchange.SyncProperties;
import io.dataversesync.policy.MappingException;
import io.dataversesync.security.SafeText;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.PluginHelper;

/**
 * Hop 3's mappings ({@code mappings/TARGET/ENTITY.jsonata}, and {@code ENTITY.deleted.jsonata} for a soft delete),
 * each compiled once and kept. A mapping under a {@code file:} location (an outside folder, a ConfigMap on
 * Kubernetes) is checked at every use by its last-modified time and size (a stat, no read) and compiled again when
 * either changed, so an edit takes effect at the next message without a restart; the jar's copy (classpath) cannot
 * change and is compiled once. The sync (routes/target-delivery.camel.yaml) and the reconciliation
 * ({@code PayloadMapper}) map through this one class, so the reconciler's hash is the sync's.
 *
 * <p>Evaluation is the Camel jsonata component's with {@code inputType=JsonString&outputType=JsonString} (camel-jsonata
 * 4.17 {@code JsonataEndpoint}), which the routes used before: the spec's lines joined by "\n", the body parsed to plain
 * Java values by a default Jackson ObjectMapper, a fresh frame from the expression (no frame binding), the result
 * written by the same default ObjectMapper. It is our own code (not a jsonata: endpoint) because that endpoint reads
 * and parses the resource for every message unless contentCache=true, which never sees an edit.
 */
public class Mappings {
    /** Target and entity name a file of the mapping folder: nothing else may reach a resource path. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,100}");
    private static final String ROW = ".jsonata";
    private static final String DELETED = ".deleted.jsonata";

    private final CamelContext context;
    private final String location;
    /** A default mapper, as the component's: the payload (and so its hash) must not depend on the service's JSON settings. */
    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, Compiled> compiled = new ConcurrentHashMap<>();
    private final AtomicLong compilations = new AtomicLong();

    /** @param location the mapping folder, sync.mappings.location ({@code classpath:...} or {@code file:...}) */
    public Mappings(CamelContext context, String location) {
        this.context = context;
        this.location = location.endsWith("/") ? location.substring(0, location.length() - 1) : location;
    }

    /** Hop 3 (route sync-transform): the body, the row's JSON, becomes the target's payload as JSON. */
    public void applyMapping(Exchange exchange) {
        apply(exchange, ROW);
    }

    /** Hop 3 for a soft delete (route sync-transform-deleted): the deleted row's {entity, sourceRowId} becomes the payload. */
    public void applyDeletedMapping(Exchange exchange) {
        apply(exchange, DELETED);
    }

    /** The row (JSON) mapped with {@code TARGET/ENTITY.jsonata}, as JSON; a MappingException when that fails. */
    public String map(String target, String entity, String rowJson) {
        return map(target, entity, ROW, rowJson);
    }

    private void apply(Exchange exchange, String suffix) {
        String target = exchange.getProperty(SyncProperties.TARGET, String.class);
        String entity = exchange.getProperty(SyncProperties.ENTITY, String.class);
        exchange.getMessage().setBody(map(target, entity, suffix, exchange.getMessage().getBody(String.class)));
    }

    private String map(String target, String entity, String suffix, String rowJson) {
        String file = (target == null || !NAME.matcher(target).matches() ? "?" : target) + "/"
                + (entity == null || !NAME.matcher(entity).matches() ? "?" : entity) + suffix;
        try {
            if (file.contains("?")) {
                throw new IllegalArgumentException("target or entity is not a mapping name: "
                        + SafeText.escape(target) + "/" + SafeText.escape(entity));
            }
            if (rowJson == null) {
                throw new IllegalArgumentException("no row to map");
            }
            return json.writeValueAsString(expression(file).evaluate(json.readValue(rowJson, Object.class)));
        } catch (Exception e) {
            throw new MappingException("mapping " + file + " failed: " + SafeText.escape(e.getMessage()));
        }
    }

    /** How many times a mapping was compiled (tests: "once", and "again after an edit"). */
    long compilations() {
        return compilations.get();
    }

    private Compiled expression(String file) throws IOException {
        Compiled current = compiled.get(file);
        if (current != null && !current.changed()) {
            return current;
        }
        // compute: one thread compiles a new or edited file while the others wait for it. A failure (missing file,
        // syntax error) leaves the map as it was, so every message fails until the file is fixed and compiles
        try {
            return compiled.compute(file, (key, old) -> old != null && old != current && !old.changed() ? old : compile(key));
        } catch (MappingFileException e) {
            throw e.getCause();
        }
    }

    private Compiled compile(String file) {
        try {
            Resource resource = PluginHelper.getResourceLoader(context).resolveResource(location + "/" + file);
            if (resource == null || !resource.exists()) {
                throw new IOException("no mapping file " + location + "/" + file);
            }
            Path path = "file".equals(resource.getScheme()) ? Path.of(resource.getLocation().substring("file:".length())) : null;
            // the stat before the read: a write during the read changes the file again after it, so the next use compiles again
            Stamp stamp = path == null ? null : Stamp.of(path);
            String spec;
            try (InputStream in = resource.getInputStream();
                    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                spec = reader.lines().collect(Collectors.joining("\n"));
            }
            Compiled result = new Compiled(Jsonata.jsonata(spec), path, stamp);
            compilations.incrementAndGet();
            return result;
        } catch (IOException e) {
            throw new MappingFileException(e);
        }
    }

    /**
     * A file's identity for "did it change", from one stat: last-modified time and size, and the file key (device and
     * inode where the platform has one, else null), which also tells a file replaced by a rename (an editor's save, a
     * ConfigMap update) within one tick of a coarse clock.
     */
    private record Stamp(Object fileKey, long modifiedNanos, long size) {
        static Stamp of(Path path) throws IOException {
            BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
            return new Stamp(attributes.fileKey(), attributes.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS), attributes.size());
        }
    }

    /**
     * A compiled mapping, shared by every consumer thread. dashjoin jsonata 0.9.9 keeps evaluation state in a static
     * per-thread instance: the trivial expression constructed before each evaluation gives it a fresh one (why and
     * when to remove it: docs/decisions.md, "Compiled mappings and dashjoin jsonata 0.9.9").
     */
    private record Compiled(Jsonata expression, Path path, Stamp stamp) {
        Object evaluate(Object input) {
            Jsonata.jsonata("$");
            return expression.evaluate(input, expression.createFrame());
        }

        boolean changed() {
            if (path == null) {
                return false;
            }
            try {
                return !stamp.equals(Stamp.of(path));
            } catch (IOException e) {
                return true;
            }
        }
    }

    /** An IOException through ConcurrentHashMap.compute, which takes no checked exceptions. */
    private static final class MappingFileException extends RuntimeException {
        MappingFileException(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }
}
