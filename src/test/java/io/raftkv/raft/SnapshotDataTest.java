package io.raftkv.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SnapshotDataTest {

    @Test
    @DisplayName("what Output writes comes back whole through read, stream, checksum and buffers, in chunks of CHUNK bytes")
    void outputRoundTrip() throws Exception {
        byte[] bytes = new byte[2 * SnapshotData.Output.CHUNK + 12_345];
        new Random(1).nextBytes(bytes);
        SnapshotData.Output out = new SnapshotData.Output();
        out.write(bytes[0]);
        int at = 1;
        Random sizes = new Random(2);
        while (at < bytes.length) {
            int n = Math.min(bytes.length - at, sizes.nextInt(300_000));
            out.write(bytes, at, n);
            at += n;
        }
        SnapshotData data = out.finish();
        assertThat(data.length()).isEqualTo(bytes.length);
        assertThat(((SnapshotData.InMemory) data).chunkCount()).isEqualTo(3);
        assertThat(data.toByteArray()).isEqualTo(bytes);
        try (InputStream in = data.stream()) {
            assertThat(in.readAllBytes()).isEqualTo(bytes);
        }
        try (InputStream in = data.stream(1000)) {
            assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOf(bytes, 1000));
        }
        // A read across the first chunk boundary.
        int from = SnapshotData.Output.CHUNK - 10;
        assertThat(data.read(from, 30)).isEqualTo(Arrays.copyOfRange(bytes, from, from + 30));
        CRC32C a = new CRC32C();
        data.update(a, bytes.length - 4);
        CRC32C b = new CRC32C();
        b.update(bytes, 0, bytes.length - 4);
        assertThat(a.getValue()).isEqualTo(b.getValue());
        assertThat(data).isEqualTo(SnapshotData.of(bytes));
        assertThat(data).isNotEqualTo(SnapshotData.of(Arrays.copyOf(bytes, bytes.length - 1)));
        byte[] changed = bytes.clone();
        changed[bytes.length - 1]++;
        assertThat(data).isNotEqualTo(SnapshotData.of(changed));
        assertThatThrownBy(() -> out.write(1)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    @DisplayName("chunks of any size, empty ones included, read as one sequence")
    void unevenChunks() {
        byte[] a = {1, 2, 3};
        byte[] b = {};
        byte[] c = {4};
        byte[] d = {5, 6};
        SnapshotData data = SnapshotData.ofChunks(List.of(a, b, c, d));
        assertThat(data.length()).isEqualTo(6);
        assertThat(data.read(0, 6)).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(data.read(3, 1)).containsExactly(4);
        assertThat(data.read(2, 3)).containsExactly(3, 4, 5);
        assertThat(data.read(6, 0)).isEmpty();
        assertThatThrownBy(() -> data.read(5, 2)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(SnapshotData.ofChunks(List.of()).length()).isZero();
        assertThat(new SnapshotData.Output().finish().length()).isZero();
    }
}
