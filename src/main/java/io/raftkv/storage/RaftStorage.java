package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;

import java.util.List;
import java.util.Optional;

/**
 * Where a node keeps its Raft state. {@link #persist} returns only when the state is as durable
 * as the implementation promises; the runtime calls it before sending any message of the same
 * {@link io.raftkv.raft.Ready}. A failure is a {@link StorageException}: the node must stop.
 */
public interface RaftStorage extends AutoCloseable {
    /** What a node restarts from: the latest snapshot, then the log entries after it. */
    record Stored(HardState hardState, Optional<Snapshot> snapshot, List<Entry> entries) {
        public Stored {
            entries = List.copyOf(entries);
        }
    }

    /** Counters for status and benchmarks. */
    record Stats(long fsyncs, long entriesWritten, long walBytes, long snapshotBytes, long snapshotIndex) {}

    Stored load();

    /**
     * Persists {@code hardState} (if not null) and {@code entries}; the first entry's index may be
     * at or below the last stored index, in which case the stored suffix from there is replaced.
     */
    void persist(HardState hardState, List<Entry> entries);

    /** Stores a snapshot of the local state machine and drops the log prefix it covers. */
    default void saveSnapshot(Snapshot snapshot) {
        snapshotWritten(snapshot, writeSnapshot(snapshot));
    }

    /**
     * First half of {@link #saveSnapshot}: writes the snapshot durably and returns its size. May
     * run on any thread, concurrently with {@link #persist} and {@link #installSnapshot}.
     */
    long writeSnapshot(Snapshot snapshot);

    /** Writes a snapshot's data to a stream (the state machine's encoder). */
    @FunctionalInterface
    interface SnapshotWriter {
        void writeTo(java.io.OutputStream out) throws java.io.IOException;
    }

    /** What {@link #writeSnapshot(long, long, io.raftkv.raft.Configuration, SnapshotWriter)} wrote. */
    record Written(Snapshot snapshot, long sizeBytes) {}

    /**
     * Like {@link #writeSnapshot(Snapshot)}, the data coming from {@code writer}; returns the
     * snapshot as this storage keeps it (a file store: read from its file, so the node need not keep
     * a second copy of its state on the heap) and its size. A file store streams it
     * into the file, so a large state is never encoded whole on the heap (at 10 million keys that
     * was 1.2 GB allocated in seconds, and G1 answered with full GCs of 4.5 s). By default it is
     * encoded in memory and written with {@link #writeSnapshot(Snapshot)}.
     */
    default Written writeSnapshot(long index, long term, io.raftkv.raft.Configuration configuration, SnapshotWriter writer) {
        io.raftkv.raft.SnapshotData.Output out = new io.raftkv.raft.SnapshotData.Output();
        try {
            writer.writeTo(out);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e); // in memory: does not happen
        }
        Snapshot encoded = new Snapshot(index, term, configuration, out.finish());
        return new Written(encoded, writeSnapshot(encoded));
    }

    /**
     * Second half of {@link #saveSnapshot}, on the thread that persists: the snapshot written by
     * {@link #writeSnapshot} is durable, so the log prefix it covers may go. Ignored when a newer
     * snapshot was stored in the meantime.
     */
    void snapshotWritten(Snapshot snapshot, long sizeBytes);

    /**
     * Stores a snapshot received from the leader that replaces the whole log; returns it as this
     * storage keeps it. A file store returns it read from its file, so the node need not keep the
     * received chunks on the heap (at 10 million keys, 1.1 GB held until the node's next snapshot of
     * its own); the caller {@linkplain io.raftkv.raft.SnapshotData#release() releases} that copy
     * when done with it. A store in memory returns {@code snapshot} itself.
     */
    Snapshot installSnapshot(Snapshot snapshot);

    Stats stats();

    /** Reports every fsync of the log to {@code observer} (storage that never fsyncs reports nothing). */
    default void observeSyncs(SyncObserver observer) {}

    @Override
    default void close() {}
}
