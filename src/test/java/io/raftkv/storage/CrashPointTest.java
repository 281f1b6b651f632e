package io.raftkv.storage;

import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import io.raftkv.storage.RaftStorage.Stored;
import io.raftkv.storage.StorageFixtures.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static io.raftkv.storage.StorageFixtures.entries;
import static io.raftkv.storage.StorageFixtures.entry;
import static io.raftkv.storage.StorageFixtures.list;
import static io.raftkv.storage.StorageFixtures.open;
import static io.raftkv.storage.StorageFixtures.openSegment;
import static io.raftkv.storage.StorageFixtures.rawEntry;
import static io.raftkv.storage.StorageFixtures.read;
import static io.raftkv.storage.StorageFixtures.recordOffsets;
import static io.raftkv.storage.StorageFixtures.reload;
import static io.raftkv.storage.StorageFixtures.size;
import static io.raftkv.storage.StorageFixtures.walFiles;
import static io.raftkv.storage.StorageFixtures.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * What a crash can leave on disk, byte by byte. A write torn at the tail of the log was never
 * acknowledged (persist had not returned), so recovery cuts it off and starts from the record
 * before it. Damage anywhere before the tail may hit committed entries, so recovery refuses to
 * start and names the file and offset rather than silently dropping data.
 */
class CrashPointTest {
    private static final long BIG = 1 << 20;
    private static final long TINY = 100;

    @TempDir
    Path dir;

    /** What the last record of the log is: the torn write may be either kind. */
    enum Last { ENTRY, STATE }

    /** The one WAL segment before and after the last record was appended. */
    private record Log(Path segment, byte[] base, byte[] full, Stored before, Stored after) {
        int lastRecordStart() {
            return base.length;
        }

        /**
         * What recovery gives once the last record is torn off: the state before it - except the
         * term and vote, which the term-vote file had made durable before the WAL write began.
         */
        Stored tornTail() {
            HardState b = before.hardState();
            HardState a = after.hardState();
            return new Stored(new HardState(a.term(), a.votedFor(), b.commit()), before.snapshot(), before.entries());
        }
    }

    /**
     * Seven records (entries 1-3, state, entry 4, entry 5, state) and then the {@code last} one,
     * all in one segment.
     */
    private Log build(Last last) {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 0), entries(1, 3, 1));
            s.persist(null, List.of(entry(4, 1)));
            s.persist(new HardState(2, 2, 3), List.of(entry(5, 2)));
        }
        Stored before = reload(dir, BIG);
        Path segment = openSegment(dir);
        byte[] base = read(segment);
        appendLast(last);
        Stored after = reload(dir, BIG);
        byte[] full = read(segment);
        assertThat(after).isNotEqualTo(before);
        assertThat(Arrays.copyOf(full, base.length)).as("an append only adds bytes").isEqualTo(base);
        assertThat(recordOffsets(full)).hasSize(8).endsWith(base.length);
        return new Log(segment, base, full, before, after);
    }

    private void appendLast(Last last) {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            switch (last) {
                case ENTRY -> s.persist(null, List.of(entry(6, 2)));
                case STATE -> s.persist(new HardState(3, 3, 5), List.of());
            }
        }
    }

    private static byte[] flip(byte[] bytes, int offset, int mask) {
        byte[] copy = bytes.clone();
        copy[offset] ^= (byte) mask;
        return copy;
    }

    // ---- a torn tail: cut off, with a log line, and stable afterwards

    @ParameterizedTest
    @EnumSource(Last.class)
    void aLastRecordCutShortAtAnyByteIsDroppedAndTheLogGoesOn(Last last) {
        Log log = build(last);
        try (LogCapture logs = new LogCapture(Wal.class)) {
            for (int cut = log.lastRecordStart(); cut < log.full().length; cut++) {
                write(log.segment(), Arrays.copyOf(log.full(), cut));
                logs.clear();

                assertThat(reload(dir, BIG)).as("recovered after a cut at %d", cut).isEqualTo(log.tornTail());
                assertThat(size(log.segment())).as("file cut back to the last valid record").isEqualTo(log.base().length);
                int dropped = cut - log.lastRecordStart();
                if (dropped > 0) {
                    assertThat(logs.messages()).as("log after a cut at %d", cut)
                            .anySatisfy(m -> assertThat(m).contains(log.segment().toString()).contains("dropping " + dropped + " bytes"));
                }

                logs.clear();
                assertThat(reload(dir, BIG)).as("second restart after a cut at %d", cut).isEqualTo(log.tornTail());
                assertThat(logs.messages()).as("nothing left to repair").isEmpty();

                // the repaired log takes the same write again
                appendLast(last);
                assertThat(reload(dir, BIG)).as("rewritten after a cut at %d", cut).isEqualTo(log.after());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Last.class)
    void aBitFlipInTheLastRecordDropsItOrStopsTheNodeButNeverReturnsWrongData(Last last) {
        Log log = build(last);
        int droppedCount = 0;
        for (int offset = log.lastRecordStart(); offset < log.full().length; offset++) {
            for (int bit = 0; bit < 8; bit++) {
                write(log.segment(), flip(log.full(), offset, 1 << bit));
                String what = "bit " + bit + " of byte " + offset;
                StorageException refused = catchThrowableOfType(StorageException.class, () -> {
                    assertThat(reload(dir, BIG)).as(what).isEqualTo(log.tornTail());
                    assertThat(size(log.segment())).as(what).isEqualTo(log.base().length);
                });
                if (refused == null) {
                    droppedCount++;
                } else {
                    assertThat(refused.getMessage()).as(what).contains(log.segment().toString())
                            .contains("offset " + log.lastRecordStart());
                }
            }
        }
        // a flip in the CRC or the body leaves a last record whose checksum fails and nothing
        // after it: exactly what a torn write looks like
        assertThat(droppedCount).isGreaterThan(0);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8, 9, 100, 4096})
    void zerosAfterTheLastRecordAreATornTailAndNothingValidIsLost(int zeros) {
        Log log = build(Last.ENTRY);
        write(log.segment(), Arrays.copyOf(log.full(), log.full().length + zeros));
        try (LogCapture logs = new LogCapture(Wal.class)) {
            assertThat(reload(dir, BIG)).isEqualTo(log.after());
            assertThat(logs.messages()).anySatisfy(m -> assertThat(m).contains("dropping " + zeros + " bytes"));
        }
        assertThat(size(log.segment())).isEqualTo(log.full().length);
    }

    @ParameterizedTest
    @EnumSource(Last.class)
    void aLastRecordHalfWrittenIntoPreallocatedZerosIsDropped(Last last) {
        Log log = build(last);
        byte[] torn = Arrays.copyOf(log.full(), log.full().length + 512);
        int middle = (log.lastRecordStart() + log.full().length) / 2;
        Arrays.fill(torn, middle, torn.length, (byte) 0);
        write(log.segment(), torn);

        assertThat(reload(dir, BIG)).isEqualTo(log.tornTail());
        assertThat(size(log.segment())).isEqualTo(log.base().length);
    }

    // ---- damage before the tail: refuse, name file and offset, change nothing

    @ParameterizedTest
    @EnumSource(Last.class)
    void aBitFlipInAnyRecordBeforeTheLastStopsTheNodeNamingFileAndOffset(Last last) {
        Log log = build(last);
        List<Integer> starts = recordOffsets(log.full());
        for (int r = 0; r < starts.size() - 1; r++) {
            int start = starts.get(r);
            for (int offset = start; offset < starts.get(r + 1); offset++) {
                for (int bit = 0; bit < 8; bit++) {
                    byte[] damaged = flip(log.full(), offset, 1 << bit);
                    write(log.segment(), damaged);

                    assertThat(catchThrowable(() -> reload(dir, BIG))).as("bit %d of byte %d (record at %d)", bit, offset, start)
                            .isInstanceOf(StorageException.class)
                            .hasMessageContaining(log.segment().toString())
                            .hasMessageContaining("offset " + start);
                    assertThat(read(log.segment())).as("a refused log is left as found").isEqualTo(damaged);
                }
            }
        }
    }

    @Test
    void aBitFlipAtTheEndOfAClosedSegmentStopsTheNode() {
        try (FileStorage s = open(dir, TINY)) {
            s.load();
            for (long i = 1; i <= 10; i++) s.persist(null, List.of(entry(i, 1)));
        }
        Path closed = walFiles(dir).getFirst();
        assertThat(closed.getFileName().toString()).matches(StorageFixtures.CLOSED.pattern());
        byte[] bytes = read(closed);
        int lastStart = recordOffsets(bytes).getLast();

        // the last record of a closed segment is not the tail of the log: it was fsynced before
        // the segment rolled, and the entries after it may be committed
        write(closed, flip(bytes, bytes.length - 1, 0x10));
        assertThatThrownBy(() -> reload(dir, TINY)).isInstanceOf(StorageException.class)
                .hasMessageContaining(closed.toString()).hasMessageContaining("offset " + lastStart);

        write(closed, Arrays.copyOf(bytes, bytes.length - 3));
        assertThatThrownBy(() -> reload(dir, TINY)).isInstanceOf(StorageException.class)
                .hasMessageContaining(closed.toString()).hasMessageContaining("offset " + lastStart);
    }

    @Test
    void aRecordWithAValidChecksumButAnImpossibleIndexStopsTheNode() {
        Log log = build(Last.ENTRY);
        List<Integer> starts = recordOffsets(log.full());
        int e4 = starts.get(4);
        byte[] damaged = log.full().clone();
        // entry 4 rewritten as entry 9, same size, valid CRC
        byte[] bogus = rawEntry(9, 1, entry(4, 1).data());
        System.arraycopy(bogus, 0, damaged, e4, bogus.length);
        write(log.segment(), damaged);

        assertThatThrownBy(() -> reload(dir, BIG)).isInstanceOf(StorageException.class)
                .hasMessageContaining(log.segment().toString()).hasMessageContaining("offset " + e4)
                .hasMessageContaining("index 9");
    }

    @Test
    void aTermGoingBackwardsStopsTheNode() {
        Log log = build(Last.ENTRY);
        List<Integer> starts = recordOffsets(log.full());
        byte[] damaged = log.full().clone();
        // entry 4 (term 1) rewritten with term 3, valid CRC: entry 5 (term 2) now goes backwards
        byte[] bogus = rawEntry(4, 3, entry(4, 1).data());
        System.arraycopy(bogus, 0, damaged, starts.get(4), bogus.length);
        write(log.segment(), damaged);

        assertThatThrownBy(() -> reload(dir, BIG)).isInstanceOf(StorageException.class)
                .hasMessageContaining(log.segment().toString()).hasMessageContaining("offset " + starts.get(5))
                .hasMessageContaining("term 2");
    }

    @Test
    void aValidRecordWithAnImpossibleIndexAtTheTailIsNotMistakenForATornWrite() {
        Log log = build(Last.ENTRY);
        byte[] damaged = log.full().clone();
        byte[] bogus = rawEntry(60, 2, entry(6, 2).data());
        System.arraycopy(bogus, 0, damaged, log.lastRecordStart(), bogus.length);
        write(log.segment(), damaged);

        assertThatThrownBy(() -> reload(dir, BIG)).isInstanceOf(StorageException.class)
                .hasMessageContaining("offset " + log.lastRecordStart());
    }

    // ---- snapshots

    private Path writeSnapshot() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 8), entries(1, 10, 1));
            s.saveSnapshot(new Snapshot(6, 1, "the state machine at 6".getBytes()));
        }
        List<Path> files = list(dir.resolve("snap"));
        assertThat(files).hasSize(1);
        return files.getFirst();
    }

    @Test
    void aFlippedByteAnywhereInTheSnapshotIsAClearError() {
        Path snap = writeSnapshot();
        byte[] good = read(snap);
        for (int offset = 0; offset < good.length; offset++) {
            write(snap, flip(good, offset, 0xFF));
            assertThat(catchThrowable(() -> reload(dir, BIG))).as("byte %d", offset)
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining(snap.toString())
                    .hasMessageContaining("remove it");
        }
        write(snap, good);
        assertThat(reload(dir, BIG).snapshot()).as("the test restores the file intact").isPresent();
    }

    @Test
    void aSnapshotCutShortAnywhereIsAClearError() {
        Path snap = writeSnapshot();
        byte[] good = read(snap);
        for (int cut = 0; cut < good.length; cut++) {
            write(snap, Arrays.copyOf(good, cut));
            assertThat(catchThrowable(() -> reload(dir, BIG))).as("cut at %d", cut)
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining(snap.toString())
                    .hasMessageContaining("remove it");
        }
    }

    @Test
    void aSnapshotWhoseNameDisagreesWithItsContentIsRefused() throws Exception {
        Path snap = writeSnapshot();
        Path renamed = snap.resolveSibling(String.format("snapshot_%020d_%020d", 7, 1));
        Files.move(snap, renamed);

        assertThatThrownBy(() -> reload(dir, BIG)).isInstanceOf(StorageException.class)
                .hasMessageContaining(renamed.toString()).hasMessageContaining("index 6");
    }

    @Test
    void aLeftoverTemporarySnapshotIsDeletedOnLoad() throws Exception {
        Path snap = writeSnapshot();
        byte[] good = read(snap);
        // a crash while writing the next snapshot, before its rename
        Path tmp = snap.resolveSibling(String.format("snapshot_%020d_%020d.tmp", 9, 1));
        Files.write(tmp, Arrays.copyOf(good, 20));

        Stored s = reload(dir, BIG);
        assertThat(s.snapshot()).contains(new Snapshot(6, 1, "the state machine at 6".getBytes()));
        assertThat(s.entries()).isEqualTo(entries(7, 10, 1));
        assertThat(tmp).doesNotExist();
        assertThat(list(dir.resolve("snap"))).containsExactly(snap);
    }

    @Test
    void aLeftoverTemporaryFirstSnapshotIsDeletedAndTheLogIsIntact() throws Exception {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 3), entries(1, 5, 1));
        }
        Path tmp = dir.resolve("snap").resolve(String.format("snapshot_%020d_%020d.tmp", 3, 1));
        Files.write(tmp, new byte[] {'R', 'K', 'V'});

        assertThat(reload(dir, BIG)).isEqualTo(new Stored(new HardState(1, 1, 3), Optional.empty(), entries(1, 5, 1)));
        assertThat(tmp).doesNotExist();
    }

    // ---- installSnapshot: snapshot first, then the WAL reset; a crash can fall in between

    @Test
    void aCrashAfterAnInstalledSnapshotWasWrittenButBeforeTheWalResetLeavesAUsableLog() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 3), entries(1, 5, 1));
        }
        Snapshot snap = new Snapshot(10, 2, "leader state".getBytes());
        new SnapshotFiles(dir.resolve("snap"), true).save(snap);

        assertThat(reload(dir, BIG)).isEqualTo(new Stored(new HardState(2, 1, 10), Optional.of(snap), List.of()));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            // the leader goes on right after its snapshot
            s.persist(null, List.of(entry(11, 2)));
        }
        assertThat(reload(dir, BIG)).isEqualTo(new Stored(new HardState(2, 1, 10), Optional.of(snap), List.of(entry(11, 2))));
    }

    @Test
    void aCrashDuringAnInstallNeverKeepsEntriesThatContradictTheSnapshot() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 3), entries(1, 12, 1));
        }
        // the leader's entry 10 has term 2, the local one term 1: Raft §7 discards the whole log
        Snapshot snap = new Snapshot(10, 2, "leader state".getBytes());
        new SnapshotFiles(dir.resolve("snap"), true).save(snap);

        assertThat(reload(dir, BIG)).isEqualTo(new Stored(new HardState(2, 1, 10), Optional.of(snap), List.of()));
    }

    @Test
    void aCrashDuringAnInstallKeepsTheEntriesAfterAMatchingSnapshot() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 3), entries(1, 12, 1));
        }
        // Raft §7: the local entry 10 has the snapshot's term, so the entries after it are the
        // leader's too and stay
        Snapshot snap = new Snapshot(10, 1, "leader state".getBytes());
        new SnapshotFiles(dir.resolve("snap"), true).save(snap);

        assertThat(reload(dir, BIG)).isEqualTo(new Stored(new HardState(2, 1, 10), Optional.of(snap), entries(11, 12, 1)));
    }
}
