package io.raftkv.storage;

/**
 * Storage cannot go on safely: an I/O failure, a corrupt record, or a data folder that cannot be
 * used. The message says which file and what to do; the node stops rather than risk losing or
 * inventing committed data.
 */
public final class StorageException extends RuntimeException {
    private final boolean diskFull;

    public StorageException(String message) {
        super(message);
        this.diskFull = false;
    }

    public StorageException(String message, Throwable cause) {
        this(message, cause, false);
    }

    /**
     * {@code diskFull}: the write failed for want of space and left nothing behind (the file is as
     * it was before it), so the same write may be tried again once there is room.
     */
    public StorageException(String message, Throwable cause, boolean diskFull) {
        super(message, cause);
        this.diskFull = diskFull;
    }

    /** The disk (or the quota) is full and the failed write was undone: try it again later. */
    public boolean diskFull() {
        return diskFull;
    }

    /** Whether {@code e} is the kernel saying there is no space (ENOSPC) or no quota left (EDQUOT). */
    public static boolean isNoSpace(java.io.IOException e) {
        String m = e.getMessage();
        return m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"));
    }
}
