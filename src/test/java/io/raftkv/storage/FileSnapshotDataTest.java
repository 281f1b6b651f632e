package io.raftkv.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A released snapshot file is closed off the releasing thread (the node's loop): the close of a
 * deleted file frees its blocks, hundreds of ms for a large snapshot.
 */
class FileSnapshotDataTest {
    @TempDir
    Path dir;

    @Test
    void releaseHandsTheCloseToTheCloserAndTheDeletedFileStaysReadableUntilThen() throws Exception {
        Path file = dir.resolve("snapshot");
        Files.write(file, new byte[] {1, 2, 3, 4, 5});
        FileSnapshotData data = (FileSnapshotData) FileSnapshotData.open(file, 1, 3);
        Files.delete(file); // a newer snapshot replaced it: still readable through the open descriptor
        byte[] out = new byte[3];
        data.copy(0, out, 0, 3);
        assertThat(out).containsExactly(2, 3, 4);

        List<Runnable> handed = releaseRecordingTheClose(data);
        assertThat(handed).as("the close is handed to the closer, not run by the releasing thread").hasSize(1);
        assertThat(data.isOpen()).isTrue();
        handed.getFirst().run();
        assertThat(data.isOpen()).isFalse();
    }

    @Test
    void aSimulatedFileIsClosedAtOnceSoThatTheSimulationStaysDeterministic() throws Exception {
        io.raftkv.sim.fs.SimFileSystem fs = io.raftkv.sim.fs.SimFileSystem.create();
        Path file = fs.getPath("/snapshot");
        Files.write(file, new byte[] {1, 2});
        FileSnapshotData data = (FileSnapshotData) FileSnapshotData.open(file, 0, 2);
        List<Runnable> handed = releaseRecordingTheClose(data);
        assertThat(handed).isEmpty();
        assertThat(data.isOpen()).isFalse();
    }

    @Test
    void theDefaultCloserClosesOnItsOwnThread() throws Exception {
        Path file = dir.resolve("snapshot");
        Files.write(file, new byte[] {7});
        FileSnapshotData data = (FileSnapshotData) FileSnapshotData.open(file, 0, 1);
        data.release();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (data.isOpen() && System.nanoTime() < deadline) java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        assertThat(data.isOpen()).as("closed by the closer thread within 10 s").isFalse();
    }

    /** Releases {@code data} with a closer that only records what it is handed. */
    private static List<Runnable> releaseRecordingTheClose(FileSnapshotData data) {
        List<Runnable> handed = new ArrayList<>();
        Executor before = FileReleaser.executor;
        FileReleaser.executor = handed::add;
        try {
            data.release();
        } finally {
            FileReleaser.executor = before;
        }
        return handed;
    }
}
