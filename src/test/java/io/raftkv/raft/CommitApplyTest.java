package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Committing and applying (Raft §5.3, Figure 2 "Rules for Servers") and the Ready/advance handshake. */
class CommitApplyTest {
    static final List<Integer> VOTERS = List.of(1, 2, 3);

    static Entry entry(long index, long term) {
        return new Entry(index, term, TestCluster.payload(index, term));
    }

    /** Node 2 as a follower in {@code term} with the given log and commit index. */
    static RaftNode follower(long term, long commit, long... logTerms) {
        List<Entry> log = new ArrayList<>();
        for (int i = 0; i < logTerms.length; i++) log.add(entry(i + 1, logTerms[i]));
        return new RaftNode(RaftConfig.defaults(2, VOTERS, 9), new HardState(term, RaftNode.NONE, commit), log);
    }

    static Ready drain(RaftNode n) {
        Ready rd = n.ready();
        n.advance(rd);
        return rd;
    }

    static String text(Entry e) {
        return new String(e.data(), StandardCharsets.UTF_8);
    }

    @Test
    @DisplayName("§5.3: every committed entry is handed out for applying exactly once, in log order, on every node")
    void committedEntriesAppliedOnceInOrder() {
        TestCluster c = TestCluster.of(3, 41);
        int leader = c.electLeader(200);
        Random rnd = new Random(41);
        List<String> proposed = new ArrayList<>();
        for (int batch = 0; batch < 15; batch++) {
            int size = 1 + rnd.nextInt(4);
            for (int i = 0; i < size; i++) {
                String cmd = "cmd-" + proposed.size();
                assertThat(c.propose(leader, cmd)).isInstanceOf(ProposeResult.Accepted.class);
                proposed.add(cmd);
            }
            // Deliver a part of the traffic, sometimes a heartbeat, sometimes everything.
            switch (rnd.nextInt(3)) {
                case 0 -> c.deliverAll();
                case 1 -> c.tick(leader);
                default -> c.stabilize();
            }
        }
        c.stabilize();
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks());

        List<Entry> log = c.log(leader);
        for (int id : c.ids()) {
            assertThat(c.node(id).commitIndex()).isEqualTo(log.size());
            // The harness also checked on every Ready that each index came exactly once, in order.
            assertThat(c.applied(id)).as("applied by %d", id).isEqualTo(log);
            assertThat(c.applied(id)).filteredOn(e -> !e.isNoop()).extracting(CommitApplyTest::text)
                    .containsExactlyElementsOf(proposed);
            assertThat(c.node(id).appliedIndex()).isEqualTo(log.size());
            assertThat(c.node(id).hasReady()).isFalse();
        }
    }

    @Test
    @DisplayName("§5.3: after advance() the same committed entries are not handed out again")
    void committedNotRepeatedAfterAdvance() {
        RaftNode n = follower(1, 0);
        n.step(new AppendEntries(1, 2, 1, 0, 0, List.of(entry(1, 1), entry(2, 1)), 2));
        Ready first = drain(n);
        assertThat(first.committed()).containsExactly(entry(1, 1), entry(2, 1));
        assertThat(n.hasReady()).isFalse();

        n.step(new AppendEntries(1, 2, 1, 2, 1, List.of(entry(3, 1)), 3));
        Ready second = drain(n);
        assertThat(second.committed()).containsExactly(entry(3, 1));
    }

    @Test
    @DisplayName("§5.3: a follower commits min(leaderCommit, index of last new entry), never more")
    void followerCommitBoundedByWhatItHas() {
        RaftNode n = follower(1, 0);
        n.step(new AppendEntries(1, 2, 1, 0, 0, List.of(entry(1, 1), entry(2, 1)), 5));
        assertThat(n.commitIndex()).isEqualTo(2);
        Ready rd = drain(n);
        assertThat(rd.hardState()).hasValue(new HardState(1, RaftNode.NONE, 2));
        assertThat(rd.committed()).hasSize(2);

        // A heartbeat matching at index 1 does not lower the commit index.
        n.step(new AppendEntries(1, 2, 1, 1, 1, List.of(), 1));
        assertThat(n.commitIndex()).isEqualTo(2);
    }

    @Test
    @DisplayName("§5.3: entries beyond the leader's AppendEntries are not committed by a larger leaderCommit")
    void staleSuffixNotCommittedByLeaderCommit() {
        // Index 3 (term 1) was never confirmed by the term-2 leader, which committed its own index 3.
        RaftNode n = follower(2, 0, 1, 1, 1);
        n.step(new AppendEntries(1, 2, 2, 1, 1, List.of(), 3));
        assertThat(n.commitIndex()).as("only what the heartbeat vouched for").isEqualTo(1);
        Ready rd = drain(n);
        assertThat(rd.messages()).containsExactly(AppendEntriesResponse.accept(2, 1, 2, 1));
        assertThat(rd.committed()).containsExactly(entry(1, 1));

        n.step(new AppendEntries(1, 2, 2, 2, 1, List.of(entry(3, 2)), 3));
        assertThat(n.commitIndex()).isEqualTo(3);
        rd = drain(n);
        assertThat(rd.entries()).containsExactly(entry(3, 2));
        assertThat(rd.committed()).containsExactly(entry(2, 1), entry(3, 2));
    }

    @Test
    @DisplayName("Ready contract: ready() twice without advance() throws; advance() without ready() throws")
    void readyAdvanceHandshake() {
        RaftNode n = follower(1, 0);
        n.campaign("test");
        Ready rd = n.ready();
        assertThatThrownBy(n::ready).isInstanceOf(IllegalStateException.class);
        n.advance(rd);
        assertThatThrownBy(() -> n.advance(rd)).isInstanceOf(IllegalStateException.class);
        assertThat(n.hasReady()).isFalse();
        assertThat(n.ready().isEmpty()).isTrue();
    }

    @Test
    @DisplayName("§5.3: the leader applies an entry only after a majority stores it")
    void leaderAppliesOnlyCommitted() {
        TestCluster c = TestCluster.of(3, 42);
        c.campaign(1);
        c.stabilize();
        c.drop(m -> m instanceof AppendEntries);
        c.propose(1, "x");
        c.stabilize();
        assertThat(c.node(1).commitIndex()).isEqualTo(1);
        assertThat(c.applied(1)).hasSize(1);

        c.clearDrops();
        c.tickAndStabilize(c.node(1).config().heartbeatTicks() * 8);
        assertThat(c.node(1).commitIndex()).isEqualTo(2);
        assertThat(c.applied(1)).extracting(CommitApplyTest::text).containsExactly("", "x");
    }

    @Test
    @DisplayName("restart: a node re-applies its committed log from storage, once, in order")
    void restartReappliesCommittedLog() {
        TestCluster c = TestCluster.of(3, 43);
        int leader = c.electLeader(200);
        for (int i = 0; i < 5; i++) c.propose(leader, "v" + i);
        c.stabilize();
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks());
        int follower = leader % 3 + 1;
        List<Entry> before = c.applied(follower);
        assertThat(before).hasSize(6);

        c.crash(follower);
        c.restart(follower);
        assertThat(c.applied(follower)).isEqualTo(before);
        assertThat(c.node(follower).commitIndex()).isEqualTo(6);
    }
}
