package io.raftkv.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/** An exclusive lock on a data folder, so two processes never write the same log. */
final class DataDirLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Creates {@code dir} if needed and locks it; throws {@link StorageException} saying what is wrong. */
    static DataDirLock acquire(Path dir) {
        ensureWritableFolder(dir, "data folder");
        Path lockFile = dir.resolve("LOCK");
        FileChannel ch;
        try {
            ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            // e.g. sysfs: the folder passes the access check yet refuses new files
            throw new StorageException("cannot create lock file " + lockFile + " (" + e + "): data folder " + dir
                    + " is not writable; fix its permissions or choose another -data");
        }
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (IOException | OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            closeQuietly(ch);
            throw new StorageException("data folder " + dir + " is in use by another raftkv process (" + lockFile
                    + " is locked); stop that process or choose another -data");
        }
        return new DataDirLock(ch, lock);
    }

    /**
     * Creates {@code dir} (the data folder, or its wal/ or snap/) if needed and checks that it is
     * a folder that can take files; throws {@link StorageException} saying what to fix.
     */
    static void ensureWritableFolder(Path dir, String what) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new StorageException(what + " " + dir + " is a file, not a folder; remove it or choose another -data");
        }
        try {
            createDurably(dir);
        } catch (IOException e) {
            throw new StorageException("cannot create " + what + " " + dir + ": " + e.getMessage()
                    + "; check the path and its permissions or choose another -data");
        }
        if (!Files.isWritable(dir)) {
            throw new StorageException(what + " " + dir + " is not writable; fix its permissions or choose another -data");
        }
    }

    /**
     * {@code Files.createDirectories}, then an fsync of the parent of every folder it created: a
     * new folder's name is durable only once its parent is synced (POSIX, as for a renamed file),
     * and without it a crash after the first start could take the whole data folder - the vote
     * and the log in it - away, however well each file inside was synced.
     */
    private static void createDurably(Path dir) throws IOException {
        List<Path> missing = new ArrayList<>();
        for (Path p = dir.toAbsolutePath(); p != null && !Files.exists(p); p = p.getParent()) missing.add(p);
        Files.createDirectories(dir);
        for (Path created : missing) {
            if (created.getParent() == null) continue;
            try (FileChannel parent = FileChannel.open(created.getParent(), StandardOpenOption.READ)) {
                parent.force(true);
            }
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // the channel close below releases it too
        }
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing more to do on a lock file
        }
    }
}
