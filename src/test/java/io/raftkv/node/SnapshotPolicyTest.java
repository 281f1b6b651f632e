package io.raftkv.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SnapshotPolicyTest {
    private final SnapshotPolicy policy = new SnapshotPolicy(100, 1_000_000, 10, 4096);

    @Test
    @DisplayName("a small state snapshots after the entries or the bytes, as before")
    void smallState() {
        assertThat(policy.due(99, 5_000, 1_000)).isFalse();
        assertThat(policy.due(100, 5_000, 1_000)).isTrue();
        assertThat(policy.due(3, 1_000_000, 1_000)).isTrue();
        assertThat(policy.due(100, 5_000, 0)).as("no snapshot yet").isTrue();
    }

    @Test
    @DisplayName("a large state waits until the log since its last snapshot is a quarter of that snapshot's size")
    void largeState() {
        long snapshot = 1_100_000_000L;
        assertThat(policy.due(10_000, 1_000_000, snapshot)).isFalse();
        assertThat(policy.due(2_000_000, snapshot / 4 - 1, snapshot)).isFalse();
        assertThat(policy.due(2_000_000, snapshot / 4, snapshot)).isTrue();
        SnapshotPolicy off = new SnapshotPolicy(100, 1_000_000, 10, 4096, 0);
        assertThat(off.due(100, 5_000, snapshot)).as("sizeShare 0: no size condition").isTrue();
    }

    @Test
    @DisplayName("a staggered node waits its share more for a large state's snapshot, and nothing more for a small one")
    void staggered() {
        long snapshot = 1_200_000_000L;
        double third = SnapshotPolicy.stagger(3, new java.util.TreeSet<>(java.util.List.of(1, 3, 7)));
        assertThat(third).isEqualTo(1.0 / 6);
        assertThat(SnapshotPolicy.stagger(1, new java.util.TreeSet<>(java.util.List.of(1, 3, 7)))).isZero();
        assertThat(SnapshotPolicy.stagger(7, new java.util.TreeSet<>(java.util.List.of(1, 3, 7)))).isEqualTo(1.0 / 3);
        assertThat(SnapshotPolicy.stagger(4, new java.util.TreeSet<>(java.util.List.of(1, 3, 7)))).as("not a member").isZero();
        assertThat(SnapshotPolicy.stagger(1, new java.util.TreeSet<>(java.util.List.of(1)))).isZero();

        assertThat(policy.due(2_000_000, snapshot / 4, snapshot, third)).isFalse();
        assertThat(policy.due(2_000_000, snapshot / 4 * 7 / 6 - 1, snapshot, third)).isFalse();
        assertThat(policy.due(2_000_000, snapshot / 4 * 7 / 6, snapshot, third)).isTrue();
        assertThat(policy.due(100, 5_000, 1_000, 1.0 / 3)).as("small state: as before").isTrue();
    }

    @Test
    void aNegativeShareIsRefused() {
        assertThatThrownBy(() -> new SnapshotPolicy(100, 1_000_000, 10, 4096, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size share -1");
    }
}
