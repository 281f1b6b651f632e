package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A follower whose storage is wiped (a replaced disk, a deleted data folder) comes back empty,
 * below the match index the leader recorded for it. Raft assumes stable storage (Figure 2), so
 * the paper's leader never lowers {@code matchIndex}; ours must, or it probes forever just above
 * an index the follower no longer has (§5.3: nextIndex is decremented until the logs match).
 */
class LostLogTest {
    @Test
    @DisplayName("§5.3 beyond Figure 2: a wiped follower is refilled from the leader's log, in a quiet cluster too")
    void wipedFollowerIsRefilledFromTheLog() {
        TestCluster c = TestCluster.of(3, 5);
        int leader = c.electLeader(200);
        for (int i = 0; i < 20; i++) c.propose(leader, "w" + i);
        c.stabilize();
        c.tickAndStabilize(10);
        int follower = c.ids().stream().filter(id -> id != leader).findFirst().orElseThrow();
        assertThat(c.log(follower)).isEqualTo(c.log(leader));
        long commit = c.node(leader).commitIndex();

        c.crash(follower);
        c.wipe(follower);
        c.restart(follower);
        assertThat(c.log(follower)).isEmpty();
        // Nothing new is proposed: only heartbeats can reveal the loss.
        c.tickAndStabilize(30);

        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        List<Entry> leaderLog = c.log(leader);
        assertThat(c.log(follower)).as("log of the wiped follower").isEqualTo(leaderLog);
        assertThat(c.node(follower).commitIndex()).isEqualTo(commit);
        assertThat(c.applied(follower)).as("entries the wiped follower re-applied").hasSize((int) commit);
        assertThat(c.node(leader).followerProgress()).filteredOn(p -> p.id() == follower)
                .singleElement().satisfies(p -> assertThat(p.matchIndex()).isEqualTo(leaderLog.size()));
    }

    /**
     * Node 1 leads term 1 with four entries on every node, and its heartbeat to node 2 (prev 4) is
     * held back by the network. Then every node is cut off until node 1 steps down (check quorum)
     * and the others forget it, and node 1 wins term 2. Returns the held-back heartbeat.
     */
    private static AppendEntries reelectWithAHeldBackHeartbeat(TestCluster c) {
        c.campaign(1);
        c.stabilize();
        for (int i = 0; i < 3; i++) c.propose(1, "w" + i);
        c.stabilize();
        for (int i = 0; i < c.node(1).config().heartbeatTicks(); i++) c.tick(1);
        AppendEntries held = (AppendEntries) c.inFlight().stream()
                .filter(m -> m instanceof AppendEntries ae && ae.to() == 2).findFirst().orElseThrow();
        assertThat(held.prevLogIndex()).isEqualTo(4);
        c.delay(held);
        c.stabilize();

        c.partition(List.of(Set.of(1), Set.of(2), Set.of(3)));
        for (int i = 0; i < 2 * c.node(1).config().electionTicksMax(); i++) for (int id : c.ids()) c.tick(id);
        c.stabilize();
        assertThat(c.leaders()).isEmpty();
        assertThat(c.ids()).allSatisfy(id -> assertThat(c.node(id).term()).isEqualTo(1));
        c.heal();
        c.campaign(1);
        return held;
    }

    private static FollowerProgress progressOf(TestCluster c, int leader, int follower) {
        return c.node(leader).followerProgress().stream().filter(p -> p.id() == follower).findFirst().orElseThrow();
    }

    /** Node 2, now in term 2, answers the term-1 heartbeat: a rejection carrying only its term. */
    private static AppendEntriesResponse staleTermAnswer(TestCluster c, AppendEntries held) {
        c.releaseDelayed(held);
        c.deliver(held);
        c.processReadies();
        AppendEntriesResponse answer = (AppendEntriesResponse) c.inFlight().stream()
                .filter(m -> m instanceof AppendEntriesResponse r && r.from() == 2 && r.rejectedIndex() == 4
                        && !r.success())
                .findFirst().orElseThrow();
        assertThat(answer.term()).isEqualTo(2);
        assertThat(answer.conflictIndex()).as("the hint of an answer to an older term").isZero();
        return answer;
    }

    @Test
    @DisplayName("§5.1/§5.3: an answer to an older term's heartbeat does not make a re-elected leader forget a match")
    void staleTermAnswerKeepsTheMatch() {
        TestCluster c = TestCluster.of(3, 7);
        AppendEntries held = reelectWithAHeldBackHeartbeat(c);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(progressOf(c, 1, 2).matchIndex()).isEqualTo(5);
        assertThat(progressOf(c, 1, 2).state()).isEqualTo("replicate");

        AppendEntriesResponse answer = staleTermAnswer(c, held);
        c.deliver(answer);
        c.processReadies();
        assertThat(progressOf(c, 1, 2).matchIndex()).as("match of node 2 after the stale answer").isEqualTo(5);
        assertThat(progressOf(c, 1, 2).state()).isEqualTo("replicate");
    }

    @Test
    @DisplayName("§5.3: the stale answer to an older term is no answer to the new leader's probe at the same index")
    void staleTermAnswerIsNotTheProbesAnswer() {
        TestCluster c = TestCluster.of(3, 7);
        AppendEntries held = reelectWithAHeldBackHeartbeat(c);
        // The votes only: node 1 leads term 2, its probe to node 2 (prev 4, the no-op 5) not yet delivered.
        c.deliver(m -> m instanceof Message.RequestVote);
        c.deliver(m -> m instanceof Message.RequestVoteResponse);
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        int sentBefore = c.sent().size();
        assertThat(progressOf(c, 1, 2).nextIndex()).isEqualTo(5);

        AppendEntriesResponse answer = staleTermAnswer(c, held);
        c.deliver(answer);
        c.processReadies();
        assertThat(progressOf(c, 1, 2).nextIndex()).as("next of node 2 after the stale answer").isEqualTo(5);
        c.stabilize();
        assertThat(c.sent().subList(sentBefore, c.sent().size()))
                .filteredOn(m -> m instanceof AppendEntries ae && ae.to() == 2)
                .as("appends to node 2: none probes below the log both hold")
                .allSatisfy(m -> assertThat(((AppendEntries) m).prevLogIndex()).isGreaterThanOrEqualTo(4));
        assertThat(progressOf(c, 1, 2).matchIndex()).isEqualTo(5);
    }

    @Test
    @DisplayName("§5.3: a reordered rejection from before an acknowledgement costs a probe at the match, not the match")
    void reorderedRejectionKeepsTheMatch() {
        TestCluster c = TestCluster.builder(3).seed(8)
                .config(1, cfg -> cfg.maxEntriesPerAppend(2).maxInflightAppends(4)).build();
        c.campaign(1);
        c.stabilize();
        // Two appends in flight to node 2 (prev 1: entries 2-3; prev 3: entries 4-5).
        for (int i = 0; i < 4; i++) {
            c.node(1).propose(("w" + i).getBytes());
            if (i % 2 == 1) c.processReadies();
        }
        List<AppendEntries> appends = c.inFlight().stream()
                .filter(m -> m instanceof AppendEntries ae && ae.to() == 2 && !ae.entries().isEmpty())
                .map(m -> (AppendEntries) m).toList();
        assertThat(appends).extracting(AppendEntries::prevLogIndex).containsExactly(1L, 3L);
        // Node 2 gets the second first and rejects it (its log ends at 1), then the first.
        c.deliver(appends.get(1));
        c.processReadies();
        c.deliver(appends.get(0));
        c.processReadies();
        List<AppendEntriesResponse> answers = c.inFlight().stream()
                .filter(m -> m instanceof AppendEntriesResponse r && r.from() == 2)
                .map(m -> (AppendEntriesResponse) m).toList();
        assertThat(answers).extracting(AppendEntriesResponse::success).containsExactly(false, true);
        // The leader hears the acknowledgement (match 3) first, then the rejection of prev 3 (log ends at 1).
        c.deliver(answers.get(1));
        c.processReadies();
        assertThat(progressOf(c, 1, 2).matchIndex()).isEqualTo(3);
        c.deliver(answers.get(0));
        c.processReadies();
        assertThat(progressOf(c, 1, 2).matchIndex()).as("match of node 2 after the reordered rejection").isEqualTo(3);
        c.stabilize();
        assertThat(c.log(2)).isEqualTo(c.log(1));
    }
}
