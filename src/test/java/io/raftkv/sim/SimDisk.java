package io.raftkv.sim;

import io.raftkv.node.Persister;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import io.raftkv.sim.fs.CrashReport;
import io.raftkv.sim.fs.PowerCut;
import io.raftkv.sim.fs.SimFileSystem;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.RaftStorage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * A node's disk for the seeds that run the production {@link FileStorage}: its files live on a
 * {@link SimFileSystem} that a crash takes back to what was forced (plus torn tails), and the
 * node's {@link SimStorage} becomes a mirror of what the runtime was told is durable - written
 * alongside FileStorage when a simulated write completes, read by the invariants.
 *
 * <p>At each restart FileStorage reopens the folder and {@link #open} checks that what it
 * recovers is what the mirror says was durable: the newest snapshot written, the term and vote,
 * every entry after the snapshot, a commit index no higher than promised. A write in flight at the
 * crash was not promised, so a power cut may have left any part of it (see {@link #crash}); the
 * check allows exactly the outcomes of such a partial write. Then the mirror restarts from what was
 * recovered (a commit index is a hint that may go back).
 */
final class SimDisk implements RaftStorage {
    private final Simulation sim;
    private final Random random;
    private final SimFileSystem fs = SimFileSystem.create();
    private final Path dir = fs.getPath("/raftkv/data");
    private final FileStorage.Options options;
    private final SimStorage mirror;
    /** This life's FileStorage; null while the node is down (a crash never closes it). */
    private FileStorage files;
    /** The newest snapshot file written completely: FileStorage restarts from the newest file. */
    private Snapshot newestSnapshotFile;
    /** What a power cut may have left half-written at the last crash (never promised durable). */
    private Persister.Write partialWrite;
    private Snapshot partialSnapshot;
    private CrashReport lastCrash;

    SimDisk(Simulation sim, Random random, SimStorage mirror, long walSegmentBytes) {
        this.sim = sim;
        this.random = random;
        this.mirror = mirror;
        this.options = new FileStorage.Options(walSegmentBytes, true);
        if (sim.config().has(PlantedBug.DISK_IGNORES_FSYNC)) fs.ignoreFileForces();
    }

    /** Opens FileStorage for a new life, checks what it recovered, and returns it. */
    Stored open(int id) {
        if (files != null) throw new IllegalStateException("node " + id + " opens its folder while a life still holds it");
        files = FileStorage.open(dir, options);
        Stored recovered = files.load();
        if (lastCrash != null) {
            checkRecovery(id, recovered);
            sim.count("FileStorage: recoveries checked against the mirror");
            if (lastCrash.tornWrites() > 0) sim.count("FileStorage: recoveries after a torn write");
        } else {
            sim.count("FileStorage: nodes");
        }
        // The harness keeps copies in memory: the recovered snapshot reads this life's open file,
        // which the next simulated crash invalidates (SimFileChannel refuses such reads).
        Stored copy = new Stored(recovered.hardState(), recovered.snapshot().map(SimDisk::inMemory), recovered.entries());
        mirror.restore(copy);
        newestSnapshotFile = copy.snapshot().orElse(null);
        partialWrite = null;
        partialSnapshot = null;
        lastCrash = null;
        return recovered;
    }

    /**
     * Power loss. The Ready write or snapshot file in flight (the runtime was not told it was
     * durable) is carried out up to a power cut after a random number (0-11, mostly few) of file changes;
     * then the disk loses what was not forced. The FileStorage object is dropped, never
     * closed.
     */
    void crash(Persister.Write writeInFlight, Snapshot snapshotInFlight) {
        if (files == null) return;
        if (writeInFlight != null) {
            partialWrite = writeInFlight;
            cutPowerDuring(() -> {
                // Finished before the power cut: the process that would have held its file is gone.
                writeInFlight.snapshot().ifPresent(s -> files.installSnapshot(s).data().release());
                if (writeInFlight.hardState().isPresent() || !writeInFlight.entries().isEmpty()) {
                    files.persist(writeInFlight.hardState().orElse(null), writeInFlight.entries());
                }
            });
        }
        if (snapshotInFlight != null) {
            partialSnapshot = snapshotInFlight;
            cutPowerDuring(() -> files.writeSnapshot(snapshotInFlight));
        }
        files = null;
        lastCrash = fs.crash(random);
        if (lastCrash.lostData()) sim.count("FileStorage: crashes losing unforced data");
        if (lastCrash.tornWrites() > 0) sim.count("FileStorage: crashes leaving a torn write");
    }

    private void cutPowerDuring(Runnable work) {
        fs.cutPowerAfter(random.nextInt(1 + random.nextInt(12))); // mostly early: most writes are a few changes
        try {
            work.run();
        } catch (PowerCut cut) {
            sim.count("FileStorage: power cuts inside a write");
        } finally {
            fs.cancelPowerCut();
        }
    }

    private static Snapshot inMemory(Snapshot s) {
        return new Snapshot(s.index(), s.term(), s.configuration(), io.raftkv.raft.SnapshotData.of(s.data().toByteArray()));
    }

    // ---------------------------------------------------------------- the check

    private void checkRecovery(int id, Stored r) {
        String state = "\n    recovered " + describe(r) + "\n    durable   " + describe(mirror.load())
                + (newestSnapshotFile == null ? "" : ", newest snapshot file at " + newestSnapshotFile.index())
                + (partialWrite == null ? "" : "\n    partly written: " + describePartial())
                + (partialSnapshot == null ? "" : "\n    snapshot file partly written at " + partialSnapshot.index())
                + "\n    crash: " + lastCrash;
        // The snapshot: the newest written completely, or a newer one the power cut caught.
        long newest = newestSnapshotFile == null ? 0 : newestSnapshotFile.index();
        List<Optional<Snapshot>> allowedSnapshots = new ArrayList<>();
        allowedSnapshots.add(Optional.ofNullable(newestSnapshotFile));
        for (Snapshot s : new Snapshot[] {partialSnapshot, partialWrite == null ? null : partialWrite.snapshot().orElse(null)}) {
            if (s != null && s.index() > newest) allowedSnapshots.add(Optional.of(s));
        }
        if (!allowedSnapshots.contains(r.snapshot()))
            fail(id, "a snapshot other than the newest durable one", state);
        long snapIndex = r.snapshot().map(Snapshot::index).orElse(0L);
        // Raft Figure 2: the term and vote are on stable storage before anything depends on them.
        HardState durable = mirror.hardState();
        HardState got = r.hardState();
        Optional<HardState> partialHs = partialWrite == null ? Optional.empty() : partialWrite.hardState();
        boolean sameVote = got.term() == durable.term() && got.votedFor() == durable.votedFor();
        boolean partialVote = partialHs.filter(hs -> hs.term() == got.term() && hs.votedFor() == got.votedFor()).isPresent();
        if (!sameVote && !partialVote) fail(id, "term and vote not the durable ones", state);
        long maxCommit = Math.max(durable.commit(), partialHs.map(HardState::commit).orElse(0L));
        if (got.commit() > Math.max(maxCommit, snapIndex)) fail(id, "a commit index above any written", state);
        // The log: every durable entry after the snapshot, then nothing but a prefix of the write in flight.
        Map<Long, Entry> partialEntries = new HashMap<>();
        long partialFrom = Long.MAX_VALUE;
        if (partialWrite != null) {
            for (Entry e : partialWrite.entries()) partialEntries.put(e.index(), e);
            if (!partialWrite.entries().isEmpty()) partialFrom = partialWrite.entries().getFirst().index();
        }
        boolean fromPartial = false;
        long expectIndex = snapIndex + 1;
        for (Entry e : r.entries()) {
            if (e.index() != expectIndex) fail(id, "a log with a gap at index " + expectIndex, state);
            expectIndex++;
            boolean durableOne = e.equals(mirror.entry(e.index()));
            boolean partialOne = e.equals(partialEntries.get(e.index()));
            if (!durableOne && !partialOne) fail(id, "an entry never written: " + e, state);
            if (fromPartial && !partialOne) fail(id, "durable entries after a partly written one at " + e.index(), state);
            fromPartial |= partialOne && !durableOne;
        }
        // Raft §7: the entries after a snapshot stay only if the log holds the snapshot's last entry.
        boolean logMatchesSnapshot = snapIndex == mirror.baseIndex()
                || r.snapshot().isPresent() && mirror.termAt(snapIndex) == r.snapshot().get().term();
        boolean installing = partialWrite != null && partialWrite.snapshot().isPresent();
        if (logMatchesSnapshot && !installing) {
            long keepTo = Math.min(mirror.lastIndex(), partialFrom - 1);
            if (r.entries().size() < keepTo - snapIndex) fail(id, "durable entries lost after index " + (snapIndex + r.entries().size()), state);
        }
    }

    private static void fail(int id, String what, String state) {
        throw new AssertionError("FileStorage recovery: node " + id + " restarts with " + what + state);
    }

    private static String describe(Stored s) {
        List<Entry> es = s.entries();
        return s.hardState() + " snapshot " + s.snapshot().map(x -> x.index() + "@" + x.term()).orElse("none") + ", entries "
                + (es.isEmpty() ? "none" : es.getFirst().index() + ".." + es.getLast().index() + " (last term "
                + es.getLast().term() + ")");
    }

    private String describePartial() {
        List<Entry> es = partialWrite.entries();
        return partialWrite.hardState().map(HardState::toString).orElse("no hard state")
                + partialWrite.snapshot().map(s -> ", snapshot " + s.index() + "@" + s.term()).orElse("")
                + (es.isEmpty() ? "" : ", entries " + es.getFirst().index() + ".." + es.getLast().index());
    }

    // ---------------------------------------------------------------- RaftStorage: FileStorage, then the mirror

    @Override
    public Stored load() {
        throw new UnsupportedOperationException("SimDisk.open loads and checks");
    }

    @Override
    public void persist(HardState hardState, List<Entry> entries) {
        files.persist(hardState, entries);
        mirror.persist(hardState, entries);
    }

    @Override
    public long writeSnapshot(Snapshot snapshot) {
        long size = files.writeSnapshot(snapshot);
        if (newestSnapshotFile == null || snapshot.index() > newestSnapshotFile.index()) newestSnapshotFile = snapshot;
        return size;
    }

    @Override
    public void snapshotWritten(Snapshot snapshot, long sizeBytes) {
        files.snapshotWritten(snapshot, sizeBytes);
        mirror.snapshotWritten(snapshot, sizeBytes);
    }

    /** Returns what FileStorage returns, the snapshot read from its file (the harness keeps the one given). */
    @Override
    public Snapshot installSnapshot(Snapshot snapshot) {
        Snapshot stored = files.installSnapshot(snapshot);
        if (newestSnapshotFile == null || snapshot.index() > newestSnapshotFile.index()) newestSnapshotFile = snapshot;
        mirror.installSnapshot(snapshot);
        return stored;
    }

    @Override
    public Stats stats() {
        return files.stats();
    }
}
