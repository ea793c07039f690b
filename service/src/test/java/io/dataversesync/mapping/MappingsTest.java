package io.dataversesync.mapping;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.dataversesync.policy.MappingException;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappingsTest {
    private static final String ROW = """
            {"accountid":"a-1","name":"Coho Winery","accountnumber":"AC-1","telephone1":null,"address1_city":"Zürich","statecode":0,
             "revenue":1234.50,"employees":12}""";

    @TempDir
    Path folder;
    private CamelContext context;
    private Path mapping;

    @BeforeEach
    void start() throws Exception {
        context = new DefaultCamelContext();
        context.start();
        mapping = folder.resolve("customers/account.jsonata");
        Files.createDirectories(mapping.getParent());
        Files.writeString(mapping, "{ \"externalId\": accountid, \"name\": name }");
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    private Mappings fileMappings() {
        return new Mappings(context, "file:" + folder.toAbsolutePath());
    }

    @Test
    void aMappingIsCompiledOnceAndUsedForEveryRow() {
        Mappings mappings = fileMappings();
        for (int i = 0; i < 5; i++) {
            assertThat(mappings.map("customers", "account", "{\"accountid\":\"a-" + i + "\",\"name\":\"N" + i + "\"}"))
                    .isEqualTo("{\"externalId\":\"a-" + i + "\",\"name\":\"N" + i + "\"}");
        }
        assertThat(mappings.compilations()).isEqualTo(1);
    }

    @Test
    void anEditedFileIsCompiledAgainAtItsNextUse() throws Exception {
        Mappings mappings = fileMappings();
        assertThat(mappings.map("customers", "account", ROW)).isEqualTo("{\"externalId\":\"a-1\",\"name\":\"Coho Winery\"}");

        Files.writeString(mapping, "{ \"id\": accountid, \"displayName\": $uppercase(name) }");
        assertThat(mappings.map("customers", "account", ROW)).isEqualTo("{\"id\":\"a-1\",\"displayName\":\"COHO WINERY\"}");
        assertThat(mappings.compilations()).isEqualTo(2);

        // an edit of the same size is seen by its modified time
        FileTime before = Files.getLastModifiedTime(mapping);
        Files.writeString(mapping, "{ \"id\": accountid, \"displayName\": $lowercase(name) }");
        Files.setLastModifiedTime(mapping, FileTime.fromMillis(before.toMillis() + 1_000));
        assertThat(mappings.map("customers", "account", ROW)).isEqualTo("{\"id\":\"a-1\",\"displayName\":\"coho winery\"}");
        assertThat(mappings.map("customers", "account", ROW)).isEqualTo("{\"id\":\"a-1\",\"displayName\":\"coho winery\"}");
        assertThat(mappings.compilations()).isEqualTo(3);

        // a file replaced by a rename (an editor's save, a ConfigMap update) with the same size and modified time
        Path replacement = folder.resolve("customers/account.jsonata.new");
        Files.writeString(replacement, "{ \"id\": accountid, \"displayName\": $uppercase(name) }");
        Files.setLastModifiedTime(replacement, Files.getLastModifiedTime(mapping));
        Files.move(replacement, mapping, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        assertThat(mappings.map("customers", "account", ROW)).isEqualTo("{\"id\":\"a-1\",\"displayName\":\"COHO WINERY\"}");
        assertThat(mappings.compilations()).isEqualTo(4);
    }

    @Test
    void aBrokenFileFailsEveryMessageUntilItIsFixed() throws Exception {
        Mappings mappings = fileMappings();
        mappings.map("customers", "account", ROW);

        Files.writeString(mapping, "{ \"name\": name, ");
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> mappings.map("customers", "account", ROW)).isInstanceOf(MappingException.class)
                    .hasMessageStartingWith("mapping customers/account.jsonata failed: ");
        }

        Files.writeString(mapping, "{ \"fixed\": name }");
        assertThat(mappings.map("customers", "account", ROW)).isEqualTo("{\"fixed\":\"Coho Winery\"}");
    }

    @Test
    void aMissingFileABadRowAndABadNameAreMappingErrorsNamingTheFile() throws Exception {
        Mappings mappings = fileMappings();
        assertThatThrownBy(() -> mappings.map("customers", "contact", ROW)).isInstanceOf(MappingException.class)
                .hasMessageStartingWith("mapping customers/contact.jsonata failed: ");
        assertThatThrownBy(() -> mappings.map("customers", "account", "{not json")).isInstanceOf(MappingException.class)
                .hasMessageStartingWith("mapping customers/account.jsonata failed: ");
        assertThatThrownBy(() -> mappings.map("../customers", "account", ROW)).isInstanceOf(MappingException.class)
                .hasMessageStartingWith("mapping ?/account.jsonata failed: ");
        Files.delete(mapping);
        assertThatThrownBy(() -> mappings.map("customers", "account", ROW)).isInstanceOf(MappingException.class)
                .hasMessageContaining("customers/account.jsonata");
    }

    @Test
    void theJarsMappingsMapExactlyAsTheCamelJsonataComponentDid() {
        // the classpath copy (the jar's) is compiled once; its payload is byte for byte what the component produced,
        // so the hashes stored by earlier syncs still match
        Mappings mappings = new Mappings(context, "classpath:routes/mappings");
        String component = context.createProducerTemplate().requestBody(
                "jsonata:classpath:routes/mappings/customers/account.jsonata?inputType=JsonString&outputType=JsonString", ROW, String.class);
        for (int i = 0; i < 3; i++) {
            assertThat(mappings.map("customers", "account", ROW)).isEqualTo(component);
        }
        assertThat(mappings.compilations()).isEqualTo(1);
    }

    @Test
    void theSoftDeleteMappingIsItsOwnFile() throws Exception {
        Files.writeString(folder.resolve("customers/account.deleted.jsonata"), "{ \"active\": false, \"id\": sourceRowId }");
        Mappings mappings = fileMappings();
        var exchange = new org.apache.camel.support.DefaultExchange(context);
        exchange.setProperty(io.dataversesync.exchange.SyncProperties.TARGET, "customers");
        exchange.setProperty(io.dataversesync.exchange.SyncProperties.ENTITY, "account");
        exchange.getMessage().setBody("{\"entity\":\"account\",\"sourceRowId\":\"a-1\"}");
        mappings.applyDeletedMapping(exchange);
        assertThat(exchange.getMessage().getBody(String.class)).isEqualTo("{\"active\":false,\"id\":\"a-1\"}");

        exchange.getMessage().setBody(ROW);
        mappings.applyMapping(exchange);
        assertThat(exchange.getMessage().getBody(String.class)).isEqualTo("{\"externalId\":\"a-1\",\"name\":\"Coho Winery\"}");
        assertThat(mappings.compilations()).isEqualTo(2);
    }

    @Test
    void manyThreadsShareTheCompiledMappingsWithoutSeeingEachOthersState() throws Exception {
        // two mappings evaluated in turn on the same threads: the second must never see the first's variable
        // (dashjoin jsonata-java issue #93), and each row must come out as it does alone
        Files.writeString(mapping, "( $n := name; { \"externalId\": accountid, \"name\": $n, \"n\": $count($keys($)) } )");
        Files.writeString(folder.resolve("customers/contact.jsonata"), "{ \"leak\": $n, \"id\": contactid }");
        Mappings mappings = fileMappings();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Void>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                results.add(pool.submit((Callable<Void>) () -> {
                    for (int i = 0; i < 300; i++) {
                        String id = thread + "-" + i;
                        assertThat(mappings.map("customers", "account", "{\"accountid\":\"" + id + "\",\"name\":\"N" + id + "\"}"))
                                .isEqualTo("{\"externalId\":\"" + id + "\",\"name\":\"N" + id + "\",\"n\":2}");
                        assertThat(mappings.map("customers", "contact", "{\"contactid\":\"" + id + "\"}")).isEqualTo("{\"id\":\"" + id + "\"}");
                    }
                    return null;
                }));
            }
            for (Future<Void> result : results) {
                result.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(mappings.compilations()).isEqualTo(2);
    }

    @Test
    void nowIsTheTimeOfEachEvaluationOnEveryThread() throws Exception {
        Files.writeString(mapping, "{ \"t\": $millis() }");
        Mappings mappings = fileMappings();
        mappings.map("customers", "account", ROW); // compiled on this thread, evaluated below on another
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            long first = millis(pool.submit(() -> mappings.map("customers", "account", ROW)).get());
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> System.currentTimeMillis() > first + 5);
            long second = millis(pool.submit(() -> mappings.map("customers", "account", ROW)).get());
            assertThat(second).isGreaterThan(first);
        } finally {
            pool.shutdownNow();
        }
    }

    private static long millis(String payload) {
        return Long.parseLong(payload.replaceAll("\\D", ""));
    }
}
