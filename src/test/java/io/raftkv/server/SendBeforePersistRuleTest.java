package io.raftkv.server;

import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one rule RaftServer and the simulation follow for messages of a Ready that is not yet on
 * disk (Raft Figure 2; thesis §10.2.1 for the leader's own entries).
 */
class SendBeforePersistRuleTest {
    private static final long DURABLE_TERM = 5;
    private static final List<Entry> ENTRIES = List.of(new Entry(11, 5, new byte[] {1}));

    @Test
    void aLeadersAppendEntriesOfADurableTermMayLeaveFirst() {
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.AppendEntries(1, 2, 5, 10, 5, ENTRIES, 9, 0), DURABLE_TERM)).isTrue();
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.AppendEntries(1, 2, 4, 10, 4, List.of(), 9, 0), DURABLE_TERM)).isTrue();
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.InstallSnapshot(1, 2, 5, 100, 5, 0, new byte[] {1}, false),
                DURABLE_TERM)).isTrue();
    }

    @Test
    void aMessageOfATermNotYetOnDiskWaits() {
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.AppendEntries(1, 2, 6, 10, 5, ENTRIES, 9, 0), DURABLE_TERM)).isFalse();
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.InstallSnapshot(1, 2, 6, 100, 5, 0, new byte[] {1}, false),
                DURABLE_TERM)).isFalse();
    }

    @Test
    void votesVoteRequestsAndAcknowledgementsAlwaysWait() {
        // A candidate's own vote, a granted vote and an acknowledged entry promise what must be durable first.
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.RequestVote(1, 2, 5, 10, 5, false), DURABLE_TERM)).isFalse();
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.RequestVoteResponse(2, 1, 5, true, false), DURABLE_TERM)).isFalse();
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.AppendEntriesResponse(2, 1, 5, true, 11, 0, 0, 0, 0),
                DURABLE_TERM)).isFalse();
        assertThat(RaftServer.mayLeaveBeforePersist(new Message.InstallSnapshotResponse(2, 1, 5, 100, 0, true), DURABLE_TERM))
                .isFalse();
    }
}
