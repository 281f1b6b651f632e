package io.raftkv.server;

import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.FileStorage;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link RestartTest} with the log written on a storage thread ({@code -Draftkv.storageThread=true}):
 * writes pipelined through the thread, one fsync for several Readies, and every acknowledged write
 * still on disk after whole-cluster stops with writes in flight.
 */
class StorageThreadRestartTest extends RestartTest implements StorageThread {
    @Test
    @DisplayName("with the property set, the log is written on a raft-storage thread (the loop writes it otherwise)")
    void theLogIsWrittenOnTheStorageThread(@TempDir Path root) {
        Duration wait = Duration.ofSeconds(30);
        try (TestNodes nodes = TestNodes.onDisk(3, root, new FileStorage.Options(16 * 1024, true), c -> c).startAll()) {
            nodes.awaitLeader(Set.of(0, 1, 2), wait);
            try (RaftKvClient c = nodes.client(wait)) {
                assertThat(c.put("k", "v").status()).isEqualTo(200);
            }
            assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                    .anyMatch(name -> name.startsWith("raft-storage-"));
        }
    }
}
