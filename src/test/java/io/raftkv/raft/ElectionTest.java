package io.raftkv.raft;

import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Leader election (Raft §5.2) and the new leader's no-op (§8). */
class ElectionTest {

    /** Ticks node {@code id} alone until it leaves the follower role; returns the ticks taken. */
    private static int ticksUntilCandidate(TestCluster c, int id) {
        int ticks = 0;
        while (c.node(id).role() == Role.FOLLOWER) {
            assertThat(ticks).as("node %d still a follower after %d ticks", id, ticks).isLessThan(100);
            c.tick(id);
            ticks++;
        }
        return ticks;
    }

    @Test
    @DisplayName("§5.2: a follower whose election timeout passes becomes candidate, votes for itself, asks every peer")
    void followerTimesOutIntoCandidate() {
        // The paper's election: with pre-vote (thesis §9.6, PreVoteTest) it would ask first.
        TestCluster c = TestCluster.builder(3).seed(1)
                .log(1, 1, 1, 2).log(2, 1, 1, 2).log(3, 1, 1, 2)
                .allInTerm(2, 0).configAll(cfg -> cfg.preVote(false)).build();

        int ticks = ticksUntilCandidate(c, 1);

        RaftNode n1 = c.node(1);
        assertThat(ticks).as("randomized timeout in [30, 50) ticks").isBetween(30, 49);
        assertThat(n1.role()).isEqualTo(Role.CANDIDATE);
        assertThat(n1.term()).isEqualTo(3);
        assertThat(n1.votedFor()).isEqualTo(1);
        assertThat(c.storage(1).hardState).isEqualTo(new HardState(3, 1, 0));
        assertThat(c.inFlight()).containsExactlyInAnyOrder(
                new RequestVote(1, 2, 3, 3, 2),
                new RequestVote(1, 3, 3, 3, 2));
    }

    @Test
    @DisplayName("§5.2: a follower does not start an election before its timeout")
    void noElectionBeforeTimeout() {
        for (long seed = 0; seed < 50; seed++) {
            TestCluster c = TestCluster.of(3, seed);
            for (int i = 0; i < 29; i++) c.tick(1);
            assertThat(c.node(1).role()).isEqualTo(Role.FOLLOWER);
            assertThat(c.sent()).isEmpty();
        }
    }

    @Test
    @DisplayName("§5.2: election timeouts are randomized across nodes, within [30, 50) ticks")
    void timeoutsAreRandomized() {
        Set<Integer> seen = new HashSet<>();
        for (long seed = 0; seed < 40; seed++) {
            TestCluster c = TestCluster.of(3, seed);
            for (int id = 1; id <= 3; id++) {
                int ticks = ticksUntilCandidate(c, id);
                assertThat(ticks).isBetween(30, 49);
                seen.add(ticks);
            }
        }
        assertThat(seen).as("distinct timeouts seen").hasSizeGreaterThan(10);
    }

    @Test
    @DisplayName("§5.2: nodes configured with one shared seed still draw different timeouts and elect a leader")
    void sharedSeedStillElects() {
        for (long seed = 0; seed < 20; seed++) {
            TestCluster.Builder b = TestCluster.builder(5).seed(seed);
            long shared = seed;
            b.configAll(cfg -> cfg.randomSeed(shared));
            TestCluster c = b.build();
            int leader = c.electLeader(1_000);
            assertThat(c.leaders()).containsExactly(leader);
        }
    }

    @Test
    @DisplayName("§5.2, §8: a candidate with a majority of votes becomes leader and appends a no-op of its term")
    void candidateWinsWithMajorityAndAppendsNoop() {
        TestCluster c = TestCluster.of(5, 3);
        c.campaign(1);
        assertThat(c.node(1).role()).isEqualTo(Role.CANDIDATE);

        // Deliver the vote requests; then hand back the grants one at a time.
        c.deliver(m -> m instanceof RequestVote);
        List<Message> grants = c.inFlight();
        assertThat(grants).hasSize(4).allSatisfy(m ->
                assertThat(m).isInstanceOfSatisfying(RequestVoteResponse.class, r -> assertThat(r.granted()).isTrue()));

        c.deliver(m -> m.equals(grants.get(0)));
        assertThat(c.node(1).role()).as("2 of 5 votes").isEqualTo(Role.CANDIDATE);
        c.deliver(m -> m.equals(grants.get(1)));
        assertThat(c.node(1).role()).as("3 of 5 votes").isEqualTo(Role.LEADER);
        assertThat(c.node(1).term()).isEqualTo(1);
        assertThat(c.log(1)).containsExactly(Entry.noop(1, 1));

        c.stabilize();
        assertThat(c.node(1).commitIndex()).isEqualTo(1);
        // §5.3: followers learn the commit index from the next AppendEntries, here a heartbeat.
        c.tickAndStabilize(c.node(1).config().heartbeatTicks());
        for (int id = 1; id <= 5; id++) {
            assertThat(c.log(id)).as("log of %d", id).containsExactly(Entry.noop(1, 1));
            assertThat(c.node(id).commitIndex()).isEqualTo(1);
            assertThat(c.applied(id)).containsExactly(Entry.noop(1, 1));
            assertThat(c.node(id).leaderId()).hasValue(1);
        }
    }

    @Test
    @DisplayName("§5.2: without a majority of votes a candidate does not become leader")
    void noLeaderWithoutMajority() {
        TestCluster c = TestCluster.of(5, 4);
        c.partition(Set.of(1, 2), Set.of(3, 4, 5));
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.CANDIDATE);
        assertThat(c.leaders()).isEmpty();
    }

    @Test
    @DisplayName("§5.2: a candidate denied by a majority returns to follower, keeping its vote for the term")
    void candidateDeniedByMajorityStepsBack() {
        // Nodes 2 and 3 have a more up-to-date log (§5.4.1), so they refuse.
        TestCluster c = TestCluster.builder(3).seed(5)
                .log(1, 1).log(2, 1, 1).log(3, 1, 1).allInTerm(1, 0).build();
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.FOLLOWER);
        assertThat(c.node(1).term()).isEqualTo(2);
        assertThat(c.node(1).votedFor()).isEqualTo(1);
        assertThat(c.sent()).filteredOn(m -> m instanceof RequestVoteResponse r && !r.granted()).hasSize(2);
    }

    @Test
    @DisplayName("§5.2: a single-node cluster elects itself and commits alone")
    void singleNodeElectsItself() {
        TestCluster c = TestCluster.of(1, 6);
        int ticks = ticksUntilCandidate(c, 1);
        assertThat(ticks).isBetween(30, 49);
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(1).term()).isEqualTo(1);
        assertThat(c.applied(1)).containsExactly(Entry.noop(1, 1));

        assertThat(c.propose(1, "x")).isEqualTo(new ProposeResult.Accepted(2, 1));
        assertThat(c.node(1).commitIndex()).isEqualTo(2);
        assertThat(c.applied(1)).extracting(e -> new String(e.data(), StandardCharsets.UTF_8)).containsExactly("", "x");
    }

    @Test
    @DisplayName("§5.2: heartbeats keep followers from starting elections")
    void heartbeatsSuppressElections() {
        TestCluster c = TestCluster.of(5, 7);
        int leader = c.electLeader(200);
        long term = c.node(leader).term();
        c.tickAndStabilize(1000);
        assertThat(c.leaders()).containsExactly(leader);
        for (int id : c.ids()) assertThat(c.node(id).term()).isEqualTo(term);
    }

    @Test
    @DisplayName("§5.2: proposals to a follower are refused with a hint naming the leader")
    void followerRefusesProposals() {
        TestCluster c = TestCluster.of(3, 8);
        int leader = c.electLeader(200);
        int follower = leader % 3 + 1;
        assertThat(c.propose(follower, "x")).isEqualTo(new ProposeResult.NotLeader(java.util.OptionalInt.of(leader)));
    }
}
