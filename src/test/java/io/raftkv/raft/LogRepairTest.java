package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntriesResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Log repair (Raft §5.3, Figure 7): the leader forces followers' logs to match its own, deleting
 * conflicting entries, and with the conflict hints it needs about one round trip per differing
 * term rather than one per entry.
 */
class LogRepairTest {
    /** The Figure 7 leader's log (it then leads term 8). */
    static final long[] LEADER = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};

    static long[] terms(Object... parts) {
        return Stream.of(parts).flatMapToLong(p -> p instanceof long[] a ? LongStream.of(a)
                : LongStream.of(((Number) p).longValue())).toArray();
    }

    static long[] repeat(long term, int times) {
        long[] a = new long[times];
        Arrays.fill(a, term);
        return a;
    }

    /**
     * Figure 7 followers, with the most rejections the leader may see from each: one per
     * differing term of the follower's log, a too-short log counting as one.
     */
    static Stream<Arguments> figure7() {
        return Stream.of(
                Arguments.of("a: missing one entry", new long[]{1, 1, 1, 4, 4, 5, 5, 6, 6}, 1),
                Arguments.of("b: missing six entries", new long[]{1, 1, 1, 4}, 1),
                Arguments.of("c: one extra uncommitted entry", new long[]{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, 0),
                Arguments.of("d: two extra entries of term 7", new long[]{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, 0),
                Arguments.of("e: missing entries, extra term 4", new long[]{1, 1, 1, 4, 4, 4, 4}, 2),
                Arguments.of("f: extra entries of terms 2 and 3", new long[]{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, 2));
    }

    /** Rejections node {@code from} sent to the leader. */
    static long rejectionsFrom(TestCluster c, int from) {
        return c.sent().stream()
                .filter(m -> m instanceof AppendEntriesResponse r && !r.success() && r.from() == from)
                .count();
    }

    /**
     * Node 1 holds {@code leaderLog} and wins the election with node 3's vote (node 3 has the
     * same log); node 2 holds {@code followerLog}. Returns the stabilized cluster.
     */
    static TestCluster repair(long[] leaderLog, long[] followerLog, long term) {
        TestCluster c = TestCluster.builder(3).seed(21)
                .log(1, leaderLog).log(2, followerLog).log(3, leaderLog)
                .allInTerm(term, 0).build();
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(1).term()).isEqualTo(term + 1);
        return c;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("figure7")
    @DisplayName("§5.3 Figure 7: each follower's log is made identical to the leader's, one round trip per differing term")
    void figure7FollowerIsRepaired(String name, long[] followerLog, int maxRejections) {
        TestCluster c = repair(LEADER, followerLog, 7);

        List<Entry> leaderLog = c.log(1);
        assertThat(leaderLog).hasSize(11);
        assertThat(leaderLog.getLast()).isEqualTo(Entry.noop(11, 8));
        assertThat(c.log(2)).isEqualTo(leaderLog);
        assertThat(c.node(2).lastIndex()).isEqualTo(11);
        assertThat(rejectionsFrom(c, 2)).isLessThanOrEqualTo(maxRejections);
        assertThat(c.node(1).commitIndex()).isEqualTo(11);
    }

    @Test
    @DisplayName("§5.3 Figure 7: the leader repairs all six followers at once and commits")
    void figure7AllFollowersAtOnce() {
        TestCluster.Builder b = TestCluster.builder(7).seed(22).log(1, LEADER).allInTerm(7, 0);
        List<long[]> followers = figure7().map(a -> (long[]) a.get()[1]).toList();
        for (int i = 0; i < followers.size(); i++) b.log(i + 2, followers.get(i));
        TestCluster c = b.build();

        c.campaign(1);
        c.stabilize();
        // c (node 4) and d (node 5) have more up-to-date logs and refuse; a, b, e, f elect node 1.
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.sent()).filteredOn(m -> m instanceof Message.RequestVoteResponse r && !r.granted())
                .extracting(Message::from).containsExactlyInAnyOrder(4, 5);

        c.tickAndStabilize(c.node(1).config().heartbeatTicks());
        for (int id = 1; id <= 7; id++) {
            assertThat(c.log(id)).as("log of %d", id).isEqualTo(c.log(1));
            assertThat(c.node(id).commitIndex()).as("commit of %d", id).isEqualTo(11);
        }
        long total = 0;
        for (int id = 2; id <= 7; id++) total += rejectionsFrom(c, id);
        assertThat(total).isLessThanOrEqualTo(1 + 1 + 0 + 0 + 2 + 2);
    }

    @Test
    @DisplayName("§5.3: 50 conflicting entries of one term cost a constant number of rejections, not one per entry")
    void longConflictingSuffixOfOneTerm() {
        long[] leader = terms(1, repeat(3, 10));
        long[] follower = terms(1, repeat(2, 50));
        TestCluster c = repair(leader, follower, 3);

        assertThat(c.log(2)).isEqualTo(c.log(1)).hasSize(12);
        assertThat(rejectionsFrom(c, 2)).isLessThanOrEqualTo(2);
    }

    @Test
    @DisplayName("§5.3: a follower missing 60 entries is caught up after one rejection")
    void longMissingSuffix() {
        long[] leader = terms(1, repeat(2, 60));
        TestCluster c = repair(leader, new long[]{1}, 2);

        assertThat(c.log(2)).isEqualTo(c.log(1)).hasSize(62);
        assertThat(rejectionsFrom(c, 2)).isEqualTo(1);
    }

    @Test
    @DisplayName("§5.3: a follower with many stale terms is repaired with at most one rejection per stale term")
    void manyStaleTerms() {
        // The follower led or followed terms 2..6 alone; the leader's log went 1, 7, 7.
        long[] follower = terms(1, repeat(2, 10), repeat(3, 10), repeat(4, 10), repeat(5, 10), repeat(6, 10));
        long[] leader = terms(1, repeat(7, 2));
        TestCluster c = repair(leader, follower, 7);

        assertThat(c.log(2)).isEqualTo(c.log(1)).hasSize(4);
        assertThat(rejectionsFrom(c, 2)).isLessThanOrEqualTo(5);
    }

    @Test
    @DisplayName("§5.3: a leader whose log has terms the follower also has skips to the end of that term")
    void sharedTermSkipsToItsEnd() {
        // Both logs have term 3 from index 2; the follower has more of it, the leader then term 5.
        long[] follower = terms(1, repeat(3, 40));
        long[] leader = terms(1, repeat(3, 20), repeat(5, 20));
        TestCluster c = repair(leader, follower, 5);

        assertThat(c.log(2)).isEqualTo(c.log(1)).hasSize(42);
        assertThat(rejectionsFrom(c, 2)).isLessThanOrEqualTo(1);
    }

    @Test
    @DisplayName("§5.3: repair works with one entry per AppendEntries, entry by entry")
    void repairWithSmallAppends() {
        TestCluster c = TestCluster.builder(3).seed(23)
                .log(1, LEADER).log(2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3).log(3, LEADER)
                .allInTerm(7, 0)
                .config(1, cfg -> cfg.maxEntriesPerAppend(1))
                .build();
        c.campaign(1);
        c.stabilize();
        assertThat(c.log(2)).isEqualTo(c.log(1)).hasSize(11);
        assertThat(rejectionsFrom(c, 2)).isLessThanOrEqualTo(2);
    }
}
