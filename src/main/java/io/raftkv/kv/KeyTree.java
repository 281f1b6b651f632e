package io.raftkv.kv;

import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.Arrays;
import java.util.Map;

/**
 * The state machine's keys: an ordered map from UTF-8 key bytes to a value's UTF-8 bytes and its
 * four revision fields, kept in a B+tree whose snapshots cost nothing to take.
 *
 * <p><b>Compact.</b> A leaf holds its keys and values as byte arrays side by side and the revision
 * fields of all its entries in one {@code long[]}, so a key costs its two byte arrays, 32 bytes of
 * longs and two array slots, not a map entry, two {@code String}s and a {@link KeyValue} object
 * (BENCHMARKS.md, "Large data sets", measures both). {@link KeyValue}s are made when a key is read.
 * Keys are compared as unsigned bytes: UTF-8 byte order, which is {@link KeyOrder}'s.
 *
 * <p><b>Snapshots in O(1).</b> Every node carries the owner token it was made under. The tree
 * changes a node in place only if the node is its current owner's; otherwise it copies the node
 * first (path copying, as in a persistent tree, and ownership as in Clojure's transients).
 * {@link #freeze()} hands out the current root and takes a new owner: from then on no node
 * reachable from that root is ever written again, so the frozen view can be read on another thread
 * (the snapshot writer) while the node's loop goes on writing; the first write to each part of the
 * tree after a freeze copies that part's path once (a leaf and its inner nodes up to the root).
 * Once every frozen view is {@linkplain Frozen#release() released} (the snapshot is written), the
 * tree changes its nodes in place again: otherwise the first write to each leaf after every
 * snapshot would copy it, which at 10 million keys is ~200,000 leaves of ~2.6 KB, copied at the
 * pace of random writes for minutes after each snapshot (garbage, and survivors for the GC to copy).
 *
 * <p>Leaves hold up to {@link #MAX} entries and inner nodes up to {@link #MAX} children; a node
 * under {@link #MIN} after a delete takes entries from a neighbour or merges with it. An inner
 * node's {@code keys[j]} (j &gt; 0) is a lower bound of child j's keys and above every key of child
 * j - 1; its {@code keys[0]} means nothing. Not thread-safe: one thread changes the tree (the
 * node's loop); frozen views may be read anywhere.
 */
final class KeyTree {
    static final int MAX = 64;
    static final int MIN = MAX / 4;
    /** Revision fields per entry: createRevision, modRevision, version, lease. */
    private static final int META = 4;

    /** The generation a node was made in: nodes of generations a frozen view may read are copied before a change. */
    private static final class Owner {
        final long generation;

        Owner(long generation) {
            this.generation = generation;
        }
    }

    private abstract static sealed class Node permits Leaf, Inner {
        final Owner owner;
        int n;
        byte[][] keys;

        Node(Owner owner, int n, byte[][] keys) {
            this.owner = owner;
            this.n = n;
            this.keys = keys;
        }
    }

    private static final class Leaf extends Node {
        byte[][] values;
        long[] meta;

        Leaf(Owner owner, int n, byte[][] keys, byte[][] values, long[] meta) {
            super(owner, n, keys);
            this.values = values;
            this.meta = meta;
        }
    }

    private static final class Inner extends Node {
        Node[] children;

        Inner(Owner owner, int n, byte[][] keys, Node[] children) {
            super(owner, n, keys);
            this.children = children;
        }
    }

    /** A create revision that asks {@link #insert} for {@link #write}'s rules. */
    private static final long WRITE = Long.MIN_VALUE;

    private Owner owner = new Owner(0);
    /** Nodes of a generation below this may be read through a frozen view: changed only in a copy. 0: none. */
    private long frozenBelow;
    /** Frozen views not yet released. */
    private int frozenViews;
    /** Nodes copied because a frozen view could read them (for tests). */
    private long copies;
    /** What the last {@link #write} found and made: see {@link #previousLease()}; create revision and version. */
    private long previousLease;
    private final long[] written = new long[2];
    private Node root = emptyLeaf(owner);
    private int size;

    int size() {
        return size;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ reads

    KeyValue get(String key) {
        return get(root, utf8(key));
    }

    private static KeyValue get(Node root, byte[] key) {
        Leaf leaf = leafFor(root, key);
        int i = search(leaf.keys, 0, leaf.n, key);
        return i < 0 ? null : keyValue(leaf, i);
    }

    private static Leaf leafFor(Node node, byte[] key) {
        while (node instanceof Inner in) node = in.children[childIndex(in, key)];
        return (Leaf) node;
    }

    private static KeyValue keyValue(Leaf leaf, int i) {
        int m = i * META;
        return new KeyValue(new String(leaf.values[i], StandardCharsets.UTF_8), leaf.meta[m], leaf.meta[m + 1],
                leaf.meta[m + 2], leaf.meta[m + 3]);
    }

    /** Binary search of {@code key} in {@code keys[from, to)}: its index, or -(insertion point) - 1. */
    private static int search(byte[][] keys, int from, int to, byte[] key) {
        int lo = from;
        int hi = to - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(keys[mid], key);
            if (c < 0) lo = mid + 1;
            else if (c > 0) hi = mid - 1;
            else return mid;
        }
        return -(lo + 1);
    }

    /** The child of {@code in} whose range holds {@code key}: the last j with keys[j] &lt;= key, or 0. */
    private static int childIndex(Inner in, byte[] key) {
        int i = search(in.keys, 1, in.n, key);
        return i >= 0 ? i : -i - 2;
    }

    // ------------------------------------------------------------------ writes

    /** Sets {@code key} to {@code kv}. */
    void put(String key, KeyValue kv) {
        put(utf8(key), utf8(kv.value()), kv.createRevision(), kv.modRevision(), kv.version(), kv.lease());
    }

    void put(byte[] key, byte[] value, long createRevision, long modRevision, long version, long lease) {
        if (createRevision == WRITE) throw new IllegalArgumentException("negative create revision");
        root = writable(root);
        Node right = insert(root, key, value, createRevision, modRevision, version, lease);
        if (right != null) growRoot(right);
    }

    private void growRoot(Node right) {
        byte[][] keys = new byte[4][];
        Node[] children = new Node[4];
        children[0] = root;
        children[1] = right;
        keys[1] = right.keys[0];
        root = new Inner(owner, 2, keys, children);
    }

    /**
     * A write at {@code revision} (etcd's rules): a new key is created at it with version 1, an
     * existing one keeps its create revision and counts one more version. Returns the key's new
     * {@link KeyValue}; {@link #previousLease()} then tells what was there before. One descent.
     */
    KeyValue write(String key, String value, long revision, long lease) {
        previousLease = -1;
        root = writable(root);
        Node right = insert(root, utf8(key), utf8(value), WRITE, revision, 0, lease);
        if (right != null) growRoot(right);
        return new KeyValue(value, written[0], revision, written[1], lease);
    }

    /** After {@link #write}: the lease the key had before (0: none), or -1 if it did not exist. */
    long previousLease() {
        return previousLease;
    }

    /** Removes {@code key}; returns what it held, or null if it was not there. */
    KeyValue remove(String key) {
        byte[] k = utf8(key);
        KeyValue old = get(root, k);
        if (old == null) return null;
        root = writable(root);
        delete(root, k);
        while (root instanceof Inner in && in.n == 1) root = in.children[0];
        return old;
    }

    /**
     * Puts into the writable {@code node}; returns the new right sibling when the node had to split
     * (its {@code keys[0]} is a real key, the parent's separator for it), else null.
     */
    private Node insert(Node node, byte[] key, byte[] value, long create, long mod, long version, long lease) {
        if (node instanceof Leaf leaf) {
            int i = search(leaf.keys, 0, leaf.n, key);
            if (i >= 0) {
                if (create == WRITE) {
                    int m = i * META;
                    previousLease = leaf.meta[m + 3];
                    create = leaf.meta[m];
                    version = leaf.meta[m + 2] + 1;
                    written[0] = create;
                    written[1] = version;
                }
                leaf.values[i] = value;
                setMeta(leaf.meta, i, create, mod, version, lease);
                return null;
            }
            if (create == WRITE) {
                create = mod;
                version = 1;
                written[0] = create;
                written[1] = version;
            }
            i = -i - 1;
            size++;
            if (leaf.n < MAX) {
                leafInsert(leaf, i, key, value, create, mod, version, lease);
                return null;
            }
            if (i == MAX) {
                // Past the end of a full leaf (keys loaded in order, a snapshot restored): this one
                // stays full and a new one starts, so loading in order fills every leaf.
                Leaf right = emptyLeaf(owner);
                leafInsert(right, 0, key, value, create, mod, version, lease);
                return right;
            }
            Leaf right = splitLeaf(leaf, MAX / 2);
            if (i <= leaf.n) leafInsert(leaf, i, key, value, create, mod, version, lease);
            else leafInsert(right, i - leaf.n, key, value, create, mod, version, lease);
            return right;
        }
        Inner in = (Inner) node;
        int j = childIndex(in, key);
        Node child = writable(in.children[j]);
        in.children[j] = child;
        Node split = insert(child, key, value, create, mod, version, lease);
        if (split == null) return null;
        int at = j + 1;
        if (in.n < MAX) {
            innerInsert(in, at, split);
            return null;
        }
        if (at == MAX) {
            Inner right = new Inner(owner, 0, new byte[4][], new Node[4]);
            innerInsert(right, 0, split);
            return right;
        }
        Inner right = splitInner(in, MAX / 2);
        if (at <= in.n) innerInsert(in, at, split);
        else innerInsert(right, at - in.n, split);
        return right;
    }

    /** Removes {@code key}, which is in the subtree of the writable {@code node}. */
    private void delete(Node node, byte[] key) {
        if (node instanceof Leaf leaf) {
            int i = search(leaf.keys, 0, leaf.n, key);
            int tail = leaf.n - i - 1;
            System.arraycopy(leaf.keys, i + 1, leaf.keys, i, tail);
            System.arraycopy(leaf.values, i + 1, leaf.values, i, tail);
            System.arraycopy(leaf.meta, (i + 1) * META, leaf.meta, i * META, tail * META);
            leaf.n--;
            leaf.keys[leaf.n] = null;
            leaf.values[leaf.n] = null;
            size--;
            return;
        }
        Inner in = (Inner) node;
        int j = childIndex(in, key);
        Node child = writable(in.children[j]);
        in.children[j] = child;
        delete(child, key);
        if (child.n < MIN && in.n > 1) rebalance(in, j);
    }

    /** Child j of {@code in} is under {@link #MIN}: it takes entries from a neighbour, or merges with it. */
    private void rebalance(Inner in, int j) {
        int a = j + 1 < in.n ? j : j - 1;
        int b = a + 1;
        Node left = writable(in.children[a]);
        Node right = writable(in.children[b]);
        in.children[a] = left;
        in.children[b] = right;
        // Inside the right node its keys[0] meant nothing; next to the left node's keys it must be real.
        if (right instanceof Inner) right.keys[0] = in.keys[b];
        int total = left.n + right.n;
        if (total <= MAX) {
            moveLeft(left, right, right.n);
            int tail = in.n - b - 1;
            System.arraycopy(in.keys, b + 1, in.keys, b, tail);
            System.arraycopy(in.children, b + 1, in.children, b, tail);
            in.n--;
            in.keys[in.n] = null;
            in.children[in.n] = null;
            return;
        }
        int target = total / 2;
        if (left.n < target) moveLeft(left, right, target - left.n);
        else moveRight(left, right, left.n - target);
        in.keys[b] = right.keys[0];
    }

    /** Moves the first {@code count} entries (or children) of {@code right} to the end of {@code left}. */
    private static void moveLeft(Node left, Node right, int count) {
        ensureCapacity(left, left.n + count);
        System.arraycopy(right.keys, 0, left.keys, left.n, count);
        System.arraycopy(right.keys, count, right.keys, 0, right.n - count);
        Arrays.fill(right.keys, right.n - count, right.n, null);
        if (left instanceof Leaf l) {
            Leaf r = (Leaf) right;
            System.arraycopy(r.values, 0, l.values, l.n, count);
            System.arraycopy(r.values, count, r.values, 0, r.n - count);
            Arrays.fill(r.values, r.n - count, r.n, null);
            System.arraycopy(r.meta, 0, l.meta, l.n * META, count * META);
            System.arraycopy(r.meta, count * META, r.meta, 0, (r.n - count) * META);
        } else {
            Inner l = (Inner) left;
            Inner r = (Inner) right;
            System.arraycopy(r.children, 0, l.children, l.n, count);
            System.arraycopy(r.children, count, r.children, 0, r.n - count);
            Arrays.fill(r.children, r.n - count, r.n, null);
        }
        left.n += count;
        right.n -= count;
    }

    /** Moves the last {@code count} entries (or children) of {@code left} to the front of {@code right}. */
    private static void moveRight(Node left, Node right, int count) {
        ensureCapacity(right, right.n + count);
        int from = left.n - count;
        System.arraycopy(right.keys, 0, right.keys, count, right.n);
        System.arraycopy(left.keys, from, right.keys, 0, count);
        Arrays.fill(left.keys, from, left.n, null);
        if (left instanceof Leaf l) {
            Leaf r = (Leaf) right;
            System.arraycopy(r.values, 0, r.values, count, r.n);
            System.arraycopy(l.values, from, r.values, 0, count);
            Arrays.fill(l.values, from, l.n, null);
            System.arraycopy(r.meta, 0, r.meta, count * META, r.n * META);
            System.arraycopy(l.meta, from * META, r.meta, 0, count * META);
        } else {
            Inner l = (Inner) left;
            Inner r = (Inner) right;
            System.arraycopy(r.children, 0, r.children, count, r.n);
            System.arraycopy(l.children, from, r.children, 0, count);
            Arrays.fill(l.children, from, l.n, null);
        }
        left.n -= count;
        right.n += count;
    }

    private static void setMeta(long[] meta, int i, long create, long mod, long version, long lease) {
        int m = i * META;
        meta[m] = create;
        meta[m + 1] = mod;
        meta[m + 2] = version;
        meta[m + 3] = lease;
    }

    private static void leafInsert(Leaf leaf, int i, byte[] key, byte[] value, long create, long mod, long version,
                                   long lease) {
        ensureCapacity(leaf, leaf.n + 1);
        int tail = leaf.n - i;
        System.arraycopy(leaf.keys, i, leaf.keys, i + 1, tail);
        System.arraycopy(leaf.values, i, leaf.values, i + 1, tail);
        System.arraycopy(leaf.meta, i * META, leaf.meta, (i + 1) * META, tail * META);
        leaf.keys[i] = key;
        leaf.values[i] = value;
        setMeta(leaf.meta, i, create, mod, version, lease);
        leaf.n++;
    }

    private static void innerInsert(Inner in, int at, Node child) {
        ensureCapacity(in, in.n + 1);
        int tail = in.n - at;
        System.arraycopy(in.keys, at, in.keys, at + 1, tail);
        System.arraycopy(in.children, at, in.children, at + 1, tail);
        in.keys[at] = child.keys[0];
        in.children[at] = child;
        in.n++;
    }

    /** Splits the full, writable {@code leaf}: it keeps its first {@code keep} entries; the rest go to the result. */
    private Leaf splitLeaf(Leaf leaf, int keep) {
        int moved = leaf.n - keep;
        int cap = capacityFor(moved + 1);
        Leaf right = new Leaf(owner, moved, new byte[cap][], new byte[cap][], new long[cap * META]);
        System.arraycopy(leaf.keys, keep, right.keys, 0, moved);
        System.arraycopy(leaf.values, keep, right.values, 0, moved);
        System.arraycopy(leaf.meta, keep * META, right.meta, 0, moved * META);
        int leftCap = capacityFor(keep + 1);
        leaf.keys = Arrays.copyOf(leaf.keys, leftCap);
        leaf.values = Arrays.copyOf(leaf.values, leftCap);
        leaf.meta = Arrays.copyOf(leaf.meta, leftCap * META);
        Arrays.fill(leaf.keys, keep, Math.min(leaf.n, leftCap), null);
        Arrays.fill(leaf.values, keep, Math.min(leaf.n, leftCap), null);
        leaf.n = keep;
        return right;
    }

    private Inner splitInner(Inner in, int keep) {
        int moved = in.n - keep;
        int cap = capacityFor(moved + 1);
        Inner right = new Inner(owner, moved, new byte[cap][], new Node[cap]);
        System.arraycopy(in.keys, keep, right.keys, 0, moved);
        System.arraycopy(in.children, keep, right.children, 0, moved);
        int leftCap = capacityFor(keep + 1);
        in.keys = Arrays.copyOf(in.keys, leftCap);
        in.children = Arrays.copyOf(in.children, leftCap);
        Arrays.fill(in.keys, keep, Math.min(in.n, leftCap), null);
        Arrays.fill(in.children, keep, Math.min(in.n, leftCap), null);
        in.n = keep;
        return right;
    }

    /** Array length for a node about to hold {@code n} entries: room for some more, never above {@link #MAX}. */
    private static int capacityFor(int n) {
        return Math.min(MAX, Math.max(4, n + (n >> 1)));
    }

    private static void ensureCapacity(Node node, int needed) {
        if (node.keys.length >= needed) return;
        int cap = Math.max(needed, capacityFor(node.n + 1));
        node.keys = Arrays.copyOf(node.keys, cap);
        if (node instanceof Leaf l) {
            l.values = Arrays.copyOf(l.values, cap);
            l.meta = Arrays.copyOf(l.meta, cap * META);
        } else {
            Inner in = (Inner) node;
            in.children = Arrays.copyOf(in.children, cap);
        }
    }

    /** {@code node} itself if the current owner may change it, else a copy it may change. */
    private Node writable(Node node) {
        if (node.owner.generation >= frozenBelow) return node;
        copies++;
        if (node instanceof Leaf l) {
            return new Leaf(owner, l.n, l.keys.clone(), l.values.clone(), l.meta.clone());
        }
        Inner in = (Inner) node;
        return new Inner(owner, in.n, in.keys.clone(), in.children.clone());
    }

    private static Leaf emptyLeaf(Owner owner) {
        return new Leaf(owner, 0, new byte[4][], new byte[4][], new long[4 * META]);
    }

    // ------------------------------------------------------------------ snapshots and iteration

    /**
     * The tree as it is now, unchanged forever after and readable from any thread once handed over
     * with a happens-before edge (an executor, a queue). O(1): later writes copy what they change.
     */
    Frozen freeze() {
        Frozen f = new Frozen(this, root, size);
        frozenViews++;
        owner = new Owner(owner.generation + 1);
        frozenBelow = owner.generation;
        return f;
    }

    /** Nodes copied so far because a frozen view could read them. */
    long copies() {
        return copies;
    }

    /**
     * An unchanging view made by {@link #freeze()}, until {@link #release()}: then the tree may change
     * what it shares with the view in place, and the view may not be read any more.
     */
    static final class Frozen {
        private final KeyTree tree;
        private final Node root;
        private final int size;
        private boolean released;

        private Frozen(KeyTree tree, Node root, int size) {
            this.tree = tree;
            this.root = root;
            this.size = size;
        }

        int size() {
            return size;
        }

        Cursor cursor() {
            if (released) throw new IllegalStateException("this frozen view was released: the tree may have changed it");
            return new Cursor(root, null, true);
        }

        /**
         * Nothing reads this view any more (called on the tree's thread, after a happens-before edge
         * from every thread that read it). Once all views are released the tree changes in place again.
         */
        void release() {
            if (released) return;
            released = true;
            if (--tree.frozenViews == 0) tree.frozenBelow = 0;
        }
    }

    /**
     * Entries in key order from {@code from} (null: the first), including {@code from} itself if
     * {@code inclusive}. Reads the live tree: valid only until the tree next changes.
     */
    Cursor cursor(String from, boolean inclusive) {
        return new Cursor(root, from == null ? null : utf8(from), inclusive);
    }

    /** A position in the tree; {@link #valid()} until it has passed the last entry. */
    static final class Cursor {
        private final Inner[] parents = new Inner[24];
        private final int[] slots = new int[24];
        private int depth;
        private Leaf leaf;
        private int i;

        private Cursor(Node root, byte[] from, boolean inclusive) {
            Node node = root;
            while (node instanceof Inner in) {
                int j = from == null ? 0 : childIndex(in, from);
                parents[depth] = in;
                slots[depth++] = j;
                node = in.children[j];
            }
            leaf = (Leaf) node;
            if (from == null) {
                i = 0;
            } else {
                int s = search(leaf.keys, 0, leaf.n, from);
                i = s >= 0 ? (inclusive ? s : s + 1) : -s - 1;
            }
            settle();
        }

        boolean valid() {
            return leaf != null;
        }

        byte[] key() {
            return leaf.keys[i];
        }

        byte[] value() {
            return leaf.values[i];
        }

        /** Field {@code f} of the entry: 0 createRevision, 1 modRevision, 2 version, 3 lease. */
        long meta(int f) {
            return leaf.meta[i * META + f];
        }

        String keyString() {
            return new String(leaf.keys[i], StandardCharsets.UTF_8);
        }

        KeyValue keyValue() {
            return KeyTree.keyValue(leaf, i);
        }

        Map.Entry<String, KeyValue> entry() {
            return new AbstractMap.SimpleImmutableEntry<>(keyString(), keyValue());
        }

        void next() {
            i++;
            settle();
        }

        /** Moves past the end of a leaf to the first entry of the next one, or to the end. */
        private void settle() {
            while (leaf != null && i >= leaf.n) {
                while (depth > 0 && slots[depth - 1] + 1 >= parents[depth - 1].n) depth--;
                if (depth == 0) {
                    leaf = null;
                    return;
                }
                slots[depth - 1]++;
                Node node = parents[depth - 1].children[slots[depth - 1]];
                while (node instanceof Inner in) {
                    parents[depth] = in;
                    slots[depth++] = 0;
                    node = in.children[0];
                }
                leaf = (Leaf) node;
                i = 0;
            }
        }
    }

    /** Checks the tree's invariants (for tests): order, bounds, size, every leaf at one depth. */
    void check() {
        int[] count = new int[1];
        int leafDepth = check(root, null, null, 0, true, count, new int[] {-1});
        if (count[0] != size) throw new AssertionError("size " + size + " but " + count[0] + " entries");
        if (leafDepth < 0) throw new AssertionError("no leaf");
    }

    private static int check(Node node, byte[] low, byte[] high, int depth, boolean isRoot, int[] count, int[] leafDepth) {
        if (!isRoot && node.n < 1) throw new AssertionError("empty non-root node");
        if (node.n > MAX) throw new AssertionError("node over MAX: " + node.n);
        if (node instanceof Leaf leaf) {
            for (int i = 0; i < leaf.n; i++) {
                byte[] k = leaf.keys[i];
                if (i > 0 && Arrays.compareUnsigned(leaf.keys[i - 1], k) >= 0) throw new AssertionError("leaf out of order");
                if (low != null && Arrays.compareUnsigned(k, low) < 0) throw new AssertionError("key below its bound");
                if (high != null && Arrays.compareUnsigned(k, high) >= 0) throw new AssertionError("key above its bound");
            }
            count[0] += leaf.n;
            if (leafDepth[0] >= 0 && leafDepth[0] != depth) throw new AssertionError("leaves at different depths");
            leafDepth[0] = depth;
            return depth;
        }
        Inner in = (Inner) node;
        if (isRoot && in.n < 2) throw new AssertionError("root with one child");
        for (int j = 0; j < in.n; j++) {
            byte[] lo = j == 0 ? low : in.keys[j];
            byte[] hi = j + 1 < in.n ? in.keys[j + 1] : high;
            if (j > 0 && low != null && Arrays.compareUnsigned(in.keys[j], low) < 0) throw new AssertionError("separator below bound");
            check(in.children[j], lo, hi, depth + 1, false, count, leafDepth);
        }
        return leafDepth[0];
    }
}
