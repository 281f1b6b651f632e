package io.raftkv.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * {@link RestartTest} with the log written on a storage thread ({@code -Draftkv.storageThread=true}):
 * writes pipelined through the thread, one fsync for several Readies, and every acknowledged write
 * still on disk after whole-cluster stops with writes in flight.
 */
class StorageThreadRestartTest extends RestartTest {
    @BeforeEach
    void storageThread() {
        System.setProperty(RaftServer.STORAGE_THREAD_PROPERTY, "true");
    }

    @AfterEach
    void noStorageThread() {
        System.clearProperty(RaftServer.STORAGE_THREAD_PROPERTY);
    }
}
