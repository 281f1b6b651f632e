package io.raftkv.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** {@link DiskFullTest} with the log written on a storage thread ({@code -Draftkv.storageThread=true}). */
class StorageThreadDiskFullTest extends DiskFullTest {
    @BeforeEach
    void storageThread() {
        System.setProperty(RaftServer.STORAGE_THREAD_PROPERTY, "true");
    }

    @AfterEach
    void noStorageThread() {
        System.clearProperty(RaftServer.STORAGE_THREAD_PROPERTY);
    }
}
