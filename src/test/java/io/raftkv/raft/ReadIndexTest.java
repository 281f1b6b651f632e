package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Thesis §6.4: ReadIndex serves linearizable reads without writing to the log. */
class ReadIndexTest {
    private static TestCluster cluster(long seed) {
        return TestCluster.of(3, seed);
    }

    @Test
    @DisplayName("§6.4: the leader confirms with one heartbeat round and answers with its commit index")
    void leaderConfirmsWithAHeartbeatRound() {
        TestCluster c = cluster(1);
        int leader = c.electLeader(500);
        c.propose(leader, "w1");
        c.stabilize();
        long commit = c.node(leader).commitIndex();
        int sentBefore = c.sent().size();
        for (long id = 1; id <= 5; id++) c.node(leader).readIndex(id);
        c.stabilize();
        assertThat(c.readStates(leader)).containsExactly(new ReadState(1, commit, true), new ReadState(2, commit, true),
                new ReadState(3, commit, true), new ReadState(4, commit, true), new ReadState(5, commit, true));
        long heartbeats = c.sent().subList(sentBefore, c.sent().size()).stream()
                .filter(m -> m instanceof AppendEntries ae && ae.readContext() > 0 && ae.entries().isEmpty()).count();
        assertThat(heartbeats).as("five reads share one round: one heartbeat per follower").isEqualTo(2);
        assertThat(c.node(leader).lastIndex()).as("nothing written to the log").isEqualTo(commit);
    }

    @Test
    @DisplayName("§6.4: a leader cut off from its majority never confirms; its reads fail when it steps down")
    void isolatedLeaderNeverConfirms() {
        TestCluster c = cluster(2);
        int leader = c.electLeader(500);
        c.isolate(leader);
        c.node(leader).readIndex(7);
        c.stabilize();
        assertThat(c.readStates(leader)).isEmpty();
        for (int i = 0; i < 200; i++) {
            c.tick(leader);
            c.stabilize();
        }
        assertThat(c.node(leader).role()).isNotEqualTo(Role.LEADER);
        assertThat(c.readStates(leader)).containsExactly(new ReadState(7, 0, false));
    }

    @Test
    void aFollowerRefusesAtOnce() {
        TestCluster c = cluster(3);
        int leader = c.electLeader(500);
        int follower = c.ids().stream().filter(i -> i != leader).findFirst().orElseThrow();
        c.node(follower).readIndex(9);
        c.stabilize();
        assertThat(c.readStates(follower)).containsExactly(new ReadState(9, 0, false));
    }

    @Test
    @DisplayName("§6.4 step 1: a new leader serves reads only after committing an entry of its own term")
    void newLeaderWaitsForItsFirstCommit() {
        TestCluster c = cluster(4);
        c.campaign(1);
        c.stabilize();
        c.propose(1, "w1");
        c.stabilize();
        // Node 1 commits w2 at index 3 with node 2 alone, and crashes before node 2 learns that
        // it is committed: node 2 holds w2 but knows only index 2 as committed.
        c.drop(m -> m.to() == 3);
        c.propose(1, "w2");
        c.deliver(m -> m instanceof AppendEntries && m.to() == 2);
        c.deliver(m -> m instanceof Message.AppendEntriesResponse);
        assertThat(c.node(1).commitIndex()).isEqualTo(3);
        assertThat(c.node(2).lastIndex()).isEqualTo(3);
        assertThat(c.node(2).commitIndex()).isEqualTo(2);
        c.crash(1);
        c.clearDrops();

        // Node 2 wins term 2 (node 3's log is behind, so only node 2 can), and its no-op does not
        // reach node 3 yet: empty heartbeats do.
        c.drop(m -> m instanceof AppendEntries ae && ae.from() == 2 && !ae.entries().isEmpty());
        for (int i = 0; i < 300 && c.node(2).role() != Role.LEADER; i++) {
            c.tick(2);
            c.tick(3);
            c.stabilize();
        }
        assertThat(c.node(2).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(2).committedInCurrentTerm()).as("new leader's no-op committed").isFalse();
        assertThat(c.node(2).commitIndex()).as("what the new leader knows committed").isEqualTo(2);

        // Were it served now, the read would be confirmed at index 2, missing w2 (committed, and
        // acknowledged to its client, before the read began).
        c.node(2).readIndex(11);
        c.stabilize();
        for (int i = 0; i < 2 * c.node(2).config().heartbeatTicks(); i++) {
            c.tick(2);
            c.stabilize();
        }
        assertThat(c.readStates(2)).as("answers before the first commit of the term").isEmpty();

        c.clearDrops();
        for (int i = 0; i < 2 * c.node(2).config().heartbeatTicks() && c.readStates(2).isEmpty(); i++) {
            c.tick(2);
            c.stabilize();
        }
        assertThat(c.node(2).committedInCurrentTerm()).isTrue();
        assertThat(c.readStates(2)).singleElement().satisfies(rs -> {
            assertThat(rs.ok()).isTrue();
            assertThat(rs.index()).as("read index: at least w2's").isGreaterThanOrEqualTo(3);
        });
    }

    @Test
    @DisplayName("a single voter answers reads itself, also those that waited for its first commit")
    void singleVoter() {
        TestCluster c = TestCluster.builder(1).seed(5).build();
        c.campaign(1);
        c.node(1).readIndex(1); // before the stabilize: the no-op is not committed yet
        c.stabilize();
        c.node(1).readIndex(2);
        c.stabilize();
        long commit = c.node(1).commitIndex();
        assertThat(c.readStates(1)).containsExactly(new ReadState(1, commit, true), new ReadState(2, commit, true));
    }

    @Test
    @DisplayName("§6.4: a refusal of an earlier term's heartbeat, echoing a read context from before a restart, confirms no round")
    void refusalOfAnOlderTermConfirmsNoRound() {
        TestCluster c = cluster(6);
        c.campaign(1);
        c.stabilize();
        c.node(1).readIndex(1);
        c.stabilize();
        assertThat(c.readStates(1)).singleElement().satisfies(rs -> assertThat(rs.ok()).isTrue());
        // A heartbeat of term 1 carrying read context 1 is held back by the network.
        for (int i = 0; i < c.node(1).config().heartbeatTicks(); i++) c.tick(1);
        AppendEntries held = (AppendEntries) c.inFlight().stream()
                .filter(m -> m instanceof AppendEntries ae && ae.to() == 2).findFirst().orElseThrow();
        assertThat(held.readContext()).isEqualTo(1);
        c.delay(held);
        c.stabilize();

        // Node 1 restarts (its read contexts start over) and wins term 2 once the others forgot it.
        c.crash(1);
        c.restart(1);
        c.partition(List.of(Set.of(1), Set.of(2), Set.of(3)));
        for (int i = 0; i < 2 * c.node(1).config().electionTicksMax(); i++) for (int id : c.ids()) c.tick(id);
        c.heal();
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(1).term()).isEqualTo(2);

        // Node 2, in term 2, refuses the held heartbeat; its refusal is held back in turn.
        c.releaseDelayed(held);
        c.deliver(held);
        c.processReadies();
        Message refusal = c.inFlight().stream().filter(m -> m instanceof Message.AppendEntriesResponse r
                && r.from() == 2 && !r.success() && r.conflictIndex() == 0).findFirst().orElseThrow();
        c.delay(refusal);

        // Node 1 is cut off; nodes 2 and 3 elect a leader of term 3, which commits a write.
        c.isolate(1);
        int next = -1;
        for (int i = 0; i < 300 && next < 0; i++) {
            for (int id : List.of(2, 3)) c.tick(id);
            c.stabilize();
            next = c.leaders().stream().filter(x -> x != 1).findFirst().orElse(-1);
        }
        assertThat(next).isPositive();
        c.propose(next, "w");
        c.stabilize();
        long written = c.node(next).commitIndex();
        assertThat(c.node(next).termAt(written)).isEqualTo(3);

        // Node 1 still believes it leads term 2 and starts a read round (context 1 again); the old
        // refusal arrives, in node 1's term. Were it counted, the read would be served at an index
        // below the write committed before the read began.
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        c.node(1).readIndex(2);
        c.processReadies();
        c.heal();
        c.releaseDelayed(refusal);
        c.deliver(refusal);
        c.processReadies();
        assertThat(c.readStates(1)).filteredOn(rs -> rs.requestId() == 2 && rs.ok())
                .as("reads node 1 confirmed by the refusal").isEmpty();
    }

    @Test
    @DisplayName("§6.4: a follower in probe state confirms a read round at the next heartbeat, not once its log is repaired")
    void probingFollowerConfirmsAtTheNextHeartbeat() {
        // Node 2's uncommitted log differs from the leader's at every index (one term per entry),
        // so repairing it takes one probe round trip per entry (§5.3).
        long[] leaderLog = new long[30];
        java.util.Arrays.fill(leaderLog, 1);
        long[] divergent = java.util.stream.LongStream.rangeClosed(1, 30).toArray();
        TestCluster c = TestCluster.builder(3).seed(7).log(1, leaderLog).log(2, divergent).log(3, leaderLog)
                .allInTerm(30, 1).build();
        c.drop(m -> m.to() == 2 || m.from() == 2);
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).committedInCurrentTerm()).isTrue();
        c.clearDrops();
        // Node 3 goes down: every round now needs node 2, still in probe state.
        c.crash(3);
        c.node(1).readIndex(1);
        c.processReadies();
        // The round's own heartbeat to node 2 is lost.
        c.inFlight().stream().filter(m -> m.to() == 2).forEach(c::lose);

        // A slow link: one hop per tick.
        int ticks = 0;
        while (c.readStates(1).isEmpty() && ticks < 200) {
            c.tick(1);
            c.deliverAll();
            ticks++;
        }
        assertThat(c.readStates(1)).singleElement().satisfies(rs -> assertThat(rs.ok()).isTrue());
        assertThat(ticks).as("ticks until the read is confirmed")
                .isLessThanOrEqualTo(c.node(1).config().heartbeatTicks() + 1);
    }
}
