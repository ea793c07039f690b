package io.dataversesync.dataverse;

/**
 * The columns of each synced table that the write-back fills (custom columns, named per organisation).
 *
 * @param targetId       the Target Row ID
 * @param status         Synced / Failed
 * @param syncedAt       when the last successful sync finished
 * @param error          short reason of the last failure, cleared on success
 * @param errorMaxLength the error column's length in Dataverse (longer reasons are cut)
 * @param syncedHash     hash of the payload last delivered to the target: a notification whose mapped payload
 *                       has this hash (e.g. the echo of our own write-back) does not call the target again
 */
public record WriteBackColumns(String targetId, String status, String syncedAt, String error, int errorMaxLength, String syncedHash) {
}
