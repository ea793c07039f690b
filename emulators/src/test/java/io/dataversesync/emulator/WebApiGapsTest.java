package io.dataversesync.emulator;

import io.dataversesync.dataverse.odata.ODataBatch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.dataversesync.emulator.DataverseEmulatorTest.ID_1;
import static io.dataversesync.emulator.DataverseEmulatorTest.ID_2;
import static io.dataversesync.emulator.DataverseEmulatorTest.MISSING;
import static io.dataversesync.emulator.DataverseEmulatorTest.auth;
import static io.dataversesync.emulator.DataverseEmulatorTest.columns;
import static io.dataversesync.emulator.DataverseEmulatorTest.tokenRequest;
import static io.dataversesync.emulator.ServiceProtectionTest.id;
import static io.dataversesync.emulator.TestHttp.JSON;
import static io.dataversesync.emulator.TestHttp.get;
import static io.dataversesync.emulator.TestHttp.json;
import static io.dataversesync.emulator.TestHttp.method;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** $count, If-None-Match, declared columns, alternate keys, upsert status codes and token scopes. */
class WebApiGapsTest extends DefaultEmulatorFixture {

    static final List<String> ACCOUNT_COLUMNS = List.of("name", "accountnumber", "telephone1", "address1_city",
            "statecode", "new_syncstatus");


    void seed(int count) {
        for (int i = 0; i < count; i++) {
            dataverse.upsertRow("accounts", id(i), columns("Account " + i, "ACC-" + i));
        }
    }

    static String[] jsonHeaders(String token, String... more) {
        String[] extra = new String[more.length + 2];
        extra[0] = "Content-Type";
        extra[1] = "application/json";
        System.arraycopy(more, 0, extra, 2, more.length);
        return auth(token, extra);
    }

    static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
    }

    // ---------------------------------------------------------------- $count

    @Test
    void countSegmentAnswersThePlainNumber() {
        seed(3);
        HttpResponse<String> count = get(api("accounts/$count"), auth(token));
        assertThat(count.statusCode()).isEqualTo(200);
        assertThat(count.headers().firstValue("Content-Type")).hasValue("text/plain");
        assertThat(count.headers().firstValue("OData-Version")).hasValue("4.0");
        assertThat(count.body()).isEqualTo("3");

        String filter = encode("Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['" + id(0) + "','"
                + id(2) + "','" + MISSING + "'])");
        assertThat(get(api("accounts/$count?$filter=" + filter), auth(token)).body()).isEqualTo("2");
        assertThat(method("POST", api("accounts/$count"), "{}", jsonHeaders(token)).statusCode()).isEqualTo(400);
    }

    @Test
    void countTrueAddsTheTotalIrrespectiveOfThePageSize() {
        seed(12);
        HttpResponse<String> first = get(api("accounts?$select=name&$count=true"), auth(token, "Prefer", "odata.maxpagesize=5"));
        JsonNode body = json(first);
        assertThat(body.get("@odata.count").asInt()).isEqualTo(12);
        assertThat(body.get("value")).hasSize(5);
        List<String> names = new java.util.ArrayList<>();
        body.fieldNames().forEachRemaining(names::add);
        assertThat(names).as("as in the doc's example").startsWith("@odata.context", "@odata.count", "value");
        JsonNode next = json(get(body.get("@odata.nextLink").asText(), auth(token, "Prefer", "odata.maxpagesize=5")));
        assertThat(next.get("@odata.count").asInt()).as("the next link keeps $count=true").isEqualTo(12);

        assertThat(json(get(api("accounts?$count=false"), auth(token))).has("@odata.count")).isFalse();
        assertThat(json(get(api("accounts"), auth(token))).has("@odata.count")).isFalse();
        assertThat(get(api("accounts?$count=yes"), auth(token)).statusCode()).isEqualTo(400);
    }

    @Test
    void countsStopAtFiveThousand() {
        for (int i = 0; i < 5001; i++) {
            dataverse.upsertRow("accounts", null, columns("Bulk " + i, "B-" + i));
        }
        assertThat(get(api("accounts/$count"), auth(token)).body()).isEqualTo("5000");
        JsonNode body = json(get(api("accounts?$select=name&$count=true"), auth(token)));
        assertThat(body.get("@odata.count").asInt()).isEqualTo(5000);
        assertThat(body.get("value")).hasSize(5000);
        assertThat(body.has("@odata.nextLink")).isTrue();
    }

    // ---------------------------------------------------------------- If-None-Match

    @Test
    void ifNoneMatchWithTheCurrentEtagAnswers304WithoutABody() {
        dataverse.upsertRow("accounts", ID_1, columns("One", "A1"));
        String etag = dataverse.row("accounts", ID_1).orElseThrow().get("@odata.etag").asText();
        String url = api("accounts(" + ID_1 + ")?$select=name");

        HttpResponse<String> notModified = get(url, auth(token, "If-None-Match", etag));
        assertThat(notModified.statusCode()).isEqualTo(304);
        assertThat(notModified.body()).isEmpty();
        assertThat(notModified.headers().firstValue("OData-Version")).hasValue("4.0");
        assertThat(notModified.headers().firstValue("ETag")).hasValue(etag);

        assertThat(get(url, auth(token, "If-None-Match", "W/\"1\"")).statusCode()).as("another version").isEqualTo(200);
        assertThat(get(url, auth(token, "If-None-Match", etag, "Prefer",
                "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"")).statusCode())
                .as("never 304 with annotations").isEqualTo(200);

        dataverse.upsertRow("accounts", ID_1, JSON.createObjectNode().put("name", "Changed"));
        HttpResponse<String> changed = get(url, auth(token, "If-None-Match", etag));
        assertThat(changed.statusCode()).isEqualTo(200);
        assertThat(json(changed).get("name").asText()).isEqualTo("Changed");
        assertThat(json(changed).get("@odata.etag").asText()).isNotEqualTo(etag);
    }

    // ---------------------------------------------------------------- formula columns

    @Test
    void aFormulaColumnIsComputedFromTheRowSelectableAndReadOnly() {
        dataverse.registerTable("accounts", "account", "accountid", List.of("name", "new_astatus", "new_bstatus"));
        dataverse.registerFormulaColumn("accounts", "new_syncstatus",
                row -> "Synced".equals(row.path("new_astatus").asText()) && "Synced".equals(row.path("new_bstatus").asText()) ? "Synced" : "Syncing");
        dataverse.upsertRow("accounts", ID_1, JSON.createObjectNode().put("name", "One"));

        String url = api("accounts(" + ID_1 + ")?$select=name,new_syncstatus");
        assertThat(json(get(url, auth(token))).get("new_syncstatus").asText()).isEqualTo("Syncing");
        assertThat(method("PATCH", api("accounts(" + ID_1 + ")"), "{\"new_astatus\":\"Synced\",\"new_bstatus\":\"Synced\"}",
                jsonHeaders(token)).statusCode()).isEqualTo(204);
        assertThat(json(get(url, auth(token))).get("new_syncstatus").asText()).isEqualTo("Synced");

        // read-only: a write naming it is refused and changes nothing
        HttpResponse<String> write = method("PATCH", api("accounts(" + ID_1 + ")"), "{\"name\":\"x\",\"new_syncstatus\":\"Failed\"}",
                jsonHeaders(token));
        assertThat(write.statusCode()).isEqualTo(400);
        assertThat(json(write).at("/error/message").asText()).contains("formula column 'new_syncstatus' is read-only");
        assertThat(dataverse.row("accounts", ID_1).orElseThrow().get("name").asText()).isEqualTo("One");
    }

    // ---------------------------------------------------------------- declared columns

    @Test
    void undeclaredColumnsInSelectFilterAndBodiesAre400() {
        dataverse.registerTable("accounts", "account", "accountid", ACCOUNT_COLUMNS);
        dataverse.upsertRow("accounts", ID_1, columns("One", "A1"));

        HttpResponse<String> wrongCase = get(api("accounts?$select=Name"), auth(token));
        assertThat(wrongCase.statusCode()).isEqualTo(400);
        assertThat(json(wrongCase).at("/error/code").asText()).isEqualTo("0x0");
        assertThat(json(wrongCase).at("/error/message").asText())
                .isEqualTo("Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.");
        assertThat(get(api("accounts(" + ID_1 + ")?$select=name,revenue"), auth(token)).statusCode()).isEqualTo(400);
        String filter = encode("Microsoft.Dynamics.CRM.In(PropertyName='emailaddress1',PropertyValues=['x'])");
        assertThat(get(api("accounts?$filter=" + filter), auth(token)).statusCode()).isEqualTo(400);

        HttpResponse<String> selected = get(api("accounts(" + ID_1 + ")?$select=name,new_syncstatus,versionnumber,"
                + "modifiedon,createdon,accountid"), auth(token));
        assertThat(selected.statusCode()).as("declared, the id and the columns the emulator stamps").isEqualTo(200);

        HttpResponse<String> badPatch = method("PATCH", api("accounts(" + ID_1 + ")"), "{\"name\":\"x\",\"nope\":1}",
                jsonHeaders(token));
        assertThat(badPatch.statusCode()).isEqualTo(400);
        assertThat(json(badPatch).at("/error/code").asText()).isEqualTo("0x0");
        assertThat(json(badPatch).at("/error/message").asText()).contains(
                "Invalid property 'nope' was found in entity 'Microsoft.Dynamics.CRM.account'");
        assertThat(dataverse.row("accounts", ID_1).orElseThrow().get("name").asText()).as("nothing written").isEqualTo("One");
        assertThat(method("POST", api("accounts"), "{\"Name\":\"x\"}", jsonHeaders(token)).statusCode()).isEqualTo(400);

        assertThat(method("PATCH", api("accounts(" + ID_1 + ")"),
                "{\"@odata.type\":\"Microsoft.Dynamics.CRM.account\",\"new_syncstatus\":\"Synced\"}", jsonHeaders(token))
                .statusCode()).as("annotations are not columns").isEqualTo(204);

        dataverse.registerTable("accounts", "account", "accountid");
        assertThat(get(api("accounts?$select=Name"), auth(token)).statusCode())
                .as("re-registering without columns keeps them").isEqualTo(400);
        dataverse.upsertRow("accounts", ID_2, JSON.createObjectNode().put("anything", 1));
        assertThat(dataverse.row("accounts", ID_2).orElseThrow().get("anything").asInt()).as("Java access is not checked")
                .isEqualTo(1);
    }

    @Test
    void batchOperationsAreCheckedToo() throws Exception {
        dataverse.registerTable("accounts", "account", "accountid", ACCOUNT_COLUMNS);
        List<ODataBatch.Item> items = List.of(
                ODataBatch.Item.single(ODataBatch.Operation.of("PATCH", "accounts(" + ID_1 + ")", "{\"bogus\":1}")),
                ODataBatch.Item.single(ODataBatch.Operation.of("GET", "accounts?$select=bogus", null)));
        HttpResponse<String> response = ServiceProtectionTest.postBatch(dataverse, token, items);
        List<ODataBatch.ItemResult> results = ODataBatchTest.results(response);
        assertThat(results).hasSize(1);
        assertThat(results.get(0).results().get(0).status()).isEqualTo(400);
    }

    @Test
    void schemalessTablesTakeAnyColumn() {
        assertThat(method("PATCH", api("accounts(" + ID_1 + ")"), "{\"whatever_column\":1}", jsonHeaders(token)).statusCode())
                .isEqualTo(204);
        assertThat(get(api("accounts?$select=Unknown"), auth(token)).statusCode()).isEqualTo(200);
    }

    // ---------------------------------------------------------------- alternate keys

    @Test
    void alternateKeyAddressesRowsForGetPatchAndDelete() {
        dataverse.registerTable("accounts", "account", "accountid", ACCOUNT_COLUMNS);
        dataverse.registerAlternateKey("accounts", "accountnumber");
        dataverse.upsertRow("accounts", ID_1, columns("One", "ACC-00001"));

        HttpResponse<String> got = get(api("accounts(accountnumber='ACC-00001')?$select=name"), auth(token));
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(json(got).get("name").asText()).isEqualTo("One");
        assertThat(json(got).get("accountid").asText()).isEqualTo(ID_1);
        // percent-encoded quotes, as most clients send them
        assertThat(get(api("accounts(accountnumber=%27ACC-00001%27)"), auth(token)).statusCode()).isEqualTo(200);
        assertThat(get(api("accounts(accountid=" + ID_1 + ")"), auth(token)).statusCode()).as("primary key by name")
                .isEqualTo(200);

        HttpResponse<String> missing = get(api("accounts(accountnumber='NOPE')"), auth(token));
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(json(missing).at("/error/code").asText()).isEqualTo("0x80040217");

        HttpResponse<String> undeclared = get(api("accounts(name='One')"), auth(token));
        assertThat(undeclared.statusCode()).isEqualTo(400);
        assertThat(json(undeclared).at("/error/message").asText()).isEqualTo("The key in the request URI is not valid for "
                + "resource 'Microsoft.Dynamics.CRM.account'. Ensure that the names and number of key properties match the "
                + "declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.account'.");

        // update by key: the key column in the body is ignored, the row keeps its key
        HttpResponse<String> update = method("PATCH", api("accounts(accountnumber='ACC-00001')"),
                "{\"name\":\"One updated\",\"accountnumber\":\"CHANGED\"}", jsonHeaders(token, "If-Match", "*"));
        assertThat(update.statusCode()).isEqualTo(204);
        assertThat(update.headers().firstValue("OData-EntityId")).hasValue(api("accounts(accountnumber='ACC-00001')"));
        ObjectNode updated = dataverse.row("accounts", ID_1).orElseThrow();
        assertThat(updated.get("name").asText()).isEqualTo("One updated");
        assertThat(updated.get("accountnumber").asText()).isEqualTo("ACC-00001");

        // upsert by key: a missing row is created with the key values of the URL
        assertThat(method("PATCH", api("accounts(accountnumber='ACC-00002')"), "{\"name\":\"x\"}",
                jsonHeaders(token, "If-Match", "*")).statusCode()).as("If-Match: * never creates").isEqualTo(404);
        HttpResponse<String> created = method("PATCH", api("accounts(accountnumber='ACC-00002')"), "{\"name\":\"Two\"}",
                jsonHeaders(token));
        assertThat(created.statusCode()).isEqualTo(204);
        assertThat(dataverse.rows("accounts")).hasSize(2);
        JsonNode two = json(get(api("accounts(accountnumber='ACC-00002')"), auth(token)));
        assertThat(two.get("name").asText()).isEqualTo("Two");
        assertThat(two.get("accountid").asText()).matches("[0-9a-f-]{36}").isNotEqualTo(ID_1);

        assertThat(method("DELETE", api("accounts(accountnumber='ACC-00002')"), null, auth(token)).statusCode()).isEqualTo(204);
        assertThat(method("DELETE", api("accounts(accountnumber='ACC-00002')"), null, auth(token)).statusCode()).isEqualTo(404);
        assertThat(dataverse.rows("accounts")).hasSize(1);
    }

    @Test
    void compositeAlternateKeysWithNumbersAndQuotes() {
        dataverse.registerTable("contacts", "contact", "contactid", List.of("firstname", "lastname", "employeeid"));
        dataverse.registerAlternateKey("contacts", "lastname", "employeeid");
        String url = api("contacts(lastname='O''Brien',employeeid=42)");

        assertThat(method("PATCH", url, "{\"firstname\":\"Pat\"}", jsonHeaders(token)).statusCode()).isEqualTo(204);
        ObjectNode row = dataverse.rows("contacts").get(0);
        assertThat(row.get("lastname").asText()).isEqualTo("O'Brien");
        assertThat(row.get("employeeid").isNumber()).isTrue();
        assertThat(row.get("employeeid").asInt()).isEqualTo(42);

        assertThat(json(get(api("contacts(employeeid=42,lastname='O''Brien')"), auth(token))).get("firstname").asText())
                .as("any order").isEqualTo("Pat");
        assertThat(get(api("contacts(lastname='O''Brien')"), auth(token)).statusCode()).as("part of a key").isEqualTo(400);
        assertThat(get(api("contacts(lastname='O''Brien',employeeid=43)"), auth(token)).statusCode()).isEqualTo(404);

        assertThatThrownBy(() -> dataverse.registerAlternateKey("contacts", "middlename"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("middlename");
    }

    @Test
    void alternateKeysWorkInsideABatch() throws Exception {
        dataverse.registerAlternateKey("accounts", "accountnumber");
        dataverse.upsertRow("accounts", ID_1, columns("One", "ACC-1"));
        List<ODataBatch.Item> items = List.of(ODataBatch.Item.changeSet(List.of(
                ODataBatch.Operation.of("PATCH", "accounts(accountnumber='ACC-1')", "{\"name\":\"batched\"}")
                        .withHeader("If-Match", "*"))));
        List<ODataBatch.ItemResult> results = ODataBatchTest.results(ServiceProtectionTest.postBatch(dataverse, token, items));
        assertThat(results.get(0).results().get(0).status()).isEqualTo(204);
        assertThat(dataverse.row("accounts", ID_1).orElseThrow().get("name").asText()).isEqualTo("batched");
    }

    // ---------------------------------------------------------------- upsert status codes

    @Test
    void upsertAnswers204EitherWayAnd201Or200WithRepresentation() {
        String url = api("accounts(" + ID_1 + ")");
        HttpResponse<String> create = method("PATCH", url, "{\"name\":\"a\"}", jsonHeaders(token));
        assertThat(create.statusCode()).as("the doc: 204 No Content in either case").isEqualTo(204);
        assertThat(create.headers().firstValue("OData-EntityId")).hasValue(url);
        HttpResponse<String> update = method("PATCH", url, "{\"name\":\"b\"}", jsonHeaders(token));
        assertThat(update.statusCode()).isEqualTo(204);
        assertThat(update.headers().firstValue("OData-EntityId")).hasValue(url);

        String other = api("accounts(" + ID_2 + ")?$select=name");
        HttpResponse<String> createdWithData = method("PATCH", other, "{\"name\":\"c\"}",
                jsonHeaders(token, "Prefer", "return=representation"));
        assertThat(createdWithData.statusCode()).isEqualTo(201);
        assertThat(createdWithData.headers().firstValue("Preference-Applied")).hasValue("return=representation");
        assertThat(json(createdWithData).get("name").asText()).isEqualTo("c");
        HttpResponse<String> updatedWithData = method("PATCH", other, "{\"name\":\"d\"}",
                jsonHeaders(token, "Prefer", "return=representation"));
        assertThat(updatedWithData.statusCode()).isEqualTo(200);
        assertThat(updatedWithData.headers().firstValue("ETag")).hasValue(json(updatedWithData).get("@odata.etag").asText());
    }

    // ---------------------------------------------------------------- token scopes

    @Test
    void theTokenEndpointAcceptsOnlyTheEmulatorsOwnDefaultScope() {
        String base = dataverse.baseUrl();
        for (String scope : List.of(base + "/.default", base + "//.default",
                "http://localhost:" + dataverse.port() + "/.default", base.toUpperCase() + "/.default")) {
            assertThat(scopeRequest(scope).statusCode()).as(scope).isEqualTo(200);
        }

        HttpResponse<String> otherResource = scopeRequest("https://org.crm.dynamics.com/.default");
        assertThat(otherResource.statusCode()).isEqualTo(400);
        assertThat(json(otherResource).get("error").asText()).isEqualTo("invalid_resource");
        assertThat(json(otherResource).get("error_description").asText()).startsWith("AADSTS500011: The resource principal "
                + "named https://org.crm.dynamics.com was not found");
        assertThat(json(otherResource).get("error_codes").get(0).asInt()).isEqualTo(500011);

        HttpResponse<String> notDefault = scopeRequest(base + "/user_impersonation");
        assertThat(notDefault.statusCode()).isEqualTo(400);
        assertThat(json(notDefault).get("error").asText()).isEqualTo("invalid_scope");
        assertThat(json(notDefault).get("error_description").asText()).startsWith("AADSTS1002012:");

        HttpResponse<String> several = scopeRequest(base + "/.default offline_access");
        assertThat(several.statusCode()).isEqualTo(400);
        assertThat(json(several).get("error").asText()).isEqualTo("invalid_scope");
        assertThat(json(several).get("error_description").asText()).startsWith("AADSTS70011:");
    }

    HttpResponse<String> scopeRequest(String scope) {
        return tokenRequest(dataverse, "grant_type=client_credentials&client_id=local-sync-app&client_secret=local-secret"
                + "&scope=" + URLEncoder.encode(scope, StandardCharsets.UTF_8));
    }
}
