package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A crash inside {@link FileStorage#installSnapshot} (Raft §7: a snapshot from the leader
 * replaces the whole log): the snapshot file is durable, but some or all of the old WAL
 * segments, every one of them older than the snapshot, are still there. The node must restart
 * from the snapshot and take entries after it, not stop on a gap between the old WAL and them.
 */
class SnapshotInstallCrashTest {
    private static final FileStorage.Options SMALL_SEGMENTS = new FileStorage.Options(1024, true);
    private static final long SNAPSHOT_INDEX = 100;

    @ParameterizedTest(name = "{0} newest segments already deleted")
    @ValueSource(ints = {0, 1, 2, 3})
    @DisplayName("§7: after a crash between saving the leader's snapshot and resetting the WAL, the node restarts and appends")
    void restartsAfterCrashInsideInstallSnapshot(int deletedSegments, @TempDir Path dir) throws IOException {
        try (FileStorage fs = FileStorage.open(dir, SMALL_SEGMENTS)) {
            fs.load();
            for (int i = 1; i <= 40; i++) fs.persist(new HardState(1, -1, i), List.of(entry(i, 1)));
        }
        List<Path> segments = segments(dir);
        assertThat(segments).as("WAL segments to crash among").hasSizeGreaterThan(deletedSegments + 1);

        // installSnapshot's first step: the snapshot is on disk. Then the crash, with the WAL reset
        // (which deletes the newest segments first) done up to deletedSegments files.
        new SnapshotFiles(dir.resolve("snap"), true).save(new Snapshot(SNAPSHOT_INDEX, 2, new byte[] {7}));
        for (Path p : segments.subList(segments.size() - deletedSegments, segments.size())) Files.delete(p);

        try (FileStorage fs = FileStorage.open(dir, SMALL_SEGMENTS)) {
            RaftStorage.Stored st = fs.load();
            assertThat(st.snapshot()).hasValueSatisfying(s -> assertThat(s.index()).isEqualTo(SNAPSHOT_INDEX));
            assertThat(st.entries()).as("entries after the snapshot").isEmpty();
            assertThat(st.hardState().commit()).isEqualTo(SNAPSHOT_INDEX);
            // The leader goes on with the entries after its snapshot.
            fs.persist(new HardState(2, -1, SNAPSHOT_INDEX + 1), List.of(entry(SNAPSHOT_INDEX + 1, 2)));
        }
        try (FileStorage fs = FileStorage.open(dir, SMALL_SEGMENTS)) {
            RaftStorage.Stored st = fs.load();
            assertThat(st.entries()).containsExactly(entry(SNAPSHOT_INDEX + 1, 2));
            assertThat(st.hardState()).isEqualTo(new HardState(2, -1, SNAPSHOT_INDEX + 1));
        }
    }

    private static Entry entry(long index, long term) {
        return new Entry(index, term, ("entry-" + index + "-" + "x".repeat(100)).getBytes());
    }

    /** WAL segment files, oldest first (the open segment's name sorts last). */
    private static List<Path> segments(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("wal"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("log_")).sorted().toList();
        }
    }
}
