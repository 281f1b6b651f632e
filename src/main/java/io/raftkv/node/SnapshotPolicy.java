package io.raftkv.node;

/**
 * When a node snapshots its state machine and compacts its log (Raft §7).
 *
 * @param everyEntries snapshot once this many entries were applied since the last snapshot
 * @param everyBytes   ... or once this many bytes of commands were applied since then
 * @param keepEntries  entries kept in the log behind a snapshot, so a follower slightly behind
 *                     catches up from the log rather than by a snapshot transfer
 * @param chunkBytes   size of one InstallSnapshot chunk
 */
public record SnapshotPolicy(long everyEntries, long everyBytes, long keepEntries, int chunkBytes) {
    public SnapshotPolicy {
        if (everyEntries < 1 || everyBytes < 1 || keepEntries < 0 || chunkBytes < 1)
            throw new IllegalArgumentException("bad snapshot policy: every " + everyEntries + " entries or "
                    + everyBytes + " bytes, keep " + keepEntries + ", chunks of " + chunkBytes + " bytes");
    }

    public static SnapshotPolicy defaults() {
        return new SnapshotPolicy(10_000, 64L * 1024 * 1024, 1_000, 1024 * 1024);
    }
}
