package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Thesis §9.6 (pre-vote) with §6.2 (check quorum): a node back from a partition cannot depose a healthy leader. */
class PreVoteTest {
    private static TestCluster cluster(long seed, boolean preVote) {
        return TestCluster.builder(3).seed(seed).configAll(c -> c.preVote(preVote)).build();
    }

    private static void tickAll(TestCluster c, int rounds) {
        for (int i = 0; i < rounds; i++) {
            for (int id : c.ids()) c.tick(id);
            c.stabilize();
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    @DisplayName("§9.6: an isolated node stays in its term, and rejoining does not disturb the leader")
    void rejoiningNodeDoesNotDeposeTheLeader(long seed) {
        TestCluster c = cluster(seed, true);
        int leader = c.electLeader(500);
        long term = c.node(leader).term();
        int loner = c.ids().stream().filter(i -> i != leader).findFirst().orElseThrow();
        c.isolate(loner);
        tickAll(c, 500); // ten election timeouts alone
        assertThat(c.node(loner).term()).as("the isolated node's term").isEqualTo(term);
        assertThat(c.node(loner).role()).isEqualTo(Role.PRE_CANDIDATE);
        c.heal();
        tickAll(c, 200);
        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(leader).term()).as("the leader's term after the rejoin").isEqualTo(term);
        assertThat(c.node(loner).role()).isEqualTo(Role.FOLLOWER);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    @DisplayName("teeth: without pre-vote the rejoining node raises the term and deposes the leader")
    void withoutPreVoteTheRejoinDisrupts(long seed) {
        TestCluster c = cluster(seed, false);
        int leader = c.electLeader(500);
        long term = c.node(leader).term();
        int loner = c.ids().stream().filter(i -> i != leader).findFirst().orElseThrow();
        c.isolate(loner);
        tickAll(c, 500);
        assertThat(c.node(loner).term()).isGreaterThan(term + 3);
        c.heal();
        tickAll(c, 200);
        assertThat(c.node(c.leader().orElseThrow()).term()).as("the term after the rejoin").isGreaterThan(term);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    @DisplayName("§9.6: when the leader really is gone, pre-vote still elects a new one")
    void leaderLossStillElects(long seed) {
        TestCluster c = cluster(seed, true);
        int leader = c.electLeader(500);
        long term = c.node(leader).term();
        c.isolate(leader);
        tickAll(c, 300);
        int next = c.leaders().stream().filter(i -> i != leader).findFirst().orElseThrow();
        assertThat(c.node(next).term()).isEqualTo(term + 1);
        assertThat(c.node(leader).role()).as("check quorum deposed the cut-off leader").isNotEqualTo(Role.LEADER);
    }
}
