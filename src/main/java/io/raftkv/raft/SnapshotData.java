package io.raftkv.raft;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Checksum;

/**
 * A snapshot's bytes: in memory as a sequence of chunks, or in a snapshot file. Immutable.
 *
 * <p>Why chunks: a state of 10 million keys encodes to over a gigabyte, and the JVM allocates and
 * zeroes one array of that size without reaching a safepoint; every other thread (the node's
 * loop among them) then waits at the next GC's safepoint for the whole time, measured at 4 s on
 * this machine (BENCHMARKS.md, "Large data sets"). Chunks of {@link Output#CHUNK} bytes are
 * allocated one at a time, are never copied to grow, and are what the snapshot file, the
 * InstallSnapshot RPC and the state machine's decoder read piece by piece. A single array also
 * cannot exceed 2 GiB; chunks can.
 *
 * <p>Why files: once a snapshot is on disk the node keeps only its file (the storage's
 * {@code FileSnapshotData}), not a
 * second copy of its whole state on the heap (at 10 million keys that copy was 1.2 GB of a 6 GB
 * heap, and the full GCs it caused stalled the node for seconds). Reads of a file-backed snapshot
 * (chunks sent to a follower, a restore) read the file; it stays readable after it is deleted for
 * a newer one, as the file is held open until {@link #release()}. That holds for a snapshot
 * received from the leader too, once stored: the node keeps it as read from its file, and the
 * chunks received go (RaftStorage#installSnapshot).
 */
public abstract class SnapshotData {
    private static final SnapshotData EMPTY = new InMemory(new byte[0][]);

    /** {@code bytes} themselves (not copied: the caller must not change them afterwards). */
    public static SnapshotData of(byte[] bytes) {
        return new InMemory(new byte[][] {bytes});
    }

    /** These chunks in order (not copied: the caller must not change them afterwards). */
    public static SnapshotData ofChunks(List<byte[]> chunks) {
        return chunks.isEmpty() ? EMPTY : new InMemory(chunks.toArray(new byte[0][]));
    }

    public abstract long length();

    /** How many of its bytes this object holds on the heap: all of them in memory, none when read from a file. */
    public long heapBytes() {
        return length();
    }

    /** Nothing will read this any more: resources behind it (an open file) can go. In memory: nothing to do. */
    public void release() {}

    /** A copy of {@code length} bytes from {@code offset}. */
    public final byte[] read(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > length()) {
            throw new IndexOutOfBoundsException("bytes " + offset + "+" + length + " of " + length());
        }
        byte[] out = new byte[length];
        copy(offset, out, 0, length);
        return out;
    }

    /** Copies {@code n} bytes from {@code offset} into {@code out} at {@code at}; the range is valid. */
    protected abstract void copy(long offset, byte[] out, int at, int n);

    /** Feeds bytes {@code [0, length)} to {@code checksum}. */
    public final void update(Checksum checksum, long length) {
        byte[] buf = new byte[(int) Math.min(Math.max(length, 0), 1 << 16)];
        for (long at = 0; at < length; ) {
            int n = (int) Math.min(buf.length, length - at);
            copy(at, buf, 0, n);
            checksum.update(buf, 0, n);
            at += n;
        }
    }

    /** The bytes from the start, as a stream. */
    public final InputStream stream() {
        return stream(length());
    }

    /** Bytes {@code [0, limit)} as a stream. */
    public final InputStream stream(long limit) {
        long end = Math.min(limit, length());
        return new InputStream() {
            private long at;

            @Override
            public int read() {
                if (at >= end) return -1;
                byte[] one = new byte[1];
                copy(at++, one, 0, 1);
                return one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (len == 0) return 0;
                if (at >= end) return -1;
                int n = (int) Math.min(len, end - at);
                copy(at, b, off, n);
                at += n;
                return n;
            }
        };
    }

    /** All of it in one array: for small snapshots and tests only (see the class comment). */
    public final byte[] toByteArray() {
        if (length() > Integer.MAX_VALUE - 8) throw new IllegalStateException("snapshot of " + length() + " bytes");
        return read(0, (int) length());
    }

    @Override
    public final boolean equals(Object o) {
        if (!(o instanceof SnapshotData d) || d.length() != length()) return false;
        try (InputStream a = stream(); InputStream b = d.stream()) {
            byte[] x = new byte[8192];
            byte[] y = new byte[8192];
            while (true) {
                int n = a.readNBytes(x, 0, x.length);
                if (n == 0) return true;
                if (b.readNBytes(y, 0, n) != n || !Arrays.equals(x, 0, n, y, 0, n)) return false;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public final int hashCode() {
        return Long.hashCode(length());
    }

    /** Chunks in memory, of any sizes. */
    static final class InMemory extends SnapshotData {
        private final byte[][] chunks;
        /** starts[i]: offset of chunks[i]; starts[chunks.length]: the length. */
        private final long[] starts;

        private InMemory(byte[][] chunks) {
            this.chunks = chunks;
            this.starts = new long[chunks.length + 1];
            for (int i = 0; i < chunks.length; i++) starts[i + 1] = starts[i] + chunks[i].length;
        }

        @Override
        public long length() {
            return starts[chunks.length];
        }

        @Override
        protected void copy(long offset, byte[] out, int at, int n) {
            int c = chunkAt(offset);
            long pos = offset;
            int done = 0;
            while (done < n) {
                int from = (int) (pos - starts[c]);
                int k = Math.min(n - done, chunks[c].length - from);
                System.arraycopy(chunks[c], from, out, at + done, k);
                done += k;
                pos += k;
                c++;
            }
        }

        /** The chunk holding byte {@code offset} (skipping empty ones). */
        private int chunkAt(long offset) {
            int i = Arrays.binarySearch(starts, 0, chunks.length, offset);
            if (i < 0) return -i - 2;
            while (i + 1 < chunks.length && starts[i + 1] == offset) i++; // empty chunks
            return i;
        }

        /** How many chunks (for tests). */
        int chunkCount() {
            return chunks.length;
        }

        @Override
        public String toString() {
            return length() + "B in " + chunks.length + " chunks";
        }
    }

    /** Writes a snapshot's bytes into chunks of {@link #CHUNK} bytes; {@link #finish()} makes the {@link SnapshotData}. */
    public static final class Output extends OutputStream {
        public static final int CHUNK = 1 << 20;
        private final List<byte[]> full = new ArrayList<>();
        private byte[] current = new byte[CHUNK];
        private int pos;
        private boolean finished;

        @Override
        public void write(int b) {
            if (current == null) throw new IllegalStateException("finished");
            if (pos == CHUNK) next();
            current[pos++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (current == null) throw new IllegalStateException("finished");
            while (len > 0) {
                if (pos == CHUNK) next();
                int n = Math.min(len, CHUNK - pos);
                System.arraycopy(b, off, current, pos, n);
                pos += n;
                off += n;
                len -= n;
            }
        }

        private void next() {
            full.add(current);
            current = new byte[CHUNK];
            pos = 0;
        }

        /** The bytes written so far; nothing may be written after. */
        public SnapshotData finish() {
            if (finished) throw new IllegalStateException("finished twice");
            finished = true;
            if (pos > 0) full.add(pos == CHUNK ? current : Arrays.copyOf(current, pos));
            current = null;
            return ofChunks(full);
        }
    }
}
