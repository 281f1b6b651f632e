package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The commit rule of Raft §5.4.2, built as Figure 8: a leader never commits an entry of an older
 * term by counting replicas; it commits it indirectly once an entry of its own term is stored on a
 * majority.
 */
class CommitRuleTest {

    /**
     * Figure 8 (b), just before (c): S1 led term 2 and stored index 2 on S2; S5 led term 3 and
     * stored its own index 2 only locally. Everyone has committed index 1 and seen term 3. S1 sends
     * one entry per AppendEntries so that index 2 and index 3 travel separately.
     */
    static TestCluster figure8(UnaryOperator<RaftConfig.Builder> protocol) {
        return TestCluster.builder(5).seed(31)
                .log(1, 1, 2).log(2, 1, 2).log(3, 1).log(4, 1).log(5, 1, 3)
                .allInTerm(3, 1)
                .configAll(protocol)
                .config(1, cfg -> cfg.maxEntriesPerAppend(1))
                .build();
    }

    static TestCluster figure8c() {
        return figure8c(cfg -> cfg);
    }

    /** Figure 8 (c): S1 wins term 4 and spreads index 2 (term 2) to a majority, but not index 3. */
    static TestCluster figure8c(UnaryOperator<RaftConfig.Builder> protocol) {
        TestCluster c = figure8(protocol);
        c.crash(5);
        // Index 3 (term 4) is lost on the way to any node that would store it; S3 and S4 still
        // get the appends they reject, which lead S1 to send them index 2 on its own.
        c.drop(m -> m instanceof AppendEntries ae && ae.entries().stream().anyMatch(e -> e.term() == 4)
                && c.node(ae.to()).lastIndex() >= ae.prevLogIndex()
                && c.node(ae.to()).termAt(ae.prevLogIndex()) == ae.prevLogTerm());
        c.campaign(1);
        c.stabilize();

        RaftNode s1 = c.node(1);
        assertThat(s1.role()).isEqualTo(Role.LEADER);
        assertThat(s1.term()).isEqualTo(4);
        assertThat(c.log(1)).extracting(Entry::term).containsExactly(1L, 2L, 4L);
        for (int id = 1; id <= 4; id++) {
            assertThat(c.log(id)).as("log of S%d", id).hasSizeGreaterThanOrEqualTo(2);
            assertThat(c.log(id).get(1).term()).as("index 2 on S%d", id).isEqualTo(2);
        }
        // The leader has heard that S3 and S4 store index 2: with itself, a majority.
        assertThat(s1.followerProgress()).filteredOn(p -> p.id() == 3 || p.id() == 4)
                .hasSize(2).allSatisfy(p -> assertThat(p.matchIndex()).isEqualTo(2));
        return c;
    }

    @Test
    @DisplayName("§5.4.2 Figure 8(c): an older-term entry on a majority is not committed by counting replicas")
    void olderTermEntryOnMajorityIsNotCommitted() {
        TestCluster c = figure8c();
        for (int id = 1; id <= 5; id++) {
            assertThat(c.node(id).commitIndex()).as("commit of S%d", id).isEqualTo(1);
            assertThat(c.applied(id)).as("applied by S%d", id).allSatisfy(e -> assertThat(e.index()).isEqualTo(1));
        }
        assertThat(c.node(1).committedInCurrentTerm()).isFalse();
    }

    @Test
    @DisplayName("§5.4.2 Figure 8(d): so a later leader may overwrite that entry, and does so safely")
    void uncommittedOlderTermEntryIsOverwritten() {
        // Figure 8 (d) elects S5 right after S1 crashes. With check-quorum, S2-S4 would refuse
        // votes for an election timeout after last hearing S1 (the lease of thesis §4.2.3), and
        // by then one of them would have won (their logs are as up to date as each other's).
        TestCluster c = figure8c(cfg -> cfg.checkQuorum(false));
        // S1 crashes before index 3 spreads; S5 comes back and wins with S2, S3, S4 (its last term 3 > 2).
        c.crash(1);
        c.clearDrops();
        c.restart(5);
        for (int attempt = 0; attempt < 3 && c.node(5).role() != Role.LEADER; attempt++) {
            c.campaign(5);
            c.stabilize();
        }
        assertThat(c.node(5).role()).isEqualTo(Role.LEADER);
        c.tickAndStabilize(c.node(5).config().heartbeatTicks());

        for (int id = 2; id <= 5; id++) {
            assertThat(c.log(id)).as("log of S%d", id).isEqualTo(c.log(5));
            assertThat(c.log(id).get(1).term()).as("index 2 on S%d", id).isEqualTo(3);
            assertThat(c.applied(id)).as("applied by S%d", id).hasSize(3);
            assertThat(c.applied(id).get(1).term()).isEqualTo(3);
        }
    }

    @Test
    @DisplayName("§5.4.2 Figure 8(e): once an entry of the leader's term is on a majority, older entries commit with it")
    void olderTermEntryCommitsIndirectly() {
        TestCluster c = figure8c();
        c.clearDrops();
        // The lost appends are re-sent once the leader notices the stalled streams (heartbeats).
        c.tickAndStabilize(c.node(1).config().heartbeatTicks() * 8);

        RaftNode s1 = c.node(1);
        assertThat(s1.commitIndex()).isEqualTo(3);
        assertThat(s1.committedInCurrentTerm()).isTrue();
        for (int id = 1; id <= 4; id++) {
            assertThat(c.applied(id)).as("applied by S%d", id).extracting(Entry::term).containsExactly(1L, 2L, 4L);
        }

        // S5 can no longer be elected: a majority has a log with last term 4.
        c.crash(1);
        c.restart(5);
        for (int attempt = 0; attempt < 3; attempt++) {
            c.campaign(5);
            c.stabilize();
            assertThat(c.node(5).role()).isNotEqualTo(Role.LEADER);
        }
    }

    @Test
    @DisplayName("§5.4.2: a leader commits an entry of its term as soon as a majority (itself included) stores it")
    void currentTermEntryCommitsOnMajority() {
        TestCluster c = TestCluster.of(5, 32);
        c.campaign(1);
        c.stabilize();
        c.partition(java.util.Set.of(1, 2, 3), java.util.Set.of(4, 5));
        c.propose(1, "x");
        c.deliver(m -> m.to() == 2);
        assertThat(c.node(1).commitIndex()).as("2 of 5 store it").isEqualTo(1);
        c.stabilize();
        assertThat(c.node(1).commitIndex()).as("3 of 5 store it").isEqualTo(2);
    }
}
