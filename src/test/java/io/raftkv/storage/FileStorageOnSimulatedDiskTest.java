package io.raftkv.storage;

import io.raftkv.raft.HardState;
import io.raftkv.sim.fs.SimFileSystem;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Random;

import static io.raftkv.storage.StorageFixtures.entries;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * FileStorage on the simulation's disk ({@link SimFileSystem}), where only what was forced - file
 * data, and folder entries once their folder is forced - survives a crash. The whole-cluster
 * simulation does this on one seed in five; these are the cases it found, kept as plain tests.
 */
class FileStorageOnSimulatedDiskTest {
    private final SimFileSystem fs = SimFileSystem.create();
    private final Path data = fs.getPath("/var/lib/raftkv/node-1");
    private final FileStorage.Options options = new FileStorage.Options(4096, true);

    @Test
    void aDataFolderFileStorageCreatedSurvivesACrashAfterItsFirstWrite() {
        FileStorage first = FileStorage.open(data, options);
        first.load();
        first.persist(new HardState(2, 3, 0), entries(1, 3, 2));
        fs.crash(new Random(1)); // first is never closed: the process died

        FileStorage second = FileStorage.open(data, options);
        RaftStorage.Stored after = second.load();
        assertThat(after.hardState().term()).isEqualTo(2);
        assertThat(after.hardState().votedFor()).isEqualTo(3);
        assertThat(after.entries()).isEqualTo(entries(1, 3, 2));
        assertThat(after.snapshot()).isEmpty();
    }
}
