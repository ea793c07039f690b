package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** Every route file is canonical Camel YAML DSL: valid against the JSON schema camel-yaml-dsl 4.17 ships, ids on every route. */
class RouteSchemaTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Camel 4.17.0's YAML DSL schema, compiled once for every file (compiling it took a second or two each time). */
    private static JsonSchema schema;

    static Stream<Path> routeFiles() throws Exception {
        List<Path> files = ProjectFiles.routeFiles();
        assertThat(files).contains(ProjectFiles.path("routes/outbound-sync.camel.yaml"));
        return files.stream();
    }

    @ParameterizedTest
    @MethodSource("routeFiles")
    void routeFileIsValidCamelYamlDsl(Path file) throws Exception {
        JsonSchema schema = schema();
        Object yaml = new Load(LoadSettings.builder().build()).loadFromString(Files.readString(file));
        JsonNode document = JSON.valueToTree(yaml);
        Set<ValidationMessage> errors = schema.validate(document);
        assertThat(errors).as("schema errors in %s", file).isEmpty();
        for (JsonNode item : document) {
            if (item.has("route")) {
                assertThat(item.path("route").path("id").asText()).as("route without explicit id in %s", file).isNotBlank();
            }
        }
    }

    private static synchronized JsonSchema schema() throws Exception {
        if (schema == null) {
            try (InputStream in = org.apache.camel.dsl.yaml.YamlRoutesBuilderLoader.class.getClassLoader().getResourceAsStream("schema/camelYamlDsl.json")) {
                assertThat(in).as("camel-yaml-dsl ships schema/camelYamlDsl.json").isNotNull();
                schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7).getSchema(in);
            }
        }
        return schema;
    }
}
