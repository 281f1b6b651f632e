package io.raftkv.sim.fs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The durability model of the simulated disk, one rule per test (see {@link SimFileSystem}). */
class SimFileSystemTest {
    private final SimFileSystem fs = SimFileSystem.create();
    private final Path dir = fs.getPath("/data");

    private Path durableFolder() throws IOException {
        Files.createDirectories(dir);
        force(fs.getPath("/"));
        return dir;
    }

    private static void force(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static FileChannel append(Path p) throws IOException {
        FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        ch.position(ch.size());
        return ch;
    }

    private static void write(FileChannel ch, String s) throws IOException {
        ch.write(ByteBuffer.wrap(s.getBytes()));
    }

    private static String read(Path p) throws IOException {
        return new String(Files.readAllBytes(p));
    }

    @Test
    void forcedDataSurvivesACrashAndUnforcedDataMayNot() throws IOException {
        Path f = durableFolder().resolve("f");
        try (FileChannel ch = append(f)) {
            write(ch, "durable|");
            ch.force(false);
            force(dir);
            write(ch, "page cache");
        }
        assertThat(read(f)).isEqualTo("durable|page cache");
        Set<String> outcomes = new HashSet<>();
        Random r = new Random(1);
        for (int i = 0; i < 200; i++) {
            SimFileSystem copy = SimFileSystem.create();
            Path g = copy.getPath("/g");
            try (FileChannel ch = append(g)) {
                write(ch, "durable|");
                ch.force(false);
                write(ch, "page cache");
            }
            force(copy.getPath("/"));
            copy.crash(r);
            outcomes.add(read(g));
        }
        // Always the forced part; then none, all, or a torn prefix of the unforced write.
        assertThat(outcomes).allMatch(s -> s.startsWith("durable|") && "durable|page cache".startsWith(s))
                .contains("durable|", "durable|page cache").hasSizeGreaterThan(3);
    }

    @Test
    void aFileIsLostIfItsFolderWasNotForcedAfterItsCreation() throws IOException {
        Path f = durableFolder().resolve("f");
        try (FileChannel ch = append(f)) {
            write(ch, "x");
            ch.force(true);
        }
        CrashReport report = fs.crash(new Random(2));
        assertThat(Files.exists(f)).isFalse();
        assertThat(report.foldersLosingEntries()).isEqualTo(1);
    }

    @Test
    void aFolderCreatedWithoutForcingItsParentIsLost() throws IOException {
        Files.createDirectories(dir.resolve("wal"));
        force(dir.resolve("wal"));
        force(dir);
        fs.crash(new Random(3));
        assertThat(Files.exists(dir)).isFalse();
    }

    @Test
    void aRenameIsDurableOnlyOnceTheFolderIsForced() throws IOException {
        Path a = durableFolder().resolve("a");
        Path b = dir.resolve("b");
        try (FileChannel ch = append(a)) {
            write(ch, "content");
            ch.force(true);
        }
        force(dir);
        Files.move(a, b, StandardCopyOption.ATOMIC_MOVE);
        fs.crash(new Random(4));
        assertThat(Files.exists(a)).isTrue();
        assertThat(Files.exists(b)).isFalse();

        Files.move(a, b, StandardCopyOption.ATOMIC_MOVE);
        force(dir);
        fs.crash(new Random(4));
        assertThat(Files.exists(a)).isFalse();
        assertThat(read(b)).isEqualTo("content");
    }

    @Test
    void aDeleteIsUndoneByACrashBeforeTheFolderIsForced() throws IOException {
        Path a = durableFolder().resolve("a");
        try (FileChannel ch = append(a)) {
            ch.force(true);
        }
        force(dir);
        Files.delete(a);
        assertThat(Files.list(dir).toList()).isEmpty();
        fs.crash(new Random(5));
        assertThat(Files.list(dir).toList()).containsExactly(a);
    }

    @Test
    void anUnforcedTruncationMayBeUndone() throws IOException {
        Path a = durableFolder().resolve("a");
        try (FileChannel ch = append(a)) {
            write(ch, "0123456789");
            ch.force(true);
            ch.truncate(4);
        }
        force(dir);
        Set<String> outcomes = new HashSet<>();
        Random r = new Random(8);
        for (int i = 0; i < 40; i++) {
            SimFileSystem copy = SimFileSystem.create();
            Path b = copy.getPath("/b");
            try (FileChannel ch = append(b)) {
                write(ch, "0123456789");
                ch.force(true);
                ch.truncate(4);
            }
            force(copy.getPath("/"));
            copy.crash(r);
            outcomes.add(read(b));
        }
        assertThat(outcomes).containsExactlyInAnyOrder("0123", "0123456789");
    }

    @Test
    void aLockHeldByAnotherChannelIsRefusedAndACrashReleasesIt() throws IOException {
        Path lock = durableFolder().resolve("LOCK");
        FileChannel first = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock held = first.tryLock();
        assertThat(held).isNotNull();
        try (FileChannel second = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            assertThat(second.tryLock()).isNull();
        }
        force(dir);
        fs.crash(new Random(6));
        assertThat(held.isValid()).isFalse();
        try (FileChannel third = FileChannel.open(lock, StandardOpenOption.WRITE)) {
            assertThat(third.tryLock()).isNotNull();
        }
    }

    @Test
    void aChannelOfTheCrashedProcessRefusesUse() throws IOException {
        FileChannel ch = append(durableFolder().resolve("f"));
        fs.crash(new Random(7));
        assertThatThrownBy(() -> write(ch, "late")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("before a simulated crash");
    }

    @Test
    void aPowerCutStopsTheNthChangeAndNothingAfterIt() throws IOException {
        Path a = durableFolder().resolve("a");
        FileChannel ch = append(a);
        fs.cutPowerAfter(2);
        write(ch, "1");
        write(ch, "2");
        assertThatThrownBy(() -> write(ch, "3")).isInstanceOf(PowerCut.class);
        assertThat(fs.cancelPowerCut()).isTrue();
        assertThat(read(a)).isEqualTo("12");
    }

    @Test
    void withForcesIgnoredAForcedWriteCanBeLost() throws IOException {
        Set<String> outcomes = new HashSet<>();
        Random r = new Random(9);
        for (int i = 0; i < 20; i++) {
            SimFileSystem lying = SimFileSystem.create();
            Path f = lying.getPath("/f");
            try (FileChannel ch = append(f)) {
                force(lying.getPath("/"));
                lying.ignoreFileForces();
                write(ch, "promised");
                ch.force(true);
            }
            lying.crash(r);
            outcomes.add(read(f));
        }
        assertThat(outcomes).contains("promised").anyMatch(s -> !s.equals("promised"));
    }
}
