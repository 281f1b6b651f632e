package io.raftkv.sim.fs;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** A growable byte array: one version of a file's content. */
final class Bytes {
    private byte[] data;
    private int size;

    Bytes() {
        this(new byte[16], 0);
    }

    private Bytes(byte[] data, int size) {
        this.data = data;
        this.size = size;
    }

    int size() {
        return size;
    }

    /** Writes {@code len} bytes of {@code src} at {@code pos}; a gap after the end reads as zeros. */
    void write(long pos, byte[] src, int len) {
        if (len == 0) return;
        int end = Math.toIntExact(pos + len);
        if (end > data.length) data = Arrays.copyOf(data, Math.max(end, data.length * 2));
        if (pos > size) Arrays.fill(data, size, (int) pos, (byte) 0);
        System.arraycopy(src, 0, data, (int) pos, len);
        size = Math.max(size, end);
    }

    /** Cuts the content to {@code newSize} bytes if it is longer (FileChannel.truncate never grows a file). */
    void truncate(long newSize) {
        if (newSize < size) size = (int) newSize;
    }

    /** Copies bytes from {@code pos} into {@code dst}; the count, -1 at the end. */
    int read(long pos, ByteBuffer dst) {
        if (pos >= size) return dst.hasRemaining() ? -1 : 0;
        int n = (int) Math.min(dst.remaining(), size - pos);
        dst.put(data, (int) pos, n);
        return n;
    }

    Bytes copy() {
        return new Bytes(Arrays.copyOf(data, Math.max(16, size)), size);
    }
}
