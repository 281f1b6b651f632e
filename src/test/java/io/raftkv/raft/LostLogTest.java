package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A follower whose storage is wiped (a replaced disk, a deleted data folder) comes back empty,
 * below the match index the leader recorded for it. Raft assumes stable storage (Figure 2), so
 * the paper's leader never lowers {@code matchIndex}; ours must, or it probes forever just above
 * an index the follower no longer has (§5.3: nextIndex is decremented until the logs match).
 */
class LostLogTest {
    @Test
    @DisplayName("§5.3 beyond Figure 2: a wiped follower is refilled from the leader's log, in a quiet cluster too")
    void wipedFollowerIsRefilledFromTheLog() {
        TestCluster c = TestCluster.of(3, 5);
        int leader = c.electLeader(200);
        for (int i = 0; i < 20; i++) c.propose(leader, "w" + i);
        c.stabilize();
        c.tickAndStabilize(10);
        int follower = c.ids().stream().filter(id -> id != leader).findFirst().orElseThrow();
        assertThat(c.log(follower)).isEqualTo(c.log(leader));
        long commit = c.node(leader).commitIndex();

        c.crash(follower);
        c.wipe(follower);
        c.restart(follower);
        assertThat(c.log(follower)).isEmpty();
        // Nothing new is proposed: only heartbeats can reveal the loss.
        c.tickAndStabilize(30);

        assertThat(c.node(leader).role()).isEqualTo(Role.LEADER);
        List<Entry> leaderLog = c.log(leader);
        assertThat(c.log(follower)).as("log of the wiped follower").isEqualTo(leaderLog);
        assertThat(c.node(follower).commitIndex()).isEqualTo(commit);
        assertThat(c.applied(follower)).as("entries the wiped follower re-applied").hasSize((int) commit);
        assertThat(c.node(leader).followerProgress()).filteredOn(p -> p.id() == follower)
                .singleElement().satisfies(p -> assertThat(p.matchIndex()).isEqualTo(leaderLog.size()));
    }
}
