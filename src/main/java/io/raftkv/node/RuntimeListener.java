package io.raftkv.node;

import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.RoleChange;
import io.raftkv.raft.Snapshot;

/**
 * What a runtime reports as it happens, on its thread: for logs, metrics and the simulation's
 * checks. Every method does nothing by default; none may call back into the runtime.
 *
 * @param <R> what the state machine's apply returns
 */
public interface RuntimeListener<R> {
    /** The core changed role (after the Ready's write, before its entries are applied). */
    default void roleChanged(RoleChange change) {}

    /**
     * The configuration in use changed (thesis §4.1: a server uses the newest configuration in its
     * log, committed or not). Called before any message of the Ready that reported it is sent, so
     * that an adapter can connect to new members first.
     */
    default void configurationChanged(Configuration configuration) {}

    /**
     * The servers to reach changed: the adapter sends requests to exactly these (id to address,
     * empty when the configurations record none) from now on. They are the core's
     * ({@link io.raftkv.raft.RaftNode#peers()}), which are not the members: a removed server stays a
     * peer until the leader has told it its removal is committed (thesis §4.2.3). New peers are
     * added before any message of the Ready that reported them is sent; peers it dropped go only
     * once its messages have left (the core may have sent to them first).
     */
    default void peersChanged(java.util.Map<Integer, String> peers) {}

    /** As leader, this node started a ReadIndex heartbeat round (thesis §6.4) confirming {@code reads} reads. */
    default void readRoundStarted(int reads) {}

    /** {@code entry} was applied ({@code result} is null for a no-op). */
    default void applied(Entry entry, R result) {}

    /** A snapshot from the leader replaced the log and the state machine. */
    default void snapshotInstalled(Snapshot snapshot) {}

    /**
     * A snapshot from the leader was refused because its data does not decode; the node keeps
     * its state and the leader will send it again.
     */
    default void snapshotRefused(long index, long term, String reason) {}

    /**
     * A snapshot of this node's own state is durable and the log before {@code compactedTo} is gone;
     * {@code captureNs} was spent copying the state on the runtime's thread, {@code totalNs} in all.
     */
    default void snapshotTaken(Snapshot snapshot, long sizeBytes, long compactedTo, long captureNs, long totalNs) {}
}
