package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;

import java.util.ArrayList;
import java.util.List;

/**
 * Storage in memory: survives a node restart inside one JVM (tests reuse the instance) but not
 * a process crash. Thread-safe so a test may inspect it while a node runs.
 */
public final class MemoryStorage implements RaftStorage {
    private HardState hardState = HardState.EMPTY;
    private final List<Entry> entries = new ArrayList<>();

    @Override
    public synchronized Stored load() {
        return new Stored(hardState, entries);
    }

    @Override
    public synchronized void persist(HardState hs, List<Entry> newEntries) {
        if (!newEntries.isEmpty()) {
            long first = newEntries.getFirst().index();
            if (first > entries.size() + 1)
                throw new IllegalStateException("gap: appending index " + first + " after " + entries.size());
            while (entries.size() >= first) entries.removeLast();
            entries.addAll(newEntries);
        }
        if (hs != null) hardState = hs;
    }

    public synchronized HardState hardState() {
        return hardState;
    }

    public synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }
}
