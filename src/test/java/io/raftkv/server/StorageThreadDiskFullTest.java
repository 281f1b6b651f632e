package io.raftkv.server;

/** {@link DiskFullTest} with the log written on a storage thread ({@code -Draftkv.storageThread=true}). */
class StorageThreadDiskFullTest extends DiskFullTest implements StorageThread {
}
