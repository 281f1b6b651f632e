package io.raftkv.kv;

import io.raftkv.raft.SnapshotData;

/**
 * A snapshot's bytes that count how many of them were read: what shows how many times a state
 * machine decoded it (each decode reads it through, twice: the checksum, then the contents).
 */
public final class CountingSnapshotData extends SnapshotData {
    private final SnapshotData bytes;
    private long bytesRead;

    public CountingSnapshotData(SnapshotData bytes) {
        this.bytes = bytes;
    }

    public CountingSnapshotData(byte[] bytes) {
        this(SnapshotData.of(bytes));
    }

    /** Bytes read so far. */
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    public long length() {
        return bytes.length();
    }

    @Override
    protected void copy(long offset, byte[] out, int at, int n) {
        bytesRead += n;
        System.arraycopy(bytes.read(offset, n), 0, out, at, n);
    }
}
