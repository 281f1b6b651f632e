package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Storage in memory: survives a node restart inside one JVM (tests reuse the instance) but not
 * a process crash. Thread-safe so a test may inspect it while a node runs.
 */
public final class MemoryStorage implements RaftStorage {
    private HardState hardState = HardState.EMPTY;
    private Snapshot snapshot;
    /** Entries after the snapshot (or from index 1). */
    private final List<Entry> entries = new ArrayList<>();
    private long writes;
    private long entriesWritten;

    @Override
    public synchronized Stored load() {
        return new Stored(hardState, Optional.ofNullable(snapshot), entries);
    }

    @Override
    public synchronized void persist(HardState hs, List<Entry> newEntries) {
        if (!newEntries.isEmpty()) {
            long first = newEntries.getFirst().index();
            if (first <= baseIndex()) throw new IllegalStateException("append at " + first + " into the snapshot");
            if (first > lastIndex() + 1)
                throw new IllegalStateException("gap: appending index " + first + " after " + lastIndex());
            while (lastIndex() >= first) entries.removeLast();
            entries.addAll(newEntries);
            entriesWritten += newEntries.size();
        }
        if (hs != null) hardState = hs;
        writes++;
    }

    @Override
    public long writeSnapshot(Snapshot snap) {
        return snap.data().length();
    }

    @Override
    public synchronized void snapshotWritten(Snapshot snap, long sizeBytes) {
        if (snapshot != null && snap.index() <= snapshot.index()) return;
        snapshot = snap;
        entries.removeIf(e -> e.index() <= snap.index());
    }

    @Override
    public synchronized Snapshot installSnapshot(Snapshot snap) {
        snapshot = snap;
        entries.clear();
        return snap;
    }

    @Override
    public synchronized Stats stats() {
        return new Stats(writes, entriesWritten, 0, snapshot == null ? 0 : snapshot.data().length(), baseIndex());
    }

    private long baseIndex() {
        return snapshot == null ? 0 : snapshot.index();
    }

    private long lastIndex() {
        return entries.isEmpty() ? baseIndex() : entries.getLast().index();
    }

    public synchronized HardState hardState() {
        return hardState;
    }

    public synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }
}
