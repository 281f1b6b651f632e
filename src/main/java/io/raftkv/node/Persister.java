package io.raftkv.node;

import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;

import java.util.List;
import java.util.Optional;

/**
 * Where the runtime's writes go. Both writes are asynchronous: the runtime is told of their
 * completion as inputs ({@link NodeRuntime#persisted(long)}, {@link NodeRuntime#snapshotWritten}),
 * on its own thread, like etcd's asynchronous storage writes. An implementation may also complete
 * {@link #persist} before it returns. A storage failure is thrown (or delivered as a fatal error by
 * the adapter): the node must stop.
 */
public interface Persister {
    /**
     * One Ready's durable part, written in this order: the leader's snapshot (replacing the whole
     * log), then the hard state and entries (replacing any stored suffix from the first one on).
     */
    record Write(Optional<Snapshot> snapshot, Optional<HardState> hardState, List<Entry> entries) {}

    /**
     * Makes {@code write} durable, then has {@link NodeRuntime#persisted(long)} called with
     * {@code token}; or, when the storage keeps the write's snapshot as another object
     * ({@link io.raftkv.storage.RaftStorage#installSnapshot} read it from its file),
     * {@link NodeRuntime#persisted(long, Snapshot)} with that one, so that the node does not keep the
     * chunks received from the leader on the heap. Called again before earlier writes end (the
     * runtime pipelines them): writes must end in the order they were handed, and may be written
     * together (one fsync for several).
     */
    void persist(long token, Write write);

    /**
     * Encodes {@code image} and writes it as the snapshot at ({@code index}, {@code term}) in
     * {@code configuration} (the membership in effect at {@code index}, thesis §4.1, which the
     * snapshot must keep), then has {@link NodeRuntime#snapshotWritten} called; may run on another
     * thread.
     */
    void writeSnapshot(long index, long term, Configuration configuration, StateMachine.Image image);

    /**
     * The snapshot is durable: the stored log it covers may go (on the thread that persists, after
     * every write handed before this call).
     */
    void releaseLog(Snapshot snapshot, long sizeBytes);
}
