package io.dataversesync.emulator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Account rows for a fresh standalone emulator, with the columns the service syncs by default (name, accountnumber,
 * telephone1, emailaddress1, address1_city, statecode). Deterministic, ids included: every start serves the same
 * rows, so ids written down in a script or a bug report keep working after a restart.
 */
final class SampleAccounts {

    /**
     * The columns the standalone program's {@code accounts} table declares: a realistic subset of Dataverse's
     * account table (https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account)
     * holding every column seeded here and the service reads by default, plus the service's write-back columns
     * (application.properties: sync.writeback.*-column). accountid and the columns the emulator stamps
     * (versionnumber, modifiedon, createdon) are declared anyway.
     */
    static final List<String> COLUMNS = List.of(
            "accountid", "name", "accountnumber", "description", "telephone1", "telephone2", "fax", "emailaddress1",
            "websiteurl", "address1_line1", "address1_line2", "address1_city", "address1_stateorprovince",
            "address1_postalcode", "address1_country", "revenue", "numberofemployees", "industrycode",
            "accountcategorycode", "customertypecode", "creditonhold", "statecode", "statuscode",
            "versionnumber", "modifiedon", "createdon",
            "new_targetrowid", "new_syncstatus", "new_syncedon", "new_syncerror", "new_syncedhash", "new_syncnextattempt");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] NAMES = {"Fourth Coffee", "Contoso", "Fabrikam", "Adventure Works", "Litware",
        "Northwind Traders", "Tailspin Toys", "Wide World Importers", "Proseware", "Coho Winery"};
    private static final String[] CITIES = {"Seattle", "Redmond", "Dublin", "Amsterdam", "Singapore", "Sydney", "Toronto"};

    private SampleAccounts() {
    }

    /** Creates {@code count} rows in the table and returns their ids, in creation order. */
    static List<String> seed(DataverseEmulator dataverse, String entitySet, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            ids.add(dataverse.upsertRow(entitySet, id(entitySet, i).toString(), row(i)));
        }
        return ids;
    }

    /** Name-based, so the n-th row of a table always has the same id. */
    static UUID id(String entitySet, int n) {
        return UUID.nameUUIDFromBytes(("dataverse-sync-emulator:" + entitySet + ":" + n).getBytes(StandardCharsets.UTF_8));
    }

    static ObjectNode row(int n) {
        ObjectNode row = JSON.createObjectNode();
        row.put("name", NAMES[(n - 1) % NAMES.length] + " " + n);
        row.put("accountnumber", String.format(Locale.ROOT, "ACC-%05d", n));
        // 555-01xx is the range reserved for fiction
        row.put("telephone1", String.format(Locale.ROOT, "+1-425-555-%04d", 100 + n % 100));
        row.put("emailaddress1", "contact" + n + "@example.com");
        row.put("address1_city", CITIES[(n - 1) % CITIES.length]);
        row.put("statecode", 0);
        return row;
    }
}
