package io.dataversesync.reconcile;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.sync.EntityCatalog;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.target.Sagas;
import io.dataversesync.target.TargetCatalog;
import io.dataversesync.target.TargetSettings;

/**
 * Turns a request into the run's jobs: which entities, which targets, compared how. Bad configuration or a request
 * the caller got wrong fails here ({@link ReconcileRequest.InvalidRequestException}), before anything is read.
 */
final class RunPlanner {
    private final EntityCatalog entities;
    private final TargetCatalog targets;
    private final Map<String, TargetReadContract> contracts;
    private final Sagas sagas;
    private final ObjectMapper json;

    RunPlanner(EntityCatalog entities, TargetCatalog targets, Map<String, TargetReadContract> contracts, Sagas sagas, ObjectMapper json) {
        this.entities = entities;
        this.targets = targets;
        this.contracts = contracts;
        this.sagas = sagas;
        this.json = json;
    }

    List<ReconcileJob> plan(ReconcileRequest request) {
        List<EntitySettings> chosen = new ArrayList<>();
        if (request.entity() != null) {
            chosen.add(entities.find(request.entity()).orElseThrow(() -> new ReconcileRequest.InvalidRequestException(
                    "unknown entity '" + request.entity().replaceAll("[^A-Za-z0-9_]", "?") + "': not configured for sync (configured: "
                            + entities.names() + ")")));
        } else {
            entities.all().forEach(chosen::add);
        }
        if (request.target() != null && targets.find(request.target()).isEmpty()) {
            throw new ReconcileRequest.InvalidRequestException("unknown target '" + request.target().replaceAll("[^A-Za-z0-9_-]", "?")
                    + "' (declared: " + targets.names() + ")");
        }
        List<ReconcileJob> jobs = new ArrayList<>();
        for (EntitySettings entity : chosen) {
            // a later saga step maps the row with what the steps before it answered and takes only what its saga
            // forwards: it is reconciled through its saga's first step (whose correction runs the saga again)
            List<TargetSettings> subscribed = targets.subscribersOf(entity.logicalName()).stream()
                    .filter(t -> request.target() == null || t.name().equals(request.target()))
                    .filter(t -> !sagas.isLaterStep(t.name())).toList();
            if (subscribed.isEmpty()) {
                if (request.entity() != null) {
                    throw new ReconcileRequest.InvalidRequestException("no target " + (request.target() == null ? "" : request.target() + " ")
                            + "subscribes to " + entity.logicalName() + (request.target() != null && sagas.isLaterStep(request.target())
                                    ? " that can be reconciled on its own: a later saga step is reconciled through its saga's first step" : ""));
                }
                continue;
            }
            ReconcileJob job = new ReconcileJob(entity, subscribed, json.createObjectNode());
            for (TargetSettings t : subscribed) {
                job.compare.put(t.name(), compare(request, t.name(), contracts.get(t.name())));
            }
            jobs.add(job);
        }
        if (jobs.isEmpty()) {
            throw new ReconcileRequest.InvalidRequestException("nothing to reconcile: no configured entity has a subscribed target");
        }
        return jobs;
    }

    /** How one target is compared: with what it holds where its read contract allows, else with the row's hash. */
    static ReconcileRequest.Compare compare(ReconcileRequest request, String target, TargetReadContract contract) {
        boolean canRead = request.mode() == ReconcileRequest.Mode.FULL ? contract.canList() : contract.canList() || contract.canReadByIds();
        if (request.compare() == ReconcileRequest.Compare.TARGET && !canRead) {
            throw new ReconcileRequest.InvalidRequestException("target " + target + " declares no read contract for a "
                    + request.mode().name().toLowerCase() + " compare with what it holds: set sync.target." + target
                    + ".read.list-path" + (request.mode() == ReconcileRequest.Mode.FULL ? "" : " or .read.by-ids-path")
                    + ", or ask for compare=hash");
        }
        return request.compare() == ReconcileRequest.Compare.HASH || !canRead ? ReconcileRequest.Compare.HASH : ReconcileRequest.Compare.TARGET;
    }
}
