package io.raftkv.bench;

import io.raftkv.kv.KeyOrder;
import io.raftkv.kv.KeyValue;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.node.StateMachine;

import java.lang.management.ManagementFactory;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The state machine at the sizes users reach (issue 14: 10 million keys of 16 bytes with 64-byte
 * values): memory per key, apply and read rates next to a 10k-key state machine, how long
 * {@code capture()} holds the node's loop, how long a snapshot takes to encode on another thread
 * and what the loop's applies see meanwhile, and a restore. {@code treemap} measures instead the
 * representation used before {@code KeyTree} (a {@code TreeMap<String, KeyValue>}) and the copy
 * its {@code capture()} made on the loop.
 *
 * <pre>
 * ./mvnw -q -o test-compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
 * java -Xmx12g -XX:+UseG1GC -XX:+UseCompactObjectHeaders \
 *     -cp "$(cat target/classpath.txt):target/classes:target/test-classes" \
 *     io.raftkv.bench.StateMachineScaleBench 10000000 [treemap]
 * </pre>
 */
public final class StateMachineScaleBench {
    static final int VALUE_BYTES = 64;

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000_000;
        boolean treemap = args.length > 1 && args[1].equals("treemap");
        System.out.printf("%,d keys of 16 bytes, %d-byte values, %s%n", n, VALUE_BYTES,
                treemap ? "TreeMap<String, KeyValue> (before KeyTree)" : "KvStateMachine");
        long base = usedHeapAfterGc();
        if (treemap) {
            treeMap(n, base);
            return;
        }
        // The small reference point first: rates with 10k keys.
        KvStateMachine small = new KvStateMachine();
        long smallIndex = load(small, 10_000, 0);
        double smallPuts = putRate(small, 10_000, smallIndex, 1_000_000);
        double smallGets = getRate(small, 10_000, 2_000_000);
        small = null;

        KvStateMachine kv = new KvStateMachine();
        long t0 = System.nanoTime();
        long index = load(kv, n, 0);
        double loadS = (System.nanoTime() - t0) / 1e9;
        long used = usedHeapAfterGc() - base;
        System.out.printf("loaded in %.1f s (%,.0f puts/s); heap %,d MB: %.0f bytes per key%n", loadS, n / loadS,
                used >> 20, (double) used / n);

        double bigPuts = putRate(kv, n, index, 1_000_000);
        index += 1_000_000;
        double bigGets = getRate(kv, n, 2_000_000);
        System.out.printf("apply puts/s: %,.0f at 10k keys, %,.0f at %,d (%.2fx)%n", smallPuts, bigPuts, n, bigPuts / smallPuts);
        System.out.printf("reads/s:      %,.0f at 10k keys, %,.0f at %,d (%.2fx)%n", smallGets, bigGets, n, bigGets / smallGets);

        // capture(): what the loop pays; then the first writes after it copy the paths they touch.
        long maxCaptureNs = 0;
        StateMachine.Image image = null;
        for (int round = 0; round < 5; round++) {
            long c0 = System.nanoTime();
            image = kv.capture();
            maxCaptureNs = Math.max(maxCaptureNs, System.nanoTime() - c0);
            putRate(kv, n, index, 100_000);
            index += 100_000;
        }
        System.out.printf("capture(): longest of 5 %.3f ms%n", maxCaptureNs / 1e6);

        // Encode on another thread (as the snapshot writer does) while this thread applies puts.
        StateMachine.Image toEncode = kv.capture();
        AtomicBoolean done = new AtomicBoolean();
        long e0 = System.nanoTime();
        CompletableFuture<io.raftkv.raft.SnapshotData> encoded = CompletableFuture.supplyAsync(() -> {
            try {
                return toEncode.encode();
            } finally {
                done.set(true);
            }
        });
        Random random = new Random(3);
        long applies = 0;
        long maxApplyNs = 0;
        while (!done.get()) {
            long a0 = System.nanoTime();
            kv.apply(++index, new KvCommand(KvCommand.Op.PUT, key(random.nextInt(n)), value(index)));
            maxApplyNs = Math.max(maxApplyNs, System.nanoTime() - a0);
            applies++;
        }
        io.raftkv.raft.SnapshotData snapshot = encoded.join();
        double encodeS = (System.nanoTime() - e0) / 1e9;
        System.out.printf("encode: %.1f s, %,d MB; meanwhile %,d puts applied (%,.0f/s), the longest %.1f ms%n", encodeS,
                snapshot.length() >> 20, applies, applies / encodeS, maxApplyNs / 1e6);
        image = null;

        kv = null;
        usedHeapAfterGc();
        long r0 = System.nanoTime();
        KvStateMachine restored = new KvStateMachine();
        restored.restore(snapshot);
        System.out.printf("restore: %.1f s, %,d keys%n", (System.nanoTime() - r0) / 1e9, restored.size());
    }

    private static void treeMap(int n, long base) {
        TreeMap<String, KeyValue> map = new TreeMap<>(KeyOrder.UTF8);
        for (int i = 0; i < n; i++) {
            int k = scramble(i, n);
            map.put(key(k), new KeyValue(value(i), i + 1, i + 1, 1, 0));
        }
        long used = usedHeapAfterGc() - base;
        System.out.printf("heap %,d MB: %.0f bytes per key%n", used >> 20, (double) used / n);
        long c0 = System.nanoTime();
        TreeMap<String, KeyValue> copy = new TreeMap<>(map);
        System.out.printf("capture() as it was (a TreeMap copy on the loop): %.0f ms (%d keys)%n",
                (System.nanoTime() - c0) / 1e6, copy.size());
    }

    /** Applies puts of keys 0..n-1 in a scrambled order; returns the last index. */
    private static long load(KvStateMachine kv, int n, long index) {
        for (int i = 0; i < n; i++) kv.apply(++index, new KvCommand(KvCommand.Op.PUT, key(scramble(i, n)), value(index)));
        return index;
    }

    private static double putRate(KvStateMachine kv, int n, long index, int count) {
        Random random = new Random(1);
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) kv.apply(++index, new KvCommand(KvCommand.Op.PUT, key(random.nextInt(n)), value(index)));
        return count / ((System.nanoTime() - t0) / 1e9);
    }

    private static double getRate(KvStateMachine kv, int n, int count) {
        Random random = new Random(2);
        long t0 = System.nanoTime();
        long found = 0;
        for (int i = 0; i < count; i++) if (kv.entry(key(random.nextInt(n))).isPresent()) found++;
        if (found != count) throw new AssertionError(found + " of " + count + " keys found");
        return count / ((System.nanoTime() - t0) / 1e9);
    }

    /** A permutation of 0..n-1 (1,000,003 is prime and divides no n used here). */
    private static int scramble(int i, int n) {
        return (int) ((i * 1_000_003L) % n);
    }

    /** 16 bytes: "k" and 15 digits. */
    static String key(int k) {
        char[] c = new char[16];
        c[0] = 'k';
        for (int i = 15; i >= 1; i--, k /= 10) c[i] = (char) ('0' + k % 10);
        return new String(c);
    }

    /** {@link #VALUE_BYTES} letters. */
    static String value(long seed) {
        char[] c = new char[VALUE_BYTES];
        for (int i = 0; i < c.length; i++) c[i] = (char) ('a' + (seed + i) % 26);
        return new String(c);
    }

    static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
