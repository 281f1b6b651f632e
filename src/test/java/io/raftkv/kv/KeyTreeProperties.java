package io.raftkv.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link KeyTree} against {@link TreeMap} in {@link KeyOrder#UTF8}: random puts and removes (enough
 * to split and merge nodes several levels deep), reads and ordered scans from random points after
 * every batch, and views frozen along the way that must stay exactly as they were while the tree
 * goes on changing.
 */
class KeyTreeProperties {

    @Property(tries = 60)
    void behavesLikeASortedMapAndFrozenViewsNeverChange(@ForAll long seed, @ForAll @IntRange(min = 50, max = 6000) int keySpace,
                                                        @ForAll @IntRange(min = 0, max = 100) int removePercent) {
        Random random = new Random(seed);
        KeyTree tree = new KeyTree();
        TreeMap<String, KeyValue> model = new TreeMap<>(KeyOrder.UTF8);
        List<KeyTree.Frozen> frozen = new ArrayList<>();
        List<TreeMap<String, KeyValue>> frozenModels = new ArrayList<>();
        int ops = 4 * keySpace + 500;
        for (int op = 1; op <= ops; op++) {
            String key = key(random, keySpace);
            if (random.nextInt(100) < removePercent) {
                assertThat(tree.remove(key)).as("remove %s", key).isEqualTo(model.remove(key));
            } else {
                KeyValue kv = new KeyValue("v" + op + "-" + "x".repeat(random.nextInt(4)), op, op + 1, op + 2,
                        random.nextInt(3));
                tree.put(key, kv);
                model.put(key, kv);
            }
            if (random.nextInt(Math.max(1, ops / 8)) == 0) {
                frozen.add(tree.freeze());
                frozenModels.add(new TreeMap<>(model));
            }
            // A view released (its snapshot written): the others must stay as they were all the same,
            // while the tree goes back to changing in place what no view can read.
            if (!frozen.isEmpty() && random.nextInt(Math.max(1, ops / 6)) == 0) {
                int i = random.nextInt(frozen.size());
                KeyTree.Frozen gone = frozen.remove(i);
                frozenModels.remove(i);
                gone.release();
                assertThatThrownBy(gone::cursor).isInstanceOf(IllegalStateException.class);
            }
            if (op % (ops / 4 + 1) == 0) {
                tree.check();
                assertThat(tree.size()).isEqualTo(model.size());
                for (int i = 0; i < 50; i++) {
                    String k = key(random, keySpace);
                    assertThat(tree.get(k)).as("get %s", k).isEqualTo(model.get(k));
                }
                String from = key(random, keySpace);
                boolean inclusive = random.nextBoolean();
                assertThat(scan(tree.cursor(from, inclusive), 40)).isEqualTo(first(model.tailMap(from, inclusive), 40));
            }
        }
        tree.check();
        assertThat(scan(tree.cursor(null, true), Integer.MAX_VALUE)).isEqualTo(first(model, Integer.MAX_VALUE));
        for (int i = 0; i < frozen.size(); i++) {
            assertThat(frozen.get(i).size()).isEqualTo(frozenModels.get(i).size());
            assertThat(scan(frozen.get(i).cursor(), Integer.MAX_VALUE)).as("frozen view %d", i)
                    .isEqualTo(first(frozenModels.get(i), Integer.MAX_VALUE));
        }
    }

    @Test
    @DisplayName("after a freeze the first write to a leaf copies it; once the view is released, writes change leaves in place")
    void writesCopyOnlyWhileAFrozenViewIsHeld() {
        KeyTree tree = new KeyTree();
        for (int i = 0; i < 10_000; i++) tree.put(String.format("key%06d", i), new KeyValue("v", i, i, 1, 0));
        long before = tree.copies();
        KeyTree.Frozen view = tree.freeze();
        tree.put("key000000", new KeyValue("w", 1, 2, 2, 0));
        long afterFirst = tree.copies();
        assertThat(afterFirst - before).as("a leaf and its inner nodes up to the root copied").isGreaterThanOrEqualTo(2);
        tree.put("key000001", new KeyValue("w", 1, 3, 2, 0));
        assertThat(tree.copies()).as("the same leaf again: already copied").isEqualTo(afterFirst);
        tree.put("key009999", new KeyValue("w", 1, 4, 2, 0));
        assertThat(tree.copies()).as("another leaf: copied").isGreaterThan(afterFirst);
        assertThat(view.cursor().value()).as("the view keeps the value it had").isEqualTo("v".getBytes(StandardCharsets.UTF_8));

        view.release();
        long released = tree.copies();
        for (int i = 0; i < 10_000; i += 97) tree.put(String.format("key%06d", i), new KeyValue("x", i, i + 5, 3, 0));
        assertThat(tree.copies()).as("no copy once no view is held").isEqualTo(released);
        assertThat(tree.get("key000097").value()).isEqualTo("x");

        // Two views: releasing one keeps the other intact.
        KeyTree.Frozen first = tree.freeze();
        KeyTree.Frozen second = tree.freeze();
        first.release();
        tree.put("key000000", new KeyValue("y", 1, 9, 4, 0));
        assertThat(second.cursor().value()).isEqualTo("x".getBytes(StandardCharsets.UTF_8));
        assertThat(tree.copies()).as("copied for the view still held").isGreaterThan(released);
    }

    @Test
    @DisplayName("keys in order fill every leaf; removing them all leaves an empty tree that still works")
    void loadInOrderThenRemoveEverything() {
        KeyTree tree = new KeyTree();
        TreeMap<String, KeyValue> model = new TreeMap<>(KeyOrder.UTF8);
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            String k = String.format("key%08d", i);
            KeyValue kv = new KeyValue("value" + i, i, i, 1, 0);
            tree.put(k, kv);
            model.put(k, kv);
        }
        tree.check();
        KeyTree.Frozen full = tree.freeze();
        Random random = new Random(7);
        List<String> keys = new ArrayList<>(model.keySet());
        java.util.Collections.shuffle(keys, random);
        for (int i = 0; i < keys.size(); i++) {
            assertThat(tree.remove(keys.get(i))).isEqualTo(model.remove(keys.get(i)));
            if (i % 20_000 == 0) tree.check();
        }
        tree.check();
        assertThat(tree.size()).isZero();
        assertThat(tree.cursor(null, true).valid()).isFalse();
        tree.put("again", new KeyValue("v", 1, 1, 1, 0));
        assertThat(tree.get("again").value()).isEqualTo("v");
        assertThat(full.size()).isEqualTo(n);
        KeyTree.Cursor c = full.cursor();
        for (int i = 0; i < n; i++, c.next()) assertThat(c.keyString()).isEqualTo(String.format("key%08d", i));
        assertThat(c.valid()).isFalse();
    }

    @Test
    @DisplayName("keys are ordered by their UTF-8 bytes, as KeyOrder orders them")
    void utf8Order() {
        KeyTree tree = new KeyTree();
        List<String> keys = List.of("\uFFFD", "\uD83D\uDE00", "a", "\u00E9", "", "aa", "\u0800");
        for (String k : keys) tree.put(k, new KeyValue(k, 1, 1, 1, 0));
        List<String> expected = new ArrayList<>(keys);
        expected.sort(KeyOrder.UTF8);
        List<String> seen = new ArrayList<>();
        for (KeyTree.Cursor c = tree.cursor(null, true); c.valid(); c.next()) seen.add(c.keyString());
        assertThat(seen).isEqualTo(expected);
    }

    private static String key(Random random, int keySpace) {
        int k = random.nextInt(keySpace);
        // Mostly ASCII, some multi-byte characters so UTF-8 order is exercised too.
        return switch (k % 7) {
            case 0 -> "\u00E9" + k;
            case 1 -> "\uD83D\uDE00" + k;
            default -> "k" + k;
        };
    }

    private static List<Map.Entry<String, KeyValue>> scan(KeyTree.Cursor c, int limit) {
        List<Map.Entry<String, KeyValue>> out = new ArrayList<>();
        for (; c.valid() && out.size() < limit; c.next()) out.add(c.entry());
        return out;
    }

    private static List<Map.Entry<String, KeyValue>> first(NavigableMap<String, KeyValue> map, int limit) {
        List<Map.Entry<String, KeyValue>> out = new ArrayList<>();
        for (Map.Entry<String, KeyValue> e : map.entrySet()) {
            if (out.size() == limit) break;
            out.add(Map.entry(e.getKey(), e.getValue()));
        }
        return out;
    }
}
