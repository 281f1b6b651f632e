package io.raftkv.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * The in-memory view of the Raft log plus its commit and apply cursors.
 *
 * <p>The log may start after a compacted prefix (Raft §7): entries up to {@code baseIndex} are
 * gone (a snapshot holds their effect) and only {@code baseTerm}, the term of entry
 * {@code baseIndex}, is remembered for the consistency check.
 *
 * <p>Invariants: indexes are contiguous from {@code baseIndex + 1};
 * {@code baseIndex <= applied <= committed <= lastIndex()}; {@code stableIndex <= lastIndex()} -
 * entries above {@code stableIndex} are not yet on stable storage; {@code stableIndex <=
 * handedIndex <= lastIndex()} - entries above {@code handedIndex} are handed out in the next
 * {@link Ready}, those between the two are being written (etcd's {@code offsetInProgress}: a
 * runtime may take the next Ready before the last one's write is durable).
 */
final class RaftLog {
    private final ArrayList<Entry> entries = new ArrayList<>();
    private long baseIndex;
    private long baseTerm;
    private long committed;
    private long applied;
    private boolean applyOnlyStable;
    private long stableIndex;
    private long handedIndex;
    /** The configurations in this log (thesis §4.1), kept in step with every append, truncation and compaction. */
    private final ConfigurationLog configurations;

    RaftLog(List<Entry> stored, long committed) {
        this(0, 0, Configuration.EMPTY, stored, committed);
    }

    RaftLog(long baseIndex, long baseTerm, List<Entry> stored, long committed) {
        this(baseIndex, baseTerm, Configuration.EMPTY, stored, committed);
    }

    /**
     * A log whose prefix up to {@code baseIndex} (of {@code baseTerm}) is in a snapshot already
     * applied; {@code baseConfiguration} is the configuration in effect there (the snapshot's, or
     * the bootstrap one).
     */
    RaftLog(long baseIndex, long baseTerm, Configuration baseConfiguration, List<Entry> stored, long committed) {
        this.baseIndex = baseIndex;
        this.baseTerm = baseTerm;
        this.configurations = new ConfigurationLog(baseIndex, baseConfiguration);
        long expected = baseIndex + 1;
        for (Entry e : stored) {
            if (e.index() != expected)
                throw new IllegalStateException("stored log has a gap: expected index " + expected + ", got " + e);
            expected++;
        }
        entries.addAll(stored);
        for (Entry e : stored) configurations.appended(e);
        this.stableIndex = lastIndex();
        this.handedIndex = stableIndex;
        if (committed > lastIndex())
            throw new IllegalStateException("commit index " + committed + " beyond last stored index " + lastIndex());
        this.committed = Math.max(committed, baseIndex);
        this.applied = baseIndex;
    }

    long baseIndex() {
        return baseIndex;
    }

    long firstIndex() {
        return baseIndex + 1;
    }

    long lastIndex() {
        return baseIndex + entries.size();
    }

    long lastTerm() {
        return term(lastIndex());
    }

    /** Term of the entry at {@code index}; the base's term at the compaction point, 0 for index 0. */
    long term(long index) {
        if (index == baseIndex) return baseTerm;
        if (index < baseIndex)
            throw new IllegalArgumentException("entry " + index + " is compacted (log starts after " + baseIndex + ")");
        if (index > lastIndex())
            throw new IllegalArgumentException("no entry at index " + index + " (last " + lastIndex() + ")");
        return entries.get((int) (index - baseIndex - 1)).term();
    }

    boolean isCompacted(long index) {
        return index < baseIndex;
    }

    boolean matchTerm(long index, long term) {
        return index >= baseIndex && index <= lastIndex() && term(index) == term;
    }

    /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
    boolean isUpToDate(long lastIndex, long lastTerm) {
        return lastTerm > lastTerm() || (lastTerm == lastTerm() && lastIndex >= lastIndex());
    }

    /** Entries with index in [from, toExclusive); {@code from} must not be compacted. */
    List<Entry> slice(long from, long toExclusive) {
        if (from > toExclusive) return List.of();
        if (from <= baseIndex) throw new IllegalArgumentException("slice from compacted index " + from);
        return List.copyOf(entries.subList((int) (from - baseIndex - 1), (int) (toExclusive - baseIndex - 1)));
    }

    /** First index holding {@code term} going back from {@code index} (the conflict hint). */
    long firstIndexOfTermAt(long index) {
        long t = term(index);
        long i = index;
        while (i > firstIndex() && term(i - 1) == t) i--;
        return i;
    }

    /** Last index at or below {@code index} whose term is {@code term}, or 0 if none. */
    long lastIndexOfTerm(long term, long index) {
        for (long i = Math.min(index, lastIndex()); i >= baseIndex && i > 0; i--) {
            long t = term(i);
            if (t == term) return i;
            if (t < term) return 0;
        }
        return 0;
    }

    void append(Entry e) {
        if (e.index() != lastIndex() + 1)
            throw new IllegalStateException("append of " + e + " after last index " + lastIndex());
        entries.add(e);
        configurations.appended(e);
    }

    /** Drops entries from {@code index} on; committed entries are never removed (Raft §5.4). */
    void truncateFrom(long index) {
        if (index <= committed)
            throw new IllegalStateException("truncating at " + index + " would drop committed entries (commit "
                    + committed + ")");
        while (lastIndex() >= index) entries.remove(entries.size() - 1);
        stableIndex = Math.min(stableIndex, index - 1);
        handedIndex = Math.min(handedIndex, index - 1);
        configurations.truncatedFrom(index);
    }

    /** Forgets entries up to {@code index}, which a persisted snapshot covers and which is applied. */
    void compact(long index) {
        if (index <= baseIndex) return;
        if (index > applied) throw new IllegalStateException("compacting to " + index + " beyond applied " + applied);
        long term = term(index);
        entries.subList(0, (int) (index - baseIndex)).clear();
        entries.trimToSize();
        configurations.compactedTo(index);
        baseIndex = index;
        baseTerm = term;
    }

    /**
     * Replaces the whole log with a snapshot's end point (Raft §7, InstallSnapshot step 7) and its
     * configuration (thesis §4.1).
     */
    void restore(long index, long term, Configuration configuration) {
        configurations.restored(index, configuration);
        entries.clear();
        baseIndex = index;
        baseTerm = term;
        committed = index;
        applied = index;
        stableIndex = index;
        handedIndex = index;
    }

    long committed() {
        return committed;
    }

    void commitTo(long index) {
        if (index > committed) {
            if (index > lastIndex())
                throw new IllegalStateException("commit " + index + " beyond last index " + lastIndex());
            committed = index;
        }
    }

    long applied() {
        return applied;
    }

    void appliedTo(long index) {
        if (index > committed || index < applied)
            throw new IllegalStateException("applied " + index + " outside [" + applied + ", " + committed + "]");
        applied = index;
    }

    /**
     * With {@code onlyStable} (asynchronous storage writes), committed entries are handed out to
     * apply only once they are on this node's disk too (etcd's rule when writes are asynchronous):
     * what the state machine holds, and so every snapshot of it, is never ahead of the local log.
     */
    void applyOnlyStable(boolean onlyStable) {
        this.applyOnlyStable = onlyStable;
    }

    /** The last entry that may be handed out to apply. */
    long applicableTo() {
        return applyOnlyStable ? Math.min(committed, Math.max(stableIndex, applied)) : committed;
    }

    long stableIndex() {
        return stableIndex;
    }

    void stableTo(long index, long term) {
        // The entry may have been truncated and replaced since the Ready was taken.
        if (index > stableIndex && matchTerm(index, term)) {
            stableIndex = index;
            handedIndex = Math.max(handedIndex, index);
        }
    }

    /**
     * {@code written}, a Ready's entries, are being written: the next Ready no longer hands them
     * out. Those replaced since the Ready was taken (a truncation cuts a suffix) are handed again.
     */
    void handedTo(List<Entry> written) {
        for (int i = written.size() - 1; i >= 0; i--) {
            Entry e = written.get(i);
            if (matchTerm(e.index(), e.term())) {
                if (e.index() > handedIndex) handedIndex = e.index();
                return;
            }
        }
    }

    long handedIndex() {
        return handedIndex;
    }

    /** The entries not yet handed out to be written. */
    List<Entry> unstableEntries() {
        return slice(handedIndex + 1, lastIndex() + 1);
    }

    List<Entry> unappliedCommitted() {
        return slice(applied + 1, applicableTo() + 1);
    }

    ConfigurationLog configurations() {
        return configurations;
    }

    /** Number of entries held in memory. */
    int size() {
        return entries.size();
    }
}
