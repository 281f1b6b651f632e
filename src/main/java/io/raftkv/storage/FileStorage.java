package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Durable storage in one data folder.
 *
 * <pre>
 * &lt;data&gt;/
 *   LOCK        held (flock) while a process uses the folder
 *   term-vote   current term and vote, replaced atomically when they change, see {@link TermVoteFile}
 *   wal/        the write-ahead log, see {@link Wal}
 *   snap/       the newest snapshot, see {@link SnapshotFiles}
 * </pre>
 *
 * With {@code fsync} on, {@link #persist} returns after one {@code FileChannel.force} covering
 * everything it wrote: the entries and hard state of one Ready, i.e. every proposal that was
 * waiting when the write started (group commit).
 */
public final class FileStorage implements RaftStorage {
    private static final Logger LOG = LoggerFactory.getLogger(FileStorage.class);
    /**
     * @param maxSegmentBytes roll the open WAL segment once it passes this size
     * @param fsync           force writes to the device; off only for experiments (a power
     *                        loss can then lose acknowledged writes)
     */
    public record Options(long maxSegmentBytes, boolean fsync) {
        public static Options defaults() {
            return new Options(64L * 1024 * 1024, true);
        }
    }

    private final Path dir;
    private final DataDirLock lock;
    private final Wal wal;
    private final SnapshotFiles snapshots;
    private final TermVoteFile termVote;
    private long durableTerm;
    private int durableVote = io.raftkv.raft.RaftNode.NONE;
    private long snapshotIndex;
    private long snapshotBytes;

    private FileStorage(Path dir, Options options) {
        this.dir = dir;
        this.lock = DataDirLock.acquire(dir);
        this.wal = new Wal(dir.resolve("wal"), options.maxSegmentBytes(), options.fsync());
        this.snapshots = new SnapshotFiles(dir.resolve("snap"), options.fsync());
        this.termVote = new TermVoteFile(dir, options.fsync());
    }

    /** Locks {@code dir} (creating it if needed); throws {@link StorageException} with what to fix. */
    public static FileStorage open(Path dir, Options options) {
        return new FileStorage(dir, options);
    }

    public Path dir() {
        return dir;
    }

    @Override
    public Stored load() {
        try {
            Optional<Snapshot> snap = snapshots.loadLatest();
            snapshotIndex = snap.map(Snapshot::index).orElse(0L);
            // the size on disk, the figure saveSnapshot reports, so stats agree across a restart
            snapshotBytes = snapshots.sizeBytes();
            Wal.Recovered r = wal.recover(snapshotIndex, snap.map(Snapshot::term).orElse(0L));
            if (wal.lastIndex() < snapshotIndex) {
                // A crash inside installSnapshot, after the leader's snapshot was saved and before
                // the WAL was reset: what is left of the WAL is all older than the snapshot, which
                // replaces the whole log (Raft §7). Finish the reset, or the next append leaves a gap.
                wal.resetTo(snapshotIndex);
            }
            HardState walState = r.hardState();
            // The term-vote file is written before the WAL whenever they change, so it is never behind.
            HardState hs = termVote.load()
                    .filter(tv -> tv.term() >= walState.term())
                    .map(tv -> new HardState(tv.term(), tv.votedFor(), walState.commit()))
                    .orElse(walState);
            durableTerm = hs.term();
            durableVote = hs.votedFor();
            long last = r.entries().isEmpty() ? snapshotIndex : r.entries().getLast().index();
            // The commit index is a hint written after the entries; a torn write may leave it ahead.
            long commit = Math.max(snapshotIndex, Math.min(hs.commit(), last));
            publishStats();
            return new Stored(new HardState(hs.term(), hs.votedFor(), commit), snap, r.entries());
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    @Override
    public void persist(HardState hardState, List<Entry> entries) {
        try {
            if (hardState != null && (hardState.term() != durableTerm || hardState.votedFor() != durableVote)) {
                termVote.save(hardState.term(), hardState.votedFor());
                durableTerm = hardState.term();
                durableVote = hardState.votedFor();
            }
            wal.append(hardState, entries);
        } finally {
            publishStats();
        }
    }

    /**
     * The figures {@link #stats()} returns, taken by the thread that writes (the node's storage
     * thread) after each change: {@code /status} and metrics read them from other threads without
     * touching the WAL's structures while they change.
     */
    private volatile Stats published = new Stats(0, 0, 0, 0, 0);

    private void publishStats() {
        published = new Stats(wal.fsyncs(), wal.entriesWritten(), wal.sizeBytes(), snapshotBytes, snapshotIndex);
    }

    @Override
    public long writeSnapshot(Snapshot snapshot) {
        return snapshots.save(snapshot);
    }

    @Override
    public Written writeSnapshot(long index, long term, io.raftkv.raft.Configuration configuration, SnapshotWriter writer) {
        return snapshots.save(index, term, configuration, writer);
    }

    @Override
    public void snapshotWritten(Snapshot snapshot, long sizeBytes) {
        if (snapshot.index() <= snapshotIndex) return;
        snapshotBytes = sizeBytes;
        snapshotIndex = snapshot.index();
        try {
            wal.compact(snapshot.index());
        } finally {
            publishStats();
        }
    }

    @Override
    public Snapshot installSnapshot(Snapshot snapshot) {
        Written written = snapshots.install(snapshot);
        snapshotBytes = written.sizeBytes();
        snapshotIndex = snapshot.index();
        try {
            wal.resetTo(snapshot.index());
        } catch (RuntimeException e) {
            written.snapshot().data().release();
            throw e;
        } finally {
            publishStats();
        }
        return written.snapshot();
    }

    @Override
    public void observeSyncs(SyncObserver observer) {
        wal.observeSyncs(observer);
    }

    @Override
    public Stats stats() {
        return published;
    }

    @Override
    public void close() {
        try {
            wal.close();
        } finally {
            lock.close();
        }
    }
}
