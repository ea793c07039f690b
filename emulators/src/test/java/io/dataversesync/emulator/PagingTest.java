package io.dataversesync.emulator;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static io.dataversesync.emulator.DataverseEmulatorTest.auth;
import static io.dataversesync.emulator.DataverseEmulatorTest.columns;
import static io.dataversesync.emulator.TestHttp.get;
import static io.dataversesync.emulator.TestHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

/** Server-driven paging as in learn.microsoft.com, Dataverse Web API, "Page results using OData". */
class PagingTest extends DefaultEmulatorFixture {


    /** Ids inserted in a shuffled order so that the answer's order is the emulator's doing, not the insertion's. */
    List<String> seed(int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int scrambled = (i * 7 + 3) % count;
            String id = String.format(Locale.ROOT, "%08x-0000-4000-8000-%012x", scrambled, scrambled);
            dataverse.upsertRow("accounts", id, columns("Account " + scrambled, "ACC-" + scrambled));
            ids.add(id);
        }
        return ids.stream().sorted().toList();
    }

    HttpResponse<String> page(String url, int maxPageSize) {
        return get(url, auth(token, "Prefer", "odata.maxpagesize=" + maxPageSize));
    }

    @Test
    void twelveRowsInPagesOfFiveFollowingNextLinksAsReturned() {
        List<String> ids = seed(12);

        List<Integer> sizes = new ArrayList<>();
        List<String> served = new ArrayList<>();
        String url = api("accounts?$select=name");
        List<String> links = new ArrayList<>();
        while (url != null) {
            HttpResponse<String> response = page(url, 5);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.headers().firstValue("Preference-Applied")).hasValue("odata.maxpagesize=5");
            JsonNode body = json(response);
            assertThat(body.get("@odata.context").asText()).endsWith("$metadata#accounts(name)");
            sizes.add(body.get("value").size());
            for (JsonNode row : body.get("value")) {
                assertThat(row.get("@odata.etag").asText()).startsWith("W/\"");
                assertThat(row.has("name")).isTrue();
                assertThat(row.has("accountnumber")).as("$select kept on every page").isFalse();
                served.add(row.get("accountid").asText());
            }
            url = body.hasNonNull("@odata.nextLink") ? body.get("@odata.nextLink").asText() : null;
            if (url != null) {
                links.add(url);
            }
        }

        assertThat(sizes).containsExactly(5, 5, 2);
        assertThat(served).as("every row once, in primary key order").containsExactlyElementsOf(ids);
        assertThat(links).hasSize(2).allSatisfy(link -> {
            assertThat(link).startsWith(api("accounts?$select=name&$skiptoken="));
            ids.forEach(id -> assertThat(link).as("the token is opaque").doesNotContain(id));
        });
    }

    @Test
    void noNextLinkWhenEverythingFitsAndNoPreferenceAppliedWithoutAPreference() {
        seed(5);
        HttpResponse<String> exact = page(api("accounts"), 5);
        assertThat(json(exact).get("value")).hasSize(5);
        assertThat(json(exact).has("@odata.nextLink")).isFalse();

        HttpResponse<String> plain = get(api("accounts"), auth(token));
        assertThat(plain.headers().firstValue("Preference-Applied")).isEmpty();
        assertThat(json(plain).get("value")).hasSize(5);

        // over 5,000 the preference is ignored (the doc: "The service ignores max page size requests larger than 5,000")
        HttpResponse<String> tooLarge = page(api("accounts"), 5001);
        assertThat(tooLarge.statusCode()).isEqualTo(200);
        assertThat(tooLarge.headers().firstValue("Preference-Applied")).isEmpty();
        assertThat(json(tooLarge).get("value")).hasSize(5);
    }

    @Test
    void preferWithOtherPreferencesIsUnderstood() {
        seed(3);
        HttpResponse<String> response = get(api("accounts"), auth(token, "Prefer",
                "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.*\", "
                        + "odata.maxpagesize=2"));
        assertThat(response.headers().firstValue("Preference-Applied")).hasValue("odata.maxpagesize=2");
        assertThat(json(response).get("value")).hasSize(2);
        assertThat(json(response).has("@odata.nextLink")).isTrue();
    }

    @Test
    void inFilterPagesTheSameWayAndKeepsTheFilter() {
        List<String> ids = seed(12);
        List<String> wanted = List.of(ids.get(11), ids.get(0), ids.get(3), ids.get(7), ids.get(5));
        StringBuilder values = new StringBuilder();
        wanted.forEach(id -> values.append(values.length() == 0 ? "" : ",").append('\'').append(id).append('\''));
        String filter = URLEncoder.encode("Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=["
                + values + "])", StandardCharsets.UTF_8);

        JsonNode first = json(page(api("accounts?$select=name&$filter=" + filter), 2));
        String next = first.get("@odata.nextLink").asText();
        assertThat(next).contains("$filter=" + filter).contains("$select=name");
        JsonNode second = json(page(next, 2));
        JsonNode third = json(page(second.get("@odata.nextLink").asText(), 2));

        assertThat(third.has("@odata.nextLink")).isFalse();
        List<String> served = new ArrayList<>();
        for (JsonNode body : List.of(first, second, third)) {
            served.addAll(body.get("value").findValuesAsText("accountid"));
        }
        assertThat(served).containsExactlyElementsOf(wanted.stream().sorted().toList());
    }

    @Test
    void rowsCreatedBetweenPagesDoNotShiftTheNextPage() {
        List<String> ids = seed(6);
        JsonNode first = json(page(api("accounts"), 3));
        // a row that sorts before the page already served: an offset-based token would now serve row 3 again
        dataverse.upsertRow("accounts", "00000000-0000-4000-8000-ffffffffffff", columns("Early", "ACC-E"));
        JsonNode second = json(page(first.get("@odata.nextLink").asText(), 3));
        assertThat(second.get("value").findValuesAsText("accountid")).containsExactlyElementsOf(ids.subList(3, 6));
    }

    @Test
    void skipIsRefusedAsDataverseDoes() {
        seed(3);
        HttpResponse<String> response = get(api("accounts?$skip=1"), auth(token));
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json(response).at("/error/code").asText()).isEqualTo("0x80060888");
        assertThat(json(response).at("/error/message").asText()).contains("$skip");

        HttpResponse<String> withPaging = get(api("accounts?$top=2&$skip=2"), auth(token, "Prefer", "odata.maxpagesize=2"));
        assertThat(withPaging.statusCode()).isEqualTo(400);
    }

    @Test
    void aMadeUpSkipTokenIsABadRequest() {
        seed(3);
        String notOurs = java.util.Base64.getUrlEncoder().encodeToString("last=42".getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> response = page(api("accounts?$skiptoken=" + notOurs), 2);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json(response).at("/error/message").asText()).contains("$skiptoken");
    }

    @Test
    void topAloneLimitsWithoutNextLinkAndIsIgnoredWithMaxPageSize() {
        seed(12);
        JsonNode top = json(get(api("accounts?$top=4"), auth(token)));
        assertThat(top.get("value")).hasSize(4);
        assertThat(top.has("@odata.nextLink")).isFalse();

        // the doc: "Don't use $top with the Prefer: odata.maxpagesize request header. If you include both, $top is ignored."
        JsonNode both = json(page(api("accounts?$top=4"), 5));
        assertThat(both.get("value")).hasSize(5);
        assertThat(both.get("@odata.nextLink").asText()).contains("$top=4");
        JsonNode rest = json(page(both.get("@odata.nextLink").asText(), 5));
        assertThat(rest.get("value")).hasSize(5);
    }

    @Test
    void withoutPreferenceAPageHoldsAtMostFiveThousandRows() {
        for (int i = 0; i < 5001; i++) {
            dataverse.upsertRow("accounts", null, columns("Bulk " + i, "B-" + i));
        }

        HttpResponse<String> response = get(api("accounts?$select=name"), auth(token));

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = json(response);
        assertThat(body.get("value")).hasSize(5000);
        String next = body.get("@odata.nextLink").asText();
        assertThat(next).startsWith(api("accounts?$select=name&$skiptoken="));
        JsonNode last = json(get(next, auth(token)));
        assertThat(last.get("value")).hasSize(1);
        assertThat(last.has("@odata.nextLink")).isFalse();
        assertThat(last.get("value").get(0).get("accountid").asText())
                .isEqualTo(dataverse.rows("accounts").get(5000).get("accountid").asText());
    }

    @Test
    void collectionGetInsideABatchPagesToo() {
        seed(4);
        String boundary = "batch_paging";
        String batch = "--" + boundary + "\r\n"
                + "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                + "GET " + api("accounts?$select=name") + " HTTP/1.1\r\nPrefer: odata.maxpagesize=3\r\n\r\n"
                + "--" + boundary + "--\r\n";
        HttpResponse<String> response = TestHttp.method("POST", api("$batch"), batch,
                auth(token, "Content-Type", "multipart/mixed; boundary=" + boundary));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("Preference-Applied: odata.maxpagesize=3")
                .contains("\"@odata.nextLink\":\"" + api("accounts?$select=name&$skiptoken="));
    }
}
