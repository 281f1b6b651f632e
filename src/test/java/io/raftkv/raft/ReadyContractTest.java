package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Persist before send (Raft Figure 2: persistent state is "updated on stable storage before
 * responding to RPCs"): a message in a Ready never promises state that is not in that Ready or an
 * earlier one. Checked here on single nodes driven by hand, including a runtime that keeps
 * stepping the node while a Ready is being persisted; {@link TestCluster} checks it on every Ready.
 */
class ReadyContractTest {
    static final List<Integer> VOTERS = List.of(1, 2, 3);

    static Entry entry(long index, long term) {
        return new Entry(index, term, TestCluster.payload(index, term));
    }

    /** Stable storage of one node built only from the Readies handed out. */
    static final class Disk {
        final TestCluster.Storage storage = new TestCluster.Storage();

        /** Persists {@code rd} and checks every message against what is now on disk. */
        void persistAndCheck(int id, Ready rd) {
            storage.persist(rd);
            for (Message m : rd.messages())
                ClusterInvariants.checkPersistedBeforeSend(id, storage.hardState, storage.lastIndex(), m);
        }
    }

    static RaftNode follower() {
        return new RaftNode(RaftConfig.defaults(2, VOTERS, 5), HardState.EMPTY, List.of());
    }

    @Test
    @DisplayName("Figure 2: the entries a follower acknowledges are in the Ready that carries the acknowledgement")
    void acknowledgedEntriesAreInTheSameReady() {
        RaftNode n = follower();
        n.step(new AppendEntries(1, 2, 1, 0, 0, List.of(entry(1, 1), entry(2, 1), entry(3, 1)), 0));
        Ready rd = n.ready();
        assertThat(rd.messages()).containsExactly(AppendEntriesResponse.accept(2, 1, 1, 3));
        assertThat(rd.entries()).extracting(Entry::index).containsExactly(1L, 2L, 3L);
        assertThat(rd.hardState()).hasValue(new HardState(1, RaftNode.NONE, 0));
        new Disk().persistAndCheck(2, rd);
    }

    @Test
    @DisplayName("Figure 2: a granted vote's term and votedFor are in the Ready that carries the grant")
    void grantedVoteIsInTheSameReady() {
        RaftNode n = follower();
        n.step(new RequestVote(3, 2, 4, 0, 0));
        Ready rd = n.ready();
        assertThat(rd.messages()).containsExactly(new RequestVoteResponse(2, 3, 4, true));
        assertThat(rd.hardState()).hasValue(new HardState(4, 3, 0));
    }

    @Test
    @DisplayName("§5.2 + Figure 2: a candidate's own vote is in the Ready that carries its RequestVotes")
    void candidateVoteIsInTheSameReady() {
        RaftNode n = follower();
        n.campaign("test");
        Ready rd = n.ready();
        assertThat(rd.hardState()).hasValue(new HardState(1, 2, 0));
        assertThat(rd.messages()).containsExactlyInAnyOrder(new RequestVote(2, 1, 1, 0, 0), new RequestVote(2, 3, 1, 0, 0));
    }

    @Test
    @DisplayName("Figure 2: entries accepted while a Ready is being persisted are acknowledged in a later Ready that holds them")
    void acknowledgementsWaitForTheirReady() {
        RaftNode n = follower();
        Disk disk = new Disk();
        n.step(new AppendEntries(1, 2, 1, 0, 0, List.of(entry(1, 1), entry(2, 1)), 0));
        Ready rd1 = n.ready();
        // The runtime is still writing rd1 and steps another append meanwhile.
        n.step(new AppendEntries(1, 2, 1, 2, 1, List.of(entry(3, 1), entry(4, 1)), 0));
        assertThat(rd1.messages()).containsExactly(AppendEntriesResponse.accept(2, 1, 1, 2));
        disk.persistAndCheck(2, rd1);
        n.advance(rd1);

        Ready rd2 = n.ready();
        assertThat(rd2.entries()).extracting(Entry::index).containsExactly(3L, 4L);
        assertThat(rd2.messages()).containsExactly(AppendEntriesResponse.accept(2, 1, 1, 4));
        disk.persistAndCheck(2, rd2);
        n.advance(rd2);
        assertThat(disk.storage.entries).extracting(Entry::index).containsExactly(1L, 2L, 3L, 4L);
    }

    @Test
    @DisplayName("§5.3: entries replaced while their Ready is being persisted are written again, replaced, in the next Ready")
    void truncationDuringPersistIsRewritten() {
        RaftNode n = follower();
        Disk disk = new Disk();
        n.step(new AppendEntries(1, 2, 1, 0, 0, List.of(entry(1, 1), entry(2, 1), entry(3, 1)), 0));
        Ready rd1 = n.ready();
        // A new leader of term 2 replaces index 2 and 3 before rd1 is acknowledged.
        n.step(new AppendEntries(3, 2, 2, 1, 1, List.of(entry(2, 2)), 0));
        disk.persistAndCheck(2, rd1);
        n.advance(rd1);

        Ready rd2 = n.ready();
        assertThat(rd2.messages()).containsExactly(AppendEntriesResponse.accept(2, 3, 2, 2));
        assertThat(rd2.hardState()).hasValue(new HardState(2, RaftNode.NONE, 0));
        disk.persistAndCheck(2, rd2);
        n.advance(rd2);
        assertThat(disk.storage.entries).containsExactly(entry(1, 1), entry(2, 2));
        assertThat(n.hasReady()).isFalse();
    }

    @Test
    @DisplayName("thesis §10.2.1: a leader counts itself toward a commit only for entries its own Ready persisted")
    void leaderCountsItselfOnlyOncePersisted() {
        RaftNode leader = new RaftNode(RaftConfig.defaults(1, VOTERS, 6), HardState.EMPTY, List.of());
        leader.campaign("test");
        leader.advance(leader.ready());
        leader.step(new RequestVoteResponse(2, 1, 1, true));
        assertThat(leader.role()).isEqualTo(Role.LEADER);
        leader.advance(leader.ready());
        leader.step(AppendEntriesResponse.accept(2, 1, 1, 1));
        leader.advance(leader.ready());
        assertThat(leader.commitIndex()).isEqualTo(1);

        leader.propose("x".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Ready rd = leader.ready();
        assertThat(rd.entries()).extracting(Entry::index).containsExactly(2L);
        // Node 2 stores index 2 before the leader's own write finishes: one copy on disk of three.
        leader.step(AppendEntriesResponse.accept(2, 1, 1, 2));
        assertThat(leader.commitIndex()).isEqualTo(1);
        leader.advance(rd);
        assertThat(leader.commitIndex()).as("two copies on disk of three").isEqualTo(2);
    }

    @Test
    @DisplayName("Figure 2: over random appends, votes and pipelined Readies, no message outruns the disk")
    void randomPipelinedInputsNeverOutrunTheDisk() {
        for (long seed = 0; seed < 100; seed++) {
            Random rnd = new Random(seed);
            RaftNode n = follower();
            Disk disk = new Disk();
            // A leader's view of the log it replicates: term per index, rewritten on each new term.
            List<Entry> leaderLog = new ArrayList<>();
            long term = 1;
            // Highest leaderCommit sent: every later leader holds that prefix (Leader Completeness).
            int committed = 0;
            Ready pending = null;
            for (int step = 0; step < 300; step++) {
                int dice = rnd.nextInt(10);
                if (dice < 5) {
                    // An append from the current leader at a random prefix of its log.
                    if (rnd.nextInt(4) == 0 || leaderLog.isEmpty()) leaderLog.add(entry(leaderLog.size() + 1, term));
                    int prev = rnd.nextInt(leaderLog.size() + 1);
                    int last = prev + rnd.nextInt(leaderLog.size() - prev + 1);
                    int leaderCommit = Math.max(committed, rnd.nextInt(leaderLog.size() + 1));
                    committed = leaderCommit;
                    n.step(new AppendEntries(1, 2, term, prev, prev == 0 ? 0 : leaderLog.get(prev - 1).term(),
                            leaderLog.subList(prev, last), leaderCommit));
                } else if (dice < 6) {
                    // A new leader of a higher term that kept a prefix of the log.
                    term += 1 + rnd.nextInt(2);
                    int keep = committed + rnd.nextInt(leaderLog.size() - committed + 1);
                    leaderLog = new ArrayList<>(leaderLog.subList(0, keep));
                    n.step(new RequestVote(1, 2, term, leaderLog.size(),
                            leaderLog.isEmpty() ? 0 : leaderLog.getLast().term()));
                } else if (dice < 8 && pending == null && n.hasReady()) {
                    pending = n.ready();
                    disk.persistAndCheck(2, pending);
                } else if (pending != null) {
                    n.advance(pending);
                    pending = null;
                }
            }
            if (pending != null) n.advance(pending);
            for (int drains = 0; n.hasReady(); drains++) {
                assertThat(drains).as("seed %d: Readies never run out", seed).isLessThan(10);
                Ready rd = n.ready();
                disk.persistAndCheck(2, rd);
                n.advance(rd);
            }
            assertThat(disk.storage.lastIndex()).as("seed %d", seed).isEqualTo(n.lastIndex());
            for (long i = 1; i <= n.lastIndex(); i++)
                assertThat(disk.storage.entries.get((int) (i - 1)).term()).isEqualTo(n.termAt(i));
            assertThat(disk.storage.hardState).isEqualTo(new HardState(n.term(), n.votedFor(), n.commitIndex()));
        }
    }
}
