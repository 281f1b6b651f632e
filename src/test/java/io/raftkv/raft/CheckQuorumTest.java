package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Thesis §6.2 (check quorum): a leader cut off from a majority steps down within an election timeout. */
class CheckQuorumTest {
    private static TestCluster cluster(long seed) {
        return TestCluster.of(3, seed);
    }

    @Test
    @DisplayName("§6.2: an isolated leader steps down after an election timeout without a majority")
    void isolatedLeaderStepsDown() {
        TestCluster c = cluster(11);
        int leader = c.electLeader(500);
        long term = c.node(leader).term();
        c.isolate(leader);
        int minTicks = c.node(leader).config().electionTicksMin();
        // Within one election timeout it may still lead...
        for (int i = 0; i < minTicks - 2; i++) {
            c.tick(leader);
            c.stabilize();
        }
        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        // ...but not after two: the first check may come early, the second finds no majority.
        for (int i = 0; i < 2 * minTicks + 2; i++) {
            c.tick(leader);
            c.stabilize();
        }
        assertThat(c.node(leader).role()).isNotEqualTo(Role.LEADER);
        assertThat(c.node(leader).term()).as("stepping down does not start a new term").isEqualTo(term);
        assertThat(c.node(leader).propose("x".getBytes())).isInstanceOf(ProposeResult.NotLeader.class);
    }

    @Test
    @DisplayName("§6.2: a leader that hears from a majority stays leader across many checks")
    void connectedLeaderStays() {
        TestCluster c = cluster(12);
        int leader = c.electLeader(500);
        int other = c.ids().stream().filter(i -> i != leader).findFirst().orElseThrow();
        // One follower down: the leader and the remaining follower are still a majority.
        c.partition(Set.of(leader, c.ids().stream().filter(i -> i != leader && i != other).findFirst().orElseThrow()),
                Set.of(other));
        long term = c.node(leader).term();
        for (int i = 0; i < 10 * c.node(leader).config().electionTicksMin(); i++) {
            c.tick(leader);
            c.stabilize();
        }
        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(leader).term()).isEqualTo(term);
    }

    @Test
    @DisplayName("§4.2.3/§6.2: a leader and a follower that heard from it within the election timeout ignore a RequestVote of a higher term")
    void leaseIgnoresADisruptiveRequestVote() {
        TestCluster c = cluster(13);
        int leader = c.electLeader(500);
        long term = c.node(leader).term();
        int follower = c.ids().stream().filter(i -> i != leader).findFirst().orElseThrow();
        int sentBefore = c.sent().size();
        for (int to : List.of(leader, follower)) {
            int from = c.ids().stream().filter(i -> i != to && i != (to == leader ? follower : leader)).findFirst()
                    .orElseThrow();
            c.node(to).step(new Message.RequestVote(from, to, term + 5, 100, term + 4));
        }
        c.processReadies();
        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(leader).term()).isEqualTo(term);
        assertThat(c.node(follower).term()).isEqualTo(term);
        assertThat(c.sent().subList(sentBefore, c.sent().size())).as("answers to the requests").isEmpty();
    }
}
