package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.FileStorage;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whole-cluster restarts on disk: a node restarts from its snapshot plus the log after it into
 * exactly the state it had, and no acknowledged write is lost when every node goes down, even
 * with writes in flight.
 */
class RestartTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final long EVERY_ENTRIES = 100;
    private static final UnaryOperator<NodeConfig> SMALL_SNAPSHOTS = c -> c.withRequestTimeoutMs(2000)
            .withSnapshots(new io.raftkv.node.SnapshotPolicy(RestartTest.EVERY_ENTRIES, 1L << 40, 20, 1024));
    private static final FileStorage.Options DISK = new FileStorage.Options(16 * 1024, true);

    @Test
    @DisplayName("Raft §7: every node restarts from its snapshot plus log tail into the same keys and values as before")
    void restartFromSnapshotAndLogTailRestoresTheSameState(@TempDir Path root) {
        try (TestNodes nodes = TestNodes.onDisk(3, root, DISK, SMALL_SNAPSHOTS).startAll()) {
            nodes.awaitLeader(ALL, WAIT);
            WriteWorkload w = new WriteWorkload("", 6, 3, () -> nodes.client(WAIT)).start(50);
            w.awaitDone();
            ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            // One write at a time until every node has a snapshot and entries after it (a node
            // may have snapshotted at its very last entry).
            int extras = 0;
            while (!snapshotAndTailEverywhere(nodes)) {
                assertThat(extras).as("writes without a snapshot plus tail on every node: %s", folders(nodes)).isLessThan(20);
                try (RaftKvClient c = nodes.client(WAIT)) {
                    KvResult r = c.put("extra-" + extras++, "x");
                    assertThat(r.status()).as("extra write: %s", r.body()).isEqualTo(200);
                }
                ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            }
            Map<String, String> expected = new HashMap<>(w.expectedIfAllAcknowledged());
            for (int i = 0; i < extras; i++) expected.put("extra-" + i, "x");
            ClusterChecks.assertSameStatus(nodes, ALL, expected.size());
            Map<Integer, Long> appliedBefore = new HashMap<>();
            for (int id : ALL) appliedBefore.put(id, nodes.node(id).status().appliedIndex());

            nodes.stopAll();
            for (int id : ALL) {
                NodeFolder.Replayed disk = NodeFolder.replay(nodes.dataDir(id));
                assertThat(disk.snapshotIndex()).as("node %d's snapshot", id).isPositive();
                assertThat(disk.tailEntries()).as("node %d's log entries after its snapshot", id).isPositive();
                assertThat(disk.commitIndex()).as("node %d's stored commit index", id).isEqualTo(appliedBefore.get(id));
                assertThat(disk.differencesFrom(expected)).as("node %d's folder replayed", id).isEmpty();
            }

            nodes.startAll();
            ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            for (int id : ALL) {
                // The new leader's no-op comes on top of what was applied before.
                assertThat(nodes.node(id).status().appliedIndex()).isGreaterThan(appliedBefore.get(id));
            }
            ClusterChecks.assertSameStatus(nodes, ALL, expected.size());
            ClusterChecks.assertReadableThroughEach(nodes, ALL, expected, WAIT);
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("all nodes stopped and restarted twice while 4 clients write: every acknowledged write survives")
    void fullClusterRestartsKeepEveryAcknowledgedWrite(@TempDir Path root) {
        try (TestNodes nodes = TestNodes.onDisk(3, root, DISK, SMALL_SNAPSHOTS).startAll()) {
            nodes.awaitLeader(ALL, WAIT);
            WriteWorkload w = new WriteWorkload("", 4, 5, () -> nodes.client(Duration.ofSeconds(3))).start();
            w.awaitAcked(400, WAIT);
            // Round 1: stop the nodes in id order, writes in flight.
            nodes.stopAll();
            nodes.startAll();
            w.awaitAcked(w.acked() + 400, WAIT);
            // Round 2: the leader goes last, so the followers' stops cannot have caught it mid-commit.
            int leader = nodes.awaitLeader(ALL, WAIT);
            for (int id : ALL) if (id != leader) nodes.stop(id);
            nodes.stop(leader);
            nodes.startAll();
            w.awaitAcked(w.acked() + 200, WAIT);
            w.stop();

            ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            WriteWorkload.Check check = w.check(() -> nodes.client(WAIT), 4, WAIT);
            System.out.printf("RestartTest: %s; %d keys read back%n", w.summary(), check.keysRead());
            assertThat(check.violations()).as("reads against %s", w.summary()).isEmpty();
            assertThat(w.anomalies()).isEmpty();
            ClusterChecks.assertSameStatus(nodes, ALL, check.observed().size());
            assertThat(nodes.fatalErrors()).isEmpty();

            // And every node's disk holds exactly what the cluster answered.
            nodes.stopAll();
            for (int id : ALL) {
                NodeFolder.Replayed disk = NodeFolder.replay(nodes.dataDir(id));
                List<String> diffs = disk.differencesFrom(check.observed());
                assertThat(diffs).as("node %d's folder replayed (%d keys read)", id, check.keysRead()).isEmpty();
            }
        }
    }

    /**
     * Every node has a snapshot file and log entries after it, and none can be writing a newer
     * snapshot: with fewer than {@code everyEntries} applied past the file's index no snapshot is
     * due, so none started in the background can land at the last index after this check.
     */
    private static boolean snapshotAndTailEverywhere(TestNodes nodes) {
        for (int id : ALL) {
            long snap = NodeFolder.snapshotIndex(nodes.dataDir(id));
            StatusSnapshot s = nodes.node(id).status();
            if (snap == 0 || s.lastLogIndex() <= snap || s.appliedIndex() - snap >= EVERY_ENTRIES) return false;
        }
        return true;
    }

    private static String folders(TestNodes nodes) {
        StringBuilder sb = new StringBuilder();
        for (int id : ALL) sb.append(NodeFolder.describe(nodes.dataDir(id))).append("; ");
        return sb.toString();
    }
}
