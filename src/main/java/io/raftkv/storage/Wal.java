package io.raftkv.storage;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The write-ahead log: Raft entries and hard-state records in segment files (the layout of
 * Apache Ratis' SegmentedRaftLog, the record mix of etcd's WAL).
 *
 * <pre>
 * wal/
 *   log_00000000000000000001-00000000000000004096   closed segment: entries 1..4096 (+ state records)
 *   log_00000000000000004097-00000000000000008190   closed segment
 *   log_inprogress_00000000000000008191             the one open segment, appended to
 * </pre>
 *
 * Each file is a sequence of {@link WalRecord}s. Entries are contiguous across segments; a later
 * append that starts at or below the last index first truncates the files at that entry (Raft
 * §5.3), and rewrites the hard state after the cut. The open segment rolls to a closed one when it
 * passes {@code maxSegmentBytes}. Segments entirely covered by a snapshot are deleted.
 *
 * <p>Recovery reads every segment. A torn record at the very end of the last segment (a crash in
 * the middle of a write) is cut off with a log line saying how many bytes were dropped; any other
 * bad record - a CRC mismatch followed by more data, a bad record with an intact one anywhere
 * after it (e.g. a damaged length field), an impossible index or term - stops the node with the
 * file and offset, since it may hold committed data.
 *
 * <p>Not thread-safe: the node's Raft loop is its only user.
 */
final class Wal implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Wal.class);
    private static final Pattern CLOSED = Pattern.compile("log_(\\d{20})-(\\d{20})");
    private static final Pattern OPEN = Pattern.compile("log_inprogress_(\\d{20})");
    /** The last deletion of covered segments handed off ({@link #compact}; the releaser runs them in order): close waits for it. */
    private java.util.concurrent.CompletableFuture<Void> deletions = java.util.concurrent.CompletableFuture.completedFuture(null);

    /** One segment file and where its entries start. */
    private static final class Segment {
        Path path;
        final long firstIndex;
        /** Offsets of this segment's entries, entry {@code firstIndex + i} at {@code offsets[i]}. */
        long[] offsets = new long[64];
        int count;
        long sizeBytes;

        Segment(Path path, long firstIndex) {
            this.path = path;
            this.firstIndex = firstIndex;
        }

        long lastIndex() {
            return firstIndex + count - 1;
        }

        void addOffset(long offset) {
            if (count == offsets.length) offsets = Arrays.copyOf(offsets, count * 2);
            offsets[count++] = offset;
        }
    }

    /** What recovery found. */
    record Recovered(HardState hardState, List<Entry> entries) {}

    private final Path dir;
    private final long maxSegmentBytes;
    private final boolean fsync;
    private final List<Segment> segments = new ArrayList<>();
    private FileChannel open;
    private HardState hardState = HardState.EMPTY;
    /** Index before the first entry the WAL holds (a snapshot covers everything up to it). */
    private long baseIndex;
    /** During recovery: the term of the WAL's entry at the snapshot index, -1 if it has none. */
    private long termAtSnapshot = -1;

    private long fsyncs;
    private SyncObserver syncObserver = SyncObserver.NONE;
    private long entriesWritten;
    private long bytesWritten;

    Wal(Path dir, long maxSegmentBytes, boolean fsync) {
        this.dir = dir;
        this.maxSegmentBytes = maxSegmentBytes;
        this.fsync = fsync;
    }

    /**
     * Reads every segment, repairs a torn tail, and opens the last segment for appends. Entries
     * at or below {@code snapshotIndex} are skipped (the snapshot holds them). A WAL that the
     * snapshot contradicts or outruns is reset to start after it, see below.
     */
    Recovered recover(long snapshotIndex, long snapshotTerm) {
        try {
            DataDirLock.ensureWritableFolder(dir, "WAL folder");
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> !p.getFileName().toString().endsWith(".tmp")).sorted().toList();
            }
            List<Segment> found = new ArrayList<>();
            Path openFile = null;
            for (Path f : files) {
                String name = f.getFileName().toString();
                Matcher c = CLOSED.matcher(name);
                Matcher o = OPEN.matcher(name);
                if (c.matches()) {
                    found.add(new Segment(f, Long.parseLong(c.group(1))));
                } else if (o.matches()) {
                    if (openFile != null) throw new StorageException("two open WAL segments in " + dir + ": " + openFile + " and " + f);
                    openFile = f;
                } else {
                    throw new StorageException("unexpected file " + f + " in the WAL folder; move it away");
                }
            }
            if (openFile != null) {
                found.add(new Segment(openFile, Long.parseLong(OPEN.matcher(openFile.getFileName().toString())
                        .replaceAll("$1"))));
            }
            List<Entry> entries = new ArrayList<>();
            List<Segment> covered = new ArrayList<>();
            long expected = -1;
            long lastTerm = 0;
            for (int i = 0; i < found.size(); i++) {
                Segment seg = found.get(i);
                boolean last = i == found.size() - 1;
                if (expected >= 0 && seg.firstIndex != expected) {
                    if (seg.firstIndex > expected && seg.firstIndex <= snapshotIndex + 1) {
                        // Every entry missing is in the snapshot: the segments before the gap are
                        // ones a compaction or a reset let go, whose deletion (off the loop, see
                        // compact) did not happen before a crash. They hold nothing the snapshot
                        // does not, and go now.
                        covered.addAll(segments);
                        segments.clear();
                    } else {
                        throw new StorageException("WAL gap: " + seg.path + " starts at index " + seg.firstIndex
                                + " but the previous segment ends at " + (expected - 1));
                    }
                }
                lastTerm = readSegment(seg, last, entries, snapshotIndex, lastTerm);
                expected = seg.firstIndex + seg.count;
                Matcher c = CLOSED.matcher(seg.path.getFileName().toString());
                if (c.matches() && Long.parseLong(c.group(2)) != seg.lastIndex()) {
                    throw new StorageException("WAL segment " + seg.path + " is named for entries up to "
                            + c.group(2) + " but holds entries up to " + seg.lastIndex());
                }
                segments.add(seg);
            }
            if (!covered.isEmpty()) {
                LOG.info("WAL in {}: deleting {} segments the snapshot at index {} covers, left by a crash before their deletion",
                        dir, covered.size(), snapshotIndex);
                delete(covered.stream().map(c -> c.path).toList());
            }
            // installSnapshot writes the snapshot, then resets the WAL: a crash in between leaves a
            // WAL that ends before the snapshot or disagrees with it. Raft §7: keep the entries
            // after the snapshot only if the log holds its last entry with its term; otherwise
            // the snapshot replaces the whole log, as the reset would have done.
            long logEnd = segments.isEmpty() ? snapshotIndex : segments.getLast().firstIndex + segments.getLast().count - 1;
            if (snapshotIndex > 0 && (logEnd < snapshotIndex || (termAtSnapshot >= 0 && termAtSnapshot != snapshotTerm)
                    || (!entries.isEmpty() && entries.getFirst().term() < snapshotTerm))) {
                LOG.warn("WAL in {} ends at index {} or disagrees with the snapshot at index {} term {}"
                        + " (a crash while installing it): dropping {} entries after the snapshot and starting the log after it",
                        dir, logEnd, snapshotIndex, snapshotTerm, entries.size());
                resetTo(snapshotIndex);
                return new Recovered(hardState, List.of());
            }
            baseIndex = segments.isEmpty() ? snapshotIndex : Math.max(snapshotIndex, segments.getFirst().firstIndex - 1);
            if (!segments.isEmpty() && segments.getFirst().firstIndex > snapshotIndex + 1) {
                throw new StorageException("WAL in " + dir + " starts at index " + segments.getFirst().firstIndex
                        + " but the snapshot ends at " + snapshotIndex + ": entries are missing");
            }
            openForAppend();
            return new Recovered(hardState, entries);
        } catch (IOException e) {
            throw new StorageException("cannot read the WAL in " + dir + ": " + e.getMessage(), e);
        }
    }

    private long readSegment(Segment seg, boolean lastSegment, List<Entry> out, long snapshotIndex, long lastTerm)
            throws IOException {
        try (FileChannel ch = FileChannel.open(seg.path, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer all = ByteBuffer.allocate((int) Math.min(size, Integer.MAX_VALUE - 8));
            while (all.hasRemaining() && ch.read(all) >= 0) {
                // read the whole segment
            }
            all.flip();
            long pos = 0;
            while (pos < size) {
                String bad = null;
                int length = -1;
                if (size - pos < WalRecord.HEADER_BYTES + 1) {
                    bad = "a record header cut short";
                } else {
                    length = all.getInt((int) pos);
                    if (length < 1 || length > WalRecord.MAX_RECORD_BYTES) {
                        bad = "an impossible record length " + length;
                    } else if (pos + WalRecord.HEADER_BYTES + length > size) {
                        bad = "a record cut short (" + length + " bytes announced, " + (size - pos - WalRecord.HEADER_BYTES)
                                + " present)";
                    } else {
                        ByteBuffer body = all.slice((int) pos + WalRecord.HEADER_BYTES, length);
                        if (!WalRecord.crcMatches(body, all.getInt((int) pos + 4))) bad = "a CRC mismatch";
                    }
                }
                if (bad != null) {
                    // A damaged length can make a record in the middle look as if it ran past the
                    // end of the file: it is a torn write only if no intact record follows it.
                    boolean atTail = lastSegment && !intactRecordAfter(all, pos + 1, size)
                            && (length < 1 || length > WalRecord.MAX_RECORD_BYTES || pos + WalRecord.HEADER_BYTES + length >= size
                                || onlyZeros(all, pos + WalRecord.HEADER_BYTES + length, size));
                    if (!atTail) {
                        throw new StorageException("corrupt WAL record in " + seg.path + " at offset " + pos + ": " + bad
                                + ", with valid data after it. Refusing to start: it may hold committed entries."
                                + " Restore the folder from a backup, or wipe it to rejoin as an empty node.");
                    }
                    LOG.warn("WAL {}: dropping {} bytes at offset {} ({}): a write torn by a crash", seg.path, size - pos, pos, bad);
                    truncateFile(seg.path, pos);
                    size = pos;
                    break;
                }
                ByteBuffer body = all.slice((int) pos + WalRecord.HEADER_BYTES, length);
                byte type = body.get();
                switch (type) {
                    case WalRecord.ENTRY, WalRecord.CONFIG_ENTRY -> {
                        long index = body.getLong();
                        long term = body.getLong();
                        long expected = seg.firstIndex + seg.count;
                        if (index != expected || term < lastTerm || term < 1) {
                            throw new StorageException("corrupt WAL record in " + seg.path + " at offset " + pos
                                    + ": entry index " + index + " term " + term + " where index " + expected
                                    + " with term >= " + Math.max(1, lastTerm) + " was expected. Refusing to start.");
                        }
                        byte[] data = new byte[body.remaining()];
                        body.get(data);
                        seg.addOffset(pos);
                        lastTerm = term;
                        if (index == snapshotIndex) termAtSnapshot = term;
                        Entry.Type kind = type == WalRecord.CONFIG_ENTRY ? Entry.Type.CONFIG : Entry.Type.NORMAL;
                        if (index > snapshotIndex) out.add(new Entry(index, term, kind, data));
                    }
                    case WalRecord.STATE -> {
                        if (length != 1 + WalRecord.STATE_PAYLOAD) {
                            throw new StorageException("corrupt WAL state record in " + seg.path + " at offset " + pos);
                        }
                        hardState = new HardState(body.getLong(), body.getInt(), body.getLong());
                    }
                    default -> throw new StorageException("corrupt WAL record in " + seg.path + " at offset " + pos
                            + ": unknown type " + type + ". Refusing to start.");
                }
                pos += WalRecord.HEADER_BYTES + length;
            }
            seg.sizeBytes = size;
        }
        return lastTerm;
    }

    /**
     * Whether a whole record with a plausible type and a matching CRC starts anywhere in
     * {@code [from, size)}. A bad record followed by an intact one is damage inside the log, not
     * a write cut short at its end: recovery must refuse rather than drop what follows, which may
     * be committed.
     */
    private static boolean intactRecordAfter(ByteBuffer all, long from, long size) {
        for (long p = from; p + WalRecord.HEADER_BYTES + 1 <= size; p++) {
            int length = all.getInt((int) p);
            if (length < 1 || length > size - p - WalRecord.HEADER_BYTES) continue;
            byte type = all.get((int) p + WalRecord.HEADER_BYTES);
            boolean plausible = WalRecord.isEntry(type) ? length >= 1 + 16 : type == WalRecord.STATE && length == 1 + WalRecord.STATE_PAYLOAD;
            if (plausible && WalRecord.crcMatches(all.slice((int) p + WalRecord.HEADER_BYTES, length), all.getInt((int) p + 4))) {
                return true;
            }
        }
        return false;
    }

    private static boolean onlyZeros(ByteBuffer all, long from, long to) {
        for (long i = Math.max(0, from); i < to; i++) if (all.get((int) i) != 0) return false;
        return true;
    }

    private void openForAppend() throws IOException {
        if (segments.isEmpty() || !OPEN.matcher(segments.getLast().path.getFileName().toString()).matches()) {
            long first = segments.isEmpty() ? baseIndex + 1 : segments.getLast().lastIndex() + 1;
            Segment seg = new Segment(dir.resolve(openName(first)), first);
            segments.add(seg);
        }
        Segment seg = segments.getLast();
        open = FileChannel.open(seg.path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        open.position(seg.sizeBytes);
        syncDir();
    }

    long lastIndex() {
        return segments.getLast().count == 0 ? segments.getLast().firstIndex - 1 : segments.getLast().lastIndex();
    }

    HardState hardState() {
        return hardState;
    }

    /**
     * Appends {@code entries} (truncating the log first if they start at or below the last
     * index) and {@code hs} if not null, then makes them durable with one fsync (group commit).
     */
    void append(HardState hs, List<Entry> entries) {
        try {
            boolean truncated = false;
            if (!entries.isEmpty()) {
                long first = entries.getFirst().index();
                if (first <= baseIndex) {
                    throw new IllegalStateException("append at " + first + " into the snapshot (up to " + baseIndex + ")");
                }
                if (first <= lastIndex()) {
                    truncateFrom(first);
                    truncated = true;
                } else if (first != lastIndex() + 1) {
                    throw new IllegalStateException("WAL gap: append at " + first + " after " + lastIndex());
                }
            }
            HardState prevState = hardState;
            if (hs != null) hardState = hs;
            boolean writeState = hs != null || truncated;
            if (entries.isEmpty() && !writeState) return;
            maybeRoll();
            int bytes = writeState ? WalRecord.stateSize() : 0;
            for (Entry e : entries) bytes += WalRecord.entrySize(e);
            ByteBuffer buf = ByteBuffer.allocate(bytes);
            Segment seg = segments.getLast();
            long base = seg.sizeBytes;
            for (Entry e : entries) {
                seg.addOffset(base + buf.position());
                WalRecord.putEntry(buf, e);
            }
            // The state goes after the entries: a torn write may lose it, never the reverse
            // (a commit index ahead of the entries is clamped on recovery).
            if (writeState) WalRecord.putState(buf, hardState);
            buf.flip();
            try {
                while (buf.hasRemaining()) open.write(buf);
            } catch (IOException e) {
                if (!StorageException.isNoSpace(e)) throw e;
                // Undo what this append did to the file and to the index, so that it can be tried
                // again as a whole once there is room (a truncation before it stays: it is durable
                // on its own and the retry does not need it again).
                seg.count -= entries.size();
                hardState = prevState;
                open.truncate(base);
                open.position(base);
                throw new StorageException("the disk holding the WAL in " + dir + " is full (" + e.getMessage()
                        + "); nothing was written", e, true);
            }
            seg.sizeBytes += bytes;
            // Entries, term and vote must be durable before anything that depends on them is sent;
            // a commit index alone is a hint (recovery clamps it), so it rides on the next fsync.
            boolean mustSync = !entries.isEmpty() || truncated || prevState.term() != hardState.term()
                    || prevState.votedFor() != hardState.votedFor();
            if (fsync && mustSync) {
                long startNs = System.nanoTime();
                open.force(false);
                fsyncs++;
                syncObserver.synced(entries.size(), bytes, System.nanoTime() - startNs);
            }
            entriesWritten += entries.size();
            bytesWritten += bytes;
        } catch (IOException e) {
            throw new StorageException("cannot write the WAL in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Removes entries from {@code index} on, in every segment. */
    private void truncateFrom(long index) throws IOException {
        // The channel writes the last segment; when that segment is deleted the channel must be
        // closed too, or the appends after the cut would land in the deleted file and be lost.
        Path openPath = currentOpenPath();
        while (segments.size() > 1 && segments.getLast().firstIndex >= index && segments.getLast().firstIndex > baseIndex + 1) {
            Segment gone = segments.removeLast();
            if (gone.path.equals(openPath)) open.close();
            Files.deleteIfExists(gone.path);
        }
        Segment seg = segments.getLast();
        long cut;
        if (index <= seg.firstIndex) {
            cut = headerEnd(seg, index);
        } else if (index - seg.firstIndex == seg.count) {
            // The cut is at a segment boundary: the whole of this segment stays (offsets[count]
            // is not an entry's offset).
            cut = seg.sizeBytes;
        } else {
            cut = seg.offsets[(int) (index - seg.firstIndex)];
        }
        if (!OPEN.matcher(seg.path.getFileName().toString()).matches()) {
            Path reopened = dir.resolve(openName(seg.firstIndex));
            Files.move(seg.path, reopened, StandardCopyOption.ATOMIC_MOVE);
            seg.path = reopened;
        }
        seg.count = (int) Math.max(0, index - seg.firstIndex);
        seg.sizeBytes = cut;
        if (open == null || !open.isOpen()) open = FileChannel.open(seg.path, StandardOpenOption.WRITE);
        open.truncate(cut);
        open.position(cut);
        syncDir();
    }

    private long headerEnd(Segment seg, long index) {
        // Cutting at or before the segment's first entry: keep only what precedes that entry.
        return seg.count == 0 ? seg.sizeBytes : seg.offsets[0];
    }

    private Path currentOpenPath() {
        return segments.isEmpty() ? null : segments.getLast().path;
    }

    private void maybeRoll() throws IOException {
        Segment seg = segments.getLast();
        if (seg.sizeBytes < maxSegmentBytes || seg.count == 0) return;
        if (fsync) open.force(false);
        open.close();
        Path closed = dir.resolve(closedName(seg.firstIndex, seg.lastIndex()));
        Files.move(seg.path, closed, StandardCopyOption.ATOMIC_MOVE);
        seg.path = closed;
        Segment next = new Segment(dir.resolve(openName(seg.lastIndex() + 1)), seg.lastIndex() + 1);
        segments.add(next);
        open = FileChannel.open(next.path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        syncDir();
    }

    /** Deletes closed segments whose entries are all at or below {@code snapshotIndex}. */
    void compact(long snapshotIndex) {
        if (segments.size() > 1 && segments.getFirst().lastIndex() <= snapshotIndex) {
            // The newest state record may sit in a segment about to be deleted: write the hard
            // state again first (durably), so the term and vote survive the compaction.
            append(hardState, List.of());
        }
        List<Path> covered = new ArrayList<>();
        while (segments.size() > 1 && segments.getFirst().lastIndex() <= snapshotIndex) {
            covered.add(segments.removeFirst().path);
        }
        baseIndex = Math.max(baseIndex, snapshotIndex);
        // Unlinked off the caller's thread (the node's loop), oldest first: the kernel frees the
        // blocks in the unlink. A crash before it leaves segments the snapshot covers: the next
        // compaction deletes them, or recovery does if a reset since left a gap after them.
        if (!covered.isEmpty()) deletions = FileReleaser.release(dir, () -> delete(covered));
    }

    /**
     * Deletes segments a snapshot covers, oldest first. A failure is not fatal: what stays holds only
     * entries in the snapshot, and recovery deletes it at the next start (a gap the snapshot covers).
     */
    private void delete(List<Path> covered) {
        for (Path p : covered) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.warn("cannot delete WAL segment {}, which a snapshot covers (it is deleted at the next start): {}",
                        p, e.getMessage());
            }
        }
        try {
            syncDir();
        } catch (IOException e) {
            LOG.warn("cannot sync the WAL folder {} after deleting segments: {}", dir, e.getMessage());
        }
    }

    /** After installing a snapshot past the log's end: drop every entry and start after it. */
    void resetTo(long snapshotIndex) {
        try {
            if (open != null) open.close(); // null when recovery resets
            // Newest first: a crash part way leaves a prefix of the old log (which FileStorage.load
            // resets again if it ends before the snapshot), never segments that start after a gap,
            // which recovery refuses as missing entries.
            for (Segment s : segments.reversed()) Files.deleteIfExists(s.path);
            segments.clear();
            baseIndex = snapshotIndex;
            openForAppend();
            append(hardState, List.of());
        } catch (IOException e) {
            throw new StorageException("cannot reset the WAL in " + dir + ": " + e.getMessage(), e);
        }
    }

    void observeSyncs(SyncObserver observer) {
        syncObserver = observer;
    }

    long fsyncs() {
        return fsyncs;
    }

    long entriesWritten() {
        return entriesWritten;
    }

    long bytesWritten() {
        return bytesWritten;
    }

    long sizeBytes() {
        return segments.stream().mapToLong(s -> s.sizeBytes).sum();
    }

    int segmentCount() {
        return segments.size();
    }

    private void syncDir() throws IOException {
        if (!fsync) return;
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static void truncateFile(Path p, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(size);
            ch.force(true);
        }
    }

    static String openName(long first) {
        return String.format("log_inprogress_%020d", first);
    }

    static String closedName(long first, long last) {
        return String.format("log_%020d-%020d", first, last);
    }

    @Override
    public void close() {
        try {
            deletions.get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            LOG.warn("WAL segments in {} still being deleted at close: {}", dir, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (open != null && open.isOpen()) {
                if (fsync) open.force(false);
                open.close();
            }
        } catch (IOException e) {
            throw new StorageException("cannot close the WAL in " + dir + ": " + e.getMessage(), e);
        }
    }
}
