package io.dataversesync.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import io.dataversesync.ProjectFiles;
import org.junit.jupiter.api.Test;

/**
 * What the production image carries is the service module's classes and its runtime classpath (the Dockerfile
 * copies service/target/dataverse-sync.jar and service/target/lib, see KubernetesManifestsTest): none of it may be
 * an emulator, the demo or the benchmark. The runtime classpath is written by the build before the tests run
 * (service/pom.xml, maven-dependency-plugin build-classpath).
 */
class ProductionClasspathTest {
    private static final List<String> NOT_SHIPPED = List.of("io/dataversesync/emulator/", "io/dataversesync/demo/",
            "io/dataversesync/bench/");

    @Test
    void runtimeClasspathHoldsNoEmulatorDemoOrBenchmarkClass() throws IOException {
        Path classpathFile = ProjectFiles.path("service/target/runtime-classpath.txt");
        assertThat(classpathFile).exists();
        List<String> entries = List.of(Files.readString(classpathFile).trim().split(java.io.File.pathSeparator));
        assertThat(entries).as("runtime classpath").isNotEmpty()
                .noneMatch(e -> e.contains("dataverse-sync-emulators") || e.contains("dataverse-sync-demo")
                        || e.contains("dataverse-sync-bench"));
        List<String> offending = new ArrayList<>();
        for (String entry : entries) {
            Path path = Path.of(entry);
            if (Files.isDirectory(path)) {
                offending.addAll(shippedClassesIn(path));
            } else if (entry.endsWith(".jar")) {
                try (ZipFile jar = new ZipFile(path.toFile())) {
                    jar.stream().map(e -> e.getName()).filter(ProductionClasspathTest::notShipped)
                            .forEach(n -> offending.add(entry + "!" + n));
                }
            }
        }
        offending.addAll(shippedClassesIn(ProjectFiles.path("service/target/classes")));
        assertThat(offending).as("emulator, demo or benchmark classes in what the image carries").isEmpty();
    }

    @Test
    void theServiceClassesAreThereToBeChecked() {
        // a guard against the test above passing on an empty build
        assertThat(ProjectFiles.path("service/target/classes/io/dataversesync/Main.class")).exists();
        assertThat(ProjectFiles.path("service/target/classes/routes/outbound-sync.camel.yaml")).exists();
        assertThat(ProjectFiles.path("service/target/classes/routes/local")).doesNotExist();
    }

    private static List<String> shippedClassesIn(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.map(p -> dir.relativize(p).toString().replace('\\', '/')).filter(ProductionClasspathTest::notShipped).toList();
        }
    }

    private static boolean notShipped(String name) {
        return NOT_SHIPPED.stream().anyMatch(name::startsWith);
    }
}
