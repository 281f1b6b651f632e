package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Snapshot;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.raftkv.storage.StorageFixtures.assertSegmentLayout;
import static io.raftkv.storage.StorageFixtures.deleteRecursively;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * FileStorage against {@link MemoryStorage} as the model: after any sequence of appends,
 * overwrites at random points (Raft §5.3), hard state changes, compactions and installed
 * snapshots (§7), a restarted FileStorage loads exactly what the model holds.
 *
 * <p>The sequences follow Raft's own rules, so the model needs no storage logic of its own: terms
 * only grow, overwrites and installs stay above the commit index, snapshots stay at or below it,
 * and an install comes with a commit index at the snapshot. fsync is off: a close and reopen go
 * through the page cache either way, and fsync would only make the property slow.
 */
class FileStorageProperties {

    enum Kind { APPEND, OVERWRITE, HARD_STATE, SNAPSHOT, INSTALL, REOPEN }

    /** One step; {@code a} and {@code b} are read relative to the state when it runs. */
    record Op(Kind kind, int a, int b) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Kind> kind = Arbitraries.frequency(
                Tuple.of(8, Kind.APPEND),
                Tuple.of(3, Kind.OVERWRITE),
                Tuple.of(2, Kind.HARD_STATE),
                Tuple.of(2, Kind.SNAPSHOT),
                Tuple.of(1, Kind.INSTALL),
                Tuple.of(2, Kind.REOPEN));
        Arbitrary<Integer> n = Arbitraries.integers().between(0, 999);
        return Combinators.combine(kind, n, n).as(Op::new).list().ofMinSize(1).ofMaxSize(40);
    }

    @Provide
    Arbitrary<Long> segmentBytes() {
        // 40: every write rolls; 1 MiB: one segment
        return Arbitraries.of(40L, 100L, 300L, 1L << 20);
    }

    @Property(tries = 500)
    void aReopenedFileStorageLoadsWhatTheModelHolds(@ForAll("ops") List<Op> ops, @ForAll("segmentBytes") long segmentBytes)
            throws IOException {
        Path dir = Files.createTempDirectory("raftkv-storage-prop");
        try {
            Run run = new Run(dir, segmentBytes);
            for (Op op : ops) run.step(op);
            run.reopenAndCompare();
            run.file.close();
        } finally {
            deleteRecursively(dir);
        }
    }

    /** One sequence applied to both storages, with the Raft-side bookkeeping that keeps it legal. */
    private static final class Run {
        final Path dir;
        final FileStorage.Options options;
        final MemoryStorage model = new MemoryStorage();
        FileStorage file;
        long term = 1;
        int vote = RaftNode.NONE;
        long commit;
        long last;
        long snapIndex;
        long snapTerm;

        Run(Path dir, long segmentBytes) {
            this.dir = dir;
            this.options = new FileStorage.Options(segmentBytes, false);
            file = FileStorage.open(dir, options);
            file.load();
        }

        void step(Op op) {
            switch (op.kind()) {
                case APPEND -> append(op);
                case OVERWRITE -> {
                    long floor = Math.max(commit, snapIndex);
                    if (last <= floor) {
                        append(op);
                        return;
                    }
                    // a new leader's entries replace the uncommitted suffix from a random point
                    long cut = floor + 1 + op.a() % (last - floor);
                    term++;
                    vote = op.b() % 3;
                    List<Entry> es = entries(cut, 1 + op.b() % 4);
                    last = cut + es.size() - 1;
                    persist(op.b() % 2 == 0 ? hardState() : null, es);
                }
                case HARD_STATE -> {
                    term += op.a() % 2;
                    vote = op.b() % 4 - 1;
                    commit += op.b() % (last - commit + 1);
                    persist(hardState(), List.of());
                }
                case SNAPSHOT -> {
                    if (commit <= snapIndex) return;
                    long index = snapIndex + 1 + op.a() % (commit - snapIndex);
                    Snapshot snap = new Snapshot(index, termOf(index), ("state@" + index + "/" + op.b()).getBytes(StandardCharsets.UTF_8));
                    model.saveSnapshot(snap);
                    file.saveSnapshot(snap);
                    snapIndex = index;
                    snapTerm = snap.term();
                }
                case INSTALL -> {
                    // a leader's snapshot, behind or beyond the end of the local log
                    long index = commit + 1 + op.a() % (last - commit + 5);
                    Snapshot snap = new Snapshot(index, term, ("leader@" + index).getBytes(StandardCharsets.UTF_8));
                    model.installSnapshot(snap);
                    file.installSnapshot(snap).data().release();
                    snapIndex = index;
                    snapTerm = term;
                    last = index;
                    commit = index;
                    persist(hardState(), List.of());
                }
                case REOPEN -> reopenAndCompare();
            }
        }

        private void append(Op op) {
            List<Entry> es = entries(last + 1, 1 + op.a() % 4);
            last += es.size();
            HardState hs = null;
            if (op.b() % 3 == 0) {
                commit += op.b() % (last - commit + 1);
                hs = hardState();
            }
            persist(hs, es);
        }

        void reopenAndCompare() {
            file.close();
            file = FileStorage.open(dir, options);
            assertThat(file.load()).isEqualTo(model.load());
            assertSegmentLayout(dir);
        }

        private void persist(HardState hs, List<Entry> es) {
            model.persist(hs, es);
            file.persist(hs, es);
        }

        private HardState hardState() {
            return new HardState(term, vote, commit);
        }

        private List<Entry> entries(long from, int count) {
            return StorageFixtures.entries(from, from + count - 1, term);
        }

        private long termOf(long index) {
            if (index == snapIndex) return snapTerm;
            return model.entries().stream().filter(e -> e.index() == index).findFirst().orElseThrow().term();
        }
    }
}
