package io.raftkv.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A second process for {@link DataFolderTest}: opens FileStorage on the folder in {@code args[0]},
 * prints {@link #READY} once it holds the lock, and keeps it until its stdin closes.
 */
public final class DataFolderLockHolder {
    static final String READY = "holding the data folder";

    private DataFolderLockHolder() {}

    public static void main(String[] args) throws IOException {
        try (FileStorage storage = FileStorage.open(Path.of(args[0]), FileStorage.Options.defaults())) {
            storage.load();
            System.out.println(READY);
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the test to close our stdin (or to die, which closes it too)
            }
        }
    }
}
