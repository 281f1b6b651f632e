package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Snapshot;
import io.raftkv.storage.RaftStorage.Stored;
import io.raftkv.storage.StorageFixtures.SegmentName;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static io.raftkv.storage.StorageFixtures.assertSegmentLayout;
import static io.raftkv.storage.StorageFixtures.entries;
import static io.raftkv.storage.StorageFixtures.entry;
import static io.raftkv.storage.StorageFixtures.list;
import static io.raftkv.storage.StorageFixtures.names;
import static io.raftkv.storage.StorageFixtures.open;
import static io.raftkv.storage.StorageFixtures.reload;
import static io.raftkv.storage.StorageFixtures.size;
import static io.raftkv.storage.StorageFixtures.walFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * FileStorage through its public contract: what {@link RaftStorage#persist} and the snapshot calls
 * write must come back, unchanged, from {@link RaftStorage#load} in a new instance on the same
 * folder (a restart). The WAL file layout is checked where the contract depends on it.
 */
class FileStorageTest {
    /** One segment for everything. */
    private static final long BIG = 1 << 20;
    /** An entry record is 32 bytes: a segment rolls after three or four single-entry writes. */
    private static final long TINY = 100;

    @TempDir
    Path dir;

    @Test
    void anEmptyFolderLoadsAnEmptyState() {
        Stored s = reload(dir, BIG);

        assertThat(s).isEqualTo(new Stored(HardState.EMPTY, Optional.empty(), List.of()));
        assertThat(dir.resolve("LOCK")).isRegularFile();
        assertThat(dir.resolve("wal")).isDirectory();
        assertThat(dir.resolve("snap")).isDirectory();
        assertThat(assertSegmentLayout(dir)).containsExactly(new SegmentName(1, -1));
    }

    @Test
    void entriesAndHardStateSurviveARestart() {
        HardState hs = new HardState(7, 3, 4);
        List<Entry> written = new ArrayList<>(entries(1, 3, 2));
        written.add(Entry.noop(4, 7));
        written.add(new Entry(5, 7, new byte[] {0, -1, 0, 127, -128}));
        written.add(new Entry(6, 7, new byte[10_000]));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(hs, written.subList(0, 3));
            s.persist(null, written.subList(3, 6));
        }

        assertThat(reload(dir, BIG)).isEqualTo(new Stored(hs, Optional.empty(), written));
        // a restart that writes nothing leaves nothing to repair: the next one sees the same
        assertThat(reload(dir, BIG)).isEqualTo(new Stored(hs, Optional.empty(), written));
    }

    @Test
    void theLatestHardStateWinsAndNullKeepsIt() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, RaftNode.NONE, 0), List.of());
            s.persist(new HardState(2, 1, 0), entries(1, 2, 2));
            s.persist(null, entries(3, 4, 2));
            s.persist(new HardState(3, 2, 3), List.of());
            s.persist(null, List.of());
        }

        Stored s = reload(dir, BIG);
        assertThat(s.hardState()).isEqualTo(new HardState(3, 2, 3));
        assertThat(s.entries()).isEqualTo(entries(1, 4, 2));
    }

    @Test
    void anOverwriteWithinASegmentReplacesTheSuffix() {
        HardState hs = new HardState(2, 1, 1);
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(hs, entries(1, 6, 1));
            // Raft §5.3: a new leader's entries replace the conflicting suffix, here from index 3
            s.persist(null, entries(3, 4, 2));
        }

        List<Entry> expected = new ArrayList<>(entries(1, 2, 1));
        expected.addAll(entries(3, 4, 2));
        assertThat(reload(dir, BIG)).isEqualTo(new Stored(hs, Optional.empty(), expected));

        // and the log goes on after the overwritten suffix
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(null, entries(5, 5, 2));
        }
        expected.add(entry(5, 2));
        assertThat(reload(dir, BIG).entries()).isEqualTo(expected);
    }

    @Test
    void anOverwriteAcrossSegmentsReplacesTheSuffixAndKeepsTheNamesConsistent() {
        HardState hs = new HardState(1, 1, 2);
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            s.persist(hs, List.of());
            for (long i = 1; i <= 12; i++) s.persist(null, List.of(entry(i, 1)));
            assertThat(assertSegmentLayout(dir)).as("12 entries in 100-byte segments").hasSizeGreaterThan(3);

            // cut in the middle of the second segment: later segments go, the open one included
            s.persist(null, entries(6, 7, 2));
            assertSegmentLayout(dir);
            s.persist(null, List.of(entry(8, 2)));
        }

        List<Entry> expected = new ArrayList<>(entries(1, 5, 1));
        expected.addAll(entries(6, 8, 2));
        assertThat(reload(dir, TINY)).isEqualTo(new Stored(hs, Optional.empty(), expected));
        assertThat(assertSegmentLayout(dir).getLast().first()).isLessThanOrEqualTo(8);
    }

    @Test
    void anOverwriteAtTheFirstEntryOfASegmentDropsThatWholeSegment() {
        List<SegmentName> layout;
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            for (long i = 1; i <= 12; i++) s.persist(null, List.of(entry(i, 1)));
            layout = assertSegmentLayout(dir);
        }
        // the second closed segment starts right after the first: overwrite exactly there,
        // i.e. truncate at a segment boundary
        long boundary = layout.get(1).first();
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            s.persist(null, List.of(entry(boundary, 2)));
            s.persist(null, List.of(entry(boundary + 1, 2)));
        }

        List<Entry> expected = new ArrayList<>(entries(1, boundary - 1, 1));
        expected.addAll(entries(boundary, boundary + 1, 2));
        assertThat(reload(dir, TINY).entries()).isEqualTo(expected);
        assertSegmentLayout(dir);
    }

    @Test
    void anOverwriteOfTheWholeLogKeepsTheHardState() {
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            s.persist(new HardState(4, 2, 0), List.of());
            for (long i = 1; i <= 8; i++) s.persist(null, List.of(entry(i, 1)));
            s.persist(null, List.of(entry(1, 4)));
        }

        assertThat(reload(dir, TINY)).isEqualTo(new Stored(new HardState(4, 2, 0), Optional.empty(), List.of(entry(1, 4))));
        assertThat(assertSegmentLayout(dir)).containsExactly(new SegmentName(1, -1));
    }

    @Test
    void theHardStateSurvivesATruncationThatCutsOffItsRecord() {
        // the state record is written after the entries of the same persist, so a truncation
        // below them cuts it off: the WAL must write it again
        HardState hs = new HardState(5, 2, 1);
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(hs, entries(1, 6, 1));
            s.persist(null, entries(2, 2, 5));
        }

        assertThat(reload(dir, BIG)).isEqualTo(new Stored(hs, Optional.empty(), List.of(entry(1, 1), entry(2, 5))));
    }

    @Test
    void segmentsRollOnSizeAndAreNamedByTheirIndexRange() {
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            for (long i = 1; i <= 20; i++) s.persist(null, List.of(entry(i, 1)));
        }

        List<SegmentName> layout = assertSegmentLayout(dir);
        assertThat(layout.getFirst().first()).isEqualTo(1);
        assertThat(layout).hasSizeGreaterThan(4);
        // a segment rolls once it reaches the limit, so it holds less than the limit plus one
        // write (here one entry record of at most 33 bytes)
        for (Path p : walFiles(dir)) assertThat(size(p)).as("%s", p).isLessThan(TINY + 33);
        assertThat(reload(dir, TINY).entries()).isEqualTo(entries(1, 20, 1));
        assertThat(assertSegmentLayout(dir)).as("a restart keeps the layout").isEqualTo(layout);
    }

    @Test
    void aSnapshotDeletesTheSegmentsItCoversAndLoadReturnsItWithTheEntriesAfterIt() {
        Snapshot snap = new Snapshot(12, 1, "state@12".getBytes(StandardCharsets.UTF_8));
        HardState hs = new HardState(1, 1, 15);
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            for (long i = 1; i <= 20; i++) s.persist(i == 15 ? hs : null, List.of(entry(i, 1)));
            s.saveSnapshot(snap);
            assertThat(s.stats().snapshotIndex()).isEqualTo(12);
        }

        List<SegmentName> layout = assertSegmentLayout(dir);
        assertThat(layout.stream().filter(n -> !n.isOpen()))
                .as("every closed segment left holds entries after the snapshot")
                .allSatisfy(n -> assertThat(n.last()).isGreaterThan(12));
        assertThat(layout.getFirst().first()).as("nothing after the snapshot was deleted").isLessThanOrEqualTo(13);
        assertThat(reload(dir, TINY)).isEqualTo(new Stored(hs, Optional.of(snap), entries(13, 20, 1)));
    }

    /**
     * The segments a snapshot covers are unlinked on the file releaser's thread, not the caller's
     * (the node's loop: the kernel frees their blocks in the unlink). A crash before that leaves
     * them on disk: recovery skips what the snapshot covers, and the next compaction deletes them.
     */
    @Test
    void coveredSegmentsAreDeletedOffTheCallersThreadAndACrashBeforeThatRecovers(@TempDir Path copy) throws Exception {
        Snapshot snap = new Snapshot(12, 1, "state@12".getBytes(StandardCharsets.UTF_8));
        HardState hs = new HardState(1, 1, 15);
        List<Runnable> handed = new ArrayList<>();
        java.util.concurrent.Executor before = FileReleaser.executor;
        FileReleaser.executor = handed::add;
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            for (long i = 1; i <= 20; i++) s.persist(i == 15 ? hs : null, List.of(entry(i, 1)));
            List<String> segments = names(walFiles(dir));
            s.saveSnapshot(snap);
            assertThat(handed).as("the deletion is handed to the releaser").hasSize(1);
            assertThat(names(walFiles(dir))).as("nothing deleted by the caller").containsAll(segments);

            // A crash now: a copy of the folder as it is on disk.
            copyFolder(dir, copy);

            handed.getFirst().run();
            assertThat(walFiles(dir)).as("the covered segments, once the releaser ran").hasSizeLessThan(segments.size());
        } finally {
            FileReleaser.executor = before;
        }
        Stored expected = new Stored(hs, Optional.of(snap), entries(13, 20, 1));
        assertThat(reload(dir, TINY)).isEqualTo(expected);
        assertThat(reload(copy, TINY)).as("recovered from the crash before the deletion").isEqualTo(expected);
        try (FileStorage s = open(copy, TINY)) {
            s.load();
            s.saveSnapshot(new Snapshot(14, 1, "state@14".getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(assertSegmentLayout(copy).stream().filter(n -> !n.isOpen()))
                .as("the next compaction deleted what the crash left")
                .allSatisfy(n -> assertThat(n.last()).isGreaterThan(14));
    }

    /**
     * The deletion of segments a snapshot covered is still pending when the leader's snapshot is
     * installed (the WAL reset to after it), and the node crashes: the folder holds the old covered
     * segments and the new log after a gap. The gap lies inside the snapshot, so recovery deletes
     * those segments and starts; a gap the snapshot does not cover still stops the node.
     */
    @Test
    void segmentsLeftByACrashBeforeTheirDeletionAndAnInstallAreDeletedAtRecovery(@TempDir Path copy) throws Exception {
        Snapshot own = new Snapshot(12, 1, "state@12".getBytes(StandardCharsets.UTF_8));
        Snapshot fromLeader = new Snapshot(50, 2, "state@50".getBytes(StandardCharsets.UTF_8));
        List<Runnable> handed = new ArrayList<>();
        java.util.concurrent.Executor before = FileReleaser.executor;
        FileReleaser.executor = handed::add;
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            for (long i = 1; i <= 20; i++) s.persist(i == 15 ? new HardState(1, 1, 15) : null, List.of(entry(i, 1)));
            s.saveSnapshot(own);
            s.installSnapshot(fromLeader).data().release();
            s.persist(new HardState(2, 2, 50), entries(51, 52, 2));
            copyFolder(dir, copy); // a crash now, the covered segments' deletion still pending
            handed.forEach(Runnable::run);
        } finally {
            FileReleaser.executor = before;
        }
        assertThat(names(walFiles(copy)).stream().filter(n -> !n.startsWith("log_inprogress_"))).as("left by the crash")
                .isNotEmpty();
        Stored expected = new Stored(new HardState(2, 2, 50), Optional.of(fromLeader), entries(51, 52, 2));
        assertThat(reload(copy, TINY)).isEqualTo(expected);
        assertThat(names(walFiles(copy))).as("only the log after the snapshot").containsExactly(Wal.openName(51));
        assertThat(reload(dir, TINY)).isEqualTo(expected);

        // A gap the snapshot does not cover is still refused: entries after it would be missing.
        Path other = copy.resolve("other");
        try (FileStorage s = open(other, TINY)) {
            s.load();
            for (long i = 1; i <= 20; i++) s.persist(null, List.of(entry(i, 1)));
            s.saveSnapshot(new Snapshot(5, 1, new byte[] {5}));
        }
        List<Path> closed = walFiles(other).stream().filter(f -> !f.getFileName().toString().startsWith("log_inprogress_")).toList();
        assertThat(closed).hasSizeGreaterThan(2);
        Path middle = closed.get(closed.size() / 2);
        Files.delete(middle);
        assertThatThrownBy(() -> reload(other, TINY)).isInstanceOf(StorageException.class).hasMessageContaining("WAL gap");
    }

    /** Every file of {@code from} but its lock, as a crash would leave them. */
    private static void copyFolder(Path from, Path to) throws java.io.IOException {
        try (java.util.stream.Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else if (!p.getFileName().toString().equals("LOCK")) Files.copy(p, target);
            }
        }
    }

    @Test
    void compactionKeepsTheHardStateEvenWhenItsRecordWasInADeletedSegment() {
        // the only state record sits in the first segment, which the snapshot covers entirely
        HardState hs = new HardState(3, 2, 10);
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            s.persist(hs, List.of(entry(1, 3)));
            for (long i = 2; i <= 16; i++) s.persist(null, List.of(entry(i, 3)));
            s.saveSnapshot(new Snapshot(10, 3, new byte[] {1}));
        }

        Stored s = reload(dir, TINY);
        assertThat(s.hardState()).isEqualTo(hs);
        assertThat(s.entries()).isEqualTo(entries(11, 16, 3));
    }

    @Test
    void onlyTheNewestSnapshotIsKept() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 8), entries(1, 10, 1));
            s.saveSnapshot(new Snapshot(4, 1, new byte[] {4}));
            s.saveSnapshot(new Snapshot(8, 1, new byte[] {8}));
        }

        assertThat(names(list(dir.resolve("snap")))).containsExactly(String.format("snapshot_%020d_%020d", 8, 1));
        Stored s = reload(dir, BIG);
        assertThat(s.snapshot()).contains(new Snapshot(8, 1, new byte[] {8}));
        assertThat(s.entries()).isEqualTo(entries(9, 10, 1));
    }

    @Test
    @DisplayName("a snapshot of several chunks is written whole and read back from its file; one flipped byte fails its checksum")
    void aSnapshotOfManyChunksRoundTrips() throws Exception {
        byte[] bytes = new byte[3 * io.raftkv.raft.SnapshotData.Output.CHUNK + 17];
        new java.util.Random(5).nextBytes(bytes);
        io.raftkv.raft.SnapshotData.Output out = new io.raftkv.raft.SnapshotData.Output();
        out.write(bytes, 0, bytes.length);
        Snapshot snap = new Snapshot(8, 1, out.finish());
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 8), entries(1, 10, 1));
            s.saveSnapshot(snap);
        }
        Snapshot back = reload(dir, BIG).snapshot().orElseThrow();
        assertThat(back).isEqualTo(snap);
        assertThat(back.data()).as("read from its file, not held on the heap").isInstanceOf(FileSnapshotData.class);
        assertThat(back.data().toByteArray()).isEqualTo(bytes);

        Path file = list(dir.resolve("snap")).get(0);
        byte[] onDisk = Files.readAllBytes(file);
        onDisk[onDisk.length / 2] ^= 1;
        Files.write(file, onDisk);
        assertThatThrownBy(() -> reload(dir, BIG)).isInstanceOf(StorageException.class).hasMessageContaining("checksum");
    }

    @Test
    @DisplayName("a written snapshot is kept as its file, which stays readable after a newer snapshot deletes it")
    void aKeptSnapshotReadsItsFileEvenAfterItIsDeleted() {
        byte[] bytes = new byte[100_000];
        new java.util.Random(6).nextBytes(bytes);
        io.raftkv.raft.Configuration config = io.raftkv.raft.Configuration.bootstrap(List.of(1, 2, 3));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 8), entries(1, 10, 1));
            RaftStorage.Written w = s.writeSnapshot(4, 1, config, out -> out.write(bytes));
            s.snapshotWritten(w.snapshot(), w.sizeBytes());
            Snapshot kept = w.snapshot();
            s.saveSnapshot(new Snapshot(8, 1, new byte[] {8}));
            assertThat(names(list(dir.resolve("snap")))).containsExactly(String.format("snapshot_%020d_%020d", 8, 1));
            assertThat(kept.data().toByteArray()).as("read after its file was deleted").isEqualTo(bytes);
            assertThat(kept.data().read(99_990, 10)).isEqualTo(java.util.Arrays.copyOfRange(bytes, 99_990, 100_000));
            kept.data().release();
            awaitClosed(kept.data());
            assertThatThrownBy(() -> kept.data().read(0, 1)).as("released: its file is closed")
                    .isInstanceOf(java.io.UncheckedIOException.class);
        }
    }

    @Test
    @DisplayName("a background snapshot older than one installed meanwhile is deleted at once, and what it returns still reads")
    void aStreamedSnapshotOlderThanTheInstalledOneIsDroppedButReadable() {
        byte[] bytes = new byte[50_000];
        new java.util.Random(8).nextBytes(bytes);
        io.raftkv.raft.Configuration config = io.raftkv.raft.Configuration.bootstrap(List.of(1, 2, 3));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 8), entries(1, 10, 1));
            s.installSnapshot(new Snapshot(20, 2, config, new byte[] {20})).data().release();
            RaftStorage.Written w = s.writeSnapshot(4, 1, config, out -> out.write(bytes));
            assertThat(names(list(dir.resolve("snap")))).containsExactly(String.format("snapshot_%020d_%020d", 20, 2));
            assertThat(w.snapshot().data().toByteArray()).isEqualTo(bytes);
            w.snapshot().data().release();
        }
        assertThat(reload(dir, BIG).snapshot()).contains(new Snapshot(20, 2, io.raftkv.raft.Configuration.bootstrap(List.of(1, 2, 3)),
                new byte[] {20}));
    }

    @Test
    @DisplayName("a snapshot streamed into its file reads back the same, from the file, after a restart too")
    void aStreamedSnapshotRoundTrips() throws Exception {
        byte[] bytes = new byte[2 * io.raftkv.raft.SnapshotData.Output.CHUNK + 123];
        new java.util.Random(7).nextBytes(bytes);
        io.raftkv.raft.Configuration config = io.raftkv.raft.Configuration.bootstrap(List.of(1, 2, 3));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 8), entries(1, 10, 1));
            RaftStorage.Written w = s.writeSnapshot(8, 1, config, out -> {
                for (int at = 0; at < bytes.length; at += 1000) out.write(bytes, at, Math.min(1000, bytes.length - at));
            });
            s.snapshotWritten(w.snapshot(), w.sizeBytes());
            assertThat(w.snapshot().data()).isInstanceOf(FileSnapshotData.class);
            assertThat(w.snapshot()).isEqualTo(new Snapshot(8, 1, config, bytes));
            assertThat(w.sizeBytes()).isEqualTo(Files.size(list(dir.resolve("snap")).get(0)));
        }
        assertThat(reload(dir, BIG).snapshot()).contains(new Snapshot(8, 1, config, bytes));
    }

    @Test
    void aBackgroundSnapshotFinishingAfterANewerInstalledOneIsDropped() {
        // The runtime writes its own snapshots on another thread; meanwhile the leader's may land.
        Snapshot own = new Snapshot(4, 1, new byte[] {4});
        Snapshot fromLeader = new Snapshot(20, 2, new byte[] {20});
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 8), entries(1, 10, 1));
            s.installSnapshot(fromLeader).data().release();
            s.persist(null, entries(21, 22, 2));
            long size = s.writeSnapshot(own);
            s.snapshotWritten(own, size);
            assertThat(s.stats().snapshotIndex()).isEqualTo(20);
        }

        assertThat(names(list(dir.resolve("snap")))).containsExactly(String.format("snapshot_%020d_%020d", 20, 2));
        Stored s = reload(dir, BIG);
        assertThat(s.snapshot()).contains(fromLeader);
        assertThat(s.entries()).isEqualTo(entries(21, 22, 2));
    }

    @Test
    void installSnapshotReplacesTheWholeLog() {
        HardState hs = new HardState(3, 2, 5);
        Snapshot snap = new Snapshot(50, 3, "leader state".getBytes(StandardCharsets.UTF_8));
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            s.persist(hs, List.of());
            for (long i = 1; i <= 10; i++) s.persist(null, List.of(entry(i, 1)));
            s.installSnapshot(snap).data().release();
            assertThat(names(walFiles(dir))).containsExactly(Wal.openName(51));
        }

        // the commit index is at least the snapshot's: a snapshot holds only committed entries
        Stored afterInstall = reload(dir, TINY);
        assertThat(afterInstall).isEqualTo(new Stored(new HardState(3, 2, 50), Optional.of(snap), List.of()));

        try (FileStorage s = open(dir, TINY)) {
            s.load();
            s.persist(new HardState(3, 2, 50), entries(51, 53, 3));
        }
        assertThat(reload(dir, TINY)).isEqualTo(new Stored(new HardState(3, 2, 50), Optional.of(snap), entries(51, 53, 3)));
        assertSegmentLayout(dir);
    }

    @Test
    @DisplayName("issue 14: an installed snapshot is returned as read from its file, readable after a newer one deletes it, until released")
    void installSnapshotReturnsItReadFromItsFile() {
        byte[] bytes = new byte[io.raftkv.raft.SnapshotData.Output.CHUNK + 77];
        new java.util.Random(9).nextBytes(bytes);
        io.raftkv.raft.Configuration config = io.raftkv.raft.Configuration.bootstrap(List.of(1, 2, 3));
        Snapshot fromLeader = new Snapshot(20, 2, config, io.raftkv.raft.SnapshotData.ofChunks(
                List.of(java.util.Arrays.copyOf(bytes, 1000), java.util.Arrays.copyOfRange(bytes, 1000, bytes.length))));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 8), entries(1, 10, 1));
            Snapshot stored = s.installSnapshot(fromLeader);
            assertThat(stored.data()).isInstanceOf(FileSnapshotData.class);
            assertThat(stored.data().heapBytes()).isZero();
            assertThat(stored).isEqualTo(fromLeader);
            assertThat(stored.configuration()).contains(config);

            Snapshot newer = s.installSnapshot(new Snapshot(30, 2, config, new byte[] {30}));
            assertThat(names(list(dir.resolve("snap")))).containsExactly(String.format("snapshot_%020d_%020d", 30, 2));
            assertThat(stored.data().toByteArray()).as("deleted, still open").isEqualTo(bytes);
            stored.data().release();
            awaitClosed(stored.data());
            assertThatThrownBy(() -> stored.data().read(0, 1)).isInstanceOf(java.io.UncheckedIOException.class);
            newer.data().release();
        }
    }

    @Test
    void installSnapshotBelowTheLastIndexAlsoDropsTheWholeLog() {
        Snapshot snap = new Snapshot(5, 2, new byte[] {5});
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 0), entries(1, 10, 1));
            s.installSnapshot(snap).data().release();
            s.persist(new HardState(2, 1, 5), List.of(entry(6, 2)));
        }

        assertThat(reload(dir, BIG)).isEqualTo(new Stored(new HardState(2, 1, 5), Optional.of(snap), List.of(entry(6, 2))));
    }

    @Test
    void statsCountFsyncsEntriesAndBytes() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            assertThat(s.stats()).isEqualTo(new RaftStorage.Stats(0, 0, 0, 0, 0));

            s.persist(new HardState(1, 1, 0), entries(1, 3, 1));
            s.persist(null, entries(4, 5, 1));
            s.persist(null, List.of()); // nothing to write: no fsync
            s.persist(new HardState(1, 1, 2), List.of()); // only the commit hint changed: written, not fsynced
            s.persist(null, entries(5, 6, 1)); // an overwrite counts what it writes

            RaftStorage.Stats stats = s.stats();
            assertThat(stats.fsyncs()).as("one fsync per persist that wrote entries, a term or a vote").isEqualTo(3);
            assertThat(stats.entriesWritten()).isEqualTo(7);
            assertThat(stats.walBytes()).isEqualTo(size(StorageFixtures.openSegment(dir)));

            s.saveSnapshot(new Snapshot(3, 1, new byte[100]));
            Path snapFile = list(dir.resolve("snap")).getFirst();
            assertThat(s.stats().snapshotIndex()).isEqualTo(3);
            assertThat(s.stats().snapshotBytes()).isEqualTo(size(snapFile));
        }

        try (FileStorage s = open(dir, BIG)) {
            s.load();
            RaftStorage.Stats stats = s.stats();
            assertThat(stats.fsyncs()).as("counters are per process").isZero();
            assertThat(stats.entriesWritten()).isZero();
            assertThat(stats.walBytes()).isEqualTo(size(StorageFixtures.openSegment(dir)));
            assertThat(stats.snapshotIndex()).isEqualTo(3);
            assertThat(stats.snapshotBytes()).as("the same figure as before the restart").isEqualTo(size(list(dir.resolve("snap")).getFirst()));
        }
    }

    @Test
    void withoutFsyncNothingIsForcedButEverythingRoundTrips() {
        FileStorage.Options noSync = new FileStorage.Options(TINY, false);
        try (FileStorage s = FileStorage.open(dir, noSync)) {
            s.load();
            s.persist(new HardState(1, 1, 0), List.of());
            for (long i = 1; i <= 10; i++) s.persist(null, List.of(entry(i, 1)));
            assertThat(s.stats().fsyncs()).isZero();
            assertThat(s.stats().entriesWritten()).isEqualTo(10);
        }
        try (FileStorage s = FileStorage.open(dir, noSync)) {
            assertThat(s.load()).isEqualTo(new Stored(new HardState(1, 1, 0), Optional.empty(), entries(1, 10, 1)));
        }
    }

    @Test
    void theCommitIndexIsClampedToTheLastIndexOnLoad() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            // e.g. a commit index learned from the leader before the entries arrived
            s.persist(new HardState(2, 1, 10), entries(1, 5, 2));
        }

        assertThat(reload(dir, BIG).hardState()).isEqualTo(new HardState(2, 1, 5));
    }

    @Test
    void theCommitIndexIsAtLeastTheSnapshotIndexOnLoad() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 1), entries(1, 5, 2));
            s.saveSnapshot(new Snapshot(4, 2, new byte[] {1}));
        }

        assertThat(reload(dir, BIG).hardState()).isEqualTo(new HardState(2, 1, 4));
    }

    @Test
    void appendsWithAGapOrIntoTheSnapshotAreProgrammingErrors() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(null, entries(1, 5, 1));
            assertThatThrownBy(() -> s.persist(null, List.of(entry(7, 1))))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("gap");
            s.saveSnapshot(new Snapshot(3, 1, new byte[0]));
            assertThatThrownBy(() -> s.persist(null, List.of(entry(3, 2))))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("snapshot");
        }

        assertThat(reload(dir, BIG).entries()).as("the rejected appends wrote nothing").isEqualTo(entries(4, 5, 1));
    }

    @Test
    void leftoverTemporaryFilesAreNotMistakenForSegments() throws Exception {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(null, entries(1, 2, 1));
        }
        Files.writeString(dir.resolve("wal").resolve("log_inprogress_00000000000000000003.tmp"), "junk");

        assertThat(reload(dir, BIG).entries()).isEqualTo(entries(1, 2, 1));
    }

    /** A released file snapshot is closed on the file closer's thread ({@link FileSnapshotData}): waits for it, bounded. */
    private static void awaitClosed(io.raftkv.raft.SnapshotData data) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && ((FileSnapshotData) data).isOpen()) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
    }
}
