package io.dataversesync.dataverse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.sync.EntitySettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/** The client's paged read and delete against the Dataverse emulator over loopback HTTP. */
class DataversePagingTest {
    private static final EntitySettings OUTBOX = new EntitySettings("new_syncoutbox", "new_syncoutboxes", "new_syncoutboxid", List.of(),
            EntitySettings.OnDeleted.DELETE);
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void pagesFollowTheNextLinkUntilTheLastPageAndADeleteOfWhatIsGoneIsFalse() throws Exception {
        try (DataverseEmulator dataverse = new DataverseEmulator(new DataverseEmulator.Settings())) {
            dataverse.registerTable("new_syncoutboxes", "new_syncoutbox", "new_syncoutboxid", List.of("new_status"));
            dataverse.start();
            for (int i = 0; i < 7; i++) {
                ObjectNode row = json.createObjectNode();
                row.put("new_status", i == 3 ? "invalid" : "failed");
                dataverse.upsertRow("new_syncoutboxes", null, row);
            }
            DataverseClient client = client(dataverse);
            String filter = "Microsoft.Dynamics.CRM.In(PropertyName='new_status',PropertyValues=['failed','pending'])";

            List<String> seen = new ArrayList<>();
            DataverseClient.Page page = client.queryPage(OUTBOX, List.of("new_syncoutboxid", "new_status"), filter, 4, null);
            int pages = 1;
            page.rows().forEach(r -> seen.add(r.path("new_syncoutboxid").asText()));
            assertThat(page.rows()).hasSize(4);
            while (page.nextLink() != null) {
                page = client.readPage(page.nextLink(), 4, null);
                pages++;
                page.rows().forEach(r -> seen.add(r.path("new_syncoutboxid").asText()));
            }
            assertThat(pages).isEqualTo(2);
            assertThat(seen).hasSize(6).doesNotHaveDuplicates();
            assertThat(dataverse.requests().stream().filter(r -> r.method().equals("GET")).toList()).hasSize(2)
                    .allSatisfy(r -> assertThat(r.header("Prefer")).isEqualTo("odata.maxpagesize=4"));

            assertThat(client.delete(OUTBOX, seen.get(0), null)).isTrue();
            assertThat(client.delete(OUTBOX, seen.get(0), null)).as("already gone").isFalse();
            assertThat(dataverse.row("new_syncoutboxes", seen.get(0))).isEmpty();
        }
    }

    @Test
    void aNextLinkToAnotherPlaceIsNeverFollowed() throws Exception {
        try (DataverseEmulator dataverse = new DataverseEmulator(new DataverseEmulator.Settings())) {
            dataverse.start();
            DataverseClient client = client(dataverse);
            assertThatThrownBy(() -> client.readPage("http://elsewhere.example/api/data/v9.2/new_syncoutboxes?$skiptoken=x", 4, null))
                    .isInstanceOf(DataverseException.class).hasMessageContaining("does not point at");
            assertThat(dataverse.requests()).noneMatch(r -> r.method().equals("GET"));
        }
    }

    private DataverseClient client(DataverseEmulator dataverse) {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        DataverseEmulator.Settings settings = new DataverseEmulator.Settings();
        DataverseUser user = new DataverseUser(settings.clientId(), new DataverseTokenProvider(new EmulatorTokenCredential(http,
                dataverse.baseUrl() + DataverseEmulator.TOKEN_PATH, settings.clientId(), settings.clientSecret(), json),
                dataverse.baseUrl() + "/.default"), null, new DataverseCostEstimator(new DataverseCostEstimator.Priors(1, 10, 5), 0.2));
        return new DataverseClient(http, dataverse.baseUrl(), List.of(user), json, Duration.ofSeconds(10), 20_000, 1000, Clock.systemUTC(), meters);
    }
}
