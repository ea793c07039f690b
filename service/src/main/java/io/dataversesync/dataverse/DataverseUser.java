package io.dataversesync.dataverse;

/**
 * One Dataverse application user: its tokens, its cost estimator and, when pacing is on, its share of the
 * service protection limits (which Dataverse counts per user). Several users spread the load, as Microsoft advises.
 *
 * @param gate  null when pacing is off (the reference design: every message sends at once)
 * @param costs what this user's requests cost in execution time, learned from this user's answers
 */
public record DataverseUser(String name, DataverseTokenProvider tokens, DataverseRequestGate gate, DataverseCostEstimator costs) {
}
