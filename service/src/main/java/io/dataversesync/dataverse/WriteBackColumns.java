package io.dataversesync.dataverse;

/**
 * The row-level columns of each synced table that the write-back fills (custom columns, named per organisation);
 * each target has its own columns besides (sync.target.NAME.writeback.*: its row id, hash and status).
 *
 * @param status         overall status: Synced (every target), Failed (one failed), Syncing (on its way)
 * @param syncedAt       when the last write-back happened
 * @param error          short reason of the last failure (naming the target), cleared when every target is Synced
 * @param errorMaxLength the error column's length in Dataverse (longer reasons are cut)
 */
public record WriteBackColumns(String status, String syncedAt, String error, int errorMaxLength) {
}
