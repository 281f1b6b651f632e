package io.raftkv.node;

/**
 * When a node snapshots its state machine and compacts its log (Raft §7).
 *
 * @param everyEntries snapshot once this many entries were applied since the last snapshot
 * @param everyBytes   ... or once this many bytes of commands were applied since then
 * @param keepEntries  entries kept in the log behind a snapshot, so a follower slightly behind
 *                     catches up from the log rather than by a snapshot transfer
 * @param chunkBytes   size of one InstallSnapshot chunk
 * @param sizeShare    and not before the commands applied since the last snapshot add up to
 *                     1/sizeShare of that snapshot's size (0: no such condition). A snapshot
 *                     costs the whole state's size to write; this keeps what snapshots write in
 *                     proportion to what clients write when the state is large (10 million
 *                     keys: a 1.1 GB snapshot every 10,000 entries would never stop writing),
 *                     and the log to replay at a restart at most 1/sizeShare of the snapshot.
 *                     Small states, whose snapshots are small, are not affected.
 */
public record SnapshotPolicy(long everyEntries, long everyBytes, long keepEntries, int chunkBytes, int sizeShare) {
    /** What {@link #defaults()} and the CLI use. */
    public static final int DEFAULT_SIZE_SHARE = 4;

    public SnapshotPolicy {
        if (everyEntries < 1 || everyBytes < 1 || keepEntries < 0 || chunkBytes < 1 || sizeShare < 0)
            throw new IllegalArgumentException("bad snapshot policy: every " + everyEntries + " entries or "
                    + everyBytes + " bytes, keep " + keepEntries + ", chunks of " + chunkBytes + " bytes, size share "
                    + sizeShare);
    }

    public SnapshotPolicy(long everyEntries, long everyBytes, long keepEntries, int chunkBytes) {
        this(everyEntries, everyBytes, keepEntries, chunkBytes, DEFAULT_SIZE_SHARE);
    }

    public static SnapshotPolicy defaults() {
        return new SnapshotPolicy(10_000, 64L * 1024 * 1024, 1_000, 1024 * 1024);
    }

    /** Whether a snapshot is due after {@code entries} entries and {@code bytes} bytes of commands since one of {@code lastSize} bytes. */
    public boolean due(long entries, long bytes, long lastSize) {
        return due(entries, bytes, lastSize, 0);
    }

    /**
     * As {@link #due(long, long, long)}, the size condition waiting {@code stagger} (0 to 1) of it
     * more: nodes given different staggers do not all snapshot a large state at the same point of
     * the log (they would: they apply the same commands), each a few seconds of a core at 10
     * million keys. Their periods differ, so they drift apart rather than stay in step.
     */
    public boolean due(long entries, long bytes, long lastSize, double stagger) {
        if (entries < everyEntries && bytes < everyBytes) return false;
        return sizeShare == 0 || bytes >= (long) (lastSize / sizeShare * (1 + stagger));
    }

    /**
     * The stagger of node {@code id} among {@code members}: its rank among them over twice their
     * number (0, 1/6 and 1/3 for three nodes), so the log kept between snapshots grows by at most half.
     */
    public static double stagger(int id, java.util.SortedSet<Integer> members) {
        if (members.size() < 2 || !members.contains(id)) return 0;
        return members.headSet(id).size() / (2.0 * members.size());
    }
}
