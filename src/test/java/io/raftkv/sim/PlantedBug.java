package io.raftkv.sim;

/**
 * Known bugs the simulation can plant in its own driver or clients, to prove that its checks have
 * teeth ({@code PlantedBugsTest}). All but the Figure 8 bug live in the simulation's own driver or clients.
 */
enum PlantedBug {
    /** The leader answers a get from its own state machine at once, without a ReadIndex round (thesis §6.4). */
    LOCAL_READS,
    /**
     * The driver sends a Ready's messages before its hard state and entries are on disk, and the
     * write completes only after the simulated fsync, so a crash in between loses a vote or an
     * acknowledged entry that already left (Raft Figure 2, "before responding to RPCs").
     */
    SEND_BEFORE_PERSIST,
    /** Clients send writes without a session (no clientId/seq) and still resend them after an unknown outcome. */
    RETRY_WITHOUT_SESSIONS,
    /**
     * The leader commits an entry of an older term as soon as a majority holds it (Raft §5.4.2,
     * Figure 8). The one planted bug that lives in the core: a package-private hook in
     * {@code RaftNode.maybeCommit}, off unless {@code io.raftkv.raft.PlantedBugs} sets it.
     */
    COMMIT_OLD_TERM_BY_COUNTING
}
