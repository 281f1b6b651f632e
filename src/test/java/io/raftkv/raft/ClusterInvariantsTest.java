package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The checkers the simulation relies on must fail on broken histories (they have teeth). */
class ClusterInvariantsTest {

    static Entry e(long index, long term) {
        return new Entry(index, term, TestCluster.payload(index, term));
    }

    static Entry cmd(long index, long term, String data) {
        return new Entry(index, term, data.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("§5.2 Election Safety: a second leader in one term is caught")
    void twoLeadersInOneTerm() {
        ClusterInvariants inv = new ClusterInvariants();
        inv.onLeader(1, 3);
        inv.onLeader(1, 3);
        inv.onLeader(2, 4);
        assertThatThrownBy(() -> inv.onLeader(2, 3)).isInstanceOf(AssertionError.class).hasMessageContaining("term 3");
    }

    @Test
    @DisplayName("§5.3 Log Matching: same index and term with different data, or different prefixes, is caught")
    void logMatching() {
        List<Entry> a = List.of(e(1, 1), e(2, 1), e(3, 2));
        assertThatCode(() -> ClusterInvariants.checkLogMatching(1, a, 2, List.of(e(1, 1), e(2, 1), e(3, 3))))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> ClusterInvariants.checkLogMatching(1, a, 2, List.of(e(1, 1), cmd(2, 1, "x"))))
                .isInstanceOf(AssertionError.class).hasMessageContaining("index 2");
        // Index 3 agrees on term 2 but index 2 does not: prefixes differ.
        assertThatThrownBy(() -> ClusterInvariants.checkLogMatching(1, a, 2, List.of(e(1, 1), e(2, 2), e(3, 2))))
                .isInstanceOf(AssertionError.class).hasMessageContaining("index 3");
    }

    @Test
    @DisplayName("committed entries never change: a different entry committed at an index is caught")
    void committedEntryChanges() {
        ClusterInvariants inv = new ClusterInvariants();
        inv.onCommit(1, 2, 0, 2, List.of(e(1, 1), e(2, 2)));
        inv.onCommit(2, 2, 0, 1, List.of(e(1, 1), e(2, 1)));
        assertThatThrownBy(() -> inv.onCommit(2, 3, 1, 2, List.of(e(1, 1), e(2, 1))))
                .isInstanceOf(AssertionError.class).hasMessageContaining("index 2");
        assertThatThrownBy(() -> inv.onCommit(3, 3, 0, 3, List.of(e(1, 1))))
                .isInstanceOf(AssertionError.class).hasMessageContaining("beyond");
    }

    @Test
    @DisplayName("§5.4 Leader Completeness: a leader of a later term missing a committed entry is caught")
    void leaderCompleteness() {
        ClusterInvariants inv = new ClusterInvariants();
        List<Entry> committed = List.of(e(1, 1), e(2, 2));
        inv.onCommit(1, 2, 0, 2, committed);
        // A leader of term 2 itself (or a stale one) need not hold it; term 3 must.
        assertThatCode(() -> inv.checkLeaderCompleteness(3, 2, 1, i -> 1)).doesNotThrowAnyException();
        assertThatCode(() -> inv.checkLeaderCompleteness(2, 3, 2, i -> committed.get((int) i - 1).term()))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> inv.checkLeaderCompleteness(3, 3, 1, i -> 1)).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> inv.checkLeaderCompleteness(3, 3, 2, i -> 1)).isInstanceOf(AssertionError.class);
    }

    @Test
    @DisplayName("§5.4.3 State Machine Safety: two nodes applying different commands at one index is caught")
    void stateMachineSafety() {
        ClusterInvariants inv = new ClusterInvariants();
        inv.onApply(1, cmd(1, 1, "a"));
        inv.onApply(2, cmd(1, 1, "a"));
        assertThatThrownBy(() -> inv.onApply(3, cmd(1, 1, "b"))).isInstanceOf(AssertionError.class);
    }

    @Test
    @DisplayName("Figure 2: messages promising unpersisted votes, terms or entries are caught")
    void persistBeforeSend() {
        HardState votedFor3 = new HardState(5, 3, 0);
        assertThatCode(() -> ClusterInvariants.checkPersistedBeforeSend(1, votedFor3, 4,
                new RequestVoteResponse(1, 3, 5, true))).doesNotThrowAnyException();
        assertThatThrownBy(() -> ClusterInvariants.checkPersistedBeforeSend(1, votedFor3, 4,
                new RequestVoteResponse(1, 2, 5, true))).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> ClusterInvariants.checkPersistedBeforeSend(1, votedFor3, 4,
                new RequestVote(1, 2, 5, 4, 5))).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> ClusterInvariants.checkPersistedBeforeSend(1, votedFor3, 4,
                new AppendEntries(1, 2, 6, 0, 0, List.of(), 0))).isInstanceOf(AssertionError.class);
        assertThatCode(() -> ClusterInvariants.checkPersistedBeforeSend(1, votedFor3, 4,
                AppendEntriesResponse.accept(1, 2, 5, 4))).doesNotThrowAnyException();
        assertThatThrownBy(() -> ClusterInvariants.checkPersistedBeforeSend(1, votedFor3, 4,
                AppendEntriesResponse.accept(1, 2, 5, 5))).isInstanceOf(AssertionError.class);
    }

    @Test
    @DisplayName("thesis §6.4: a read confirmed below an index committed before it was issued is caught")
    void staleReadIndex() {
        ClusterInvariants inv = new ClusterInvariants();
        inv.onCommit(1, 2, 0, 3, List.of(e(1, 1), e(2, 2), e(3, 2)));
        inv.onReadIssued(10, 3);
        inv.onReadIssued(11, 3);
        inv.onReadIssued(12, 3);
        assertThatCode(() -> inv.onReadState(1, new ReadState(10, 3, true))).doesNotThrowAnyException();
        assertThatCode(() -> inv.onReadState(2, new ReadState(11, 0, false))).as("a refused read").doesNotThrowAnyException();
        assertThatCode(() -> inv.onReadState(2, new ReadState(99, 0, true))).as("a read not issued through the checker")
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> inv.onReadState(2, new ReadState(12, 2, true))).isInstanceOf(AssertionError.class)
                .hasMessageContaining("ReadIndex linearizability").hasMessageContaining("index 3 was committed");
    }
}
