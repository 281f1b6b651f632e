package io.raftkv.raft;

import java.io.ByteArrayOutputStream;

/** The chunks of one incoming snapshot, accepted only in order. */
final class SnapshotReceiver {
    final long index;
    final long term;
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();

    SnapshotReceiver(long index, long term) {
        this.index = index;
        this.term = term;
    }

    boolean accepts(Message.InstallSnapshot chunk) {
        return chunk.snapshotIndex() == index && chunk.snapshotTerm() == term && chunk.offset() == data.size();
    }

    void add(byte[] chunk) {
        data.writeBytes(chunk);
    }

    long size() {
        return data.size();
    }

    byte[] bytes() {
        return data.toByteArray();
    }
}
