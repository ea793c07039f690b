package io.dataversesync;

import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.dataverse.DataverseBreaker;
import io.dataversesync.dataverse.DataverseBreakerHealthCheck;
import io.dataversesync.dataverse.DataverseClient;
import io.dataversesync.dataverse.DataverseCostEstimator;
import io.dataversesync.dataverse.DataverseHops;
import io.dataversesync.dataverse.DataverseRequestGate;
import io.dataversesync.dataverse.DataverseUsers;
import io.dataversesync.dataverse.WriteBackColumns;
import io.dataversesync.policy.ErrorClassifier;
import io.dataversesync.policy.SyncPolicy;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.SyncDedupe;
import io.dataversesync.sync.SyncMessages;
import io.dataversesync.sync.SyncMetrics;
import io.dataversesync.target.Sagas;
import io.dataversesync.target.TargetAuth;
import io.dataversesync.target.TargetBreakers;
import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetPaths;
import io.dataversesync.transport.ArtemisTransport;
import io.dataversesync.transport.ServiceBusTransport;
import io.dataversesync.transport.Transport;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.Configuration;
import org.apache.camel.Predicate;
import org.apache.camel.PropertyInject;

/**
 * Every bean the routes use, declared in one place: each {@code @BindToRegistry} method is one bean, named as the
 * routes refer to it, and each setting comes from a property ({@code @PropertyInject} without a default: the one
 * place that holds every default is application.properties, so a missing key fails at start-up instead of
 * drifting). Java wiring is kept only where it must choose: the transport ({@code sync.transport}) and the
 * Dataverse application users ({@link DataverseUsers}). The embedded broker is declared with the local transport
 * ({@code io.dataversesync.broker.EmbeddedBrokerConfiguration}).
 */
@Configuration
public class SyncBeans implements CamelContextAware {
    private CamelContext context;

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.context = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return context;
    }

    @BindToRegistry
    public Clock clock() {
        return Clock.systemUTC();
    }

    @BindToRegistry
    public ObjectMapper syncJson() {
        return new ObjectMapper();
    }

    /** One registry for Camel's metrics and ours, so /observe/metrics shows both. */
    @BindToRegistry
    public MeterRegistry metricsRegistry() {
        MeterRegistry existing = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        return existing != null ? existing : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    /** sync.entities and, per entity, sync.entity.NAME.* (read by key: the entity names are data). */
    @BindToRegistry
    public EntityCatalog entityCatalog() {
        return EntityCatalog.fromProperties(key -> context.getPropertiesComponent().resolveProperty(key).orElse(null));
    }

    /** sync.targets and, per target, sync.target.NAME.* (the contract of each is its file in routes/targets/). */
    @BindToRegistry
    public TargetCatalog targetCatalog(EntityCatalog entityCatalog) {
        return TargetCatalog.fromProperties(key -> context.getPropertiesComponent().resolveProperty(key).orElse(null), entityCatalog);
    }

    /** sync.sagas and, per saga, sync.saga.NAME.steps: ordered chains of declared targets. */
    @BindToRegistry
    public Sagas sagas(TargetCatalog targetCatalog) {
        Sagas sagas = Sagas.fromProperties(key -> context.getPropertiesComponent().resolveProperty(key).orElse(null),
                targetCatalog.all().stream().map(t -> t.name()).toList());
        // a later step that does not subscribe to a table of the first step would skip the forward: the saga would stop
        for (Sagas.Saga saga : sagas.all()) {
            var first = targetCatalog.get(saga.steps().get(0));
            for (String step : saga.steps()) {
                if (!targetCatalog.get(step).entities().containsAll(first.entities())) {
                    throw new IllegalArgumentException("step " + step + " of saga " + saga.name() + " must subscribe to the tables of its first step "
                            + first.name() + " " + first.entities() + ": set sync.target." + step + ".entities");
                }
            }
        }
        return sagas;
    }

    @BindToRegistry
    public SyncMessages syncMessages(ObjectMapper syncJson, EntityCatalog entityCatalog, TargetCatalog targetCatalog, Sagas sagas, Clock clock,
            @PropertyInject("sync.snapshot.max-age-ms") long snapshotMaxAgeMs) {
        return new SyncMessages(syncJson, entityCatalog, targetCatalog, sagas, clock, snapshotMaxAgeMs);
    }

    /** One circuit breaker and bulkhead per target (the admit / succeeded steps of routes/target-template.camel.yaml). */
    @BindToRegistry
    public TargetBreakers targetBreakers(TargetCatalog targetCatalog, MeterRegistry metricsRegistry, Clock clock) {
        TargetBreakers breakers = new TargetBreakers(targetCatalog, new ErrorClassifier(clock), metricsRegistry);
        context.getRegistry().bind("targetBreakersHealthCheck", new io.dataversesync.target.TargetBreakersHealthCheck(breakers));
        return breakers;
    }

    /** Settings per consumer route (sync.policy.ROUTE_ID.KEY) fall back to sync.policy.KEY. */
    @BindToRegistry
    public SyncPolicy syncPolicy(Clock clock) {
        // the breakers are looked up when a failure is decided: bean methods are not called in a fixed order
        return new SyncPolicy(new ErrorClassifier(clock), key -> context.getPropertiesComponent().resolveProperty(key).orElse(null), clock,
                (exchange, failure) -> context.getRegistry().lookupByNameAndType("targetBreakers", TargetBreakers.class).holdFor(exchange, failure)
                        .or(() -> context.getRegistry().lookupByNameAndType("dataverseBreaker", DataverseBreaker.class).holdFor(exchange, failure)));
    }

    @BindToRegistry
    public SyncMetrics syncMetrics(MeterRegistry metricsRegistry, Clock clock) {
        return new SyncMetrics(metricsRegistry, clock);
    }

    /** How message envelopes map to the transport's headers; the transport's routes are routes/transport/NAME.camel.yaml. */
    @BindToRegistry
    public Transport syncTransport(@PropertyInject("sync.transport") String transport, Clock clock) {
        return switch (transport.trim()) {
            case "artemis" -> new ArtemisTransport(clock);
            case "servicebus" -> new ServiceBusTransport(clock);
            default -> throw new IllegalArgumentException("sync.transport must be artemis or servicebus, was " + transport);
        };
    }

    /** Each target's credentials (sync.target.NAME.auth): secrets resolved on first use, OAuth2 tokens cached. */
    @BindToRegistry
    public TargetAuth targetAuth(TargetCatalog targetCatalog, @PropertyInject("sync.target.secret-cache-seconds") long cacheSeconds,
            ObjectMapper syncJson, Clock clock) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        return new TargetAuth(targetCatalog, key -> context.resolvePropertyPlaceholders("{{" + key + "}}"), Duration.ofSeconds(cacheSeconds),
                clock, http, syncJson);
    }

    @BindToRegistry
    public TargetPaths targetPaths() {
        return new TargetPaths();
    }

    @BindToRegistry
    public SyncDedupe syncDedupe(@PropertyInject("sync.dedupe.enabled") boolean enabled,
            @PropertyInject("sync.dedupe.clock-skew-ms") long clockSkewMs, @PropertyInject("sync.dedupe.max-rows") int maxRows) {
        return new SyncDedupe(enabled, clockSkewMs, maxRows);
    }

    /**
     * SyncDedupe's two questions as the predicates of the routes' filters ({@code ref: alreadyDelivered}): the bean
     * method language copies the whole exchange for every evaluation (docs/decisions.md "CPU per change").
     */
    @BindToRegistry(lazy = true)
    public Predicate alreadyDelivered(SyncDedupe syncDedupe) {
        return syncDedupe::alreadyDelivered;
    }

    @BindToRegistry(lazy = true)
    public Predicate payloadUnchanged(SyncDedupe syncDedupe) {
        return syncDedupe::unchanged;
    }

    @BindToRegistry
    public DataverseClient dataverseClient(@PropertyInject("dataverse.url") String url,
            @PropertyInject("dataverse.timeout-ms") long timeoutMs,
            @PropertyInject("dataverse.auth.mode") String mode,
            @PropertyInject("dataverse.auth.scope") String scope,
            @PropertyInject("dataverse.auth.token-url") String tokenUrl,
            @PropertyInject("dataverse.auth.tenant-id") String tenantId,
            @PropertyInject("dataverse.auth.client-id") String clientIds,
            @PropertyInject("dataverse.auth.client-secret") String clientSecrets,
            @PropertyInject("dataverse.limits.enabled") boolean pacing,
            @PropertyInject("dataverse.limits.requests-per-window") int requestsPerWindow,
            @PropertyInject("dataverse.limits.window-seconds") long windowSeconds,
            @PropertyInject("dataverse.limits.headroom") double headroom,
            @PropertyInject("dataverse.limits.max-concurrent") int maxConcurrent,
            @PropertyInject("dataverse.limits.max-wait-ms") long maxWaitMs,
            @PropertyInject("dataverse.limits.execution-ms-per-window") long executionMsPerWindow,
            @PropertyInject("dataverse.limits.max-request-cost-ms") long maxRequestCostMs,
            @PropertyInject("dataverse.limits.time-remaining-unit-ms") long timeRemainingUnitMs,
            @PropertyInject("dataverse.limits.cost.read-row-ms") double readRowMs,
            @PropertyInject("dataverse.limits.cost.write-ms") double writeMs,
            @PropertyInject("dataverse.limits.cost.request-ms") double requestMs,
            @PropertyInject("dataverse.limits.cost.learning-rate") double learningRate,
            @PropertyInject("dataverse.limits.cost.learn-from-durations") boolean learnFromDurations,
            ObjectMapper syncJson, Clock clock, MeterRegistry metricsRegistry) {
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        var limits = new DataverseRequestGate.Limits(requestsPerWindow, executionMsPerWindow, Duration.ofSeconds(windowSeconds), headroom,
                maxConcurrent, Duration.ofMillis(maxWaitMs));
        var users = DataverseUsers.create(new DataverseUsers.Settings(mode.trim(), scope.trim(), tokenUrl.trim(), tenantId,
                clientIds, clientSecrets, pacing, limits, new DataverseCostEstimator.Priors(readRowMs, writeMs, requestMs), learningRate,
                learnFromDurations),
                http, syncJson, clock, metricsRegistry);
        return new DataverseClient(http, url.trim(), users, syncJson, Duration.ofMillis(timeoutMs), maxRequestCostMs,
                timeRemainingUnitMs, clock, metricsRegistry);
    }

    /** The enrich, write-back and mark-failed hops: coalesced reads (sync.coalesce.*), batched writes (sync.writeback.batch.*). */
    @BindToRegistry
    public DataverseHops dataverse(DataverseClient dataverseClient, EntityCatalog entityCatalog, TargetCatalog targetCatalog,
            ObjectMapper syncJson, Clock clock,
            @PropertyInject("sync.writeback.status-column") String statusColumn,
            @PropertyInject("sync.writeback.synced-at-column") String syncedAtColumn,
            @PropertyInject("sync.writeback.error-column") String errorColumn,
            @PropertyInject("sync.writeback.error-max-length") int errorMaxLength,
            @PropertyInject("sync.coalesce.enabled") boolean coalesce,
            @PropertyInject("sync.coalesce.window-ms") long coalesceWindowMs,
            @PropertyInject("sync.coalesce.retry-window-ms") long coalesceRetryWindowMs,
            @PropertyInject("sync.coalesce.max-rows") int coalesceMaxRows,
            @PropertyInject("sync.writeback.batch.enabled") boolean batch,
            @PropertyInject("sync.writeback.batch.window-ms") long batchWindowMs,
            @PropertyInject("sync.writeback.batch.max-rows") int batchMaxRows,
            @PropertyInject("sync.consumers.ack") int ackConsumers,
            @PropertyInject("sync.queue.outbound") String outboundQueue,
            @PropertyInject("sync.consumers.outbound") int outboundConsumers,
            @PropertyInject("sync.consumers.subscriber") int subscriberConsumers,
            @PropertyInject("sync.writeback.overall-status") String overallStatus,
            @PropertyInject("sync.writeback.retrying-status.enabled") boolean retryingStatus,
            @PropertyInject("sync.writeback.next-attempt-column") String nextAttemptColumn,
            @PropertyInject("dataverse.timeout-ms") long timeoutMs,
            @PropertyInject("sync.batching.age-share") double ageShare,
            @PropertyInject("sync.batching.spare-budget-below") double spareBudgetBelow,
            @PropertyInject("sync.batching.max-in-flight") int maxInFlight) {
        WriteBackColumns columns = new WriteBackColumns(statusColumn.trim(), syncedAtColumn.trim(), errorColumn.trim(), errorMaxLength);
        // a caller waits for its batch's answer at most its window (a late change waits it whole) plus two request
        // timeouts (it may wait for pacing before it is sent): shorter, a late write-back timed out in every attempt
        // whenever the window approached the timeouts (FaultSoakTest: a 2 s window against 1 s timeouts)
        Duration readWait = Duration.ofMillis(Math.max(coalesceWindowMs, coalesceRetryWindowMs) + timeoutMs * 2);
        Duration writeWait = Duration.ofMillis(batchWindowMs + timeoutMs * 2);
        // threads owned by Camel: shut down with the context
        var executors = context.getExecutorServiceManager();
        DataverseHops hops = new DataverseHops(dataverseClient, entityCatalog, targetCatalog, columns, syncJson, clock,
                new DataverseHops.Batching(coalesce, Duration.ofMillis(coalesceWindowMs), Duration.ofMillis(coalesceRetryWindowMs),
                        coalesceMaxRows, readWait),
                // write-backs come from the ack consumers only, each waiting for its batch: once every one of them is
                // in the open batch nothing else can join it, so it goes at once, and the long window only ever
                // waits while acks trickle in (when a short one would send them a row or two per request)
                new DataverseHops.Batching(batch, Duration.ofMillis(batchWindowMs), Math.min(batchMaxRows, Math.max(1, ackConsumers)), writeWait),
                executors.newScheduledThreadPool(this, "dataverse-batch-timer", 1),
                executors.newCachedThreadPool(this, "dataverse-batch"));
        boolean byFormula = switch (overallStatus.trim()) {
            case "service" -> false;
            case "formula" -> true;
            default -> throw new IllegalArgumentException("sync.writeback.overall-status must be service or formula, was " + overallStatus);
        };
        if (byFormula) {
            targetCatalog.all().stream().filter(t -> t.writeBack().statusColumn() == null).findFirst().ifPresent(t -> {
                throw new IllegalArgumentException("sync.writeback.overall-status = formula computes the overall status from every "
                        + "target's status: set sync.target." + t.name() + ".writeback.status-column");
            });
        }
        // the queues whose messages read late: the outbound queue (retries) and every target's queue on the topic
        hops.lateReadThreads(queue -> queue.equals(outboundQueue) ? outboundConsumers : subscriberConsumers);
        hops.overallStatusByFormula(byFormula);
        hops.retryingStatus(retryingStatus ? nextAttemptColumn : null);
        hops.batchWait(new io.dataversesync.dataverse.BatchWait(ageShare, spareBudgetBelow), maxInFlight);
        return hops;
    }

    // ---- outbox relay, intake relay, Retrying status (issue 9) -------------------------------------------------

    /** Starts routes/outbox-relay.camel.yaml's timer only when sync.outbox.enabled. */
    @BindToRegistry
    public io.dataversesync.sync.OptionalRoute outboxRelaySwitch(@PropertyInject("sync.outbox.enabled") boolean enabled) {
        return new io.dataversesync.sync.OptionalRoute(enabled);
    }

    /** Starts routes/intake-relay.camel.yaml's consumer only when sync.intake.enabled. */
    @BindToRegistry
    public io.dataversesync.sync.OptionalRoute intakeRelaySwitch(@PropertyInject("sync.intake.enabled") boolean enabled) {
        return new io.dataversesync.sync.OptionalRoute(enabled);
    }

    /** The outbox table as the plug-in writes it (sync.outbox.*) and the relay's Dataverse side. */
    @BindToRegistry
    public io.dataversesync.outbox.OutboxRelay outboxRelay(DataverseClient dataverseClient, EntityCatalog entityCatalog,
            ObjectMapper syncJson, Clock clock, MeterRegistry metricsRegistry,
            @PropertyInject("sync.outbox.entity-set") String entitySet,
            @PropertyInject("sync.outbox.id-column") String idColumn,
            @PropertyInject("sync.outbox.columns.entity") String entityColumn,
            @PropertyInject("sync.outbox.columns.row-id") String rowIdColumn,
            @PropertyInject("sync.outbox.columns.correlation-id") String correlationIdColumn,
            @PropertyInject("sync.outbox.columns.status") String statusColumn,
            @PropertyInject("sync.outbox.columns.error") String errorColumn,
            @PropertyInject("sync.outbox.columns.created") String createdColumn,
            @PropertyInject("sync.outbox.status.pending") String pending,
            @PropertyInject("sync.outbox.status.failed") String failed,
            @PropertyInject("sync.outbox.status.invalid") String invalid,
            @PropertyInject("sync.outbox.stale-after-ms") long staleAfterMs,
            @PropertyInject("sync.outbox.page-size") int pageSize,
            @PropertyInject("sync.outbox.max-per-run") int maxPerRun,
            @PropertyInject("sync.outbox.error-max-length") int errorMaxLength) {
        var table = new io.dataversesync.sync.EntitySettings(entitySet.trim(), entitySet.trim(), idColumn.trim(), java.util.List.of(),
                io.dataversesync.sync.EntitySettings.OnDeleted.DELETE);
        var settings = new io.dataversesync.outbox.OutboxSettings(table, entityColumn.trim(), rowIdColumn.trim(), correlationIdColumn.trim(),
                statusColumn.trim(), errorColumn.trim(), createdColumn.trim(), pending.trim(), failed.trim(), invalid.trim(),
                Duration.ofMillis(staleAfterMs), pageSize, maxPerRun, errorMaxLength);
        return new io.dataversesync.outbox.OutboxRelay(dataverseClient, settings,
                new io.dataversesync.outbox.OutboxRecords(settings, entityCatalog), syncJson, clock, metricsRegistry);
    }

    // ---- Dataverse circuit breaker (issue 11: an outage of Dataverse holds messages, it never dead-letters them) ----

    /**
     * The Dataverse Web API's breaker (dataverse.breaker.*): every request of the client passes it, the policy holds
     * what it refuses, health says degraded while it is not closed.
     */
    @BindToRegistry
    public DataverseBreaker dataverseBreaker(DataverseClient dataverseClient, MeterRegistry metricsRegistry,
            @PropertyInject("dataverse.breaker.failure-rate") int failureRate,
            @PropertyInject("dataverse.breaker.window-size") int windowSize,
            @PropertyInject("dataverse.breaker.minimum-calls") int minimumCalls,
            @PropertyInject("dataverse.breaker.open-ms") long openMs,
            @PropertyInject("dataverse.breaker.half-open-calls") int halfOpenCalls) {
        DataverseBreaker breaker = new DataverseBreaker(new DataverseBreaker.Settings(failureRate, windowSize, minimumCalls,
                Duration.ofMillis(openMs), halfOpenCalls), metricsRegistry);
        dataverseClient.guardWith(breaker);
        context.getRegistry().bind("dataverseBreakerHealthCheck", new DataverseBreakerHealthCheck(breaker));
        return breaker;
    }

    // ---- operations: dead-letter console API, audit, on-demand sync, authentication (io.dataversesync.ops) ----------

    /** The queues the console serves: outbound, ack, each subscription of the changes topic (and, on Artemis, the topic's safety net). */
    @BindToRegistry
    public io.dataversesync.ops.OpsQueues opsQueues(Sagas sagas, @PropertyInject("sync.transport") String transport,
            @PropertyInject("sync.queue.outbound") String outbound, @PropertyInject("sync.queue.ack") String ack,
            @PropertyInject("sync.topic.changes") String topic, @PropertyInject("sync.targets") String targets) {
        return new io.dataversesync.ops.OpsQueues(java.util.List.of(outbound.trim(), ack.trim()), topic.trim(),
                sagas.subscriptions(io.dataversesync.target.TargetNames.parse(targets)), "artemis".equals(transport.trim()));
    }

    /** Who may use /ops (sync.ops.auth = local | entra). */
    @BindToRegistry
    public io.dataversesync.ops.OpsAuth opsAuth(@PropertyInject("sync.ops.auth") String mode,
            @PropertyInject("sync.ops.local-key") String localKey,
            @PropertyInject("sync.ops.entra.jwks-url") String jwksUrl,
            @PropertyInject("sync.ops.entra.issuer") String issuer,
            @PropertyInject("sync.ops.entra.audience") String audience,
            @PropertyInject("sync.ops.entra.reader-role") String readerRole,
            @PropertyInject("sync.ops.entra.operator-role") String operatorRole) {
        return io.dataversesync.ops.OpsAuth.fromSettings(mode, localKey, jwksUrl, issuer, audience, readerRole, operatorRole);
    }

    /** The dead-letter queues of the transport: Artemis in-process (the broker is bound later: looked up on use) or Service Bus. */
    @BindToRegistry
    public io.dataversesync.ops.DeadLetterStore deadLetterStore(@PropertyInject("sync.transport") String transport, ObjectMapper syncJson,
            @PropertyInject("sync.ops.servicebus.namespace") String namespace) {
        if ("servicebus".equals(transport.trim())) {
            return new io.dataversesync.ops.ServiceBusDeadLetters(io.dataversesync.ops.ServiceBusDeadLetters.clients(namespace.trim()), syncJson);
        }
        return new io.dataversesync.ops.ArtemisDeadLetters(
                () -> context.getRegistry().lookupByNameAndType("artemisConnectionFactory", jakarta.jms.ConnectionFactory.class),
                () -> context.getRegistry().lookupByNameAndType("embeddedBroker", io.dataversesync.broker.EmbeddedBroker.class), syncJson);
    }

    @BindToRegistry
    public io.dataversesync.ops.OpsMetrics opsMetrics(MeterRegistry metricsRegistry, Clock clock, @PropertyInject("sync.ops.metrics.keep") int keep) {
        return new io.dataversesync.ops.OpsMetrics(metricsRegistry, clock, keep);
    }

    @BindToRegistry
    public io.dataversesync.ops.OpsHttp opsHttp(ObjectMapper syncJson) {
        return new io.dataversesync.ops.OpsHttp(syncJson);
    }

    /** The API's logic (routes/ops-api.camel.yaml): selection, replay, purge, audit, on-demand sync. */
    @BindToRegistry
    public io.dataversesync.ops.OpsApi opsApi(io.dataversesync.ops.DeadLetterStore deadLetterStore, io.dataversesync.ops.OpsQueues opsQueues,
            io.dataversesync.ops.OpsMetrics opsMetrics, DataverseClient dataverseClient, EntityCatalog entityCatalog, ObjectMapper syncJson,
            Clock clock, @PropertyInject("sync.transport") String transport,
            @PropertyInject("sync.ops.audit.file") String auditFile,
            @PropertyInject("sync.ops.replay.rate-per-second") double replayRate,
            @PropertyInject("sync.ops.page-size-default") int pageSizeDefault,
            @PropertyInject("sync.ops.page-size-max") int pageSizeMax,
            @PropertyInject("sync.ops.scan-max") int scanMax,
            @PropertyInject("sync.ops.max-ids") int maxIds,
            @PropertyInject("sync.ops.audit.max-read") int auditMax,
            @PropertyInject("sync.ops.sync.max-rows") int syncMaxRows,
            @PropertyInject("sync.ops.sync.page-size") int syncPageSize,
            @PropertyInject("sync.ops.sync.max-filter-length") int maxFilterLength) {
        return new io.dataversesync.ops.OpsApi(deadLetterStore, opsQueues,
                new io.dataversesync.ops.OpsAudit(java.nio.file.Path.of(auditFile.trim()), syncJson, clock),
                new io.dataversesync.ops.ReplayPacer(clock, replayRate),
                new io.dataversesync.ops.OnDemandSync(dataverseClient, entityCatalog, syncJson, syncMaxRows, syncPageSize, maxFilterLength),
                opsMetrics, syncJson, new io.dataversesync.ops.OpsApi.Limits(pageSizeMax, pageSizeDefault, scanMax, maxIds, auditMax),
                !"servicebus".equals(transport.trim()), transport.trim());
    }

    // ---- reconciliation (issue 10): nightly and on-demand drift detection and correction, routes/reconcile.camel.yaml ----

    /** The reconciliation's reports and delta links, durable (sync.reconcile.data-dir). */
    @BindToRegistry
    public io.dataversesync.reconcile.ReportStore reconcileReports(@PropertyInject("sync.reconcile.data-dir") String dataDir,
            @PropertyInject("sync.reconcile.report.keep") int keep, ObjectMapper syncJson) {
        return new io.dataversesync.reconcile.ReportStore(java.nio.file.Path.of(dataDir.trim()), keep, syncJson);
    }

    /**
     * One reconciliation run per call ({@code direct:reconcile}, or {@code Reconciler.run(ReconcileRequest)} from Java):
     * reads within sync.reconcile.budget-share of the Dataverse budget, corrections through the outbound queue.
     * Lazy: bound when first looked up (by its routes, at start), once every bean it takes is in the registry;
     * Camel calls the methods of a configuration class in the order reflection gives, not the order written here.
     */
    @BindToRegistry(lazy = true)
    public io.dataversesync.reconcile.Reconciler reconciler(DataverseClient dataverseClient, DataverseHops dataverse,
            EntityCatalog entityCatalog, TargetCatalog targetCatalog, Sagas sagas, TargetAuth targetAuth, SyncMessages syncMessages,
            io.dataversesync.reconcile.ReportStore reconcileReports, MeterRegistry metricsRegistry, ObjectMapper syncJson, Clock clock,
            io.dataversesync.mapping.Mappings mappings,
            @PropertyInject("sync.reconcile.page-size") int pageSize,
            @PropertyInject("sync.reconcile.report.examples") int examples,
            @PropertyInject("sync.reconcile.budget-share") double budgetShare,
            @PropertyInject("sync.reconcile.correction-senders") int correctionSenders,
            @PropertyInject("sync.writeback.status-column") String statusColumn,
            @PropertyInject("dataverse.limits.requests-per-window") int requestsPerWindow,
            @PropertyInject("dataverse.limits.execution-ms-per-window") long executionMsPerWindow,
            @PropertyInject("dataverse.limits.window-seconds") long windowSeconds,
            @PropertyInject("dataverse.limits.headroom") double headroom) {
        java.util.function.Function<String, String> property = key -> context.getPropertiesComponent().resolveProperty(key).orElse(null);
        var limits = new DataverseRequestGate.Limits(requestsPerWindow, executionMsPerWindow, Duration.ofSeconds(windowSeconds), headroom, 1,
                Duration.ZERO);
        var share = new io.dataversesync.dataverse.BudgetShare(budgetShare, limits, dataverseClient.userCount(), clock);
        var contracts = io.dataversesync.reconcile.TargetReadContract.fromProperties(property, targetCatalog);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        var reader = new io.dataversesync.reconcile.TargetReader(http, targetAuth, context, syncJson, property);
        if (pageSize < 1 || pageSize > DataverseClient.MAX_PAGE_SIZE) {
            throw new IllegalArgumentException("sync.reconcile.page-size must be 1.." + DataverseClient.MAX_PAGE_SIZE + ", was " + pageSize);
        }
        return new io.dataversesync.reconcile.Reconciler(dataverseClient, dataverse, entityCatalog, targetCatalog, contracts, sagas, reader,
                new io.dataversesync.reconcile.PayloadMapper(context, mappings, syncMessages),
                new io.dataversesync.reconcile.NotificationCorrector(context, syncJson, clock), share, reconcileReports,
                new io.dataversesync.reconcile.ReconcileMetrics(metricsRegistry), syncJson, clock,
                new io.dataversesync.reconcile.Reconciler.Settings(pageSize, examples, statusColumn.trim(), correctionSenders));
    }

    /** POST /ops/api/reconcile and GET /ops/api/reconcile/reports (routes/ops-api.camel.yaml): reconciliation on demand. */
    @BindToRegistry
    public io.dataversesync.ops.OpsReconcile opsReconcile(ObjectMapper syncJson) {
        return new io.dataversesync.ops.OpsReconcile(context, context.createProducerTemplate(), syncJson);
    }

    // ---- mappings compiled once (mapping-cache) ---------------------------------------------------------------
    /**
     * Hop 3's mappings (routes/target-delivery.camel.yaml, apply-mapping / apply-deleted-mapping) and the
     * reconciliation's: each compiled once, compiled again when its file under a file: location changes.
     */
    @BindToRegistry
    public io.dataversesync.mapping.Mappings mappings(@PropertyInject("sync.mappings.location") String location) {
        return new io.dataversesync.mapping.Mappings(context, location);
    }
}
