package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.FileStorage;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Raft §7 end to end, on disk: a follower that cannot be repaired from the leader's log (wiped, or
 * left behind the leader's compaction point) catches up through a chunked InstallSnapshot and
 * ends with the same data as the others - live (status, reads through it) and on disk.
 */
class SnapshotCatchUpTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final int KEYS = 150;
    private static final int VALUE_CHARS = 200;
    /** Snapshot every 100 entries keeping a 20-entry tail; 1 KiB chunks, so a ~35 KB state is ~35 chunks. */
    private static final int CHUNK_BYTES = 1024;
    private static final long KEEP_ENTRIES = 20;
    private static final UnaryOperator<NodeConfig> SMALL_SNAPSHOTS = c -> c.withRequestTimeoutMs(3000)
            .withSnapshots(new io.raftkv.node.SnapshotPolicy(100, 1L << 40, KEEP_ENTRIES, CHUNK_BYTES));
    private static final FileStorage.Options DISK = new FileStorage.Options(64 * 1024, true);

    @Test
    @DisplayName("Raft §7: a follower whose data folder was deleted gets the leader's snapshot in many chunks and the same data")
    void wipedFollowerCatchesUpThroughChunkedSnapshot(@TempDir Path root) {
        try (TestNodes nodes = TestNodes.onDisk(3, root, DISK, SMALL_SNAPSHOTS).startAll()) {
            Map<String, String> expected = values("a");
            ClusterChecks.putAll(nodes, expected, 8, WAIT);
            expected = values("b");
            ClusterChecks.putAll(nodes, expected, 8, WAIT);
            int leader = ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            long leaderSnapshot = NodeFolder.snapshotIndex(nodes.dataDir(leader));
            assertThat(leaderSnapshot).as("the leader compacted its log into a snapshot: %s",
                    NodeFolder.describe(nodes.dataDir(leader))).isGreaterThan(KEEP_ENTRIES);

            // Quiet cluster: nothing is written while the follower is away, so the leader's log still
            // holds the index it last acknowledged - only the follower's disk lost it.
            int wiped = (leader + 1) % 3;
            nodes.stop(wiped);
            nodes.wipe(wiped);
            assertThat(nodes.dataDir(wiped)).doesNotExist();
            nodes.start(wiped);
            ClusterChecks.awaitConverged(nodes, ALL, WAIT);

            // Entries up to the leader's compaction point exist only in its snapshot: the empty node
            // can hold them only by having installed it.
            Path wipedDir = nodes.dataDir(wiped);
            assertThat(NodeFolder.snapshotIndex(wipedDir)).as("snapshot on the wiped node: %s", NodeFolder.describe(wipedDir))
                    .isGreaterThanOrEqualTo(leaderSnapshot);
            assertThat(NodeFolder.snapshotFileBytes(wipedDir)).as("snapshot size, to be sent in %d-byte chunks", CHUNK_BYTES)
                    .isGreaterThan(20L * CHUNK_BYTES);

            assertServesAndAgrees(nodes, expected, root);
        }
    }

    @Test
    @DisplayName("Raft §7: a follower stopped while the leader compacted past its log catches up by a chunked snapshot")
    void followerLeftBehindCompactionCatchesUpThroughChunkedSnapshot(@TempDir Path root) {
        try (TestNodes nodes = TestNodes.onDisk(3, root, DISK, SMALL_SNAPSHOTS).startAll()) {
            Map<String, String> expected = values("a");
            ClusterChecks.putAll(nodes, expected, 8, WAIT);
            int leader = ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            int behind = (leader + 1) % 3;
            long behindLast = nodes.node(behind).status().lastLogIndex();
            nodes.stop(behind);

            // Write until the leader has compacted past the stopped node's last entry (the log keeps
            // KEEP_ENTRIES behind each snapshot), so AppendEntries can no longer repair it.
            Set<Integer> up = Set.of((behind + 1) % 3, (behind + 2) % 3);
            int round = 0;
            while (compactedTo(nodes, up) <= behindLast) {
                assertThat(round).as("rounds of writes without compacting past index %d", behindLast).isLessThan(10);
                expected = values("r" + round++);
                ClusterChecks.putAll(nodes, expected, 8, WAIT);
                ClusterChecks.awaitConverged(nodes, up, WAIT);
            }

            nodes.start(behind);
            ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            Path behindDir = nodes.dataDir(behind);
            assertThat(NodeFolder.snapshotIndex(behindDir)).as("snapshot on the node left behind (its log ended at %d): %s",
                    behindLast, NodeFolder.describe(behindDir)).isGreaterThan(behindLast + KEEP_ENTRIES);
            assertThat(NodeFolder.snapshotFileBytes(behindDir)).isGreaterThan(20L * CHUNK_BYTES);

            assertServesAndAgrees(nodes, expected, root);
        }
    }

    /** Where the current leader's log starts, judged from its newest snapshot on disk. */
    private static long compactedTo(TestNodes nodes, Set<Integer> among) {
        int leader = nodes.awaitLeader(among, WAIT);
        return NodeFolder.snapshotIndex(nodes.dataDir(leader)) - KEEP_ENTRIES;
    }

    /**
     * The caught-up cluster takes a write, every node reports the same applied index and key
     * count and serves every key, and after a stop every data folder replays to the same map.
     */
    private static void assertServesAndAgrees(TestNodes nodes, Map<String, String> before, Path root) {
        Map<String, String> expected = new LinkedHashMap<>(before);
        try (RaftKvClient c = nodes.client(WAIT)) {
            KvResult r = c.put("after-catch-up", "yes");
            assertThat(r.status()).as("write after catch-up: %s", r.body()).isEqualTo(200);
            expected.put("after-catch-up", "yes");
        }
        ClusterChecks.awaitConverged(nodes, ALL, WAIT);
        ClusterChecks.assertSameStatus(nodes, ALL, expected.size());
        ClusterChecks.assertReadableThroughEach(nodes, ALL, expected, WAIT);
        assertThat(nodes.fatalErrors()).isEmpty();

        nodes.stopAll();
        for (int id : ALL) {
            NodeFolder.Replayed disk = NodeFolder.replay(nodes.dataDir(id));
            assertThat(disk.differencesFrom(expected)).as("node %d's folder replayed (snapshot %d, commit %d): %s", id,
                    disk.snapshotIndex(), disk.commitIndex(), NodeFolder.describe(root.resolve("node-" + id))).isEmpty();
        }
    }

    /** {@link #KEYS} keys, each with a {@link #VALUE_CHARS}-character value tagged with {@code round}. */
    private static Map<String, String> values(String round) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < KEYS; i++) {
            String key = String.format("key-%03d", i);
            StringBuilder v = new StringBuilder(round).append('-').append(key).append('-');
            while (v.length() < VALUE_CHARS) v.append((char) ('a' + (v.length() * 7 + i) % 26));
            m.put(key, v.toString());
        }
        return m;
    }
}
