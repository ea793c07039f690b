package io.dataversesync.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.dataversesync.emulator.DataverseEmulatorTest.auth;
import static io.dataversesync.emulator.DataverseEmulatorTest.columns;
import static io.dataversesync.emulator.DataverseEmulatorTest.startEmulator;
import static io.dataversesync.emulator.TestHttp.get;
import static io.dataversesync.emulator.TestHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Change tracking as in learn.microsoft.com, "Use change tracking to synchronize data with external systems". */
class ChangeTrackingTest extends DefaultEmulatorFixture {

    static String id(int i) {
        return String.format(Locale.ROOT, "%08x-0000-4000-8000-%012x", i, i);
    }

    /** Every page of a tracked read (initial or delta), following nextLink as returned; the delta link at the end. */
    record Read(List<JsonNode> items, String deltaLink, List<HttpResponse<String>> responses) {
    }

    Read read(String url, String... prefer) {
        List<JsonNode> items = new ArrayList<>();
        List<HttpResponse<String>> responses = new ArrayList<>();
        String deltaLink = null;
        while (url != null) {
            HttpResponse<String> response = get(url, auth(token, prefer));
            responses.add(response);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            JsonNode body = json(response);
            body.get("value").forEach(items::add);
            url = body.hasNonNull("@odata.nextLink") ? body.get("@odata.nextLink").asText() : null;
            if (url != null) {
                assertThat(body.has("@odata.deltaLink")).as("the delta link comes with the last page only").isFalse();
            } else {
                deltaLink = body.path("@odata.deltaLink").asText(null);
            }
        }
        return new Read(items, deltaLink, responses);
    }

    @Test
    void initialReadPagesEveryRowAndEndsWithADeltaLinkThatReturnsChangesThenDeletes() {
        for (int i = 0; i < 7; i++) {
            dataverse.upsertRow("accounts", id(i), columns("Account " + i, "ACC-" + i));
        }
        Read initial = read(api("accounts?$select=name"), "Prefer", "odata.track-changes, odata.maxpagesize=3");
        assertThat(initial.responses()).hasSize(3);
        assertThat(initial.responses().get(0).headers().firstValue("Preference-Applied")).hasValue("odata.track-changes");
        assertThat(initial.items()).hasSize(7);
        assertThat(initial.deltaLink()).startsWith(api("accounts?$select=name&$deltatoken="));
        assertThat(initial.deltaLink()).as("a Dataverse-like token: version!date, URL-encoded").contains("%21").doesNotContain("+");

        // nothing changed: an empty answer and a new delta link
        Read none = read(initial.deltaLink(), "Prefer", "odata.maxpagesize=3");
        assertThat(none.items()).isEmpty();
        assertThat(none.deltaLink()).isNotNull();

        dataverse.upsertRow("accounts", id(2), columns("Renamed", "ACC-2"));
        dataverse.upsertRow("accounts", id(9), columns("New", "ACC-9"));
        dataverse.deleteRow("accounts", id(4));
        Read delta = read(initial.deltaLink(), "Prefer", "odata.maxpagesize=3");
        JsonNode body = json(delta.responses().get(0));
        assertThat(body.get("@odata.context").asText()).endsWith("$metadata#accounts(name)/$delta");
        assertThat(delta.items()).hasSize(3);
        assertThat(delta.items().get(0).get("accountid").asText()).isEqualTo(id(2));
        assertThat(delta.items().get(0).get("name").asText()).isEqualTo("Renamed");
        assertThat(delta.items().get(1).get("accountid").asText()).isEqualTo(id(9));
        JsonNode deleted = delta.items().get(2);
        assertThat(deleted.get("@odata.context").asText()).isEqualTo(api("$metadata#accounts/$deletedEntity"));
        assertThat(deleted.get("id").asText()).isEqualTo(id(4));
        assertThat(deleted.get("reason").asText()).isEqualTo("deleted");

        // the next delta link starts after those changes
        assertThat(read(delta.deltaLink(), "Prefer", "odata.maxpagesize=3").items()).isEmpty();
    }

    @Test
    void deltaPagesFollowNextLinksAndARestoredRowComesAsARowNotAsADeletion() {
        for (int i = 0; i < 5; i++) {
            dataverse.upsertRow("accounts", id(i), columns("Account " + i, "ACC-" + i));
        }
        String link = read(api("accounts?$select=name"), "Prefer", "odata.track-changes").deltaLink();
        for (int i = 0; i < 5; i++) {
            dataverse.upsertRow("accounts", id(i), columns("Changed " + i, "ACC-" + i));
        }
        dataverse.deleteRow("accounts", id(0));
        dataverse.deleteRow("accounts", id(1));
        dataverse.upsertRow("accounts", id(1), columns("Restored", "ACC-1")); // restored from the recycle bin
        Read delta = read(link, "Prefer", "odata.maxpagesize=2");
        assertThat(delta.responses()).hasSize(3);
        assertThat(delta.items()).extracting(item -> item.has("reason") ? "deleted:" + item.get("id").asText() : item.get("accountid").asText())
                .containsExactly(id(2), id(3), id(4), id(1), "deleted:" + id(0));
    }

    @Test
    void changesDuringAPagedInitialReadComeWithTheFirstDelta() {
        for (int i = 0; i < 4; i++) {
            dataverse.upsertRow("accounts", id(i), columns("Account " + i, "ACC-" + i));
        }
        HttpResponse<String> first = get(api("accounts?$select=name"), auth(token, "Prefer", "odata.track-changes,odata.maxpagesize=2"));
        dataverse.upsertRow("accounts", id(0), columns("Changed while paging", "ACC-0"));
        Read rest = read(json(first).get("@odata.nextLink").asText(), "Prefer", "odata.maxpagesize=2");
        Read delta = read(rest.deltaLink());
        assertThat(delta.items()).extracting(item -> item.get("name").asText()).containsExactly("Changed while paging");
    }

    @Test
    void unsupportedQueryOptionsAreRefusedAsDocumented() {
        HttpResponse<String> top = get(api("accounts?$top=2"), auth(token, "Prefer", "odata.track-changes"));
        assertThat(top.statusCode()).isEqualTo(400);
        assertThat(json(top).get("error").get("message").asText())
                .isEqualTo("The \"$top\" query parameter isn't supported when Change Tracking is enabled.");
    }

    @Test
    void expiredAndUnknownTokensAnswerExpiredVersionStamp() {
        dataverse.upsertRow("accounts", id(1), columns("One", "ACC-1"));
        String link = read(api("accounts?$select=name"), "Prefer", "odata.track-changes").deltaLink();
        HttpResponse<String> unknown = get(api("accounts?$select=name&$deltatoken=garbage"), auth(token));
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(json(unknown).get("error").get("code").asText()).isEqualTo("0x80044352");
        HttpResponse<String> future = get(api("accounts?$select=name&$deltatoken=99999999999%2101%2F01%2F2026%2000%3A00%3A00"), auth(token));
        assertThat(future.statusCode()).as("a version this server never reached").isEqualTo(400);

        dataverse.expireChangeTrackingTokens();
        HttpResponse<String> expired = get(link, auth(token));
        assertThat(expired.statusCode()).isEqualTo(400);
        assertThat(json(expired).get("error").get("code").asText()).isEqualTo("0x80044352");
        assertThat(json(expired).get("error").get("message").asText())
                .isEqualTo("Version stamp associated with the client has expired. Please perform a full sync.");
        // a full read gives a fresh link that works
        String fresh = read(api("accounts?$select=name"), "Prefer", "odata.track-changes").deltaLink();
        assertThat(read(fresh).items()).isEmpty();
    }

    @Test
    void tokensOlderThanTheConfiguredLifetimeExpire() {
        DataverseEmulator shortLived = startEmulator(new DataverseEmulator.Settings().changeTrackingTokenLifetime(Duration.ZERO));
        try {
            String shortToken = DataverseEmulatorTest.token(shortLived);
            HttpResponse<String> initial = get(shortLived.baseUrl() + DataverseEmulator.API_ROOT + "accounts",
                    auth(shortToken, "Prefer", "odata.track-changes"));
            String link = json(initial).get("@odata.deltaLink").asText();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(get(link, auth(shortToken)).statusCode()).isEqualTo(400));
        } finally {
            shortLived.close();
        }
    }
}
