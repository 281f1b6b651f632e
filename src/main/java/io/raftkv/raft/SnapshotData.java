package io.raftkv.raft;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Checksum;

/**
 * A snapshot's bytes, held as a sequence of chunks rather than one array. Immutable.
 *
 * <p>Why chunks: a state of 10 million keys encodes to over a gigabyte, and the JVM allocates and
 * zeroes one array of that size without reaching a safepoint; every other thread (the node's
 * loop among them) then waits at the next GC's safepoint for the whole time, measured at 4 s on
 * this machine (BENCHMARKS.md, "Large data sets"). Chunks of {@link Output#CHUNK} bytes are
 * allocated one at a time, are never copied to grow, and are what the snapshot file, the
 * InstallSnapshot RPC and the state machine's decoder read piece by piece. A single array also
 * cannot exceed 2 GiB; chunks can.
 */
public final class SnapshotData {
    private static final SnapshotData EMPTY = new SnapshotData(new byte[0][]);
    private final byte[][] chunks;
    /** starts[i]: offset of chunks[i]; starts[chunks.length]: the length. */
    private final long[] starts;

    private SnapshotData(byte[][] chunks) {
        this.chunks = chunks;
        this.starts = new long[chunks.length + 1];
        for (int i = 0; i < chunks.length; i++) starts[i + 1] = starts[i] + chunks[i].length;
    }

    /** {@code bytes} themselves (not copied: the caller must not change them afterwards). */
    public static SnapshotData of(byte[] bytes) {
        return new SnapshotData(new byte[][] {bytes});
    }

    /** These chunks in order (not copied: the caller must not change them afterwards). */
    public static SnapshotData ofChunks(List<byte[]> chunks) {
        return chunks.isEmpty() ? EMPTY : new SnapshotData(chunks.toArray(new byte[0][]));
    }

    public long length() {
        return starts[chunks.length];
    }

    /** A copy of {@code length} bytes from {@code offset}. */
    public byte[] read(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > length()) {
            throw new IndexOutOfBoundsException("bytes " + offset + "+" + length + " of " + length());
        }
        byte[] out = new byte[length];
        int done = 0;
        int c = chunkAt(offset);
        long at = offset;
        while (done < length) {
            int from = (int) (at - starts[c]);
            int n = Math.min(length - done, chunks[c].length - from);
            System.arraycopy(chunks[c], from, out, done, n);
            done += n;
            at += n;
            c++;
        }
        return out;
    }

    /** The chunk holding byte {@code offset} (the last chunk holding anything, skipping empty ones). */
    private int chunkAt(long offset) {
        int i = Arrays.binarySearch(starts, 0, chunks.length, offset);
        if (i < 0) return -i - 2;
        while (i + 1 < chunks.length && starts[i + 1] == offset) i++; // empty chunks
        return i;
    }

    /** Feeds bytes {@code [0, length)} to {@code checksum}. */
    public void update(Checksum checksum, long length) {
        long left = length;
        for (byte[] chunk : chunks) {
            if (left <= 0) break;
            int n = (int) Math.min(left, chunk.length);
            checksum.update(chunk, 0, n);
            left -= n;
        }
    }

    /** The chunks as buffers, for a gathering write; each a fresh view. */
    public ByteBuffer[] buffers() {
        ByteBuffer[] out = new ByteBuffer[chunks.length];
        for (int i = 0; i < chunks.length; i++) out[i] = ByteBuffer.wrap(chunks[i]);
        return out;
    }

    /** The bytes from the start, as a stream. */
    public InputStream stream() {
        return stream(length());
    }

    /** Bytes {@code [0, limit)} as a stream. */
    public InputStream stream(long limit) {
        return new InputStream() {
            private int c;
            private int pos;
            private long left = limit;

            /** Moves past finished chunks; false at the end. */
            private boolean more() {
                while (c < chunks.length && pos == chunks[c].length) {
                    c++;
                    pos = 0;
                }
                return c < chunks.length && left > 0;
            }

            @Override
            public int read() {
                if (!more()) return -1;
                left--;
                return chunks[c][pos++] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (len == 0) return 0;
                if (!more()) return -1;
                int n = (int) Math.min(Math.min(len, chunks[c].length - pos), left);
                System.arraycopy(chunks[c], pos, b, off, n);
                pos += n;
                left -= n;
                return n;
            }
        };
    }

    /** All of it in one array: for small snapshots and tests only (see the class comment). */
    public byte[] toByteArray() {
        if (length() > Integer.MAX_VALUE - 8) throw new IllegalStateException("snapshot of " + length() + " bytes");
        return read(0, (int) length());
    }

    @Override
    public boolean equals(Object o) {
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
            throw new IllegalStateException(e); // in-memory streams do not fail
        }
    }

    @Override
    public int hashCode() {
        return Long.hashCode(length());
    }

    @Override
    public String toString() {
        return length() + "B in " + chunks.length + " chunks";
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
