package io.raftkv.storage;

import io.raftkv.raft.SnapshotData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A snapshot's data as a range of its file, read with positional reads (safe from any thread):
 * what a node keeps of a snapshot once it is on disk, instead of a copy on the heap (see
 * {@link SnapshotData}). The file is held open until {@link #release()}, so it stays readable after
 * it is deleted for a newer snapshot (between the newer one's write and the node's loop taking it
 * up, the core may still send chunks of the old one). Released by the runtime when the core lets
 * go of the snapshot: explicitly, not by a GC-driven cleaner, which would close files at moments
 * the deterministic simulation cannot reproduce.
 *
 * <p>The descriptor is closed off the caller's thread (the node's loop): the file was usually
 * deleted already, so this close is its last reference and the kernel frees its blocks in it,
 * which for a 1.2 GB snapshot on ext4 took 360-410 ms here: all three nodes' loops stopped that long
 * as their snapshots ended, and the leader stepped down for lost contact (BENCHMARKS.md, "Long
 * pauses"). Closed by the {@link FileReleaser}.
 */
final class FileSnapshotData extends SnapshotData {
    private final Path file;
    private final FileChannel ch;
    private final long offset;
    private final long length;

    private FileSnapshotData(Path file, FileChannel ch, long offset, long length) {
        this.file = file;
        this.ch = ch;
        this.offset = offset;
        this.length = length;
    }

    /** Bytes {@code [offset, offset + length)} of {@code file}, which must not change (it may be deleted). */
    static SnapshotData open(Path file, long offset, long length) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            if (offset < 0 || length < 0 || offset + length > ch.size()) {
                throw new IOException(file + " holds " + ch.size() + " bytes, not " + offset + "+" + length);
            }
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return new FileSnapshotData(file, ch, offset, length);
    }

    @Override
    public void release() {
        FileReleaser.release(file, this::close);
    }

    private void close() {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the descriptor is released either way
        }
    }

    /** Whether the file is still held open (for tests). */
    boolean isOpen() {
        return ch.isOpen();
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public long heapBytes() {
        return 0;
    }

    @Override
    protected void copy(long from, byte[] out, int at, int n) {
        ByteBuffer buf = ByteBuffer.wrap(out, at, n);
        try {
            while (buf.hasRemaining()) {
                int k = ch.read(buf, offset + from + (buf.position() - at));
                if (k < 0) throw new IOException("it is shorter than it was");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read snapshot file " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return length + "B in " + file;
    }
}
