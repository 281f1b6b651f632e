package io.raftkv.raft;

import java.util.Arrays;
import java.util.Collection;

/** Majority arithmetic for a single group of voters (learners never count, thesis §4.2.1). */
public final class Quorum {
    private Quorum() {}

    /** Smallest number of voters that is a majority of {@code voters}. */
    public static int majority(int voters) {
        return voters / 2 + 1;
    }

    /**
     * The highest index that a majority has acknowledged: the median-like order statistic of the
     * match indexes (Raft §5.3, "a majority of matchIndex[i] >= N").
     */
    public static long committedIndex(Collection<Long> matchIndexes) {
        return committedIndexInPlace(matchIndexes.stream().mapToLong(Long::longValue).toArray());
    }

    /** {@link #committedIndex(Collection)} without allocating: sorts {@code matchIndexes} in place. */
    public static long committedIndexInPlace(long[] matchIndexes) {
        if (matchIndexes.length == 0) throw new IllegalArgumentException("no voters");
        Arrays.sort(matchIndexes);
        // With n voters sorted ascending, the entry at n - majority is held by a majority.
        return matchIndexes[matchIndexes.length - majority(matchIndexes.length)];
    }

    /**
     * The highest index held by at least {@code needed} of the first {@code count} match indexes
     * (sorted in place), or 0 if fewer than {@code needed} are given: the commit index of a
     * configuration whose voters' matches these are (thesis §4.1).
     */
    public static long committedIndexInPlace(long[] matchIndexes, int count, int needed) {
        if (needed < 1) throw new IllegalArgumentException("a quorum needs at least one voter, got " + needed);
        if (count < needed) return 0;
        Arrays.sort(matchIndexes, 0, count);
        return matchIndexes[count - needed];
    }
}
