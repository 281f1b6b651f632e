package io.raftkv.storage;

/**
 * Storage cannot go on safely: an I/O failure, a corrupt record, or a data folder that cannot be
 * used. The message says which file and what to do; the node stops rather than risk losing or
 * inventing committed data.
 */
public final class StorageException extends RuntimeException {
    public StorageException(String message) {
        super(message);
    }

    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
