package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.raft.RaftConfig;
import io.raftkv.storage.FileStorage;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Raft §7 log compaction keeps each node's disk bounded: 20,000 puts over 100 keys, with a
 * snapshot every 1,000 entries and 32 KiB WAL segments, never let a data folder grow past what
 * one snapshot interval needs.
 *
 * <p>The bound, per node, from the layout ({@code WalRecord}, {@code SnapshotFiles}):
 * <ul>
 *   <li>an entry record is 8 (length, crc) + 1 (type) + 16 (index, term) + the command
 *       (1 + 1 + 4 + key + 4 + value) bytes; a hard-state record is 29 bytes and is written at
 *       most once per batch, so at most once per entry;</li>
 *   <li>live entries, not yet in a snapshot: at most {@code everyEntries} plus one batch (a
 *       node checks the policy after each loop iteration, and a follower persists and applies
 *       up to {@code maxEntriesPerAppend} = 512 entries at a time);</li>
 *   <li>the segment holding the snapshot point stays until it is wholly covered: up to one
 *       segment of dead entries, and a segment rolls only once past its size, so each can be
 *       over by one batch; the open one too;</li>
 *   <li>two snapshot files while a new one is renamed into place before the old is deleted.</li>
 * </ul>
 * Without compaction the WAL would hold all 20,000 entries, about 3.4 MB, seven times the bound.
 */
class BoundedDiskTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final int PUTS = 20_000;
    private static final int KEYS = 100;
    private static final int VALUE_CHARS = 100;
    /** Divides KEYS: client t owns the keys k with k % CLIENTS == t, so each key has one writer. */
    private static final int CLIENTS = 50;
    private static final int SAMPLE_EVERY_PUTS = 250;

    private static final long EVERY_ENTRIES = 1_000;
    private static final long KEEP_ENTRIES = 100;
    private static final long SEGMENT_BYTES = 32 * 1024;
    private static final int MAX_BATCH_ENTRIES = 512; // RaftServer's maxEntriesPerAppend

    private static final int KEY_BYTES = "key-000".length();
    private static final long COMMAND_BYTES = 1 + 1 + 4 + KEY_BYTES + 4 + VALUE_CHARS;
    private static final long ENTRY_RECORD_BYTES = 8 + 1 + 16 + COMMAND_BYTES;
    private static final long STATE_RECORD_BYTES = 8 + 1 + 8 + 4 + 8;
    private static final long PER_ENTRY_BYTES = ENTRY_RECORD_BYTES + STATE_RECORD_BYTES;
    private static final long BATCH_BYTES = MAX_BATCH_ENTRIES * PER_ENTRY_BYTES;
    /** kv snapshot (version, applied index, count, then length-prefixed keys and values) in a file with a 32-byte header and a CRC. */
    private static final long SNAPSHOT_FILE_BYTES = 32 + (1 + 8 + 4 + KEYS * (4 + KEY_BYTES + 4 + VALUE_CHARS)) + 4;
    private static final long LIVE_WAL_BYTES = (EVERY_ENTRIES + MAX_BATCH_ENTRIES) * PER_ENTRY_BYTES;
    private static final long MAX_WAL_BYTES = LIVE_WAL_BYTES + (SEGMENT_BYTES + BATCH_BYTES) + BATCH_BYTES;
    private static final long MAX_FOLDER_BYTES = MAX_WAL_BYTES + 2 * SNAPSHOT_FILE_BYTES;
    /** Closed segments are each at least SEGMENT_BYTES: the live ones, the one at the snapshot point, the open one. */
    private static final int MAX_SEGMENTS = (int) ((LIVE_WAL_BYTES + SEGMENT_BYTES - 1) / SEGMENT_BYTES) + 2;

    @Test
    @DisplayName("Raft §7: 20k puts over 100 keys keep every data folder under one snapshot interval's worth of WAL plus a snapshot")
    void compactionBoundsTheDataFolder(@TempDir Path root) {
        assertThat(RaftConfig.defaults(0, List.of(0), 0).maxEntriesPerAppend()).isEqualTo(512);
        try (TestNodes nodes = TestNodes.onDisk(3, root, new FileStorage.Options(SEGMENT_BYTES, true),
                c -> c.withSnapshots(new io.raftkv.node.SnapshotPolicy(EVERY_ENTRIES, 1L << 40, KEEP_ENTRIES, 64 * 1024)))
                .startAll()) {
            nodes.awaitLeader(ALL, WAIT);
            AtomicLongArray maxBytes = new AtomicLongArray(3);
            AtomicIntegerArray maxSegments = new AtomicIntegerArray(3);
            AtomicInteger done = new AtomicInteger();
            Map<String, String> last = putAll(nodes, () -> {
                // Sampled by the writer whose put completes each SAMPLE_EVERY_PUTS-th write: no timer.
                if (done.incrementAndGet() % SAMPLE_EVERY_PUTS != 0) return;
                for (int id : ALL) {
                    maxBytes.accumulateAndGet(id, NodeFolder.sizeBytes(nodes.dataDir(id)), Math::max);
                    maxSegments.accumulateAndGet(id, NodeFolder.walSegments(nodes.dataDir(id)), Math::max);
                }
            });
            ClusterChecks.awaitConverged(nodes, ALL, WAIT);
            ClusterChecks.assertSameStatus(nodes, ALL, KEYS);
            ClusterChecks.assertReadableThroughEach(nodes, Set.of(nodes.awaitLeader(ALL, WAIT)), last, WAIT);

            System.out.printf("BoundedDiskTest: bound %d bytes and %d segments per folder; largest seen %s bytes, %s segments%n",
                    MAX_FOLDER_BYTES, MAX_SEGMENTS, maxBytes, maxSegments);
            for (int id : ALL) {
                Path dir = nodes.dataDir(id);
                assertThat(NodeFolder.snapshotIndex(dir)).as("node %d's newest snapshot", id)
                        .isGreaterThan(PUTS - EVERY_ENTRIES - MAX_BATCH_ENTRIES);
                assertThat(maxBytes.get(id)).as("largest size of node %d's folder (now %s)", id, NodeFolder.describe(dir))
                        .isLessThanOrEqualTo(MAX_FOLDER_BYTES);
                assertThat(maxSegments.get(id)).as("most WAL segments of node %d", id).isLessThanOrEqualTo(MAX_SEGMENTS);
                assertThat(NodeFolder.sizeBytes(dir)).isLessThanOrEqualTo(MAX_FOLDER_BYTES);
            }
            assertThat(nodes.fatalErrors()).isEmpty();

            nodes.stopAll();
            for (int id : ALL) {
                NodeFolder.Replayed disk = NodeFolder.replay(nodes.dataDir(id));
                assertThat(disk.differencesFrom(last)).as("node %d's folder replayed", id).isEmpty();
            }
        }
    }

    /** {@link #PUTS} puts from {@link #CLIENTS} clients, each cycling over its own keys; returns each key's last value. */
    private static Map<String, String> putAll(TestNodes nodes, Runnable afterEachPut) {
        Map<String, String> last = new TreeMap<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Map<String, String>>> results = new ArrayList<>();
            for (int t = 0; t < CLIENTS; t++) {
                int client = t;
                results.add(pool.submit(() -> {
                    Map<String, String> mine = new TreeMap<>();
                    try (RaftKvClient c = nodes.client(WAIT)) {
                        for (int j = 0; j < PUTS / CLIENTS; j++) {
                            String key = String.format("key-%03d", client + CLIENTS * (j % (KEYS / CLIENTS)));
                            String value = String.format("%0" + VALUE_CHARS + "d", j * CLIENTS + client);
                            // An election can leave a put's outcome unknown: put again until acknowledged.
                            // The key's next write waits for this one, so its last value is still this client's last.
                            KvResult r = c.put(key, value);
                            for (int retry = 0; r.status() != 200 && retry < 5; retry++) r = c.put(key, value);
                            assertThat(r.status()).as("put %s=%d: %s", key, j, r.body()).isEqualTo(200);
                            mine.put(key, value);
                            afterEachPut.run();
                        }
                    }
                    return mine;
                }));
            }
            for (Future<Map<String, String>> f : results) last.putAll(f.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AssertionError a) throw a;
            throw new AssertionError(e.getCause());
        }
        return last;
    }
}
