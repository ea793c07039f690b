package io.dataversesync.emulator.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class RemoteEmulatorViewsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theViewsNameTheEmulatorsUrlsAndEscapeTheNameFromTheRequest() throws Exception {
        RemoteEmulatorViews views = new RemoteEmulatorViews(18081, 18082);
        JsonNode dataverse = JSON.readTree(views.dataverseRowsJson("accounts\"}\n{\"x\":1"));
        assertThat(dataverse.path("emulator").asText()).isEqualTo("http://127.0.0.1:18081/api/data/v9.2/");
        assertThat(dataverse.path("name").asText()).isEqualTo("accounts\"}\n{\"x\":1");
        assertThat(JSON.readTree(views.targetRecordsJson("customers")).path("emulator").asText()).isEqualTo("http://127.0.0.1:18082/api/");
    }
}
