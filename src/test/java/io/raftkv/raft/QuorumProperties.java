package io.raftkv.raft;

import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Majority arithmetic (Raft §5.2 election by majority, §5.3 "a majority of matchIndex[i] >= N"). */
class QuorumProperties {

    private static long heldBy(List<Long> matches, long index) {
        return matches.stream().filter(m -> m >= index).count();
    }

    @Property
    void majorityIsTheSmallestCountAboveHalf(@ForAll @IntRange(min = 1, max = 10_000) int voters) {
        int m = Quorum.majority(voters);
        assertThat(2L * m).isGreaterThan(voters);
        assertThat(2L * (m - 1)).isLessThanOrEqualTo(voters);
    }

    @Property
    void anyTwoMajoritiesIntersect(@ForAll @IntRange(min = 1, max = 10_000) int voters) {
        assertThat(2L * Quorum.majority(voters) - voters).isGreaterThanOrEqualTo(1);
    }

    @Property
    void committedIndexIsHeldByAMajorityAndNoLargerIndexIs(
            @ForAll @Size(min = 1, max = 9) List<@LongRange(min = 0, max = 40) Long> matches) {
        long c = Quorum.committedIndex(matches);
        int majority = Quorum.majority(matches.size());
        assertThat(heldBy(matches, c)).as("voters holding %d", c).isGreaterThanOrEqualTo(majority);
        assertThat(heldBy(matches, c + 1)).as("voters holding %d", c + 1).isLessThan(majority);
        assertThat(matches).contains(c);
    }

    @Property
    void committedIndexIgnoresVoterOrder(
            @ForAll @Size(min = 1, max = 9) List<@LongRange(min = 0, max = 40) Long> matches,
            @ForAll long shuffleSeed) {
        List<Long> shuffled = new ArrayList<>(matches);
        Collections.shuffle(shuffled, new Random(shuffleSeed));
        assertThat(Quorum.committedIndex(shuffled)).isEqualTo(Quorum.committedIndex(matches));
    }

    @Property
    void committedIndexNeverDropsWhenAVoterAdvances(
            @ForAll @Size(min = 1, max = 9) List<@LongRange(min = 0, max = 40) Long> matches,
            @ForAll @IntRange(min = 0, max = 8) int voter,
            @ForAll @LongRange(min = 0, max = 10) long by) {
        List<Long> advanced = new ArrayList<>(matches);
        int i = voter % matches.size();
        advanced.set(i, advanced.get(i) + by);
        assertThat(Quorum.committedIndex(advanced)).isGreaterThanOrEqualTo(Quorum.committedIndex(matches));
    }

    @Property
    void aMinorityCannotMoveTheCommittedIndex(
            @ForAll @Size(min = 1, max = 9) List<@LongRange(min = 0, max = 40) Long> matches) {
        // Raising the voters strictly above the committed index (at most a minority) changes nothing.
        long c = Quorum.committedIndex(matches);
        List<Long> raised = matches.stream().map(m -> m > c ? m + 100 : m).toList();
        assertThat(Quorum.committedIndex(raised)).isEqualTo(c);
    }

    @Example
    void examples() {
        assertThat(Quorum.committedIndex(List.of(7L))).isEqualTo(7);
        assertThat(Quorum.committedIndex(List.of(5L, 1L, 3L))).isEqualTo(3);
        assertThat(Quorum.committedIndex(List.of(9L, 9L, 2L, 2L))).isEqualTo(2);
        assertThat(Quorum.committedIndex(List.of(9L, 9L, 9L, 2L))).isEqualTo(9);
        assertThat(Quorum.committedIndex(List.of(4L, 0L, 4L, 0L, 0L))).isEqualTo(0);
        assertThatThrownBy(() -> Quorum.committedIndex(List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
