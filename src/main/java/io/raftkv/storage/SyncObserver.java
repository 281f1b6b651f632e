package io.raftkv.storage;

/**
 * Told of every fsync of the log, on the thread that persists (for metrics: group commit shows as
 * the entries one fsync made durable). Must be cheap and must not call back into the storage.
 */
@FunctionalInterface
public interface SyncObserver {
    SyncObserver NONE = (entries, bytes, durationNs) -> {};

    /** One {@code FileChannel.force} made {@code entries} entries ({@code bytes} bytes) durable in {@code durationNs}. */
    void synced(int entries, long bytes, long durationNs);
}
