package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.RequestVote;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Raft §5.2 with §7: the leader sends heartbeats to every follower, also to one it is sending a
 * snapshot to. Chunks alone do not do it: a lost chunk is resent only after a stall of several
 * heartbeat intervals, as long as the shortest election timeout, so the waiting follower would
 * start an election and depose a healthy leader with its higher term.
 */
class SnapshotHeartbeatTest {
    @Test
    @DisplayName("§5.2/§7: a follower waiting for snapshot chunks gets heartbeats and never starts an election")
    void followerWaitingForTheSnapshotHearsFromTheLeader() {
        TestCluster c = TestCluster.of(3, 11);
        int leader = c.electLeader(200);
        int behind = c.ids().stream().filter(id -> id != leader).findFirst().orElseThrow();
        c.crash(behind);
        for (int i = 0; i < 10; i++) c.propose(leader, "w" + i);
        c.stabilize();
        RaftNode l = c.node(leader);
        long commit = l.commitIndex();
        assertThat(commit).as("committed with the other follower").isGreaterThan(10);
        l.compact(new Snapshot(commit, l.termAt(commit), new byte[] {1, 2, 3}), commit);
        long term = l.term();

        // The transfer never completes: every chunk is lost, so only heartbeats can reach the follower.
        c.drop(m -> m instanceof InstallSnapshot);
        c.restart(behind);
        int sentBefore = c.sent().size();
        c.tickAndStabilize(250); // five times the longest election timeout
        List<Message> since = c.sent().subList(sentBefore, c.sent().size());

        assertThat(c.sent()).as("elections started by the follower waiting for the snapshot")
                .noneMatch(m -> m instanceof RequestVote && m.from() == behind);
        assertThat(l.role()).isEqualTo(Role.LEADER);
        assertThat(l.term()).isEqualTo(term);
        assertThat(c.node(behind).term()).isEqualTo(term);
        assertThat(l.followerProgress()).filteredOn(p -> p.id() == behind).singleElement()
                .satisfies(p -> assertThat(p.state()).isEqualTo("snapshot"));
        assertThat(since).as("chunks sent (and lost)").anyMatch(m -> m instanceof InstallSnapshot && m.to() == behind);
        assertThat(since.stream().filter(m -> m instanceof AppendEntries && m.to() == behind).count())
                .as("heartbeats to the follower waiting for the snapshot, one per interval").isGreaterThanOrEqualTo(250 / l.config().heartbeatTicks() - 1);
    }
}
