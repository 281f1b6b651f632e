package io.raftkv.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * The chunks of one incoming snapshot, accepted only in order; kept as received, never joined into
 * one array. On the heap until the last one arrives (once stored, the node keeps the snapshot as
 * read from its file instead): writing them to a file as they arrive would take the core's storage
 * through an interface it does not have yet. Each chunk of the default 1 MiB is a G1 humongous
 * object that takes whole regions, about twice its size (BENCHMARKS.md, "A follower installing the
 * leader's snapshot").
 */
final class SnapshotReceiver {
    final long index;
    final long term;
    private final List<byte[]> chunks = new ArrayList<>();
    private long size;

    SnapshotReceiver(long index, long term) {
        this.index = index;
        this.term = term;
    }

    boolean accepts(Message.InstallSnapshot chunk) {
        return chunk.snapshotIndex() == index && chunk.snapshotTerm() == term && chunk.offset() == size;
    }

    void add(byte[] chunk) {
        chunks.add(chunk);
        size += chunk.length;
    }

    long size() {
        return size;
    }

    SnapshotData data() {
        return SnapshotData.ofChunks(chunks);
    }
}
