package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;

import java.util.List;

/**
 * Where a node keeps its Raft state. {@link #persist} returns only when the state is as durable
 * as the implementation promises; the runtime calls it before sending any message of the same
 * {@link io.raftkv.raft.Ready}.
 */
public interface RaftStorage extends AutoCloseable {
    /** What a node restarts from. */
    record Stored(HardState hardState, List<Entry> entries) {
        public Stored {
            entries = List.copyOf(entries);
        }
    }

    Stored load();

    /**
     * Persists {@code hardState} (if not null) and {@code entries}; the first entry's index may be
     * at or below the last stored index, in which case the stored suffix from there is replaced.
     */
    void persist(HardState hardState, List<Entry> entries);

    @Override
    default void close() {}
}
