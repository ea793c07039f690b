package io.dataversesync.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.Paths;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.dataversesync.ProjectFiles;
import io.dataversesync.policy.ErrorClassifier;
import io.dataversesync.sync.SyncMetrics;
import io.dataversesync.target.Sagas;
import io.dataversesync.target.TargetBreakers;
import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetNames;
import io.dataversesync.target.TargetSettings;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The container image and the Kubernetes manifests agree with the app: ports, probe and metrics paths, the routes
 * ConfigMap (same files, same content, mounted where SYNC_ROUTES_LOCATION points), profile, shutdown timing,
 * hardening, workload identity, KEDA queues and target subscriptions (saga compensations included), alert metric
 * names, no secrets.
 *
 * <p>With {@code kubectl} on the PATH the overlays are built exactly as {@code kubectl apply -k} would
 * ({@code kubectl kustomize k8s/overlays/dev|prod}); without it the base is read directly (generators emulated,
 * overlays not checked, which the overlay test reports as an assumption failure).
 */
class KubernetesManifestsTest {

    static final Path ROOT = ProjectFiles.ROOT;
    static final String[] ENVIRONMENTS = {"dev", "prod"};
    static final String WORKLOAD_IDENTITY_CLIENT_ID = "azure.workload.identity/client-id";
    static final String PLACEHOLDER_GUID = "00000000-0000-0000-0000-000000000000";

    static Properties app;
    static Properties azure;

    @BeforeAll
    static void loadProperties() throws IOException {
        app = properties(ROOT.resolve("application.properties"));
        azure = properties(ROOT.resolve("application-azure.properties"));
    }

    /** One set of rendered objects: an overlay built by kubectl, or the base read directly. */
    record Rendering(String name, List<Map<String, Object>> objects, boolean byKustomize) {
        @Override
        public String toString() {
            return name;
        }

        List<Map<String, Object>> ofKind(String kind) {
            return objects.stream().filter(o -> kind.equals(o.get("kind"))).toList();
        }

        Map<String, Object> one(String kind, String name) {
            List<Map<String, Object>> found = ofKind(kind).stream()
                    .filter(o -> name.equals(str(o, "metadata", "name"))).toList();
            assertThat(found).as("%s %s in %s", kind, name, this.name).hasSize(1);
            return found.get(0);
        }
    }

    static Stream<Rendering> renderings() throws Exception {
        Optional<Path> kubectl = kubectl();
        if (kubectl.isPresent()) {
            List<Rendering> list = new ArrayList<>();
            for (String env : ENVIRONMENTS) {
                list.add(new Rendering("overlay " + env, kustomize(kubectl.get(), ROOT.resolve("k8s/overlays/" + env)), true));
            }
            return list.stream();
        }
        return Stream.of(new Rendering("base (no kubectl: read directly)", readKustomization(ROOT.resolve("k8s/base")), false));
    }

    // ---- the app's HTTP contract ----------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void containerPortProbesAndScrapeTargetMatchTheApp(Rendering r) {
        int serverPort = Integer.parseInt(resolve(app, "sync.http.port"));
        String healthPath = firstNonNull(prop(app, "camel.management.health-path", "camel.management.healthPath"), "/observe/health");
        String metricsPath = firstNonNull(prop(app, "camel.metrics.path"), "/observe/metrics");
        assertThat(resolve(app, "camel.management.port")).as("management shares the server port").isEqualTo(String.valueOf(serverPort));

        Map<String, Object> container = container(r);
        List<Map<String, Object>> ports = list(container, "ports");
        assertThat(ports).anySatisfy(p -> {
            assertThat(num(p, "containerPort")).isEqualTo(serverPort);
            assertThat(str(p, "name")).isEqualTo("http");
        });

        assertThat(probePath(container, "livenessProbe")).isEqualTo(healthPath + "/live");
        assertThat(probePath(container, "readinessProbe")).isEqualTo(healthPath + "/ready");
        assertThat(probePath(container, "startupProbe")).startsWith(healthPath);
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            Object port = get(container, probe, "httpGet", "port");
            assertThat(String.valueOf(port)).as(probe + " port").isIn("http", String.valueOf(serverPort));
        }

        Map<String, Object> service = r.one("Service", "dataverse-sync");
        assertThat(str(service, "metadata", "annotations", "prometheus.io/scrape")).isEqualTo("true");
        assertThat(str(service, "metadata", "annotations", "prometheus.io/port")).isEqualTo(String.valueOf(serverPort));
        assertThat(str(service, "metadata", "annotations", "prometheus.io/path")).isEqualTo(metricsPath);
        assertThat(list(service, "spec", "ports")).anySatisfy(p ->
                assertThat(String.valueOf(p.get("targetPort"))).isIn("http", String.valueOf(serverPort)));
        assertThat(map(service, "spec", "selector")).isNotEmpty();
        assertThat(map(r.one("Deployment", "dataverse-sync"), "spec", "template", "metadata", "labels"))
                .containsAllEntriesOf(map(service, "spec", "selector"));
    }

    // ---- routes without rebuild -----------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void routesConfigMapHoldsEveryRepositoryRouteAndMappingAndIsMountedWhereTheAppLooks(Rendering r) throws IOException {
        Map<String, Object> container = container(r);
        Map<String, String> env = env(container);
        String routesLocation = env.get("SYNC_ROUTES_LOCATION");
        assertThat(routesLocation).as("SYNC_ROUTES_LOCATION").startsWith("file:");
        String routesDir = stripSlash(routesLocation.substring("file:".length()));
        // sync.mappings.location defaults to {{sync.routes.location}}/mappings unless overridden by env
        assertThat(app.getProperty("sync.mappings.location")).isEqualTo("{{sync.routes.location}}/mappings");
        String mappingsDir = env.containsKey("SYNC_MAPPINGS_LOCATION")
                ? stripSlash(env.get("SYNC_MAPPINGS_LOCATION").replaceFirst("^file:", ""))
                : routesDir + "/mappings";

        // which file lands where: mountPath + item path -> ConfigMap key
        Map<String, Object> podSpec = podSpec(r);
        Map<String, String> mountedFiles = new LinkedHashMap<>();
        Map<String, Map<String, Object>> configMaps = new LinkedHashMap<>();
        for (Map<String, Object> mount : list(container, "volumeMounts")) {
            Map<String, Object> volume = list(podSpec, "volumes").stream()
                    .filter(v -> Objects.equals(v.get("name"), mount.get("name"))).findFirst().orElseThrow();
            if (volume.get("configMap") == null) {
                continue;
            }
            String cmName = str(volume, "configMap", "name");
            Map<String, Object> cm = r.one("ConfigMap", cmName);
            configMaps.put(cmName, cm);
            Map<String, Object> data = map(cm, "data");
            List<Map<String, Object>> items = list(volume, "configMap", "items");
            String mountPath = stripSlash(str(mount, "mountPath"));
            if (items.isEmpty()) {
                data.keySet().forEach(key -> mountedFiles.put(mountPath + "/" + key, cmName + "/" + key));
            } else {
                Set<String> projected = new LinkedHashSet<>();
                for (Map<String, Object> item : items) {
                    String key = str(item, "key");
                    assertThat(data).as("ConfigMap %s must hold key %s (pods would not start)", cmName, key).containsKey(key);
                    mountedFiles.put(mountPath + "/" + str(item, "path"), cmName + "/" + key);
                    projected.add(key);
                }
                assertThat(projected).as("every key of %s is listed in the volume items of the Deployment "
                        + "(unlisted keys are not mounted): add it in k8s/base/deployment.yaml", cmName)
                        .containsAll(data.keySet());
            }
        }
        assertThat(configMaps.keySet()).anySatisfy(name -> assertThat(name).startsWith("dataverse-sync-routes"));

        // every route file under routes/ (sub-folders included) but the local broker's transport steps, and every
        // mapping under routes/mappings/ (one folder per target), at the same relative path below the mount
        Path routes = ROOT.resolve("routes");
        Map<String, String> expected = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(routes)) {
            files.filter(Files::isRegularFile).sorted().forEach(f -> {
                String relative = routes.relativize(f).toString().replace(File.separatorChar, '/');
                if (relative.endsWith(".camel.yaml") && !(relative.startsWith("transport/") && !relative.equals("transport/servicebus.camel.yaml"))) {
                    expected.put(routesDir + "/" + relative, read(f));
                } else if (relative.startsWith("mappings/") && relative.endsWith(".jsonata")) {
                    expected.put(mappingsDir + "/" + relative.substring("mappings/".length()), read(f));
                }
            });
        }
        // the azure profile's transport steps (sync.transport = servicebus) and the first target are among them
        assertThat(expected).containsKeys(routesDir + "/transport/servicebus.camel.yaml", routesDir + "/outbound-sync.camel.yaml");
        for (String target : targets()) {
            assertThat(expected).as("target %s of sync.targets is declared by routes/targets/%s.camel.yaml", target, target)
                    .containsKey(routesDir + "/targets/" + target + ".camel.yaml");
        }
        for (Map.Entry<String, String> file : expected.entrySet()) {
            assertThat(mountedFiles).as("%s is mounted (list it in routes/kustomization.yaml and the volume items)",
                    file.getKey()).containsKey(file.getKey());
            String[] cmAndKey = mountedFiles.get(file.getKey()).split("/", 2);
            assertThat(str(configMaps.get(cmAndKey[0]), "data", cmAndKey[1]))
                    .as("content of %s in the ConfigMap", file.getKey()).isEqualTo(file.getValue());
        }
        // and nothing else lands there (a file mounted at the wrong path would be missing where it belongs, or loaded twice)
        assertThat(mountedFiles.keySet().stream().filter(f -> f.startsWith(routesDir + "/") || f.startsWith(mappingsDir + "/")))
                .as("files mounted under %s that are not where the repository has them", routesDir)
                .allSatisfy(f -> assertThat(expected).containsKey(f));

        // every mounted route file is one the azure profile loads (camel.main.routes-include-pattern, env overrides
        // applied); artemis.camel.yaml and the local routes are not
        Properties effective = effectiveAzureProperties(r);
        List<PathMatcher> loaded = new ArrayList<>();
        for (String pattern : resolve(effective, "camel.main.routes-include-pattern").split(",")) {
            pattern = pattern.trim();
            if (pattern.startsWith("classpath:")) {
                assertThat(pattern).as("the azure profile loads routes from the mounted folder only").doesNotContain("routes/local");
                continue;
            }
            loaded.add(FileSystems.getDefault().getPathMatcher("glob:" + pattern.replaceFirst("^file:", "")));
        }
        assertThat(expected.keySet().stream().filter(f -> f.endsWith(".camel.yaml")))
                .allSatisfy(f -> assertThat(loaded).as("%s is loaded by the azure profile's routes-include-pattern", f)
                        .anyMatch(m -> m.matches(Paths.get(f))));
        assertThat(loaded).as("the local broker's steps are not loaded on Azure")
                .noneMatch(m -> m.matches(Paths.get(routesDir + "/transport/artemis.camel.yaml")));
        assertThat(resolve(effective, "sync.mappings.location")).isEqualTo("file:" + mappingsDir);
    }

    // ---- profile, shutdown, hardening -----------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void azureProfileJsonLogsAndGracefulShutdown(Rendering r) {
        Map<String, Object> container = container(r);
        Map<String, String> env = env(container);
        assertThat(env).containsEntry("CAMEL_MAIN_PROFILE", "azure");
        assertThat(ROOT.resolve("application-" + env.get("CAMEL_MAIN_PROFILE") + ".properties")).exists();
        String log4j = env.get("LOG4J_CONFIGURATION_FILE");
        assertThat(log4j).isNotNull();
        assertThat(ROOT.resolve("service/src/main/resources/" + log4j.replaceFirst("^classpath:", ""))).exists();

        int shutdownTimeout = Integer.parseInt(resolve(app, "camel.main.shutdown-timeout"));
        int preStopSleep = preStopSleepSeconds(container);
        int grace = num(podSpec(r), "terminationGracePeriodSeconds");
        assertThat(grace).as("terminationGracePeriodSeconds > shutdown-timeout %d + preStop %d", shutdownTimeout, preStopSleep)
                .isGreaterThan(shutdownTimeout + preStopSleep);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void podRunsNonRootOnAReadOnlyRootFilesystem(Rendering r) throws IOException {
        Map<String, Object> podSpec = podSpec(r);
        Map<String, Object> container = container(r);
        Map<String, Object> podSc = map(podSpec, "securityContext");
        Map<String, Object> sc = map(container, "securityContext");
        assertThat(sc.get("readOnlyRootFilesystem")).isEqualTo(true);
        assertThat(sc.get("allowPrivilegeEscalation")).isEqualTo(false);
        assertThat(firstNonNull(sc.get("runAsNonRoot"), podSc.get("runAsNonRoot"))).isEqualTo(true);
        Object uid = firstNonNull(sc.get("runAsUser"), podSc.get("runAsUser"));
        assertThat(uid).isNotNull();
        assertThat(((Number) uid).intValue()).isPositive().isEqualTo(dockerfileUid());
        assertThat(String.valueOf(get(sc, "capabilities", "drop"))).isEqualTo("[ALL]");
        assertThat(String.valueOf(firstNonNull(get(sc, "seccompProfile", "type"), get(podSc, "seccompProfile", "type"))))
                .isEqualTo("RuntimeDefault");
        // the only writable place: an emptyDir at java.io.tmpdir
        Map<String, Object> tmp = list(container, "volumeMounts").stream()
                .filter(m -> "/tmp".equals(m.get("mountPath"))).findFirst().orElseThrow();
        assertThat(list(podSpec, "volumes")).anySatisfy(v -> {
            assertThat(v.get("name")).isEqualTo(tmp.get("name"));
            assertThat(v).containsKey("emptyDir");
        });
        assertThat(map(map(container, "resources"), "limits")).containsKey("memory");
        assertThat(map(map(container, "resources"), "requests")).containsKeys("cpu", "memory");
    }

    // ---- Azure: workload identity, KEDA ---------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void workloadIdentityOnServiceAccountAndPod(Rendering r) {
        Map<String, Object> deployment = r.one("Deployment", "dataverse-sync");
        String saName = str(podSpec(r), "serviceAccountName");
        assertThat(saName).isNotBlank();
        Map<String, Object> sa = r.one("ServiceAccount", saName);
        assertThat(str(sa, "metadata", "annotations", WORKLOAD_IDENTITY_CLIENT_ID))
                .matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
        assertThat(str(deployment, "spec", "template", "metadata", "labels", "azure.workload.identity/use")).isEqualTo("true");
        assertThat(azure.getProperty("dataverse.auth.mode")).isEqualTo("workload-identity");
        assertThat(azure.getProperty("sync.servicebus.credential-type")).isEqualTo("AZURE_IDENTITY");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void kedaScalesTheDeploymentOnBothQueuesAndEveryTargetSubscription(Rendering r) {
        List<Map<String, Object>> scaledObjects = r.ofKind("ScaledObject");
        assertThat(scaledObjects).hasSize(1);
        Map<String, Object> so = scaledObjects.get(0);
        assertThat(str(so, "spec", "scaleTargetRef", "name")).isEqualTo("dataverse-sync");
        assertThat(map(r.one("Deployment", "dataverse-sync"), "spec"))
                .as("replicas are owned by KEDA, not the Deployment").doesNotContainKey("replicas");
        int min = num(so, "spec", "minReplicaCount");
        int max = num(so, "spec", "maxReplicaCount");
        assertThat(min).as("minReplicaCount (the ack queue and scheduled retries need a consumer)").isGreaterThanOrEqualTo(1);
        assertThat(max).isGreaterThanOrEqualTo(min).isLessThanOrEqualTo(50);

        List<Map<String, Object>> triggers = list(so, "spec", "triggers");
        assertThat(triggers).isNotEmpty().allSatisfy(trigger -> {
            assertThat(trigger.get("type")).isEqualTo("azure-servicebus");
            assertThat(get(trigger, "metadata", "queueName") == null).as("queueName or topicName + subscriptionName: %s", trigger)
                    .isNotEqualTo(get(trigger, "metadata", "topicName") == null);
            assertThat(get(trigger, "metadata", "topicName") == null).as("subscriptionName goes with topicName: %s", trigger)
                    .isEqualTo(get(trigger, "metadata", "subscriptionName") == null);
            assertThat(Integer.parseInt(str(trigger, "metadata", "messageCount"))).isPositive();
            assertThat(str(trigger, "metadata", "namespace")).isNotBlank();
            Map<String, Object> auth = r.one("TriggerAuthentication", str(trigger, "authenticationRef", "name"));
            assertThat(str(auth, "spec", "podIdentity", "provider")).isEqualTo("azure-workload");
        });
        // the queues the app consumes, and one trigger per subscription it consumes on the topic: each target's of
        // sync.targets and, with sagas, each step's compensation subscription <step>-compensation (Sagas.subscriptions)
        List<String> queues = triggers.stream().map(t -> str(t, "metadata", "queueName")).filter(Objects::nonNull).toList();
        assertThat(queues).containsExactlyInAnyOrder(app.getProperty("sync.queue.outbound"), app.getProperty("sync.queue.ack"));
        List<String> subscriptions = triggers.stream().filter(t -> get(t, "metadata", "topicName") != null)
                .map(t -> str(t, "metadata", "topicName") + "/" + str(t, "metadata", "subscriptionName")).toList();
        String topic = app.getProperty("sync.topic.changes");
        assertThat(topic).isNotBlank();
        assertThat(subscriptions).containsExactlyInAnyOrderElementsOf(subscriptions().stream().map(s -> topic + "/" + s).toList());
        // the app consumes the subscription named like the target (application-azure.properties)
        assertThat(azure.getProperty("sync.servicebus.consumer.subscriber-prefix"))
                .contains("azure-servicebus:{{sync.topic.changes}}?").contains("serviceBusType=topic").endsWith("subscriptionName=");

        Map<String, Object> pdb = r.one("PodDisruptionBudget", "dataverse-sync");
        assertThat(map(pdb, "spec", "selector", "matchLabels")).isNotEmpty();
        assertThat(map(r.one("Deployment", "dataverse-sync"), "spec", "template", "metadata", "labels"))
                .containsAllEntriesOf(map(pdb, "spec", "selector", "matchLabels"));
    }

    // ---- sagas ----------------------------------------------------------------------------------------------

    /** The example saga of the commented KEDA triggers and k8s/README.md, "7. Adding a saga". */
    static final List<String> EXAMPLE_TARGETS = List.of("customers", "mdm", "crm", "erp");
    static final String EXAMPLE_STEPS = "mdm,crm,erp";

    static Sagas exampleSaga() {
        Map<String, String> p = Map.of("sync.sagas", "onboarding", "sync.saga.onboarding.steps", EXAMPLE_STEPS);
        return Sagas.fromProperties(p::get, EXAMPLE_TARGETS);
    }

    @Test
    void sagaExampleTriggersAreSubscriptionsTheAppConsumes() throws IOException {
        // the commented example of k8s/base/keda-scaledobject.yaml, uncommented: well-formed triggers for
        // subscriptions the app would consume with that saga (a step, a compensation), never a queue
        List<String> lines = Files.readAllLines(ROOT.resolve("k8s/base/keda-scaledobject.yaml"));
        int begin = lines.indexOf("  # >>> saga example");
        int end = lines.indexOf("  # <<< saga example");
        assertThat(begin).as("the saga example's begin marker").isNotNegative();
        assertThat(end).as("the saga example's end marker").isGreaterThan(begin + 1);
        StringBuilder yaml = new StringBuilder();
        for (String line : lines.subList(begin + 1, end)) {
            assertThat(line).as("the saga example is commented out").startsWith("  # ");
            yaml.append(line.substring("  # ".length())).append('\n');
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> triggers = (List<Map<String, Object>>) new Load(LoadSettings.builder().build())
                .loadFromString(yaml.toString());
        Map<String, Object> base = readKustomization(ROOT.resolve("k8s/base")).stream()
                .filter(o -> "ScaledObject".equals(o.get("kind"))).findFirst().orElseThrow();
        Map<String, Object> live = list(base, "spec", "triggers").stream()
                .filter(t -> get(t, "metadata", "subscriptionName") != null).findFirst().orElseThrow();
        List<String> names = exampleSaga().subscriptions(EXAMPLE_TARGETS).stream().map(Sagas.Subscription::name).toList();
        assertThat(triggers).hasSizeGreaterThanOrEqualTo(2).allSatisfy(t -> {
            assertThat(t.get("type")).isEqualTo("azure-servicebus");
            assertThat(get(t, "authenticationRef")).isEqualTo(get(live, "authenticationRef"));
            assertThat(map(t, "metadata")).containsOnlyKeys("topicName", "subscriptionName", "namespace", "messageCount");
            assertThat(str(t, "metadata", "topicName")).isEqualTo(app.getProperty("sync.topic.changes"));
            assertThat(str(t, "metadata", "namespace")).isEqualTo(str(live, "metadata", "namespace"));
            assertThat(Integer.parseInt(str(t, "metadata", "messageCount"))).isPositive();
            assertThat(str(t, "metadata", "subscriptionName")).isIn(names);
        });
        assertThat(triggers).extracting(t -> str(t, "metadata", "subscriptionName"))
                .as("the example shows a step and a compensation").anyMatch(n -> n.endsWith(Sagas.COMPENSATION_SUFFIX))
                .anyMatch(n -> !n.endsWith(Sagas.COMPENSATION_SUFFIX));
    }

    @Test
    void readmeCreatesEverySagaSubscriptionWithTheAppsRule() throws IOException {
        // k8s/README.md spells out the example saga's rules: each is the app's own filter (what the local broker
        // uses), the first step's with the entity filter of any target, the others directed only
        String readme = Files.readString(ROOT.resolve("k8s/README.md"));
        List<Sagas.Subscription> subscriptions = exampleSaga().subscriptions(EXAMPLE_TARGETS).stream()
                .filter(s -> !s.name().equals("customers")).toList();
        assertThat(subscriptions).hasSize(6);
        for (Sagas.Subscription s : subscriptions) {
            String rule = s.directedOnly() ? "`" + s.name() + "`: `" + s.filter() + "`"
                    : "`" + s.name() + "`: `syncEntity IN ('account') AND (" + s.filter() + ")`";
            assertThat(readme).as("k8s/README.md gives subscription %s its rule", s.name()).contains(rule);
        }
        assertThat(readme).contains("sync.saga.onboarding.steps = " + EXAMPLE_STEPS);
        // the commands: sessions on, dead-lettering on, the catch-all rule removed, for the compensations too
        String section = readme.substring(readme.indexOf("## 7. Adding a saga"));
        assertThat(section).contains("--enable-session true", "--enable-dead-lettering-on-message-expiration true",
                "--dead-letter-on-filter-exceptions true", "-n '$Default'", "$S-compensation", "idempotent");
    }

    // ---- alerts ---------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void alertRulesUseMetricNamesTheAppEmits(Rendering r) {
        Set<String> emitted = emittedSyncMetricNames();
        assertThat(emitted).contains("dataverse_sync_consumed_total", "dataverse_sync_messages_total", "dataverse_sync_end_to_end_seconds_bucket",
                "dataverse_sync_target_breaker_state");

        List<Map<String, Object>> rules = r.ofKind("PrometheusRule").stream()
                .flatMap(pr -> list(pr, "spec", "groups").stream())
                .flatMap(g -> list(g, "rules").stream()).toList();
        Map<String, String> alerts = rules.stream().filter(rule -> rule.get("alert") != null)
                .collect(Collectors.toMap(rule -> str(rule, "alert"), rule -> str(rule, "expr")));
        assertThat(alerts).hasSizeGreaterThanOrEqualTo(4);

        Matcher m = Pattern.compile("\\bdataverse_sync_[a-z0-9_]+").matcher(String.join("\n", alerts.values()));
        Set<String> referenced = new LinkedHashSet<>();
        while (m.find()) {
            referenced.add(m.group());
        }
        assertThat(referenced).contains("dataverse_sync_consumed_total", "dataverse_sync_end_to_end_seconds_bucket",
                "dataverse_sync_target_breaker_state", "dataverse_sync_dataverse_breaker_state");
        assertThat(emitted).as("metric names in alert expressions").containsAll(referenced);

        // the error rate counts messages, not hop outcomes: one dead letter among N consumed messages is 1/N
        assertThat(alerts.values()).anySatisfy(e -> assertThat(e).contains("dataverse_sync_consumed_total{outcome=\"dead_lettered\"}")
                .doesNotContain("dataverse_sync_messages_total").contains("> 0.01"));
        assertThat(alerts.values()).anySatisfy(e -> assertThat(e)
                .contains("azure_servicebus_deadlettered_messages").contains("> 10"));
        assertThat(alerts.values()).anySatisfy(e -> assertThat(e)
                .contains("histogram_quantile(0.95").containsPattern("> \\d+\\s*$"));
        // a target's breaker open (2) for more than 5 minutes, per target
        assertThat(rules).anySatisfy(rule -> {
            assertThat(str(rule, "expr")).contains("dataverse_sync_target_breaker_state").contains("target").containsPattern("== 2\\s*$");
            assertThat(Duration.parse("PT" + str(rule, "for").toUpperCase())).isGreaterThanOrEqualTo(Duration.ofMinutes(5));
            assertThat(str(rule, "annotations", "summary")).contains("{{ $labels.target }}");
        });
    }

    // ---- secrets --------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderings")
    void noSecretsInAnyManifest(Rendering r) throws IOException {
        assertThat(r.ofKind("Secret")).isEmpty();
        Pattern secretName = Pattern.compile("(?i).*(secret|password|passwd|api[-_.]?key|token|connection[-_.]?string|sas).*");
        Map<String, String> values = new LinkedHashMap<>(env(container(r)));
        Map<String, Object> settings = r.ofKind("ConfigMap").stream()
                .filter(cm -> str(cm, "metadata", "name").startsWith("dataverse-sync-settings")).findFirst().orElseThrow();
        map(settings, "data").forEach((k, v) -> values.put(k, String.valueOf(v)));
        assertThat(values).isNotEmpty();
        values.forEach((k, v) -> assertThat(secretName.matcher(k).matches() && !v.isBlank())
                .as("secret-looking setting %s has a literal value", k).isFalse());

        String all = dump(r);
        assertThat(all).doesNotContainPattern("(?i)SharedAccessKey\\s*=")
                .doesNotContainPattern("(?i)AccountKey\\s*=")
                .doesNotContain("-----BEGIN")
                .doesNotContain(app.getProperty("dataverse.auth.client-secret"))
                .doesNotContain(resolve(app, "sync.local.target-api-key"));
        assertThat(all).doesNotContainPattern("(?i)client[-_]?secret\\s*[:=]\\s*\\S");
    }

    // ---- overlays (kustomize only) --------------------------------------------------------------------------

    @Test
    void overlaysSetNamespaceImageAzureNamesAndIdentities() throws Exception {
        Optional<Path> kubectl = kubectl();
        assumeTrue(kubectl.isPresent(), "kubectl is not on the PATH: overlays not built (CI installs it, see k8s/README.md)");
        for (String env : ENVIRONMENTS) {
            List<Map<String, Object>> objects = kustomize(kubectl.get(), ROOT.resolve("k8s/overlays/" + env));
            Rendering r = new Rendering(env, objects, true);
            List<Map<String, Object>> namespaces = r.ofKind("Namespace");
            assertThat(namespaces).as(env + " namespace").hasSize(1);
            String ns = str(namespaces.get(0), "metadata", "name");
            objects.stream().filter(o -> !"Namespace".equals(o.get("kind")))
                    .forEach(o -> assertThat(str(o, "metadata", "namespace")).as("namespace of %s", o.get("kind")).isEqualTo(ns));

            String image = str(container(r), "image");
            assertThat(image).as(env + " image").matches(".+/dataverse-sync:[^:]+").doesNotEndWith(":latest");

            Map<String, String> settings = new LinkedHashMap<>();
            map(r.ofKind("ConfigMap").stream().filter(cm -> str(cm, "metadata", "name").startsWith("dataverse-sync-settings"))
                    .findFirst().orElseThrow(), "data").forEach((k, v) -> settings.put(k, String.valueOf(v)));
            assertThat(settings.values()).as(env + " settings still hold placeholders").noneMatch(v -> v.contains("REPLACE-ME"));
            String sbNamespace = settings.get("SYNC_SERVICEBUS_NAMESPACE");
            assertThat(sbNamespace).endsWith(".servicebus.windows.net");
            assertThat(settings.get("DATAVERSE_URL")).matches("https://[a-z0-9-]+\\.crm\\d*\\.dynamics\\.com");
            // every placeholder of application-azure.properties that names an env var is provided
            Matcher placeholders = Pattern.compile("<set ([A-Z0-9_]+)>").matcher(Files.readString(ROOT.resolve("application-azure.properties")));
            while (placeholders.find()) {
                assertThat(settings).as(env + " provides " + placeholders.group(1)).containsKey(placeholders.group(1));
            }

            // every target's URL, per environment (Camel maps SYNC_TARGET_<NAME>_URL onto sync.target.<name>.url)
            for (String target : targets()) {
                String key = envName("sync.target." + target + ".url");
                assertThat(settings).as(env + " sets the URL of target " + target).containsKey(key);
                assertThat(settings.get(key)).as(key).startsWith("https://");
            }
            assertThat(settings).as("the target URL is per target now").doesNotContainKey("TARGET_URL");

            List<Map<String, Object>> triggers = list(r.ofKind("ScaledObject").get(0), "spec", "triggers");
            assertThat(triggers).allSatisfy(trigger -> {
                assertThat(str(trigger, "metadata", "namespace") + ".servicebus.windows.net")
                        .as(env + ": KEDA reads the namespace the app uses (%s)", trigger.get("metadata")).isEqualTo(sbNamespace);
                Map<String, Object> auth = r.one("TriggerAuthentication", str(trigger, "authenticationRef", "name"));
                assertThat(str(auth, "spec", "podIdentity", "identityId")).isNotEqualTo(PLACEHOLDER_GUID);
            });
            String saClientId = str(r.one("ServiceAccount", "dataverse-sync"), "metadata", "annotations", WORKLOAD_IDENTITY_CLIENT_ID);
            assertThat(saClientId).isNotEqualTo(PLACEHOLDER_GUID);
        }
    }

    // ---- Dockerfile -----------------------------------------------------------------------------------------

    @Test
    void dockerfileRunsTheThinJarAsNonRootWithDependenciesInTheirOwnLayer() throws IOException {
        String finalName = pomFinalName();
        List<String> runtime = dockerfileRuntimeStage();
        assertThat(runtime.get(0)).as("runtime base image").containsIgnoringCase("jre");

        List<String> users = runtime.stream().filter(l -> l.startsWith("USER ")).toList();
        assertThat(users).isNotEmpty();
        String user = users.get(users.size() - 1).substring(5).trim().split(":")[0];
        assertThat(user).isNotIn("0", "root");

        int serverPort = Integer.parseInt(resolve(app, "sync.http.port"));
        assertThat(runtime).anySatisfy(l -> assertThat(l).matches("EXPOSE .*\\b" + serverPort + "\\b.*"));

        int libCopy = indexOf(runtime, l -> l.startsWith("COPY") && l.contains("target/lib"));
        int jarCopy = indexOf(runtime, l -> l.startsWith("COPY") && l.contains("target/" + finalName + ".jar"));
        assertThat(libCopy).as("COPY target/lib").isNotNegative();
        assertThat(jarCopy).as("COPY target/%s.jar", finalName).isGreaterThan(libCopy);

        String entrypoint = runtime.stream().filter(l -> l.startsWith("ENTRYPOINT")).reduce((a, b) -> b).orElseThrow();
        assertThat(entrypoint).contains("\"-jar\"").containsPattern("\"[^\"]*/?" + Pattern.quote(finalName) + "\\.jar\"");
        String workdir = runtime.stream().filter(l -> l.startsWith("WORKDIR")).reduce((a, b) -> b).orElseThrow();
        assertThat(runtime.get(libCopy)).contains(workdir.substring(7).trim() + "/lib");

        String env = runtime.stream().filter(l -> l.startsWith("ENV")).collect(Collectors.joining("\n"));
        assertThat(env).contains("MaxRAMPercentage").contains("-Djava.io.tmpdir=/tmp")
                .as("the image's default stays the local mode: the profile is set by k8s").doesNotContain("CAMEL_MAIN_PROFILE");
        assertThat(Files.readString(ROOT.resolve(".dockerignore"))).contains("target").contains("data");

        // the image carries the service module alone: no emulator, demo or benchmark module is copied into it
        assertThat(runtime.stream().filter(l -> l.startsWith("COPY")))
                .allSatisfy(l -> assertThat(l).contains("/service/target/").doesNotContain("emulators").doesNotContain("demo")
                        .doesNotContain("bench"));
    }

    // ==== helpers ===========================================================================================

    /** The targets of sync.targets (the azure profile's value if it sets one). */
    static List<String> targets() {
        return TargetNames.parse(azure.getProperty("sync.targets", app.getProperty("sync.targets")));
    }

    /** The configured sagas (sync.sagas, sync.saga.NAME.steps; the azure profile's values over application.properties). */
    static Sagas sagas() {
        return Sagas.fromProperties(key -> azure.getProperty(key, app.getProperty(key)), targets());
    }

    /** Every subscription the app consumes on the changes topic: each target's, each saga step's compensation. */
    static List<String> subscriptions() {
        return sagas().subscriptions(targets()).stream().map(Sagas.Subscription::name).toList();
    }

    /** The environment variable Camel maps onto a property (upper case, "." and "-" as "_"). */
    static String envName(String property) {
        return property.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /**
     * What the pod's Camel sees: application.properties, application-azure.properties over it, and the pod's
     * environment (container env and the settings ConfigMap) over both, as Camel Main maps variables onto keys.
     */
    static Properties effectiveAzureProperties(Rendering r) {
        Properties effective = new Properties();
        effective.putAll(app);
        effective.putAll(azure);
        Map<String, String> env = new LinkedHashMap<>(env(container(r)));
        r.ofKind("ConfigMap").stream().filter(cm -> str(cm, "metadata", "name").startsWith("dataverse-sync-settings"))
                .forEach(cm -> map(cm, "data").forEach((k, v) -> env.put(k, String.valueOf(v))));
        for (String key : effective.stringPropertyNames()) {
            String value = env.get(envName(key));
            if (value != null) {
                effective.setProperty(key, value);
            }
        }
        return effective;
    }

    static Set<String> emittedSyncMetricNames() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Clock clock = Clock.fixed(Instant.ofEpochMilli(10_000), ZoneOffset.UTC);
        SyncMetrics metrics = new SyncMetrics(registry, clock);
        // the breaker gauge per target (TargetBreakers registers it for each target it is built with)
        new TargetBreakers(new TargetCatalog(List.of(new TargetSettings("customers", Set.of("account"),
                new TargetSettings.Auth(TargetSettings.AuthMode.NONE, null, null, null, null, null, null, null, null),
                new TargetSettings.WriteBack("new_targetrowid", "new_syncedhash", null),
                new TargetSettings.Breaker(50, 20, 10, Duration.ofSeconds(10), 3), 4, Duration.ofSeconds(1)))),
                new ErrorClassifier(clock), registry);
        new io.dataversesync.dataverse.DataverseBreaker(new io.dataversesync.dataverse.DataverseBreaker.Settings(50, 10, 5,
                Duration.ofSeconds(10), 3), registry);
        for (String outcome : List.of("ok", "retried", "dead_lettered")) {
            metrics.outcome("transform", outcome);
        }
        for (String outcome : List.of("delivered", "retried", "dead_lettered", "skipped")) {
            metrics.consumed("dataverse-outbound", outcome);
        }
        metrics.endToEnd(4_000L);
        Set<String> names = new LinkedHashSet<>();
        for (String line : registry.scrape().split("\n")) {
            if (!line.startsWith("#") && line.startsWith("dataverse_sync_")) {
                names.add(line.split("[{ ]", 2)[0]);
            }
        }
        registry.close();
        return names;
    }

    static Optional<Path> kubectl() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(File.pathSeparator)).map(p -> Paths.get(p, "kubectl"))
                .filter(Files::isExecutable).findFirst();
    }

    static List<Map<String, Object>> kustomize(Path kubectl, Path dir) throws Exception {
        Path out = Files.createTempFile("kustomize", ".yaml");
        Path err = Files.createTempFile("kustomize", ".err");
        try {
            Process p = new ProcessBuilder(kubectl.toString(), "kustomize", dir.toString())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("kubectl kustomize %s finished", dir).isTrue();
            assertThat(p.exitValue()).as("kubectl kustomize %s: %s", dir, Files.readString(err)).isZero();
            return loadAll(Files.readString(out));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The base without kubectl: resources, bases and configMapGenerators (files, literals); no patches. */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> readKustomization(Path dir) throws IOException {
        Map<String, Object> k = (Map<String, Object>) loadAll(read(dir.resolve("kustomization.yaml"))).get(0);
        List<Map<String, Object>> objects = new ArrayList<>();
        for (String key : List.of("bases", "resources")) {
            for (Object entry : (List<Object>) k.getOrDefault(key, List.of())) {
                Path p = dir.resolve(String.valueOf(entry)).normalize();
                objects.addAll(Files.isDirectory(p) ? readKustomization(p) : loadAll(read(p)));
            }
        }
        for (Map<String, Object> gen : (List<Map<String, Object>>) k.getOrDefault("configMapGenerator", List.of())) {
            Map<String, Object> data = new LinkedHashMap<>();
            for (Object f : (List<Object>) gen.getOrDefault("files", List.of())) {
                String[] kv = String.valueOf(f).split("=", 2);
                String file = kv.length == 2 ? kv[1] : kv[0];
                data.put(kv.length == 2 ? kv[0] : Paths.get(file).getFileName().toString(), read(dir.resolve(file)));
            }
            for (Object l : (List<Object>) gen.getOrDefault("literals", List.of())) {
                String[] kv = String.valueOf(l).split("=", 2);
                data.put(kv[0], kv[1]);
            }
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("apiVersion", "v1");
            cm.put("kind", "ConfigMap");
            cm.put("metadata", new LinkedHashMap<>(Map.of("name", gen.get("name"))));
            cm.put("data", data);
            objects.add(cm);
        }
        return objects;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> loadAll(String yaml) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Load(LoadSettings.builder().build()).loadAllFromString(yaml)) {
            if (doc != null) {
                docs.add((Map<String, Object>) doc);
            }
        }
        return docs;
    }

    static String dump(Rendering r) {
        return r.objects().stream().map(String::valueOf).collect(Collectors.joining("\n"));
    }

    static Map<String, Object> podSpec(Rendering r) {
        return map(r.one("Deployment", "dataverse-sync"), "spec", "template", "spec");
    }

    static Map<String, Object> container(Rendering r) {
        List<Map<String, Object>> containers = list(podSpec(r), "containers");
        return containers.stream().filter(c -> "dataverse-sync".equals(c.get("name"))).findFirst().orElseThrow();
    }

    static Map<String, String> env(Map<String, Object> container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Map<String, Object> e : list(container, "env")) {
            if (e.get("value") != null) {
                env.put(str(e, "name"), String.valueOf(e.get("value")));
            }
        }
        return env;
    }

    static String probePath(Map<String, Object> container, String probe) {
        String path = str(container, probe, "httpGet", "path");
        assertThat(path).as(probe).isNotNull();
        return path;
    }

    @SuppressWarnings("unchecked")
    static int preStopSleepSeconds(Map<String, Object> container) {
        Object sleep = get(container, "lifecycle", "preStop", "sleep", "seconds");
        if (sleep != null) {
            return ((Number) sleep).intValue();
        }
        List<Object> command = (List<Object>) get(container, "lifecycle", "preStop", "exec", "command");
        assertThat(command).as("preStop sleep").isNotNull();
        Matcher m = Pattern.compile("sleep\\s+(\\d+)").matcher(command.stream().map(String::valueOf).collect(Collectors.joining(" ")));
        assertThat(m.find()).as("preStop sleeps: %s", command).isTrue();
        return Integer.parseInt(m.group(1));
    }

    static int dockerfileUid() throws IOException {
        List<String> runtime = dockerfileRuntimeStage();
        String user = runtime.stream().filter(l -> l.startsWith("USER ")).reduce((a, b) -> b).orElseThrow();
        String uid = user.substring(5).trim().split(":")[0];
        assertThat(uid).as("numeric USER in the Dockerfile (needed for runAsNonRoot checks)").matches("\\d+");
        return Integer.parseInt(uid);
    }

    /** Instructions of the last stage, continuation lines joined, comments dropped. */
    static List<String> dockerfileRuntimeStage() throws IOException {
        List<String> instructions = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String raw : Files.readAllLines(ROOT.resolve("Dockerfile"))) {
            String line = raw.strip();
            if (line.startsWith("#") || (line.isEmpty() && current.isEmpty())) {
                continue;
            }
            boolean continues = line.endsWith("\\");
            current.append(continues ? line.substring(0, line.length() - 1) : line).append(' ');
            if (!continues) {
                instructions.add(current.toString().strip());
                current.setLength(0);
            }
        }
        int lastFrom = -1;
        for (int i = 0; i < instructions.size(); i++) {
            if (instructions.get(i).toUpperCase().startsWith("FROM ")) {
                lastFrom = i;
            }
        }
        assertThat(lastFrom).as("multi-stage Dockerfile").isGreaterThan(0);
        return instructions.subList(lastFrom, instructions.size());
    }

    static String pomFinalName() throws IOException {
        Matcher m = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(Files.readString(ROOT.resolve("service/pom.xml")));
        assertThat(m.find()).as("service/pom.xml finalName").isTrue();
        return m.group(1).trim();
    }

    static int indexOf(List<String> lines, java.util.function.Predicate<String> p) {
        for (int i = 0; i < lines.size(); i++) {
            if (p.test(lines.get(i))) {
                return i;
            }
        }
        return -1;
    }

    static Properties properties(Path file) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file); Reader reader = new java.io.InputStreamReader(in, StandardCharsets.UTF_8)) {
            p.load(reader);
        }
        return p;
    }

    static String prop(Properties p, String... keys) {
        for (String key : keys) {
            if (p.getProperty(key) != null) {
                return p.getProperty(key).trim();
            }
        }
        return null;
    }

    /** A property with {{...}} placeholders resolved against the same file. */
    static String resolve(Properties p, String key) {
        String value = p.getProperty(key);
        assertThat(value).as(key).isNotNull();
        Matcher m = Pattern.compile("\\{\\{([^}]+)}}").matcher(value.trim());
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(resolve(p, m.group(1))));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    @SafeVarargs
    static <T> T firstNonNull(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    static Object get(Object node, String... path) {
        Object current = node;
        for (String key : path) {
            if (!(current instanceof Map)) {
                return null;
            }
            current = ((Map<String, Object>) current).get(key);
        }
        return current;
    }

    static String str(Object node, String... path) {
        Object v = get(node, path);
        return v == null ? null : String.valueOf(v);
    }

    static int num(Object node, String... path) {
        Object v = get(node, path);
        assertThat(v).as(String.join(".", path)).isInstanceOf(Number.class);
        return ((Number) v).intValue();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object node, String... path) {
        Object v = get(node, path);
        return v instanceof Map ? (Map<String, Object>) v : Map.of();
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Object node, String... path) {
        Object v = get(node, path);
        return v instanceof List ? (List<Map<String, Object>>) v : List.of();
    }
}
