package io.dataversesync;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Files of the repository the tests read (the service module runs its tests in service/, the files are above it). */
public final class ProjectFiles {
    /** The repository's top folder: routes/, application*.properties, k8s/, Dockerfile, README.md. */
    public static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize().getParent();

    private ProjectFiles() {
    }

    /**
     * sync.routes.location for tests that run the application: the repository's routes/ folder as a file: location.
     * Not classpath:routes: Camel's scan of a classpath folder (target/classes) matches routes/*.camel.yaml in
     * sub-folders too, so the transport's routes would load twice (docs/decisions.md, "Route file patterns").
     */
    public static String routesLocation() {
        return "file:" + ROOT.resolve("routes");
    }

    public static Path path(String relative) {
        return ROOT.resolve(relative);
    }

    /** A setting of the repository's application.properties (trimmed); fails when it is not there. */
    public static String applicationProperty(String key) throws java.io.IOException {
        String value = applicationProperty(key, null);
        if (value == null) {
            throw new IllegalStateException(key + " is not in application.properties");
        }
        return value;
    }

    /** A setting of the repository's application.properties (trimmed), or {@code fallback} when it is not there. */
    public static String applicationProperty(String key, String fallback) throws java.io.IOException {
        java.util.Properties properties = new java.util.Properties();
        try (var in = Files.newInputStream(path("application.properties"))) {
            properties.load(in);
        }
        String value = properties.getProperty(key);
        return value == null ? fallback : value.trim();
    }

    /** Every *.camel.yaml of the repository: the service's routes/ and the local-only ones of emulators/ and demo/. */
    public static List<Path> routeFiles() throws Exception {
        try (Stream<Path> walk = Files.walk(ROOT)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(".camel.yaml"))
                    .filter(p -> !ROOT.relativize(p).toString().contains("target/"))
                    .filter(p -> !ROOT.relativize(p).startsWith(".git"))
                    .sorted().toList();
        }
    }
}
