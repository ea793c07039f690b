package io.dataversesync.reconcile;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dataversesync.sync.EntitySettings;
import io.dataversesync.target.TargetSettings;

/** One entity with the targets to compare it with, as a run plans it ({@link RunPlanner}) and fills it in. */
final class ReconcileJob {
    final EntitySettings entity;
    final List<TargetSettings> targets;
    final Map<String, ReconcileRequest.Compare> compare = new LinkedHashMap<>();
    final ObjectNode report;
    String deltaLink;

    ReconcileJob(EntitySettings entity, List<TargetSettings> targets, ObjectNode report) {
        this.entity = entity;
        this.targets = targets;
        this.report = report;
    }

    String deltaKey() {
        StringBuilder key = new StringBuilder(entity.logicalName());
        targets.stream().map(TargetSettings::name).sorted().forEach(t -> key.append('-').append(t));
        return key.toString();
    }
}
