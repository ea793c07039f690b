package io.dataversesync.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.emulator.DataverseEmulator;
import io.dataversesync.emulator.local.LocalEnvironment;
import org.apache.camel.Exchange;

/**
 * Demo load for the local mode: creates accounts in the Dataverse emulator, then changes one at a time. Each
 * change is announced the way the Dataverse plugin step does it: a small notification on the outbound queue
 * (routes/local/demo-load.camel.yaml in this module sends it).
 */
public class DemoLoad {
    private static final String[] CITIES = {"Seattle", "Redmond", "Dublin", "Amsterdam", "Singapore", "Sydney", "Toronto"};
    private static final String[] NAMES = {"Fourth Coffee", "Contoso", "Fabrikam", "Adventure Works", "Litware", "Northwind Traders",
        "Tailspin Toys", "Wide World Importers", "Proseware", "Coho Winery"};

    private final ObjectMapper json = new ObjectMapper();
    private final String entity;
    private final String entitySet;
    private final int accounts;

    /** Declared in routes/local/demo-load.camel.yaml (beans), next to the routes that use it. */
    public DemoLoad(String entity, String entitySet, int accounts) {
        this.entity = entity;
        this.entitySet = entitySet;
        this.accounts = accounts;
    }

    /** Creates accounts until there are as many as configured; returns one notification per account. */
    public List<String> seedAccounts(Exchange exchange) {
        DataverseEmulator dataverse = dataverse(exchange);
        List<String> notifications = new ArrayList<>();
        int existing = dataverse.rows(entitySet).size();
        for (int i = existing; i < accounts; i++) {
            ObjectNode row = json.createObjectNode();
            row.put("name", NAMES[i % NAMES.length] + " " + (i + 1));
            row.put("accountnumber", String.format("ACC-%05d", i + 1));
            row.put("telephone1", phone());
            row.put("emailaddress1", "contact" + (i + 1) + "@example.com");
            row.put("address1_city", CITIES[i % CITIES.length]);
            row.put("statecode", 0);
            dataverse.upsertRow(entitySet, null, row);
        }
        dataverse.rows(entitySet).forEach(r -> notifications.add(notification(r.path(idColumn()).asText())));
        return notifications;
    }

    /** Changes the phone and city of a random account; returns its notification. */
    public String changeRandomAccount(Exchange exchange) {
        DataverseEmulator dataverse = dataverse(exchange);
        List<ObjectNode> rows = dataverse.rows(entitySet);
        if (rows.isEmpty()) {
            return null;
        }
        ObjectNode row = rows.get(ThreadLocalRandom.current().nextInt(rows.size()));
        String id = row.path(idColumn()).asText();
        ObjectNode change = json.createObjectNode();
        change.put("telephone1", phone());
        change.put("address1_city", CITIES[ThreadLocalRandom.current().nextInt(CITIES.length)]);
        dataverse.upsertRow(entitySet, id, change);
        return notification(id);
    }

    /**
     * The in-process Dataverse emulator. Looked up when the demo runs, not injected: YAML beans are created
     * before the configuration class that starts the emulators has run.
     */
    private static DataverseEmulator dataverse(Exchange exchange) {
        return exchange.getContext().getRegistry().lookupByNameAndType("localEnvironment", LocalEnvironment.class).dataverse();
    }

    public String notification(String rowId) {
        ObjectNode n = json.createObjectNode();
        n.put("entity", entity);
        n.put("sourceRowId", rowId);
        n.put("operation", "Update");
        return n.toString();
    }

    private String idColumn() {
        return entity + "id";
    }

    private static String phone() {
        return String.format("+1-425-555-%04d", ThreadLocalRandom.current().nextInt(10000));
    }
}
