package io.dataversesync.reconcile;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dataversesync.sync.Guids;

/**
 * Compares the Dataverse rows read for one target with that target: with its whole listing, with the records it
 * holds for the keys read (an incremental run, where it can read by keys), or with the hash stored on each row;
 * each key is classified by {@link DriftClassifier}.
 */
final class TargetComparer {
    /** What one target's comparison found. */
    static final class Result {
        final Map<DriftClass, List<String>> drift = new EnumMap<>(DriftClass.class);
        int rowsCompared;
        long compared;
        long targetRecords;
        long unmappable;
        long foreign;
        String firstMappingError;

        void add(DriftClass c, String key) {
            drift.computeIfAbsent(c, k -> new ArrayList<>()).add(key);
        }
    }

    private final TargetReader targetReader;
    private final ObjectMapper json;

    TargetComparer(TargetReader targetReader, ObjectMapper json) {
        this.targetReader = targetReader;
        this.json = json;
    }

    Result compare(String entity, TargetReadContract contract, boolean viaTarget, boolean full, DataverseRowReader.TargetRows rows,
            Set<String> deleted, ReconcileRun run) throws Exception {
        Result result = new Result();
        result.unmappable = rows.unmappable;
        result.firstMappingError = rows.firstMappingError;
        Map<String, DataverseRowReader.RowState> byKey = rows.byKey;
        if (viaTarget && (full || !contract.canReadByIds())) {
            // the whole listing: every record the target holds, checked against the rows read
            Set<String> seen = new HashSet<>();
            run.targetRequests += targetReader.list(contract, entity, records -> {
                for (TargetReader.Record record : records) {
                    result.targetRecords++;
                    if (!seen.add(record.key())) {
                        continue;
                    }
                    DataverseRowReader.RowState row = byKey.get(record.key());
                    if (!full && row == null && !deleted.contains(record.key())) {
                        continue; // incremental: only what changed since the last run
                    }
                    classify(result, record.key(), row, record.held(), true);
                }
            });
            for (Map.Entry<String, DataverseRowReader.RowState> row : byKey.entrySet()) {
                if (!seen.contains(row.getKey())) {
                    classify(result, row.getKey(), row.getValue(), null, true);
                }
            }
        } else if (viaTarget) {
            Set<String> keys = new LinkedHashSet<>(byKey.keySet());
            keys.addAll(deleted);
            Map<String, DriftClassifier.Held> held = targetReader.byIds(contract, entity, keys);
            run.targetRequests += (keys.size() + contract.pageSize() - 1) / contract.pageSize();
            result.targetRecords = held.size();
            for (String key : keys) {
                classify(result, key, byKey.get(key), held.get(key), true);
            }
        } else {
            for (Map.Entry<String, DataverseRowReader.RowState> row : byKey.entrySet()) {
                classify(result, row.getKey(), row.getValue(), null, false);
            }
            for (String key : deleted) {
                if (!byKey.containsKey(key)) {
                    classify(result, key, null, null, false);
                }
            }
        }
        result.rowsCompared = byKey.size();
        result.compared = byKey.size() + (full ? 0 : deleted.size());
        return result;
    }

    private void classify(Result result, String key, DataverseRowReader.RowState row, DriftClassifier.Held held, boolean targetRead) throws Exception {
        if (row == null && !Guids.isGuid(key)) {
            result.foreign++; // not a Dataverse row id: a record the sync never wrote
            return;
        }
        boolean compared = targetRead && held != null && !held.deleted();
        DriftClassifier.classify(row == null ? null : row.toRow(json, compared), held, targetRead).ifPresent(c -> result.add(c, key));
    }
}
