package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

import io.dataversesync.transport.ArtemisTransport;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

/**
 * The integration team edits mapping files without Java and without a restart: the mapping folder is an
 * outside folder here (sync.mappings.location=file:...), as it is on Kubernetes.
 */
class MappingEditTest extends SyncTestSupport {
    private static final Path MAPPINGS = Path.of("target/test-mappings/" + UUID.randomUUID());
    /** The customers target's mapping of account rows. */
    private static final Path MAPPING = MAPPINGS.resolve("customers/account.jsonata");

    static {
        try {
            Files.createDirectories(MAPPINGS.resolve("customers"));
            Files.copy(ProjectFiles.path("routes/mappings/customers/account.jsonata"), MAPPING);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        System.setProperty("test.mappings.location", "file:" + MAPPINGS.toAbsolutePath());
    }

    @Test
    void editingTheMappingFileChangesTheTargetPayload() throws Exception {
        String id = createAccount("Coho Winery");
        notifyChange("account", id);
        awaitSynced(id);
        assertThat(target().record("customers", id).orElseThrow().has("displayName")).isFalse();

        Files.writeString(MAPPING, """
                {
                  "externalId": accountid,
                  "name": name,
                  "displayName": $uppercase(name) & " (" & accountnumber & ")",
                  "city": address1_city
                }
                """);
        changeAccount(id, "name", "Coho Winery Ltd");
        notifyChange("account", id);

        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
                target().record("customers", id).orElseThrow().has("displayName"));
        assertThat(target().record("customers", id).orElseThrow().path("displayName").asText())
                .isEqualTo("COHO WINERY LTD (" + row(id).path("accountnumber").asText() + ")");
    }

    @Test
    void aBrokenMappingIsAPermanentErrorDeadLetteredWithoutRetry() throws Exception {
        Files.writeString(MAPPING, "{ \"name\": name, ");
        String id = createAccount("Broken mapping");
        notifyChange("account", id);

        // the mapping is the customers target's: its own dead-letter queue
        Exchange deadLetter = receiveDeadLetter("dataverse-changes.customers", Duration.ofSeconds(10));
        assertThat(deadLetter).isNotNull();
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_REASON)).isEqualTo("MappingError");
        assertThat(deadLetter.getMessage().getHeader(ArtemisTransport.DEAD_LETTER_DESCRIPTION, String.class))
                .contains("hop=transform").contains("account.jsonata");
        assertThat(dataverseCalls("GET", id)).hasSize(1);
        assertThat(target().requests()).isEmpty();
        Files.copy(ProjectFiles.path("routes/mappings/customers/account.jsonata"), MAPPING, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
