package io.raftkv.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class WatchHistoryTest {
    private static WatchEvent put(String key, String value, long revision) {
        return new WatchEvent(WatchEvent.Type.PUT, key, value, revision, revision, 1);
    }

    private static String value(int chars) {
        return "v".repeat(chars);
    }

    @Test
    void largeValuesAreBoundedByBytesDroppingTheOldestWholeRevisions() {
        long each = WatchHistory.sizeOf(put("k1", value(1000), 1));
        WatchHistory h = new WatchHistory(100_000, 3 * each);
        h.add(List.of(put("k1", value(1000), 1)));
        h.add(List.of(put("k2", value(1000), 2)));
        h.add(List.of(put("k3", value(1000), 3)));
        assertThat(h.size()).isEqualTo(3);
        assertThat(h.bytes()).isEqualTo(3 * each);
        assertThat(h.firstKeptRevision()).isEqualTo(1);

        // A revision of two events: the two oldest revisions leave to make room, each whole.
        h.add(List.of(put("k4", value(1000), 4), put("k5", value(1000), 4)));
        assertThat(h.firstKeptRevision()).isEqualTo(3);
        assertThat(h.size()).isEqualTo(3);
        assertThat(h.bytes()).isEqualTo(3 * each);
        assertThat(h.since(3, "k", true)).extracting(WatchEvent::key).containsExactly("k3", "k4", "k5");
        assertThatThrownBy(() -> h.since(2, "k", true)).hasMessageContaining("compacted");
    }

    @Test
    void smallValuesAreBoundedByCountAsBefore() {
        WatchHistory h = new WatchHistory(2, WatchHistory.DEFAULT_MAX_BYTES);
        for (long r = 1; r <= 5; r++) h.add(List.of(put("k", "v" + r, r)));
        assertThat(h.size()).isEqualTo(2);
        assertThat(h.firstKeptRevision()).isEqualTo(4);
        assertThat(h.bytes()).isEqualTo(2 * WatchHistory.sizeOf(put("k", "v1", 1)));
    }

    @Test
    void aDeleteCountsItsKeyOnlyAndAResetForgetsTheBytes() {
        WatchHistory h = new WatchHistory(10, 1 << 20);
        h.add(List.of(WatchEvent.deleted("gone", 7)));
        assertThat(h.bytes()).isEqualTo(WatchHistory.EVENT_OVERHEAD_BYTES + "gone".length());
        h.reset(9);
        assertThat(h.bytes()).isZero();
        assertThat(h.size()).isZero();
        assertThat(h.firstKeptRevision()).isEqualTo(10);
    }

    @Test
    void theNewestRevisionIsKeptEvenWhenItAloneIsLargerThanTheBound() {
        WatchHistory h = new WatchHistory(100, 500);
        h.add(List.of(put("a", "small", 1)));
        h.add(List.of(put("b", value(1000), 2)));
        assertThat(h.size()).isEqualTo(1);
        assertThat(h.bytes()).isEqualTo(WatchHistory.sizeOf(put("b", value(1000), 2)));
        assertThat(h.firstKeptRevision()).isEqualTo(2);
        assertThat(h.since(2, "", true)).extracting(WatchEvent::key).containsExactly("b");
        // The next revision makes room by dropping it.
        h.add(List.of(put("c", "small", 3)));
        assertThat(h.firstKeptRevision()).isEqualTo(3);
        assertThat(h.size()).isEqualTo(1);
    }
}
