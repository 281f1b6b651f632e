package io.raftkv.storage;

import io.raftkv.raft.ConfChange;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import io.raftkv.storage.RaftStorage.Stored;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

import static io.raftkv.storage.StorageFixtures.entry;
import static io.raftkv.storage.StorageFixtures.open;
import static io.raftkv.storage.StorageFixtures.reload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Membership on disk (thesis §4.1): configuration entries in the WAL, configurations in snapshot files. */
class MembershipStorageTest {
    private static final long BIG = 1 << 20;
    private static final Configuration CONFIG = Configuration.bootstrap(List.of(1, 2, 3))
            .apply(new ConfChange.AddLearner(4, "127.0.0.1:8003"));

    @TempDir
    Path dir;

    @Test
    @DisplayName("§4.1: a configuration entry comes back from the WAL as a configuration entry (record type 3)")
    void configurationEntriesSurviveARestart() {
        List<Entry> written = List.of(entry(1, 1), Entry.config(2, 1, CONFIG), Entry.noop(3, 2));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 2), written);
        }
        Stored back = reload(dir, BIG);
        assertThat(back.entries()).isEqualTo(written);
        assertThat(back.entries().get(1).isConfig()).isTrue();
        assertThat(back.entries().get(1).configuration()).isEqualTo(CONFIG);
        assertThat(back.entries().get(2).isConfig()).isFalse();
    }

    @Test
    @DisplayName("§4.1: a truncation through a configuration entry removes it from the WAL")
    void truncationRemovesConfigurationEntries() {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(1, 1, 1), List.of(entry(1, 1), Entry.config(2, 1, CONFIG)));
            s.persist(new HardState(2, 2, 1), List.of(Entry.noop(2, 2)));
        }
        assertThat(reload(dir, BIG).entries()).containsExactly(entry(1, 1), Entry.noop(2, 2));
    }

    @Test
    @DisplayName("§4.1, §7: a snapshot file keeps the configuration of its index")
    void snapshotFilesKeepTheConfiguration() {
        Snapshot snap = new Snapshot(5, 2, CONFIG, "state".getBytes(StandardCharsets.UTF_8));
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.persist(new HardState(2, 1, 5), List.of(entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2), entry(5, 2)));
            s.saveSnapshot(snap);
        }
        assertThat(reload(dir, BIG).snapshot()).contains(snap);
        // A snapshot received from the leader too.
        Snapshot installed = new Snapshot(9, 3, CONFIG.apply(new ConfChange.Promote(4)), new byte[] {9});
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.installSnapshot(installed).data().release();
        }
        assertThat(reload(dir, BIG).snapshot()).contains(installed);
    }

    @Test
    @DisplayName("a snapshot file written before membership changes (RKVSNAP1) still loads, recording no configuration")
    void versionOneSnapshotFilesStillLoad() throws Exception {
        byte[] data = "old state".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(32 + data.length + 4);
        b.put("RKVSNAP1".getBytes(StandardCharsets.US_ASCII)).putLong(4).putLong(1).putLong(data.length).put(data);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        Path snapDir = dir.resolve("snap");
        Files.createDirectories(snapDir);
        Files.write(snapDir.resolve(String.format("snapshot_%020d_%020d", 4, 1)), b.array());
        Stored back = reload(dir, BIG);
        assertThat(back.snapshot()).contains(new Snapshot(4, 1, data));
    }

    @Test
    @DisplayName("a snapshot file whose configuration does not decode is refused, naming the file")
    void aDamagedConfigurationIsRefused() throws Exception {
        try (FileStorage s = open(dir, BIG)) {
            s.load();
            s.installSnapshot(new Snapshot(4, 1, CONFIG, new byte[] {1})).data().release();
        }
        Path file = dir.resolve("snap").resolve(String.format("snapshot_%020d_%020d", 4, 1));
        byte[] bytes = Files.readAllBytes(file);
        bytes[28] = 7; // the configuration's format version
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) crc.getValue());
        Files.write(file, bytes);
        assertThatThrownBy(() -> reload(dir, BIG)).isInstanceOf(StorageException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("configuration that does not decode");
    }
}
