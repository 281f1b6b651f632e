package io.raftkv.raft;

import io.raftkv.raft.ConfChange.AddLearner;
import io.raftkv.raft.ConfChange.Promote;
import io.raftkv.raft.ConfChange.Remove;
import io.raftkv.raft.Message.AppendEntries;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Histories of membership changes (thesis ch. 4) that a broken rule turns into a safety
 * violation. Each is a test ({@link MembershipTest}) and, run on a mutant of the core whose rule is
 * broken, the proof that the test catches the bug ({@link PlantedCoreBugsTest}): so the entry
 * points are public, static and take and return nothing.
 */
public final class MembershipScenarios {
    private MembershipScenarios() {}

    /**
     * Thesis §4.1 and Ongaro's 2015 raft-dev post on the single-server bug: two changes proposed
     * by leaders of different terms, each uncommitted when the next leader came, can have
     * majorities that do not overlap. A leader that must first commit an entry of its own term
     * (its no-op) cannot make the second change before the first is either committed or gone.
     *
     * <p>Nodes 1-4 vote, 5 is a learner. Leader 1 (term 1) promotes 5, reaching only 5, and
     * crashes. Leader 2 (term 2), whose no-op reached only 3, tries to remove 1: refused, as its
     * no-op is not committed. Had it been accepted (the bug), {2, 3} would commit the removal in
     * the configuration {2, 3, 4}, and 1 - with 4 and 5, a majority of its configuration {1..5}
     * - would win term 3 and overwrite it.
     */
    public static void newLeaderCommitsBeforeChanging() {
        // The post's history needs elections on demand: pre-vote and the lease would delay them.
        TestCluster c = TestCluster.builder(4).seed(41).configAll(cfg -> cfg.checkQuorum(false).preVote(false)).build();
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).isEqualTo(Role.LEADER);
        c.addNode(5);
        assertThat(c.changeMembership(1, new AddLearner(5, "n5"))).isInstanceOf(ConfChangeResult.Accepted.class);
        c.tickAndStabilize(c.node(1).config().heartbeatTicks());
        // 1 promotes 5; only 5 gets the entry.
        c.drop(m -> m instanceof AppendEntries && m.from() == 1 && m.to() != 5);
        assertThat(c.changeMembership(1, new Promote(5))).isInstanceOf(ConfChangeResult.Accepted.class);
        c.stabilize();
        assertThat(c.node(5).configuration().voters().keySet()).containsExactly(1, 2, 3, 4, 5);
        c.crash(1);
        c.clearDrops();
        // 2 wins term 2 with 3 and 4; its no-op reaches 3 only.
        c.drop(m -> m instanceof AppendEntries && m.from() == 2 && (m.to() == 4 || m.to() == 5));
        c.campaign(2);
        c.stabilize();
        assertThat(c.node(2).role()).isEqualTo(Role.LEADER);
        assertThat(c.node(2).termAt(c.node(2).commitIndex())).as("2's no-op is not committed").isLessThan(2);

        ConfChangeResult early = c.changeMembership(2, new Remove(1));
        if (early instanceof ConfChangeResult.Accepted) {
            // Only with the rule broken: {2, 3} commit the removal; 1 comes back and wins term 3
            // with 4 and 5. The harness then sees a committed entry overwritten.
            c.stabilize();
            c.restart(1);
            // Term 2 is lost (2, 3 and 4 voted in it); term 3 is won with 4 and 5.
            for (int attempt = 0; attempt < 2 && c.node(1).role() != Role.LEADER; attempt++) {
                c.campaign(1);
                c.stabilize();
            }
            c.clearDrops();
            c.tickAndStabilize(3 * c.node(1).config().heartbeatTicks());
        }
        assertThat(early).isInstanceOfSatisfying(ConfChangeResult.Refused.class,
                r -> assertThat(r.reason()).isEqualTo(ConfChangeResult.Reason.NO_COMMIT_IN_TERM));

        // Once 2 has committed its no-op (on 2, 3 and 4), the same change is safe: 4 now holds an
        // entry of term 2, so 1 cannot win it back.
        c.clearDrops();
        c.drop(m -> m instanceof AppendEntries && m.from() == 2 && m.to() == 5);
        c.tickAndStabilize(c.node(2).config().heartbeatTicks());
        assertThat(c.changeMembership(2, new Remove(1))).isInstanceOf(ConfChangeResult.Accepted.class);
        c.stabilize();
        c.restart(1);
        c.campaign(1);
        c.stabilize();
        assertThat(c.node(1).role()).as("1 cannot win with its stale configuration").isNotEqualTo(Role.LEADER);
        c.tickAndStabilize(100);
        assertThat(c.leaders()).doesNotContain(1);
    }

    /**
     * Thesis §4.2.1: learners receive the log but never count towards a commit. Voters 1-3 and
     * learners 4, 5; the leader is cut off from the other voters but still reaches both learners:
     * three of five servers hold its new entry, yet it must not commit, since another leader
     * (elected by 2 and 3, without the entry) would overwrite it.
     */
    public static void learnersNeverCountTowardsACommit() {
        TestCluster c = TestCluster.of(3, 43);
        int leader = c.electLeader(500);
        for (int id : new int[] {4, 5}) {
            c.addNode(id);
            assertThat(c.changeMembership(leader, new AddLearner(id, "n" + id))).isInstanceOf(ConfChangeResult.Accepted.class);
            c.tickAndStabilize(c.node(leader).config().heartbeatTicks());
        }
        assertThat(c.node(leader).configuration().learners().keySet()).containsExactly(4, 5);
        long committed = c.node(leader).commitIndex();
        c.partition(Set.of(leader, 4, 5), Set.of(1, 2, 3).stream().filter(id -> id != leader)
                .collect(java.util.stream.Collectors.toSet()));
        ProposeResult r = c.propose(leader, "only the learners have me");
        assertThat(r).isInstanceOf(ProposeResult.Accepted.class);
        c.stabilize();
        long index = ((ProposeResult.Accepted) r).index();
        assertThat(c.log(4)).hasSizeGreaterThanOrEqualTo((int) index);
        assertThat(c.log(5)).hasSizeGreaterThanOrEqualTo((int) index);
        long commitWithLearners = c.node(leader).commitIndex();
        // The other voters elect a leader without the entry; it commits its own. (Had the entry
        // committed, the harness would now see a committed entry change.)
        int other = leader == 1 ? 2 : 1;
        c.campaign(other);
        c.stabilize();
        c.tickAndStabilize(60);
        c.heal();
        c.tickAndStabilize(200);
        int now = c.electLeader(500);
        assertThat(c.propose(now, "after")).isInstanceOf(ProposeResult.Accepted.class);
        c.tickAndStabilize(20);
        assertThat(commitWithLearners).as("commit with only learners' acknowledgements").isEqualTo(committed);
        assertThat(c.log(now)).noneMatch(e -> new String(e.data()).equals("only the learners have me"));
    }
}
