package io.raftkv.storage;

import io.raftkv.raft.HardState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.raftkv.storage.StorageFixtures.entries;
import static io.raftkv.storage.StorageFixtures.openSegment;
import static io.raftkv.storage.StorageFixtures.read;
import static io.raftkv.storage.StorageFixtures.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * A data folder FileStorage cannot use gives one StorageException whose message names the path
 * and says what to do; it never half-opens. Tests run as root, so permission bits prove nothing:
 * an unwritable folder is made immutable ({@code chattr +i}) or taken from /proc and /sys.
 */
class DataFolderTest {
    private static final FileStorage.Options OPTIONS = new FileStorage.Options(1 << 20, true);
    private static final long PROCESS_WAIT_SECONDS = 30;

    @TempDir
    Path tmp;

    @Test
    void aFileWhereTheDataFolderShouldBe() throws IOException {
        Path data = Files.writeString(tmp.resolve("data"), "not a folder");

        assertThatThrownBy(() -> FileStorage.open(data, OPTIONS)).isInstanceOf(StorageException.class)
                .hasMessageContaining(data.toString())
                .hasMessageContaining("is a file, not a folder")
                .hasMessageContaining("remove it or choose another -data");
    }

    @Test
    void aDataFolderInsideAFile() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        Path data = file.resolve("data");

        assertThatThrownBy(() -> FileStorage.open(data, OPTIONS)).isInstanceOf(StorageException.class)
                .hasMessageContaining("cannot create data folder " + data)
                .hasMessageContaining("check the path");
    }

    @Test
    void aFileWhereTheWalOrSnapshotFolderShouldBe() throws IOException {
        for (String sub : List.of("wal", "snap")) {
            Path data = Files.createDirectories(tmp.resolve("data-" + sub));
            Path in = Files.writeString(data.resolve(sub), "not a folder");

            try (FileStorage s = FileStorage.open(data, OPTIONS)) {
                assertThatThrownBy(s::load).as(sub).isInstanceOf(StorageException.class)
                        .hasMessageContaining(in.toString())
                        .hasMessageContaining("is a file, not a folder");
            }
        }
    }

    @Test
    void anImmutableDataFolderIsNotWritable() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        chattr("+i", data);
        try {
            assertThatThrownBy(() -> FileStorage.open(data, OPTIONS)).isInstanceOf(StorageException.class)
                    .hasMessageContaining(data.toString())
                    .hasMessageContaining("not writable")
                    .hasMessageContaining("fix its permissions or choose another -data");
        } finally {
            chattr("-i", data);
        }
        // the same folder, writable again, opens: the attribute was the only problem
        try (FileStorage s = FileStorage.open(data, OPTIONS)) {
            s.load();
        }
    }

    @Test
    void anImmutableWalFolderIsNotWritable() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Path wal = Files.createDirectories(data.resolve("wal"));
        chattr("+i", wal);
        try {
            try (FileStorage s = FileStorage.open(data, OPTIONS)) {
                assertThatThrownBy(s::load).isInstanceOf(StorageException.class)
                        .hasMessageContaining(wal.toString())
                        .hasMessageContaining("not writable")
                        .hasMessageContaining("fix its permissions");
            }
        } finally {
            chattr("-i", wal);
        }
    }

    @Test
    void aProcFolderIsNotWritable() {
        Path proc = Path.of("/proc/self");
        if (!Files.isDirectory(proc)) abort("no /proc on this system");

        assertThatThrownBy(() -> FileStorage.open(proc, OPTIONS)).isInstanceOf(StorageException.class)
                .hasMessageContaining(proc.toString())
                .hasMessageContaining("not writable")
                .hasMessageContaining("choose another -data");
    }

    @Test
    void aFolderThatRefusesNewFilesSaysSo() {
        // sysfs grants root write access to the folder but refuses to create files in it
        Path sys = Path.of("/sys/kernel");
        if (!Files.isDirectory(sys)) abort("no /sys/kernel on this system");

        assertThatThrownBy(() -> FileStorage.open(sys, OPTIONS)).isInstanceOf(StorageException.class)
                .hasMessageContaining(sys.toString())
                .hasMessageContaining("fix its permissions or choose another -data");
    }

    @Test
    void aFolderLockedByAnotherProcessIsRefusedUntilThatProcessExits() throws Exception {
        Path data = tmp.resolve("data");
        Path stderr = tmp.resolve("holder.err");
        Process holder = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                DataFolderLockHolder.class.getName(), data.toString())
                .redirectError(stderr.toFile())
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            String line = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    return null;
                }
            }).get(PROCESS_WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(line).as("the holder process started (its stderr: %s)", Files.readString(stderr))
                    .isEqualTo(DataFolderLockHolder.READY);

            assertThatThrownBy(() -> FileStorage.open(data, OPTIONS)).isInstanceOf(StorageException.class)
                    .hasMessageContaining(data.toString())
                    .hasMessageContaining("in use by another raftkv process")
                    .hasMessageContaining("stop that process or choose another -data");

            holder.getOutputStream().close();
            assertThat(holder.waitFor(PROCESS_WAIT_SECONDS, TimeUnit.SECONDS)).as("holder exits when its stdin closes").isTrue();
            assertThat(holder.exitValue()).as("holder exit code (its stderr: %s)", Files.readString(stderr)).isZero();
        } finally {
            holder.destroyForcibly();
        }
        // the lock went with the process
        try (FileStorage s = FileStorage.open(data, OPTIONS)) {
            assertThat(s.load().hardState()).isEqualTo(HardState.EMPTY);
        }
    }

    @Test
    void aFolderOpenedTwiceInOneProcessIsRefusedToo() {
        Path data = tmp.resolve("data");
        try (FileStorage first = FileStorage.open(data, OPTIONS)) {
            first.load();
            assertThatThrownBy(() -> FileStorage.open(data, OPTIONS)).isInstanceOf(StorageException.class)
                    .hasMessageContaining("in use by another raftkv process");
        }
        try (FileStorage again = FileStorage.open(data, OPTIONS)) {
            again.load();
        }
    }

    @Test
    void aLoadThatFailsReleasesTheFolder() {
        Path data = tmp.resolve("data");
        try (FileStorage s = FileStorage.open(data, OPTIONS)) {
            s.load();
            s.persist(new HardState(1, 1, 0), entries(1, 3, 1));
        }
        Path segment = openSegment(data);
        byte[] bytes = read(segment);
        bytes[12] ^= 1; // inside the first record: a corrupt log that refuses to start
        write(segment, bytes);

        for (int attempt = 0; attempt < 2; attempt++) {
            // the second attempt would say "in use" if the first had kept the lock
            FileStorage s = FileStorage.open(data, OPTIONS);
            assertThatThrownBy(s::load).isInstanceOf(StorageException.class).hasMessageContaining("corrupt WAL record");
        }
    }

    /** Sets or clears a file attribute; skips the test where the file system or container cannot. */
    private static void chattr(String flag, Path p) throws IOException, InterruptedException {
        Process chattr;
        try {
            chattr = new ProcessBuilder("chattr", flag, p.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            abort("chattr is not installed, so no folder is unwritable for root here: " + e.getMessage());
            return;
        }
        String output = new String(chattr.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!chattr.waitFor(PROCESS_WAIT_SECONDS, TimeUnit.SECONDS) || chattr.exitValue() != 0) {
            if (flag.startsWith("+")) {
                abort("chattr " + flag + " is not supported here (file system or missing CAP_LINUX_IMMUTABLE): " + output);
            }
            throw new IOException("chattr " + flag + " " + p + " failed: " + output);
        }
    }
}
