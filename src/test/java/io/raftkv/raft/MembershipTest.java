package io.raftkv.raft;

import io.raftkv.raft.ConfChange.AddLearner;
import io.raftkv.raft.ConfChange.Promote;
import io.raftkv.raft.ConfChange.Remove;
import io.raftkv.raft.ConfChangeResult.Accepted;
import io.raftkv.raft.ConfChangeResult.Reason;
import io.raftkv.raft.ConfChangeResult.Refused;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.RequestVote;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Membership changes (thesis ch. 4): single-server changes, learners, leader removal, removed servers. */
class MembershipTest {

    private static void assertRefused(ConfChangeResult r, Reason reason) {
        assertThat(r).isInstanceOfSatisfying(Refused.class, x -> assertThat(x.reason()).isEqualTo(reason));
    }

    /** A 3-voter cluster with its leader elected and its no-op committed. */
    private static TestCluster cluster(long seed) {
        TestCluster c = TestCluster.of(3, seed);
        int leader = c.electLeader(500);
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks());
        return c;
    }

    private static int follower(TestCluster c, int leader) {
        return c.ids().stream().filter(id -> id != leader && c.node(id).configuration().isVoter(id)).findFirst().orElseThrow();
    }

    @Test
    @DisplayName("§4.1: one change at a time - a second change waits until the first commits")
    void oneChangeAtATime() {
        TestCluster c = cluster(1);
        int leader = c.leader().orElseThrow();
        c.addNode(4);
        RaftNode l = c.node(leader);
        ConfChangeResult first = l.proposeConfChange(new AddLearner(4, "n4"));
        assertThat(first).isInstanceOf(Accepted.class);
        assertThat(l.configuration().learners()).containsEntry(4, "n4");
        assertRefused(l.proposeConfChange(new AddLearner(5, "n5")), Reason.CHANGE_IN_PROGRESS);
        assertRefused(l.proposeConfChange(new Remove(4)), Reason.CHANGE_IN_PROGRESS);
        c.stabilize();
        assertThat(l.commitIndex()).isGreaterThanOrEqualTo(((Accepted) first).index());
        assertThat(c.changeMembership(leader, new AddLearner(5, "n5"))).isInstanceOf(Accepted.class);
    }

    @Test
    @DisplayName("§4.1: only the leader accepts a change; invalid changes are refused with their reason")
    void refusals() {
        TestCluster c = cluster(2);
        int leader = c.leader().orElseThrow();
        int f = follower(c, leader);
        assertThat(c.node(f).proposeConfChange(new AddLearner(4, "n4")))
                .isEqualTo(new ConfChangeResult.NotLeader(java.util.OptionalInt.of(leader)));
        assertRefused(c.changeMembership(leader, new AddLearner(f, "elsewhere")), Reason.ALREADY_MEMBER);
        assertRefused(c.changeMembership(leader, new AddLearner(4, "")), Reason.INVALID);
        assertRefused(c.changeMembership(leader, new Promote(f)), Reason.NOT_A_LEARNER);
        assertRefused(c.changeMembership(leader, new Promote(9)), Reason.UNKNOWN_MEMBER);
        assertRefused(c.changeMembership(leader, new Remove(9)), Reason.UNKNOWN_MEMBER);
        assertThat(c.changeMembership(leader, new AddLearner(4, "n4"))).isInstanceOf(Accepted.class);
        c.tickAndStabilize(5);
        assertRefused(c.changeMembership(leader, new AddLearner(5, "n4")), Reason.ADDRESS_IN_USE);
    }

    @Test
    @DisplayName("§3.10 with §4.2.1: leadership cannot go to a learner, and no change is taken while a transfer runs")
    void transfersAndLearners() {
        TestCluster c = cluster(4);
        int leader = c.leader().orElseThrow();
        c.addNode(4);
        assertThat(c.changeMembership(leader, new AddLearner(4, "n4"))).isInstanceOf(Accepted.class);
        c.tickAndStabilize(5);
        RaftNode l = c.node(leader);
        assertThat(l.transferLeadership(4)).isEqualTo(new TransferResult.NotVoter(4));
        assertThat(l.transferLeadership(9)).isEqualTo(new TransferResult.UnknownNode(9));
        // A TimeoutNow reaching a learner (forged, or from a stale leader) does not make it campaign.
        long term = c.node(4).term();
        c.node(4).step(new Message.TimeoutNow(leader, 4, l.term()));
        c.stabilize();
        assertThat(c.node(4).term()).isEqualTo(term);
        assertThat(c.node(4).role()).isEqualTo(Role.FOLLOWER);

        int f = follower(c, leader);
        assertThat(l.transferLeadership(f)).isEqualTo(new TransferResult.Started(f));
        assertRefused(l.proposeConfChange(new Promote(4)), Reason.TRANSFER_IN_PROGRESS);
        assertThat(l.configuration().isVoter(4)).isFalse();
    }

    @Test
    @DisplayName("§4.1: removing the last voter is refused")
    void lastVoterStays() {
        TestCluster c = TestCluster.of(1, 3);
        int leader = c.electLeader(500);
        c.tickAndStabilize(1);
        assertRefused(c.changeMembership(leader, new Remove(leader)), Reason.LAST_VOTER);
    }

    @Test
    @DisplayName("§4.1 (Ongaro 2015): a new leader changes the membership only after committing an entry of its term")
    void newLeaderCommitsBeforeChanging() {
        MembershipScenarios.newLeaderCommitsBeforeChanging();
    }

    @Test
    @DisplayName("§4.1: a leader whose no-op is not committed refuses a change, and accepts it once it is")
    void noChangeBeforeTheFirstCommitOfTheTerm() {
        // The early campaign needs the others to listen: the lease would ignore it (§6.2).
        TestCluster c = TestCluster.builder(3).seed(4).configAll(cfg -> cfg.checkQuorum(false)).build();
        int old = c.electLeader(500);
        c.tickAndStabilize(5);
        int next = follower(c, old);
        c.crash(old);
        c.drop(m -> m instanceof AppendEntries && m.from() == next);
        c.campaign(next);
        c.stabilize();
        assertThat(c.node(next).role()).isEqualTo(Role.LEADER);
        assertRefused(c.changeMembership(next, new AddLearner(4, "n4")), Reason.NO_COMMIT_IN_TERM);
        c.clearDrops();
        c.tickAndStabilize(c.node(next).config().heartbeatTicks());
        assertThat(c.changeMembership(next, new AddLearner(4, "n4"))).isInstanceOf(Accepted.class);
    }

    @Test
    @DisplayName("§4.2.1: a learner catches up from the log and is promoted only once within maxLearnerLagEntries")
    void learnerCatchesUpBeforePromotion() {
        TestCluster c = TestCluster.builder(3).seed(5).configAll(cfg -> cfg.maxLearnerLagEntries(2)).build();
        int leader = c.electLeader(500);
        c.tickAndStabilize(5);
        for (int i = 0; i < 10; i++) c.propose(leader, "before-" + i);
        c.stabilize();
        c.addNode(4);
        c.isolate(4);
        assertThat(c.changeMembership(leader, new AddLearner(4, "n4"))).isInstanceOf(Accepted.class);
        c.tickAndStabilize(5);
        assertThat(c.log(4)).isEmpty();
        ConfChangeResult early = c.changeMembership(leader, new Promote(4));
        assertRefused(early, Reason.LEARNER_LAGGING);
        assertThat(((Refused) early).message()).contains("learner 4 has not acknowledged any entry");
        c.heal();
        c.tickAndStabilize(10);
        assertThat(c.log(4)).isEqualTo(c.log(leader));
        // Cut off again while the log grows: it lags by more than the allowed 2 entries.
        c.isolate(4);
        for (int i = 0; i < 5; i++) c.propose(leader, "while-cut-" + i);
        c.stabilize();
        ConfChangeResult lagging = c.changeMembership(leader, new Promote(4));
        assertRefused(lagging, Reason.LEARNER_LAGGING);
        assertThat(((Refused) lagging).message()).contains("learner 4 is 5 entries behind", "at most 2");
        c.heal();
        c.tickAndStabilize(c.node(leader).config().electionTicksMin()); // the lost appends are resent
        assertThat(c.log(4)).isEqualTo(c.log(leader));
        assertThat(c.node(4).configuration().isLearner(4)).isTrue();
        assertThat(c.changeMembership(leader, new Promote(4))).isInstanceOf(Accepted.class);
        c.tickAndStabilize(5);
        for (int id : c.ids()) assertThat(c.node(id).configuration().voters().keySet()).containsExactly(1, 2, 3, 4);
    }

    @Test
    @DisplayName("§4.2.1: a learner never counts towards a commit")
    void learnersNeverCountTowardsACommit() {
        MembershipScenarios.learnersNeverCountTowardsACommit();
    }

    @Test
    @DisplayName("§4.2.1: a learner never campaigns and is never asked for a vote")
    void learnersNeitherCampaignNorAreAsked() {
        TestCluster c = cluster(6);
        int leader = c.leader().orElseThrow();
        c.addNode(4);
        c.changeMembership(leader, new AddLearner(4, "n4"));
        c.tickAndStabilize(5);
        c.isolate(4);
        for (int i = 0; i < 500; i++) c.tick(4);
        assertThat(c.node(4).role()).isEqualTo(Role.FOLLOWER);
        assertThat(c.sent()).noneMatch(m -> m.from() == 4 && m instanceof RequestVote);
        c.heal();
        c.crash(leader);
        c.tickAndStabilize(200);
        assertThat(c.leader()).isPresent().get().isNotEqualTo(4);
        assertThat(c.sent()).noneMatch(m -> m.to() == 4 && m instanceof RequestVote);
        assertThat(c.sent()).anyMatch(m -> m.to() == 4 && m instanceof AppendEntries ae && ae.from() != leader);
    }

    @Test
    @DisplayName("§4.2.2: a leader that removes itself leads until the change commits, without counting itself, then steps down")
    void leaderRemovalStepsDownOnceCommitted() {
        TestCluster c = cluster(7);
        int leader = c.leader().orElseThrow();
        List<Integer> others = c.ids().stream().filter(id -> id != leader).toList();
        // One of the others is cut off: the leader and one follower hold the entry, a majority of
        // {1, 2, 3} but not of the new configuration, which lacks the leader.
        c.isolate(others.get(1));
        ConfChangeResult r = c.changeMembership(leader, new Remove(leader));
        assertThat(r).isInstanceOf(Accepted.class);
        long index = ((Accepted) r).index();
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks() * 2);
        assertThat(c.log(others.get(0))).hasSizeGreaterThanOrEqualTo((int) index);
        assertThat(c.node(leader).role()).as("still leading").isEqualTo(Role.LEADER);
        assertThat(c.node(leader).commitIndex()).as("not counting itself").isLessThan(index);
        assertThat(c.propose(leader, "while leaving")).isInstanceOf(ProposeResult.Accepted.class);
        int sentBefore = c.sent().size();
        c.heal();
        for (int i = 0; i < 200 && c.node(leader).commitIndex() < index; i++) {
            assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
            c.tickAndStabilize(1);
        }
        assertThat(c.node(leader).commitIndex()).isGreaterThanOrEqualTo(index);
        assertThat(c.node(leader).role()).as("steps down as the removal commits").isEqualTo(Role.FOLLOWER);
        assertThat(c.sent().subList(sentBefore, c.sent().size()))
                .as("the commit goes out before it steps down")
                .anyMatch(m -> m instanceof AppendEntries ae && ae.from() == leader && ae.leaderCommit() >= index);
        int next = c.electLeader(500);
        assertThat(next).isIn(others);
        c.tickAndStabilize(200);
        assertThat(c.leaders()).containsExactly(next);
        assertThat(c.node(leader).configuration().contains(leader)).isFalse();
    }

    @Test
    @DisplayName("§4.2.2: the removed leader's step-down is a role change with its reason")
    void removedLeaderSaysWhy() {
        TestCluster c = cluster(8);
        int leader = c.leader().orElseThrow();
        ConfChangeResult r = c.changeMembership(leader, new Remove(leader));
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks() * 2);
        assertThat(c.roleChanges(leader)).last().satisfies(rc -> {
            assertThat(rc.from()).isEqualTo(Role.LEADER);
            assertThat(rc.to()).isEqualTo(Role.FOLLOWER);
            assertThat(rc.reason()).contains("removed from the configuration by the entry at index "
                    + ((Accepted) r).index(), "thesis §4.2.2");
        });
    }

    @Test
    @DisplayName("§4.2.2 (Figure 4.6): a server removed by a change not yet committed still campaigns, without counting its own vote")
    void removedButUncommittedServerMayStillBeNeeded() {
        // Two voters; the leader removes itself, the entry reaches nobody, and it loses its leadership
        // to a campaign (the lease, §6.2, would ignore the campaign; it is off by name). Its log is the
        // newest, so the other voter cannot win alone: only the removed server can lead and commit.
        TestCluster c = TestCluster.builder(2).seed(13).configAll(cfg -> cfg.checkQuorum(false)).build();
        int leader = c.electLeader(500);
        c.tickAndStabilize(5);
        int other = 3 - leader;
        c.drop(m -> m instanceof AppendEntries && m.from() == leader);
        ConfChangeResult r = c.changeMembership(leader, new Remove(leader));
        assertThat(r).isInstanceOf(Accepted.class);
        c.campaign(other);
        c.stabilize();
        assertThat(c.node(leader).role()).isEqualTo(Role.FOLLOWER);
        assertThat(c.node(other).role()).isNotEqualTo(Role.LEADER);
        c.clearDrops();
        for (int i = 0; i < 1000 && c.node(other).commitIndex() < ((Accepted) r).index(); i++) c.tickAndStabilize(1);
        assertThat(c.node(other).commitIndex()).as("the removal commits").isGreaterThanOrEqualTo(((Accepted) r).index());
        assertThat(c.roleChanges(leader)).anyMatch(rc -> rc.to() == Role.LEADER && rc.term() > 1);
        int next = c.electLeader(500);
        assertThat(next).isEqualTo(other);
        c.tickAndStabilize(200);
        assertThat(c.leaders()).containsExactly(other);
    }

    @Test
    @DisplayName("§4.2.3: a removed server that saw its removal never campaigns again")
    void removedServerStopsCampaigning() {
        TestCluster c = cluster(9);
        int leader = c.leader().orElseThrow();
        int gone = follower(c, leader);
        c.changeMembership(leader, new Remove(gone));
        c.tickAndStabilize(5);
        assertThat(c.node(gone).configuration().contains(gone)).isFalse();
        long term = c.node(leader).term();
        int sent = c.sent().size();
        for (int i = 0; i < 1000; i++) c.tick(gone);
        c.stabilize();
        assertThat(c.sent().subList(sent, c.sent().size())).noneMatch(m -> m.from() == gone);
        assertThat(c.leaders()).containsExactly(leader);
        assertThat(c.node(leader).term()).isEqualTo(term);
    }

    /**
     * Removes follower {@code gone} and lets the leader commit the change on the other voter's
     * acknowledgement alone: every answer of {@code gone} is lost until then. Returns the index of
     * the removal entry.
     */
    private static long removeWithoutItsAcknowledgement(TestCluster c, int leader, int gone) {
        c.drop(m -> m.from() == gone);
        ConfChangeResult r = c.changeMembership(leader, new Remove(gone));
        assertThat(r).isInstanceOf(Accepted.class);
        long index = ((Accepted) r).index();
        c.stabilize();
        assertThat(c.node(leader).commitIndex()).as("committed without the removed server").isGreaterThanOrEqualTo(index);
        assertThat(c.node(gone).lastIndex()).as("the removed server holds the entry").isGreaterThanOrEqualTo(index);
        assertThat(c.node(gone).commitIndex()).as("but does not know it committed").isLessThan(index);
        c.clearDrops();
        return index;
    }

    /** Ticks {@code gone} alone for many election timeouts; returns what it sent meanwhile. */
    private static List<Message> sentWhileTickingAlone(TestCluster c, int gone) {
        int before = c.sent().size();
        for (int i = 0; i < 20 * c.node(gone).config().electionTicksMax(); i++) c.tick(gone);
        c.stabilize();
        return c.sent().subList(before, c.sent().size()).stream().filter(m -> m.from() == gone).toList();
    }

    @Test
    @DisplayName("§4.2.3: a removed follower learns its removal is committed even when the leader committed it without its acknowledgement, then never campaigns")
    void removedFollowerLearnsOfItsCommittedRemoval() {
        TestCluster c = cluster(21);
        int leader = c.leader().orElseThrow();
        int gone = follower(c, leader);
        long term = c.node(leader).term();
        long index = removeWithoutItsAcknowledgement(c, leader, gone);
        // The leader keeps replicating to it after the commit: the next heartbeat carries the commit index.
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks());
        RaftNode g = c.node(gone);
        assertThat(g.commitIndex()).as("the removed server knows its removal committed").isGreaterThanOrEqualTo(index);
        assertThat(g.configuration().contains(gone)).isFalse();
        assertThat(sentWhileTickingAlone(c, gone)).as("what the removed server sends on its own").isEmpty();
        assertThat(c.roleChanges(gone)).noneMatch(rc -> rc.to() == Role.PRE_CANDIDATE || rc.to() == Role.CANDIDATE);
        assertThat(g.term()).isEqualTo(term);
        assertThat(c.leaders()).containsExactly(leader);
        assertThat(c.node(leader).term()).isEqualTo(term);
    }

    @Test
    @DisplayName("§4.2.3: the leader tells a removed server of its removal for an election timeout, so lost heartbeats do not matter; then it stops")
    void theLeaderTellsARemovedServerForAnElectionTimeoutThenStops() {
        TestCluster c = cluster(22);
        int leader = c.leader().orElseThrow();
        int gone = follower(c, leader);
        RaftNode l = c.node(leader);
        long index = removeWithoutItsAcknowledgement(c, leader, gone);
        assertThat(l.peers()).as("still reachable after the commit").containsKey(gone);
        // The first heartbeats after the commit are lost too.
        int lost = l.config().electionTicksMin() / 2;
        c.drop(m -> m.to() == gone);
        c.tickAndStabilize(lost);
        c.clearDrops();
        assertThat(c.node(gone).commitIndex()).isLessThan(index);
        c.tickAndStabilize(l.config().electionTicksMin() - lost);
        assertThat(c.node(gone).commitIndex()).as("a later heartbeat told it").isGreaterThanOrEqualTo(index);
        assertThat(l.peers()).as("after an election timeout the leader forgets it").doesNotContainKey(gone);
        assertThat(l.followerProgress()).noneMatch(p -> p.id() == gone);
        int before = c.sent().size();
        c.tickAndStabilize(5 * l.config().electionTicksMax());
        assertThat(c.sent().subList(before, c.sent().size())).noneMatch(m -> m.to() == gone || m.from() == gone);
        assertThat(c.leaders()).containsExactly(leader);
    }

    @Test
    @DisplayName("§4.2.3 with §3.10: a late TimeoutNow does not make a removed server campaign, whether its removal is committed or not")
    void aLateTimeoutNowDoesNotMakeARemovedServerCampaign() {
        TestCluster c = cluster(23);
        int leader = c.leader().orElseThrow();
        int gone = follower(c, leader);
        long term = c.node(leader).term();
        long index = removeWithoutItsAcknowledgement(c, leader, gone);
        RaftNode g = c.node(gone);
        // It holds the configuration without it, not known to be committed (it may still be needed
        // in an ordinary election, Figure 4.6, but a transfer is never to a server that is leaving).
        g.step(new Message.TimeoutNow(leader, gone, term));
        c.processReadies();
        assertThat(g.role()).isEqualTo(Role.FOLLOWER);
        assertThat(g.term()).isEqualTo(term);
        c.tickAndStabilize(c.node(leader).config().heartbeatTicks());
        assertThat(g.commitIndex()).isGreaterThanOrEqualTo(index);
        g.step(new Message.TimeoutNow(leader, gone, term));
        c.processReadies();
        assertThat(g.role()).isEqualTo(Role.FOLLOWER);
        assertThat(g.term()).isEqualTo(term);
        assertThat(c.leaders()).containsExactly(leader);
    }

    @Test
    @DisplayName("§4.2.3, §9.6, §6.2: a removed server that never learned of its removal cannot disrupt the cluster")
    void removedServerThatDidNotLearnCannotDisrupt() {
        TestCluster c = cluster(10);
        int leader = c.leader().orElseThrow();
        int gone = follower(c, leader);
        c.isolate(gone);
        c.changeMembership(leader, new Remove(gone));
        // Cut off for longer than the leader keeps telling it (§4.2.3, an election timeout).
        c.tickAndStabilize(2 * c.node(leader).config().electionTicksMax());
        assertThat(c.node(leader).peers()).doesNotContainKey(gone);
        assertThat(c.node(gone).configuration().contains(gone)).as("it never got the entry").isTrue();
        long term = c.node(leader).term();
        c.heal();
        // It times out again and again (no leader sends to it any more): pre-vote and the lease refuse it.
        for (int i = 0; i < 1000; i++) c.tickAndStabilize(1);
        assertThat(c.sent()).anyMatch(m -> m.from() == gone && m instanceof RequestVote);
        assertThat(c.leaders()).containsExactly(leader);
        assertThat(c.node(leader).term()).isEqualTo(term);
    }

    @Test
    @DisplayName("§4.1: a node restarted with its log uses the log's configuration, not its bootstrap voters")
    void configurationFromTheLogBeatsBootstrap() {
        TestCluster c = cluster(11);
        int leader = c.leader().orElseThrow();
        int f = follower(c, leader);
        c.addNode(4);
        c.changeMembership(leader, new AddLearner(4, "n4"));
        c.tickAndStabilize(5);
        c.changeMembership(leader, new Promote(4));
        c.tickAndStabilize(5);
        c.crash(f);
        c.restart(f);
        assertThat(c.node(f).config().voters()).containsExactly(1, 2, 3);
        assertThat(c.node(f).configuration().voters()).containsOnlyKeys(1, 2, 3, 4).containsEntry(4, "n4");
        // Node 4 started with no bootstrap voters: its log is all it knows.
        c.crash(4);
        c.restart(4);
        assertThat(c.node(4).configuration().isVoter(4)).isTrue();
    }

    @Test
    @DisplayName("§4.1: when a conflicting suffix with a configuration entry is truncated, the node falls back to the previous configuration")
    void truncationFallsBack() {
        RaftNode n = new RaftNode(RaftConfig.builder(2, List.of(1, 2, 3)).build(), HardState.EMPTY, List.of());
        Configuration bootstrap = Configuration.bootstrap(List.of(1, 2, 3));
        Configuration withLearner = bootstrap.apply(new AddLearner(4, "n4"));
        n.step(new AppendEntries(1, 2, 1, 0, 0, List.of(Entry.noop(1, 1), Entry.config(2, 1, withLearner)), 1));
        assertThat(n.configuration()).isEqualTo(withLearner);
        Ready rd = n.ready();
        assertThat(rd.configuration()).contains(withLearner);
        n.advance(rd);
        // Leader 3 of term 2 never had entry 2: it replaces it.
        n.step(new AppendEntries(3, 2, 2, 1, 1, List.of(Entry.noop(2, 2)), 1));
        assertThat(n.configuration()).isEqualTo(bootstrap);
        rd = n.ready();
        assertThat(rd.configuration()).contains(bootstrap);
        n.advance(rd);
        assertThat(n.ready().configuration()).isEmpty();
    }

    @Test
    @DisplayName("§4.1, §7: a snapshot keeps the configuration of its index, sent with InstallSnapshot and used by the receiver")
    void snapshotsKeepTheConfiguration() {
        RaftConfig cfg1 = RaftConfig.builder(1, List.of(1)).build();
        RaftNode leader = new RaftNode(cfg1, HardState.EMPTY, List.of());
        leader.campaign("test");
        drain(leader);
        assertThat(leader.role()).isEqualTo(Role.LEADER);
        Configuration withLearner = leader.configuration().apply(new AddLearner(2, "n2"));
        assertThat(leader.proposeConfChange(new AddLearner(2, "n2"))).isInstanceOf(Accepted.class);
        leader.propose("x".getBytes());
        List<Message> out = drain(leader);
        long applied = leader.appliedIndex();
        assertThat(applied).isEqualTo(3);
        // The runtime's snapshot records the configuration at its index; one without is completed by the core.
        assertThat(leader.configurationAt(applied)).isEqualTo(withLearner);
        leader.compact(new Snapshot(applied, leader.termAt(applied), "state".getBytes()), applied);

        RaftNode learner = new RaftNode(RaftConfig.builder(2, List.of()).build(), HardState.EMPTY, List.of());
        // The learner's empty log makes the leader probe back to the compacted start: snapshot.
        for (int round = 0; round < 10; round++) {
            for (Message m : out) if (m.to() == 2) learner.step(m);
            List<Message> back = drain(learner);
            for (Message m : back) leader.step(m);
            out = drain(leader);
        }
        assertThat(learner.configuration()).isEqualTo(withLearner);
        assertThat(learner.commitIndex()).isEqualTo(3);
        // Restarted from that snapshot alone, it still knows the configuration.
        RaftNode again = new RaftNode(RaftConfig.builder(2, List.of()).build(), new HardState(1, RaftNode.NONE, 3),
                java.util.Optional.of(new Snapshot(3, 1, withLearner, "state".getBytes())), List.of());
        assertThat(again.configuration()).isEqualTo(withLearner);
        // A snapshot written before membership changes (no configuration) falls back to the bootstrap voters.
        RaftNode old = new RaftNode(RaftConfig.builder(1, List.of(1, 2, 3)).build(), new HardState(1, RaftNode.NONE, 3),
                java.util.Optional.of(new Snapshot(3, 1, "state".getBytes())), List.of());
        assertThat(old.configuration()).isEqualTo(Configuration.bootstrap(List.of(1, 2, 3)));
    }

    /** Handles a lone node's Readies as a runtime would; returns the messages it sent. */
    private static List<Message> drain(RaftNode n) {
        List<Message> sent = new java.util.ArrayList<>();
        while (n.hasReady()) {
            Ready rd = n.ready();
            sent.addAll(rd.messages());
            rd.snapshot().ifPresent(s -> assertThat(s.configuration()).isPresent());
            n.advance(rd);
        }
        return sent;
    }

    @Test
    @DisplayName("§4.1: the Ready reports the configuration when it changes, and only then, on every member")
    void readyReportsConfigurationChanges() {
        TestCluster c = cluster(12);
        int leader = c.leader().orElseThrow();
        assertThat(c.configurationsReported(leader)).isEmpty();
        c.addNode(4);
        c.changeMembership(leader, new AddLearner(4, "n4"));
        c.tickAndStabilize(5);
        c.propose(leader, "y");
        c.tickAndStabilize(5);
        Configuration expected = Configuration.bootstrap(List.of(1, 2, 3)).apply(new AddLearner(4, "n4"));
        for (int id : c.ids()) assertThat(c.configurationsReported(id)).as("node %d", id).containsExactly(expected);
        assertThat(Set.copyOf(c.node(leader).followerProgress().stream().map(FollowerProgress::id).toList())).contains(4);
    }
}
