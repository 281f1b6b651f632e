package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Terms (Raft §5.1): a higher term makes any node a follower; a lower one is refused with ours. */
class StepDownTest {

    /** Messages from node 2 to node 1 in term {@code t} that do not make node 1 vote. */
    static Stream<Arguments> higherTermMessages() {
        List<Function<Long, Message>> makers = List.of(
                t -> new AppendEntries(2, 1, t, 0, 0, List.of(), 0),
                t -> new AppendEntriesResponse(2, 1, t, false, 0, 0, 0, 0),
                t -> new RequestVote(2, 1, t, 0, 0), // log behind node 1's: no vote (§5.4.1)
                t -> new RequestVoteResponse(2, 1, t, false));
        return Stream.of(Role.LEADER, Role.CANDIDATE).flatMap(role ->
                makers.stream().map(mk -> Arguments.of(role, mk.apply(7L).getClass().getSimpleName(), mk)));
    }

    /** A 3-node cluster, one entry in every log, where node 1 is in {@code role} of term 2. */
    static TestCluster withNode1As(Role role, UnaryOperator<RaftConfig.Builder> protocol) {
        TestCluster c = TestCluster.builder(3).seed(11).log(1, 1).log(2, 1).log(3, 1).allInTerm(1, 1)
                .configAll(protocol).build();
        if (role == Role.CANDIDATE) c.isolate(1);
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(role);
        assertThat(c.node(1).votedFor()).isEqualTo(1);
        return c;
    }

    @ParameterizedTest(name = "{0} sees {1} of a higher term")
    @MethodSource("higherTermMessages")
    @DisplayName("§5.1: a leader or candidate seeing a higher term becomes follower of that term and clears its vote")
    void higherTermMakesFollower(Role role, String kind, Function<Long, Message> message) {
        // With check-quorum a leader ignores a RequestVote of a higher term (thesis §4.2.3,
        // CheckQuorumTest): the paper's rule of §5.1 alone is checked here.
        TestCluster c = withNode1As(role, kind.equals("RequestVote") ? cfg -> cfg.checkQuorum(false) : cfg -> cfg);
        long oldTerm = c.node(1).term();

        c.node(1).step(message.apply(oldTerm + 5));
        c.processReadies();

        RaftNode n = c.node(1);
        assertThat(n.role()).isEqualTo(Role.FOLLOWER);
        assertThat(n.term()).isEqualTo(oldTerm + 5);
        assertThat(n.votedFor()).isEqualTo(RaftNode.NONE);
        assertThat(c.storage(1).hardState.term()).isEqualTo(oldTerm + 5);
        assertThat(c.storage(1).hardState.votedFor()).isEqualTo(RaftNode.NONE);
        assertThat(n.propose("x".getBytes(StandardCharsets.UTF_8))).isInstanceOf(ProposeResult.NotLeader.class);
        if (kind.equals("AppendEntries")) assertThat(n.leaderId()).hasValue(2);
        else assertThat(n.leaderId()).isEmpty();
    }

    @Test
    @DisplayName("§5.1: a deposed leader's AppendEntries is refused with the newer term, which makes it step down")
    void staleLeaderStepsDownOnReply() {
        TestCluster c = TestCluster.of(3, 12);
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);

        // Node 1 is cut off; once their lease of it has run out, 2 and 3 elect one of them for
        // term 2, which commits a command.
        c.isolate(1);
        int next = -1;
        for (int i = 0; i < 300 && next < 0; i++) {
            c.tick(2);
            c.tick(3);
            c.stabilize();
            next = c.leaders().stream().filter(id -> id != 1).findFirst().orElse(-1);
        }
        int leader = next;
        assertThat(leader).isPositive();
        assertThat(c.node(leader).term()).isEqualTo(2);
        assertThat(c.propose(leader, "new")).isInstanceOf(ProposeResult.Accepted.class);
        c.stabilize();

        // Node 1, reconnected, still believes it leads term 1 and accepts a proposal it can never commit.
        c.heal();
        assertThat(c.propose(1, "stale")).isEqualTo(new ProposeResult.Accepted(2, 1));
        c.stabilize();

        assertThat(c.sent()).anySatisfy(m -> assertThat(m).isEqualTo(
                AppendEntriesResponse.refuseOlderTerm(leader, 1, 2, 1)));
        RaftNode n1 = c.node(1);
        assertThat(n1.role()).isEqualTo(Role.FOLLOWER);
        assertThat(n1.term()).isEqualTo(2);

        // The new leader's next heartbeat repairs node 1's log; "stale" disappears everywhere.
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks() * 2);
        for (int id = 1; id <= 3; id++) {
            assertThat(c.log(id)).isEqualTo(c.log(leader));
            assertThat(c.applied(id)).extracting(e -> new String(e.data(), StandardCharsets.UTF_8))
                    .contains("new").doesNotContain("stale");
        }
    }

    @Test
    @DisplayName("§5.1: a stale candidate's RequestVote is refused with the newer term, which makes it step down")
    void staleCandidateStepsDownOnReply() {
        TestCluster c = TestCluster.builder(3).seed(13)
                .hardState(1, 5, RaftNode.NONE, 0)
                .hardState(2, 5, RaftNode.NONE, 0)
                .hardState(3, 2, RaftNode.NONE, 0).build();
        c.isolate(2);
        c.campaign(3);
        assertThat(c.node(3).term()).isEqualTo(3);
        c.stabilize();

        assertThat(c.sent()).contains(new RequestVoteResponse(1, 3, 5, false));
        assertThat(c.node(3).role()).isEqualTo(Role.FOLLOWER);
        assertThat(c.node(3).term()).isEqualTo(5);
        assertThat(c.node(3).votedFor()).isEqualTo(RaftNode.NONE);
        assertThat(c.node(1).term()).as("the stale request changes nothing on the receiver").isEqualTo(5);
        assertThat(c.node(1).votedFor()).isEqualTo(RaftNode.NONE);
    }

    @Test
    @DisplayName("§5.1: a reply from an older term is dropped, even a vote grant")
    void staleRepliesAreDropped() {
        TestCluster c = TestCluster.builder(3).seed(14).allInTerm(4, 0).build();
        c.isolate(1);
        c.campaign(1);
        RaftNode n1 = c.node(1);
        n1.step(new RequestVoteResponse(2, 1, 4, true));
        n1.step(new RequestVoteResponse(3, 1, 4, true));
        c.processReadies();
        assertThat(n1.role()).isEqualTo(Role.CANDIDATE);
        assertThat(c.sent()).filteredOn(m -> m.from() == 1 && !(m instanceof RequestVote)).isEmpty();
    }

    @Test
    @DisplayName("§5.2: a candidate hearing AppendEntries from a leader of its own term becomes its follower")
    void candidateYieldsToLeaderOfSameTerm() {
        TestCluster c = TestCluster.of(3, 15);
        c.partition(Set.of(1), Set.of(2, 3));
        c.campaign(1);
        c.campaign(2);
        c.stabilize();
        assertThat(c.node(2).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(1).role()).isEqualTo(Role.CANDIDATE);
        assertThat(c.node(1).term()).isEqualTo(c.node(2).term());

        c.heal();
        c.tickAndStabilize(c.node(2).config().heartbeatTicks());
        assertThat(c.node(1).role()).isEqualTo(Role.FOLLOWER);
        assertThat(c.node(1).leaderId()).hasValue(2);
        assertThat(c.node(1).votedFor()).as("its vote in the term stays cast").isEqualTo(1);
    }
}
