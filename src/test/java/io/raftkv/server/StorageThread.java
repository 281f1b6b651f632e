package io.raftkv.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Mixed into a test class of nodes on disk: its nodes write the log on a storage thread
 * ({@code -Draftkv.storageThread=true}) instead of on their loop.
 */
interface StorageThread {
    @BeforeEach
    default void storageThreadOn() {
        System.setProperty(RaftServer.STORAGE_THREAD_PROPERTY, "true");
    }

    @AfterEach
    default void storageThreadOff() {
        System.clearProperty(RaftServer.STORAGE_THREAD_PROPERTY);
    }
}
