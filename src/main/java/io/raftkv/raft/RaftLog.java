package io.raftkv.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * The in-memory view of the Raft log plus its commit and apply cursors.
 *
 * <p>Invariants: indexes are contiguous from 1; {@code applied <= committed <= lastIndex()};
 * {@code stableIndex <= lastIndex()} - entries above {@code stableIndex} are not yet on stable
 * storage and are handed out in the next {@link Ready}.
 */
final class RaftLog {
    private final ArrayList<Entry> entries = new ArrayList<>();
    private long committed;
    private long applied;
    private long stableIndex;

    RaftLog(List<Entry> stored, long committed) {
        long expected = 1;
        for (Entry e : stored) {
            if (e.index() != expected)
                throw new IllegalStateException("stored log has a gap: expected index " + expected + ", got " + e);
            expected++;
        }
        entries.addAll(stored);
        this.stableIndex = lastIndex();
        if (committed > lastIndex())
            throw new IllegalStateException("commit index " + committed + " beyond last stored index " + lastIndex());
        this.committed = committed;
    }

    long lastIndex() {
        return entries.size();
    }

    long lastTerm() {
        return term(lastIndex());
    }

    /** Term of the entry at {@code index}; 0 for index 0 (the empty prefix). */
    long term(long index) {
        if (index == 0) return 0;
        if (index < 0 || index > lastIndex())
            throw new IllegalArgumentException("no entry at index " + index + " (last " + lastIndex() + ")");
        return entries.get((int) (index - 1)).term();
    }

    boolean matchTerm(long index, long term) {
        return index <= lastIndex() && term(index) == term;
    }

    /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
    boolean isUpToDate(long lastIndex, long lastTerm) {
        return lastTerm > lastTerm() || (lastTerm == lastTerm() && lastIndex >= lastIndex());
    }

    /** Entries with index in [from, toExclusive). */
    List<Entry> slice(long from, long toExclusive) {
        if (from > toExclusive) return List.of();
        return List.copyOf(entries.subList((int) (from - 1), (int) (toExclusive - 1)));
    }

    /** First index holding {@code term} going back from {@code index} (the conflict hint). */
    long firstIndexOfTermAt(long index) {
        long t = term(index);
        long i = index;
        while (i > 1 && term(i - 1) == t) i--;
        return i;
    }

    /** Last index at or below {@code index} whose term is {@code term}, or 0 if none. */
    long lastIndexOfTerm(long term, long index) {
        for (long i = Math.min(index, lastIndex()); i > 0; i--) {
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
    }

    /** Drops entries from {@code index} on; committed entries are never removed (Raft §5.4). */
    void truncateFrom(long index) {
        if (index <= committed)
            throw new IllegalStateException("truncating at " + index + " would drop committed entries (commit "
                    + committed + ")");
        while (lastIndex() >= index) entries.remove(entries.size() - 1);
        stableIndex = Math.min(stableIndex, index - 1);
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

    long stableIndex() {
        return stableIndex;
    }

    void stableTo(long index, long term) {
        // The entry may have been truncated and replaced since the Ready was taken.
        if (index > stableIndex && matchTerm(index, term)) stableIndex = index;
    }

    List<Entry> unstableEntries() {
        return slice(stableIndex + 1, lastIndex() + 1);
    }

    List<Entry> unappliedCommitted() {
        return slice(applied + 1, committed + 1);
    }
}
