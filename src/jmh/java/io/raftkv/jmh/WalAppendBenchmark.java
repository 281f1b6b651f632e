package io.raftkv.jmh;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.RaftStorage;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The write path of one Ready: {@link FileStorage#persist} of a batch of entries plus the hard
 * state (whose commit index moves on every call, as on a busy leader), in a fresh data folder,
 * with the default 64 MiB segments. With {@code fsync=true} each call ends with one
 * {@code FileChannel.force} (group commit); with {@code fsync=false} (the {@code --no-fsync}
 * experiment switch) it measures framing, CRC32C and the {@code write} syscall only.
 *
 * <p>The score is persist calls per second; the {@code entries} and {@code bytes} secondary
 * results are entries and WAL payload bytes per second. To keep the disk bounded on long runs,
 * a tiny snapshot is saved (which deletes the covered segments) whenever the WAL passes two
 * segments: the rolls are real, the compaction cost is included but rare.
 *
 * <p>The folder is made under {@code -Draftkv.jmh.dir=PATH} (pass it with
 * {@code -jvmArgsAppend}) or the JVM's temp folder, and deleted after the trial.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WalAppendBenchmark {
    /** Entries per persist call (one Ready's worth). */
    @Param({"1", "16", "256"})
    public int entries;

    /** Bytes of command data per entry. */
    @Param({"64", "1024"})
    public int valueSize;

    @Param({"true", "false"})
    public boolean fsync;

    private static final long TERM = 3;
    private static final int VOTE = 1;

    private Path dir;
    private FileStorage storage;
    private long maxSegmentBytes;
    private final List<byte[]> payloads = new ArrayList<>();
    private long lastIndex;
    private long walBytesSinceCompaction;

    /** Secondary results, reported per second next to the score. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Written {
        /** Entries persisted. */
        public long entries;
        /** WAL bytes written (records with their headers). */
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            entries = 0;
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void open() throws IOException {
        Path parent = Path.of(System.getProperty("raftkv.jmh.dir", System.getProperty("java.io.tmpdir")));
        Files.createDirectories(parent);
        dir = Files.createTempDirectory(parent, "raftkv-jmh-wal-");
        FileStorage.Options defaults = FileStorage.Options.defaults();
        maxSegmentBytes = defaults.maxSegmentBytes();
        storage = FileStorage.open(dir, new FileStorage.Options(maxSegmentBytes, fsync));
        RaftStorage.Stored stored = storage.load();
        if (!stored.entries().isEmpty()) throw new IllegalStateException("fresh folder " + dir + " has entries");
        // A node that has voted in its term: persist then only changes the commit index.
        storage.persist(new HardState(TERM, VOTE, 0), List.of());
        // Several distinct payloads, so the CRC and copies do not see one array over and over.
        Random random = new Random(42);
        for (int i = 0; i < 64; i++) {
            byte[] b = new byte[valueSize];
            random.nextBytes(b);
            payloads.add(b);
        }
    }

    @Benchmark
    public void persist(Written written) {
        List<Entry> batch = new ArrayList<>(entries);
        long commit = lastIndex; // the previous batch is committed by now
        for (int i = 0; i < entries; i++) {
            lastIndex++;
            batch.add(new Entry(lastIndex, TERM, payloads.get((int) (lastIndex & 63))));
        }
        storage.persist(new HardState(TERM, VOTE, commit), batch);
        // Record framing of Wal/WalRecord: 8-byte header, type, index, term, data; state record 29 bytes.
        long bytes = (long) entries * (8 + 1 + 16 + valueSize) + 29;
        written.entries += entries;
        written.bytes += bytes;
        walBytesSinceCompaction += bytes;
        if (walBytesSinceCompaction > 2 * maxSegmentBytes) {
            storage.saveSnapshot(new Snapshot(lastIndex, TERM, new byte[16]));
            walBytesSinceCompaction = 0;
        }
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        RaftStorage.Stats stats = storage.stats();
        storage.close();
        if (stats.entriesWritten() != lastIndex) {
            throw new IllegalStateException("WAL wrote " + stats.entriesWritten() + " entries, expected " + lastIndex);
        }
        if (fsync && stats.fsyncs() < lastIndex / entries) {
            throw new IllegalStateException("only " + stats.fsyncs() + " fsyncs for " + lastIndex / entries + " appends");
        }
        deleteRecursively(dir);
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
