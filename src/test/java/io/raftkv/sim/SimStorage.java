package io.raftkv.sim;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import io.raftkv.storage.RaftStorage;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A node's disk. Everything a call stored survives a crash, nothing else: the driver calls it when
 * the simulated fsync completes, and a crash before that loses the Ready. Same contract as
 * {@link io.raftkv.storage.MemoryStorage}, with cheap access by index for the invariant checks.
 * On FileStorage seeds it is the mirror of what the runtime was told is durable ({@link SimDisk}).
 */
final class SimStorage implements RaftStorage {
    private HardState hardState = HardState.EMPTY;
    private Snapshot snapshot;
    /** Entries after the snapshot (or from index 1), contiguous. */
    private final ArrayList<Entry> entries = new ArrayList<>();

    /**
     * As a mirror of FileStorage ({@link SimDisk}): after a restart, what FileStorage recovered
     * (and the check found consistent with this mirror) is what is durable from now on.
     */
    void restore(Stored recovered) {
        hardState = recovered.hardState();
        snapshot = recovered.snapshot().orElse(null);
        entries.clear();
        entries.addAll(recovered.entries());
    }

    @Override
    public Stored load() {
        return new Stored(hardState, Optional.ofNullable(snapshot), entries);
    }

    @Override
    public void persist(HardState hs, List<Entry> newEntries) {
        if (!newEntries.isEmpty()) {
            long first = newEntries.getFirst().index();
            if (first <= baseIndex()) throw new IllegalStateException("append at " + first + " into the snapshot at "
                    + baseIndex());
            if (first > lastIndex() + 1)
                throw new IllegalStateException("gap: appending index " + first + " after " + lastIndex());
            while (lastIndex() >= first) entries.removeLast();
            entries.addAll(newEntries);
        }
        if (hs != null) hardState = hs;
    }

    @Override
    public long writeSnapshot(Snapshot snap) {
        return snap.data().length();
    }

    @Override
    public void snapshotWritten(Snapshot snap, long sizeBytes) {
        if (snapshot != null && snap.index() <= snapshot.index()) return;
        int drop = (int) Math.min(entries.size(), snap.index() - baseIndex());
        entries.subList(0, Math.max(0, drop)).clear();
        snapshot = snap;
    }

    @Override
    public Snapshot installSnapshot(Snapshot snap) {
        snapshot = snap;
        entries.clear();
        return snap;
    }

    @Override
    public Stats stats() {
        return new Stats(0, 0, 0, snapshot == null ? 0 : snapshot.data().length(), baseIndex());
    }

    HardState hardState() {
        return hardState;
    }

    /** Index of the snapshot (0 without one): entries at or below it are no longer stored. */
    long baseIndex() {
        return snapshot == null ? 0 : snapshot.index();
    }

    long lastIndex() {
        return baseIndex() + entries.size();
    }

    /** The stored entry at {@code index}, or null if compacted or beyond the end. */
    Entry entry(long index) {
        if (index <= baseIndex() || index > lastIndex()) return null;
        return entries.get((int) (index - baseIndex() - 1));
    }

    /** Term at {@code index}: the snapshot's term at its index, 0 at index 0, -1 if unknown. */
    long termAt(long index) {
        if (index == 0) return 0;
        if (snapshot != null && index == snapshot.index()) return snapshot.term();
        Entry e = entry(index);
        return e == null ? -1 : e.term();
    }
}
