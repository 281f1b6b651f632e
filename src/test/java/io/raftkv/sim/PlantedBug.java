package io.raftkv.sim;

import java.util.Optional;

/**
 * Known bugs planted to prove that the simulation's checks have teeth ({@code PlantedBugsTest}).
 * Bugs of the node runtime are mutants of the production classes, made by
 * {@link io.raftkv.mutation.MutantLoader} (one boolean method returns a constant), so that
 * production code carries no test hook; the others are faults of the simulated environment or of
 * its clients. Bugs of the Raft core are planted the same way and caught by the core simulation:
 * {@code io.raftkv.raft.PlantedCoreBugsTest}.
 */
enum PlantedBug {
    /**
     * Runtime: a read whose ReadIndex round did not confirm leadership (a follower, a deposed
     * leader) is served from the node's own state machine at once (thesis §6.4).
     */
    RUNTIME_SERVES_UNCONFIRMED_READS("io.raftkv.node.NodeRuntime", "confirmed"),
    /**
     * Runtime: a Ready is never written (as if it only ever held messages), so nothing a node
     * promised survives a crash: its vote, its log, its commit index (Raft Figure 2).
     */
    RUNTIME_SKIPS_WRITES("io.raftkv.raft.Ready", "mustPersist", false),
    /**
     * Runtime: every message of a Ready leaves before its write is durable, so a crash in between
     * loses a vote or an acknowledged entry that already left (Raft Figure 2).
     */
    RUNTIME_SENDS_BEFORE_PERSIST("io.raftkv.raft.Ready", "mayLeaveBeforePersist"),
    /**
     * Environment: a disk that says a write is durable at once and writes it only after the fsync
     * delay (a lying write cache); a power loss in between loses what was promised.
     */
    SEND_BEFORE_PERSIST,
    /**
     * Environment, on FileStorage seeds: a drive that ignores flushes, so {@code FileChannel.force}
     * returns without making anything durable and a crash loses what FileStorage promised (its
     * vote, its log). What must catch it is the recovery check against the runtime's promises.
     */
    DISK_IGNORES_FSYNC,
    /** Clients send writes without a session (no clientId/seq) and still resend them after an unknown outcome. */
    RETRY_WITHOUT_SESSIONS;

    private final String mutatedClass;
    private final String mutatedMethod;
    private final boolean returns;

    PlantedBug() {
        this(null, null, true);
    }

    PlantedBug(String mutatedClass, String mutatedMethod) {
        this(mutatedClass, mutatedMethod, true);
    }

    PlantedBug(String mutatedClass, String mutatedMethod, boolean returns) {
        this.mutatedClass = mutatedClass;
        this.mutatedMethod = mutatedMethod;
        this.returns = returns;
    }

    /** For bugs of the node's code: the class and its boolean method that the mutant makes return a constant. */
    Optional<String[]> mutant() {
        return mutatedClass == null ? Optional.empty() : Optional.of(new String[] {mutatedClass, mutatedMethod});
    }

    /** The constant the mutated method returns. */
    boolean mutantReturns() {
        return returns;
    }
}
