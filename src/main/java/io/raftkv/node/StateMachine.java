package io.raftkv.node;

/**
 * What the runtime replicates: a deterministic state machine fed committed commands in log order
 * (Raft §5.3; Apache Ratis's {@code StateMachine} is the model). The runtime never decodes a
 * command; it hands bytes in and results out. Called only from the runtime's thread.
 *
 * @param <R> what applying a command returns to the client that proposed it
 */
public interface StateMachine<R> {
    /**
     * On the leader, before a command enters the log (Ratis's {@code startTransaction}): returns the
     * entry's data, e.g. the command stamped with {@code clusterTimeMs}, the cluster's clock
     * (see {@link NodeRuntime}). May return {@code command} itself, changed in place.
     */
    byte[] prepare(byte[] command, long clusterTimeMs);

    /** Applies the command committed at {@code index}; indexes only grow. */
    R apply(long index, byte[] command);

    /** Marks an entry that is no command (the leader's no-op, a configuration entry) at {@code index} as applied. */
    void applyNoop(long index);

    /** Index of the last entry applied (or restored from a snapshot). */
    long appliedIndex();

    /**
     * The newest cluster time carried by an applied command (0 when there is none): a new leader's
     * cluster clock starts from it, never from its own wall clock.
     */
    long clusterTimeMs();

    /**
     * On the leader, once a tick: a command the state machine wants in the log now (e.g. leases
     * that expired on the cluster clock), or null. The runtime proposes it like a write whose
     * answer nobody waits for; the state machine decides again when it applies.
     */
    default byte[] housekeeping(long clusterTimeMs) {
        return null;
    }

    /** A point-in-time copy of the whole state, cheap enough for the runtime's thread. */
    Image capture();

    /**
     * Replaces the whole state with a snapshot made by {@link Image#encode()}; a snapshot that does
     * not decode throws {@link IllegalArgumentException} and leaves the state as it was. If
     * {@code snapshot} is the very object {@link #validate} last accepted, what that decoded may be
     * installed without decoding again.
     */
    void restore(io.raftkv.raft.SnapshotData snapshot);

    /**
     * Checks that {@code snapshot} decodes, without changing the state; throws
     * {@link IllegalArgumentException} saying what is wrong. The runtime calls it on a leader's
     * snapshot before the core accepts it, and then {@link #restore} with the same object if the
     * core installs it: the state machine may keep what it decoded for that restore (at 10 million
     * keys a decode takes 3-8 s of the node's loop), until {@link #forgetValidated}, the next
     * validate or the next restore.
     */
    void validate(io.raftkv.raft.SnapshotData snapshot);

    /**
     * The snapshot last validated will not be restored (the core did not install it: its log
     * already held the snapshot's last entry, say): whatever was kept of it can go.
     */
    default void forgetValidated() {}

    /** An immutable copy made by {@link #capture()}, encoded on any thread. */
    interface Image {
        long appliedIndex();

        /** Writes the snapshot's bytes to {@code out} (which a file store streams to disk). */
        void encodeTo(java.io.OutputStream out) throws java.io.IOException;

        /**
         * Nothing reads this image any more (its snapshot was written, or failed): called on the
         * node's loop, after the thread that encoded it handed the outcome there. The state machine
         * may then change in place again what the image shares with it.
         */
        default void release() {}

        /** The snapshot's bytes, in chunks: a large state is never one huge array (see {@link io.raftkv.raft.SnapshotData}). */
        default io.raftkv.raft.SnapshotData encode() {
            io.raftkv.raft.SnapshotData.Output out = new io.raftkv.raft.SnapshotData.Output();
            try {
                encodeTo(out);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e); // in memory: does not happen
            }
            return out.finish();
        }
    }
}
