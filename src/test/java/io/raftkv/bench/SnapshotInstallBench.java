package io.raftkv.bench;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.node.NodeRuntime;
import io.raftkv.node.Persister;
import io.raftkv.node.RuntimeListener;
import io.raftkv.node.SnapshotPolicy;
import io.raftkv.node.StateMachine;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Snapshot;
import io.raftkv.raft.SnapshotData;
import io.raftkv.storage.FileStorage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A follower installing a leader's snapshot (Raft §7, issue 14) through the production
 * {@link NodeRuntime} on a {@link FileStorage} in a temporary folder, driven by hand as RaftServer's
 * loop drives it: the chunks arrive as InstallSnapshot requests, the persister writes on the
 * loop. Reports how long the last chunk holds the loop (the state machine's validate, the file
 * write, the restore) and the heap still used once the snapshot is installed.
 *
 * <p>{@code before} emulates the follower before issue 14's changes within this build: the
 * persister hands back no stored snapshot (the node holds the received chunks), and the state
 * machine decodes again at restore what it decoded at validate.
 *
 * <pre>
 * ./mvnw -q -o test-compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
 * java -Xmx3g -XX:+UseG1GC -cp "$(cat target/classpath.txt):target/classes:target/test-classes" \
 *     io.raftkv.bench.SnapshotInstallBench 1000000 [before]
 * </pre>
 */
public final class SnapshotInstallBench {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        boolean before = args.length > 1 && args[1].equals("before");
        System.out.printf("%,d keys of 16 bytes, %d-byte values; follower %s%n", n,
                StateMachineScaleBench.VALUE_BYTES, before ? "as before issue 14 (holds the chunks, decodes twice)" : "as now");

        long base = StateMachineScaleBench.usedHeapAfterGc();
        // The leader's snapshot, cut into the chunks the follower will receive.
        List<byte[]> chunks = leaderChunks(n);
        long snapshotBytes = chunks.stream().mapToLong(c -> c.length).sum();

        Path dir = Files.createTempDirectory("install-bench");
        try (FileStorage disk = FileStorage.open(dir, FileStorage.Options.defaults())) {
            Follower f = new Follower(disk, before);
            long offset = 0;
            long lastChunkNs = 0;
            for (int i = 0; i < chunks.size(); i++) {
                byte[] c = chunks.get(i);
                boolean last = i == chunks.size() - 1;
                long t0 = System.nanoTime();
                f.runtime.stepRequest(new Message.InstallSnapshot(1, 2, 1, n, 1, Configuration.bootstrap(List.of(1, 2, 3)),
                        offset, c, last), answer -> { });
                f.runtime.process();
                if (last) lastChunkNs = System.nanoTime() - t0;
                offset += c.length;
            }
            chunks = null;
            if (f.kv.appliedIndex() != n) throw new AssertionError("applied " + f.kv.appliedIndex() + ", not " + n);
            long used = StateMachineScaleBench.usedHeapAfterGc() - base;
            long stateOnly = f.kv.size();
            System.out.printf("snapshot %,d MB in %d chunks%n", snapshotBytes >> 20, (snapshotBytes + (1 << 20) - 1) >> 20);
            System.out.printf("last chunk on the loop: %,.0f ms (validate %,.0f ms, file write %,.0f ms, restore %,.0f ms)%n",
                    lastChunkNs / 1e6, f.sm.validateNs / 1e6, f.writeNs / 1e6, f.sm.restoreNs / 1e6);
            System.out.printf("heap used after the install: %,d MB (the follower's state of %,d keys and what it holds);"
                    + " held snapshot on the heap: %,d MB%n", used >> 20, stateOnly,
                    f.runtime.core().latestSnapshot().orElseThrow().data().heapBytes() >> 20);
            f.runtime.core().latestSnapshot().orElseThrow().data().release();
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }

    /** The leader's state of {@code n} keys at index {@code n}, encoded, in chunks of the default size. */
    private static List<byte[]> leaderChunks(int n) throws IOException {
        KvStateMachine leader = new KvStateMachine();
        for (int i = 0; i < n; i++) {
            leader.apply(i + 1, new KvCommand(KvCommand.Op.PUT, StateMachineScaleBench.key((int) ((i * 1_000_003L) % n)),
                    StateMachineScaleBench.value(i)));
        }
        SnapshotData data = leader.capture().encode();
        List<byte[]> chunks = new ArrayList<>();
        try (InputStream in = data.stream()) {
            while (true) {
                byte[] c = in.readNBytes(RaftConfig.DEFAULT_SNAPSHOT_CHUNK_BYTES);
                if (c.length == 0) break;
                chunks.add(c);
            }
        }
        return chunks;
    }

    /** Node 2 of three, on {@code disk}, its persister writing on the loop as RaftServer's does. */
    private static final class Follower {
        final KvStateMachine kv = new KvStateMachine();
        final Timed sm;
        final NodeRuntime<ApplyResult> runtime;
        long writeNs;

        Follower(FileStorage disk, boolean before) {
            this.sm = new Timed(kv, before);
            RaftConfig config = RaftConfig.builder(2, List.of(1, 2, 3)).randomSeed(1).build();
            this.runtime = new NodeRuntime<>(config, disk.load(), sm, new Persister() {
                @Override
                public void persist(long token, Write write) {
                    long t0 = System.nanoTime();
                    Snapshot stored = write.snapshot().map(disk::installSnapshot).orElse(null);
                    if (write.hardState().isPresent() || !write.entries().isEmpty()) {
                        disk.persist(write.hardState().orElse(null), write.entries());
                    }
                    writeNs += System.nanoTime() - t0;
                    if (stored == null) {
                        runtime.persisted(token);
                    } else if (before) {
                        stored.data().release(); // the node keeps the chunks it received
                        runtime.persisted(token);
                    } else {
                        runtime.persisted(token, stored);
                    }
                }

                @Override
                public void writeSnapshot(long index, long term, Configuration configuration, StateMachine.Image image) {
                    throw new UnsupportedOperationException("no snapshot of its own in this bench");
                }

                @Override
                public void releaseLog(Snapshot snapshot, long sizeBytes) {}
            }, m -> { }, System::nanoTime, SnapshotPolicy.defaults(), new RuntimeListener<>() { });
        }
    }

    /** The state machine, timing validate and restore; {@code before}: restore decodes again. */
    private static final class Timed implements StateMachine<ApplyResult> {
        final KvStateMachine kv;
        final boolean before;
        long validateNs;
        long restoreNs;

        Timed(KvStateMachine kv, boolean before) {
            this.kv = kv;
            this.before = before;
        }

        @Override public byte[] prepare(byte[] command, long clusterTimeMs) { return kv.prepare(command, clusterTimeMs); }
        @Override public ApplyResult apply(long index, byte[] command) { return kv.apply(index, command); }
        @Override public void applyNoop(long index) { kv.applyNoop(index); }
        @Override public long appliedIndex() { return kv.appliedIndex(); }
        @Override public long clusterTimeMs() { return kv.clusterTimeMs(); }
        @Override public Image capture() { return kv.capture(); }
        @Override public void forgetValidated() { kv.forgetValidated(); }

        @Override
        public void validate(SnapshotData snapshot) {
            long t0 = System.nanoTime();
            kv.validate(snapshot);
            if (before) kv.forgetValidated(); // validate decoded and dropped the result
            validateNs += System.nanoTime() - t0;
        }

        @Override
        public void restore(SnapshotData snapshot) {
            long t0 = System.nanoTime();
            kv.restore(snapshot);
            restoreNs += System.nanoTime() - t0;
        }
    }
}
