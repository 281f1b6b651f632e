package io.raftkv.raft;

import io.raftkv.raft.Message.RequestVote;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Split votes (Raft §5.2): when no candidate gets a majority, randomized election timeouts make
 * one candidate time out first and win the next term. Election Safety (at most one leader per
 * term) is checked by {@link TestCluster} after every input.
 */
class SplitVoteTest {
    static LongStream seeds() {
        return LongStream.range(0, 60);
    }

    private static boolean voteRequest(Message m, int from, int to) {
        return m instanceof RequestVote rv && rv.from() == from && rv.to() == to;
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    @DisplayName("§5.2: two candidates splitting a 4-node cluster 2:2 resolve to exactly one leader")
    void splitVoteInFourNodesResolves(long seed) {
        TestCluster c = TestCluster.of(4, seed);
        c.campaign(1);
        c.campaign(2);
        // Node 3 hears from 1 first, node 4 from 2 first: 2 votes each, a majority is 3.
        c.deliver(m -> voteRequest(m, 1, 3));
        c.deliver(m -> voteRequest(m, 2, 4));
        c.stabilize();

        assertThat(c.leaders()).isEmpty();
        assertThat(c.node(1).role()).isEqualTo(Role.CANDIDATE);
        assertThat(c.node(2).role()).isEqualTo(Role.CANDIDATE);
        for (int id = 1; id <= 4; id++) assertThat(c.node(id).term()).isEqualTo(1);
        assertThat(c.node(3).votedFor()).isEqualTo(1);
        assertThat(c.node(4).votedFor()).isEqualTo(2);

        assertExactlyOneLeaderEventually(c, 2);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    @DisplayName("§5.2: three candidates splitting a 5-node cluster 2:2:1 resolve to exactly one leader")
    void splitVoteInFiveNodesResolves(long seed) {
        TestCluster c = TestCluster.of(5, seed);
        c.campaign(1);
        c.campaign(2);
        c.campaign(3);
        c.deliver(m -> voteRequest(m, 1, 4));
        c.deliver(m -> voteRequest(m, 2, 5));
        c.stabilize();

        // Each candidate has 2 of 5 votes and 3 refusals: all lose term 1.
        assertThat(c.leaders()).isEmpty();
        for (int id = 1; id <= 5; id++) assertThat(c.node(id).term()).isEqualTo(1);
        assertThat(c.node(4).votedFor()).isEqualTo(1);
        assertThat(c.node(5).votedFor()).isEqualTo(2);

        assertExactlyOneLeaderEventually(c, 2);
    }

    /** Ticks until a leader of term >= minTerm exists, then checks all agree and it stays. */
    private static void assertExactlyOneLeaderEventually(TestCluster c, long minTerm) {
        int leader = c.electLeader(2_000);
        assertThat(c.leaders()).containsExactly(leader);
        long term = c.node(leader).term();
        assertThat(term).isGreaterThanOrEqualTo(minTerm);

        // Heartbeats tell every node; the leadership is then stable.
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks());
        for (int id : c.ids()) {
            assertThat(c.node(id).term()).as("term of %d", id).isEqualTo(term);
            assertThat(c.node(id).leaderId()).as("leader known to %d", id).hasValue(leader);
        }
        c.tickAndStabilize(300);
        assertThat(c.leaders()).containsExactly(leader);
        assertThat(c.node(leader).term()).isEqualTo(term);
    }
}
