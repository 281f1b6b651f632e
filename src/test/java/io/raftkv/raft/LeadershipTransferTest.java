package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.raft.Message.TimeoutNow;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Leadership transfer (thesis §3.10): the leader stops accepting proposals, brings the target's
 * log up to date, sends it TimeoutNow; the target campaigns at once, and voters grant it despite
 * the leader lease. Abandoned after an election timeout, when the leader accepts proposals again.
 */
class LeadershipTransferTest {
    private static int other(TestCluster c, int... not) {
        return c.ids().stream().filter(i -> java.util.Arrays.stream(not).noneMatch(n -> n == i)).findFirst().orElseThrow();
    }

    /** A 3-node cluster with a leader and a few committed writes everywhere. */
    private static TestCluster withWrites(long seed) {
        TestCluster c = TestCluster.of(3, seed);
        int leader = c.electLeader(500);
        for (int i = 0; i < 3; i++) c.propose(leader, "w" + i);
        c.stabilize();
        return c;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    @DisplayName("§3.10: the target of a transfer leads the next term, with every entry, without a pre-vote")
    void transferElectsTheTarget(long seed) {
        TestCluster c = withWrites(seed);
        int leader = c.leader().orElseThrow();
        int target = other(c, leader);
        long term = c.node(leader).term();
        List<Entry> log = c.log(leader);
        int sentBefore = c.sent().size();

        assertThat(c.node(leader).transferLeadership(target)).isEqualTo(new TransferResult.Started(target));
        assertThat(c.node(leader).transferTarget()).hasValue(target);
        c.stabilize();

        assertThat(c.leader()).hasValue(target);
        assertThat(c.node(target).term()).isEqualTo(term + 1);
        assertThat(c.node(leader).role()).isEqualTo(Role.FOLLOWER);
        assertThat(c.node(leader).leaderId()).hasValue(target);
        assertThat(c.log(target)).startsWith(log.toArray(Entry[]::new));
        List<Message> sent = c.sent().subList(sentBefore, c.sent().size());
        assertThat(sent).contains(new TimeoutNow(leader, target, term));
        assertThat(sent).as("the transfer's election skips the pre-vote")
                .noneMatch(m -> m instanceof RequestVote rv && rv.preVote());
        assertThat(sent).filteredOn(m -> m instanceof RequestVote).allMatch(m -> ((RequestVote) m).transfer());
        assertThat(c.roleChanges(target)).anySatisfy(rc -> {
            assertThat(rc.to()).isEqualTo(Role.CANDIDATE);
            assertThat(rc.reason()).contains("leadership transferred from node " + leader);
        });
        assertThat(c.roleChanges(target).getLast().reason()).contains("leadership transferred from node " + leader);
        assertThat(c.roleChanges(leader).getLast().reason()).contains("leadership transferred to node " + target);
    }

    @Test
    @DisplayName("§3.10: while the transfer runs the leader refuses proposals, so its log stops growing")
    void proposalsAreRefusedDuringTheTransfer() {
        TestCluster c = withWrites(6);
        int leader = c.leader().orElseThrow();
        int target = other(c, leader);
        long last = c.node(leader).lastIndex();
        c.node(leader).transferLeadership(target);
        assertThat(c.propose(leader, "during")).isEqualTo(new ProposeResult.TransferInProgress(target));
        assertThat(c.node(leader).lastIndex()).isEqualTo(last);
        c.stabilize();
        assertThat(c.propose(leader, "after")).isInstanceOf(ProposeResult.NotLeader.class);
        assertThat(c.propose(target, "at the new leader")).isInstanceOf(ProposeResult.Accepted.class);
    }

    @Test
    @DisplayName("§3.10: a transfer to a node that is down is abandoned after an election timeout; writes resume")
    void transferToADownNodeIsAbandonedAfterAnElectionTimeout() {
        TestCluster c = withWrites(7);
        int leader = c.leader().orElseThrow();
        int target = other(c, leader);
        long term = c.node(leader).term();
        c.crash(target);
        assertThat(c.node(leader).transferLeadership(target)).isEqualTo(new TransferResult.Started(target));
        int timeoutTicks = c.node(leader).config().electionTicksMin();
        for (int i = 0; i < timeoutTicks - 1; i++) {
            c.tick(leader);
            c.stabilize();
        }
        assertThat(c.node(leader).transferTarget()).as("one tick before the election timeout").hasValue(target);
        assertThat(c.propose(leader, "too early")).isEqualTo(new ProposeResult.TransferInProgress(target));
        c.tick(leader);
        c.stabilize();
        assertThat(c.node(leader).transferTarget()).as("at the election timeout").isEmpty();
        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(leader).term()).isEqualTo(term);
        assertThat(c.propose(leader, "resumed")).isInstanceOf(ProposeResult.Accepted.class);
        c.stabilize();
        assertThat(c.node(leader).commitIndex()).isEqualTo(c.node(leader).lastIndex());
    }

    @ParameterizedTest
    @ValueSource(longs = {8, 9, 10})
    @DisplayName("§3.10: a lagging target is brought up to date before TimeoutNow, then elected")
    void aLaggingTargetIsCaughtUpFirst(long seed) {
        TestCluster c = withWrites(seed);
        int leader = c.leader().orElseThrow();
        int target = other(c, leader);
        c.drop(m -> m instanceof AppendEntries ae && ae.to() == target && !ae.entries().isEmpty());
        for (int i = 0; i < 5; i++) c.propose(leader, "behind" + i);
        c.stabilize();
        c.clearDrops();
        long last = c.node(leader).lastIndex();
        assertThat(c.storage(target).lastIndex()).as("the target lags").isLessThan(last);

        c.node(leader).transferLeadership(target);
        c.processReadies();
        for (int round = 0; c.inFlight().stream().noneMatch(m -> m instanceof TimeoutNow); round++) {
            assertThat(round).as("TimeoutNow within a few round trips").isLessThan(50);
            assertThat(c.inFlight()).as("messages in flight").isNotEmpty();
            c.deliverAll();
        }
        assertThat(c.storage(target).lastIndex()).as("the target's log when TimeoutNow leaves").isEqualTo(last);
        c.stabilize();
        assertThat(c.leader()).hasValue(target);
        assertThat(c.node(target).commitIndex()).isGreaterThan(last);
    }

    @Test
    @DisplayName("§3.10 + §6.2: the lease ignores an ordinary higher-term RequestVote but grants a transfer's")
    void theLeaseYieldsOnlyToATransferVote() {
        TestCluster c = withWrites(11);
        int leader = c.leader().orElseThrow();
        int follower = other(c, leader);
        int candidate = other(c, leader, follower);
        RaftNode f = c.node(follower);
        long term = f.term();
        int sentBefore = c.sent().size();

        f.step(new RequestVote(candidate, follower, term + 1, f.lastIndex(), f.lastTerm(), false, false));
        c.processReadies();
        assertThat(f.term()).as("an ordinary vote request in the lease").isEqualTo(term);
        assertThat(c.sent().subList(sentBefore, c.sent().size())).isEmpty();

        f.step(new RequestVote(candidate, follower, term + 1, f.lastIndex(), f.lastTerm(), false, true));
        c.processReadies();
        assertThat(f.term()).as("a transfer's vote request in the lease").isEqualTo(term + 1);
        assertThat(c.sent().subList(sentBefore, c.sent().size()))
                .containsExactly(new RequestVoteResponse(follower, candidate, term + 1, true));
    }

    @Test
    @DisplayName("§3.10 + §6.2: a transfer vote that arrives after the leader gave up and took writes is ignored like any disruptive one")
    void aLateTransferVoteDoesNotDeposeTheLeader() {
        TestCluster c = withWrites(16);
        int leader = c.leader().orElseThrow();
        int target = other(c, leader);
        int third = other(c, leader, target);
        long term = c.node(leader).term();
        // The target's TimeoutNow is held back by the network; the leader gives up and takes writes.
        c.drop(m -> m instanceof TimeoutNow);
        c.node(leader).transferLeadership(target);
        for (int i = 0; i < c.node(leader).config().electionTicksMin(); i++) {
            c.tick(leader);
            c.stabilize();
        }
        assertThat(c.node(leader).transferTarget()).isEmpty();
        RaftNode t = c.node(target);
        long staleLast = t.lastIndex();
        long staleTerm = t.lastTerm();
        c.propose(leader, "after giving up");
        c.stabilize();
        // The late TimeoutNow's election: vote requests carrying the target's log from before the write.
        for (int voter : List.of(leader, third)) {
            c.node(voter).step(new RequestVote(target, voter, term + 1, staleLast, staleTerm, false, true));
        }
        c.processReadies();
        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(leader).term()).as("the leader's term").isEqualTo(term);
        assertThat(c.node(third).term()).as("the follower in the lease").isEqualTo(term);
    }

    @Test
    @DisplayName("§5.4.1 still applies: a transfer vote from a candidate whose log is behind is refused")
    void aTransferVoteStillNeedsAnUpToDateLog() {
        TestCluster c = withWrites(12);
        int leader = c.leader().orElseThrow();
        int follower = other(c, leader);
        int candidate = other(c, leader, follower);
        RaftNode f = c.node(follower);
        long term = f.term();
        // Out of the lease (the leader is gone), so the request is weighed on its log alone.
        c.crash(leader);
        for (int i = 0; i < f.config().electionTicksMin(); i++) f.tick();
        c.processReadies();
        f.step(new RequestVote(candidate, follower, f.term() + 1, 1, 1, false, true));
        c.processReadies();
        assertThat(c.sent().getLast()).isEqualTo(new RequestVoteResponse(follower, candidate, f.term(), false));
        assertThat(f.term()).isGreaterThan(term);
    }

    @Test
    @DisplayName("§3.10: a lost TimeoutNow is sent again on the target's next answer")
    void aLostTimeoutNowIsResent() {
        TestCluster c = withWrites(13);
        int leader = c.leader().orElseThrow();
        int target = other(c, leader);
        boolean[] lost = {false};
        c.drop(m -> m instanceof TimeoutNow && !lost[0] && (lost[0] = true));
        c.node(leader).transferLeadership(target);
        c.stabilize();
        assertThat(lost[0]).isTrue();
        assertThat(c.leader()).hasValue(leader);
        for (int i = 0; i < c.node(leader).config().heartbeatTicks() && c.leader().orElseThrow() == leader; i++) {
            c.tick(leader);
            c.stabilize();
        }
        assertThat(c.leader()).hasValue(target);
    }

    @Test
    @DisplayName("§3.10: to itself a no-op; to an unknown id refused; only the leader transfers; one target at a time")
    void refusals() {
        TestCluster c = withWrites(14);
        int leader = c.leader().orElseThrow();
        int follower = other(c, leader);
        int third = other(c, leader, follower);
        RaftNode l = c.node(leader);
        assertThat(l.transferLeadership(leader)).isEqualTo(new TransferResult.AlreadyLeader());
        assertThat(l.transferTarget()).isEmpty();
        assertThat(l.transferLeadership(99)).isEqualTo(new TransferResult.UnknownNode(99));
        assertThat(c.node(follower).transferLeadership(third)).isEqualTo(new TransferResult.NotLeader(OptionalInt.of(leader)));
        c.crash(follower); // keeps the transfer pending
        assertThat(l.transferLeadership(follower)).isEqualTo(new TransferResult.Started(follower));
        assertThat(l.transferLeadership(follower)).as("asked again").isEqualTo(new TransferResult.Started(follower));
        assertThat(l.transferLeadership(third)).isEqualTo(new TransferResult.OtherTransferInProgress(follower));
        assertThat(l.transferLeadership(leader)).isEqualTo(new TransferResult.AlreadyLeader());
        assertThat(l.transferTarget()).hasValue(follower);
    }

    @Test
    @DisplayName("§3.10: without a named target the most caught-up voter is chosen")
    void mostCaughtUpVoter() {
        TestCluster c = withWrites(15);
        int leader = c.leader().orElseThrow();
        int lagging = other(c, leader);
        int current = other(c, leader, lagging);
        c.drop(m -> m instanceof AppendEntries ae && ae.to() == lagging && !ae.entries().isEmpty());
        c.propose(leader, "x");
        c.stabilize();
        assertThat(c.node(leader).mostCaughtUpVoter()).hasValue(current);
        assertThat(c.node(current).mostCaughtUpVoter()).as("only the leader knows").isEmpty();
        TestCluster single = TestCluster.of(1, 1);
        int only = single.electLeader(500);
        assertThat(single.node(only).mostCaughtUpVoter()).as("a single voter").hasValue(only);
    }
}
