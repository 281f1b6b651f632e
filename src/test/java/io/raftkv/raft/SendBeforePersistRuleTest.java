package io.raftkv.raft;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rule a Ready states for its messages while its write is not yet on disk (Raft Figure 2;
 * thesis §10.2.1 for the leader's own entries), which the node runtime follows.
 */
class SendBeforePersistRuleTest {
    private static final long DURABLE_TERM = 5;
    private static final List<Entry> ENTRIES = List.of(new Entry(11, 5, new byte[] {1}));
    private static final Ready READY = new Ready(Optional.of(new HardState(6, 1, 9)), ENTRIES, List.of(), List.of(),
            List.of(), Optional.empty(), List.of(), DURABLE_TERM);

    private static boolean mayLeaveBeforePersist(Message m) {
        return READY.mayLeaveBeforePersist(m);
    }

    @Test
    void theCoreStatesTheTermOnDiskWhenItHandsOutAReady() {
        RaftNode n = new RaftNode(RaftConfig.defaults(1, List.of(1, 2, 3), 7), new HardState(5, 1, 0), List.of());
        n.campaign("test");
        Ready rd = n.ready();
        assertThat(rd.durableTerm()).as("the term already durable").isEqualTo(5);
        assertThat(rd.hardState()).map(HardState::term).as("the new term, not yet durable").contains(6L);
        // The vote requests of term 6 promise the candidate's own vote: they wait for the write.
        assertThat(rd.messages()).isNotEmpty().noneMatch(rd::mayLeaveBeforePersist);
    }

    @Test
    void aLeadersAppendEntriesOfADurableTermMayLeaveFirst() {
        assertThat(mayLeaveBeforePersist(new Message.AppendEntries(1, 2, 5, 10, 5, ENTRIES, 9, 0))).isTrue();
        assertThat(mayLeaveBeforePersist(new Message.AppendEntries(1, 2, 4, 10, 4, List.of(), 9, 0))).isTrue();
        assertThat(mayLeaveBeforePersist(new Message.InstallSnapshot(1, 2, 5, 100, 5, Configuration.bootstrap(List.of(1, 2)), 0, new byte[] {1}, false))).isTrue();
    }

    @Test
    void aMessageOfATermNotYetOnDiskWaits() {
        assertThat(mayLeaveBeforePersist(new Message.AppendEntries(1, 2, 6, 10, 5, ENTRIES, 9, 0))).isFalse();
        assertThat(mayLeaveBeforePersist(new Message.InstallSnapshot(1, 2, 6, 100, 5, Configuration.bootstrap(List.of(1, 2)), 0, new byte[] {1}, false))).isFalse();
    }

    @Test
    void votesVoteRequestsAndAcknowledgementsAlwaysWait() {
        // A candidate's own vote, a granted vote and an acknowledged entry promise what must be durable first.
        assertThat(mayLeaveBeforePersist(new Message.RequestVote(1, 2, 5, 10, 5, false))).isFalse();
        assertThat(mayLeaveBeforePersist(new Message.RequestVoteResponse(2, 1, 5, true, false))).isFalse();
        assertThat(mayLeaveBeforePersist(new Message.AppendEntriesResponse(2, 1, 5, true, 11, 0, 0, 0, 0))).isFalse();
        assertThat(mayLeaveBeforePersist(new Message.InstallSnapshotResponse(2, 1, 5, 100, 0, true)))
                .isFalse();
    }
}
