package io.raftkv.storage;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Where a file's last reference is let go: the close of a deleted snapshot's descriptor, the
 * unlink of WAL segments a snapshot covers. The kernel frees the file's blocks inside that call,
 * which took 360-410 ms for a 1.2 GB file on this machine's ext4 (BENCHMARKS.md, "Long pauses"):
 * on the node's loop, every client and peer waits that long. One daemon thread does these in the
 * order they are handed (WAL segments are deleted oldest first, so a crash part way leaves a
 * contiguous log, as it would without it).
 *
 * <p>Files of other file systems (the simulation's) are released at once on the caller's thread,
 * so that the simulation stays deterministic.
 */
final class FileReleaser {
    /** The thread that releases, made when first needed (a test may swap it). */
    static volatile Executor executor = task -> Holder.THREAD.execute(task);

    private static final class Holder {
        static final ExecutorService THREAD = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().name("raft-file-releaser").daemon().factory());
    }

    private FileReleaser() {
    }

    /** Runs {@code release} (of a file of {@code fileSystemOf}'s file system) off the caller's thread; done when it ran. */
    static CompletableFuture<Void> release(Path fileSystemOf, Runnable release) {
        if (fileSystemOf.getFileSystem() != FileSystems.getDefault()) {
            release.run();
            return CompletableFuture.completedFuture(null);
        }
        return CompletableFuture.runAsync(release, executor);
    }
}
