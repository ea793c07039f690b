package io.dataversesync.dataverse;

/**
 * One Dataverse application user: its tokens and, when pacing is on, its share of the service protection
 * limits (which Dataverse counts per user). Several users spread the load, as Microsoft advises.
 *
 * @param gate null when pacing is off (the reference design: every message sends at once)
 */
public record DataverseUser(String name, DataverseTokenProvider tokens, DataverseRequestGate gate) {
}
