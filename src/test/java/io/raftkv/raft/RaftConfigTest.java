package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The configuration: production's protocol unless a caller names what it changes; invalid ones refused. */
class RaftConfigTest {
    private static final List<Integer> VOTERS = List.of(1, 2, 3);

    @Test
    @DisplayName("the builder's defaults are production's: check quorum (§6.2) and pre-vote (§9.6) on, the server's timing")
    void defaultsAreProductions() {
        RaftConfig c = RaftConfig.builder(2, VOTERS).build();
        assertThat(c).isEqualTo(new RaftConfig(2, VOTERS, 30, 50, 5, 512, 256, 0, 10,
                RaftConfig.DEFAULT_MAX_BYTES_PER_APPEND, RaftConfig.DEFAULT_SNAPSHOT_CHUNK_BYTES, true, true,
                RaftConfig.DEFAULT_MAX_LEARNER_LAG_ENTRIES, java.util.Map.of()));
        assertThat(RaftConfig.defaults(2, VOTERS, 9)).isEqualTo(RaftConfig.builder(2, VOTERS).randomSeed(9).build());
    }

    @Test
    void changesAreByName() {
        RaftConfig c = RaftConfig.builder(1, VOTERS).preVote(false).maxEntriesPerAppend(1).build();
        assertThat(c.preVote()).isFalse();
        assertThat(c.checkQuorum()).isTrue();
        assertThat(c.maxEntriesPerAppend()).isEqualTo(1);
        assertThat(c.toBuilder().build()).isEqualTo(c);
        assertThat(c.toBuilder().checkQuorum(false).build().checkQuorum()).isFalse();
    }

    @Test
    @DisplayName("validate() names every broken rule with its values (etcd's Config.validate)")
    void validateNamesEveryProblem() {
        assertThatThrownBy(() -> RaftConfig.builder(4, VOTERS).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id 4 is not among voters [1, 2, 3]");
        assertThatThrownBy(() -> RaftConfig.builder(1, List.of(1, 2, 2)).build())
                .hasMessageContaining("voter 2 appears twice");
        assertThatThrownBy(() -> RaftConfig.builder(1, VOTERS).maxLearnerLagEntries(-1).build())
                .hasMessageContaining("maxLearnerLagEntries is -1");
        assertThatThrownBy(() -> RaftConfig.builder(-1, List.of(-1)).build())
                .hasMessageContaining("reserved for \"no node\"");
        assertThatThrownBy(() -> RaftConfig.builder(1, VOTERS).heartbeatTicks(30).build())
                .hasMessageContaining("electionTicksMin (30) must exceed heartbeatTicks (30)");
        assertThatThrownBy(() -> RaftConfig.builder(1, VOTERS).electionTicks(20, 20).build())
                .hasMessageContaining("electionTicksMax (20, exclusive) must exceed electionTicksMin (20)");
        assertThatThrownBy(() -> RaftConfig.builder(1, VOTERS).heartbeatTicks(0).maxInflightAppends(0).tickMs(0)
                .maxEntriesPerAppend(0).maxBytesPerAppend(0).snapshotChunkBytes(0).build())
                .hasMessageContaining("heartbeatTicks is 0")
                .hasMessageContaining("maxInflightAppends is 0")
                .hasMessageContaining("tickMs is 0")
                .hasMessageContaining("maxEntriesPerAppend is 0")
                .hasMessageContaining("maxBytesPerAppend is 0")
                .hasMessageContaining("snapshotChunkBytes is 0");
    }

    @Test
    @DisplayName("thesis §4.1: no bootstrap voters is a node that joins an existing cluster: valid, and it never campaigns")
    void noVotersIsAJoiningNode() {
        RaftConfig joining = RaftConfig.builder(4, List.of()).build();
        RaftNode n = new RaftNode(joining, HardState.EMPTY, List.of());
        assertThat(n.configuration()).isEqualTo(Configuration.EMPTY);
        for (int i = 0; i < 10 * joining.electionTicksMax(); i++) n.tick();
        assertThat(n.role()).isEqualTo(Role.FOLLOWER);
        assertThat(n.hasReady()).isFalse();
    }

    @Test
    @DisplayName("a node refuses an invalid configuration built without the builder (etcd's newRaft)")
    void nodeValidates() {
        RaftConfig invalid = new RaftConfig(1, VOTERS, 5, 5, 5, 512, 256, 0, 10, 1, 1, true, true, 0, java.util.Map.of());
        assertThatThrownBy(() -> new RaftNode(invalid, HardState.EMPTY, List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("electionTicksMin (5)");
    }
}
