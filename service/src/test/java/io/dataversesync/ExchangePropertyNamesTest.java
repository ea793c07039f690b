package io.dataversesync;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dataversesync.exchange.SyncProperties;
import org.junit.jupiter.api.Test;

/**
 * The routes and the Java share one vocabulary for a message's journey: every exchange property a route file reads
 * (${exchangeProperty.X}) or sets (setProperty name: X) is declared in {@link SyncProperties}, so a typo in a route
 * cannot silently read null.
 */
class ExchangePropertyNamesTest {
    private static final Pattern READ = Pattern.compile("\\$\\{exchangeProperty\\.([A-Za-z0-9_]+)");
    private static final Pattern SET = Pattern.compile("setProperty:\\s*\\n\\s*(?:id:[^\\n]*\\n\\s*)?name:\\s*([A-Za-z0-9_]+)");

    @Test
    void everyExchangePropertyInTheRouteFilesIsDeclared() throws Exception {
        Set<String> declared = new TreeSet<>();
        for (Field f : SyncProperties.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class && !f.getName().equals("HOP_ROUTE_PREFIX")) {
                declared.add((String) f.get(null));
            }
        }
        Set<String> used = new TreeSet<>();
        for (Path file : ProjectFiles.routeFiles()) {
            String text = Files.readString(file);
            for (Pattern p : new Pattern[] {READ, SET}) {
                Matcher m = p.matcher(text);
                while (m.find()) {
                    used.add(m.group(1));
                }
            }
        }
        assertThat(used).as("exchange properties used by the route files").contains("syncQueue", "syncEntity", "syncHop");
        assertThat(declared).as("declared in io.dataversesync.exchange.SyncProperties").containsAll(used);
    }
}
