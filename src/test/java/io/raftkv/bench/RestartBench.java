package io.raftkv.bench;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import io.raftkv.server.NodeConfig;
import io.raftkv.server.RaftServer;
import io.raftkv.storage.FileStorage;
import io.raftkv.transport.HostPort;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Measures how long a node holding N keys takes to restart: load the snapshot, replay the log
 * tail, and be ready (single-node cluster, so "ready" = leader with everything applied).
 *
 * <pre>
 * ./mvnw -q test-compile && java -cp "$(cat target/classpath.txt):target/classes:target/test-classes" \
 *     io.raftkv.bench.RestartBench 1000000 10000
 * </pre>
 * (target/classpath.txt from {@code ./mvnw -q dependency:build-classpath -Dmdep.outputFile=target/classpath.txt}).
 */
public final class RestartBench {
    public static void main(String[] args) throws Exception {
        int keys = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int tail = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        Path dir = Files.createTempDirectory("raftkv-restart");
        String value = "v".repeat(64);

        // Build the data folder the way a node leaves it: a snapshot of `keys` keys, then a log tail.
        long t0 = System.nanoTime();
        KvStateMachine kv = new KvStateMachine();
        long index = 0;
        for (int i = 0; i < keys; i++) kv.apply(++index, new KvCommand(KvCommand.Op.PUT, "key-" + i, value));
        Snapshot snap = new Snapshot(index, 1, kv.snapshot());
        try (FileStorage st = FileStorage.open(dir, FileStorage.Options.defaults())) {
            st.load();
            st.persist(new HardState(1, 0, index), List.of());
            st.installSnapshot(snap).data().release();
            List<Entry> batch = new ArrayList<>();
            for (int i = 0; i < tail; i++) {
                batch.add(new Entry(++index, 1, new KvCommand(KvCommand.Op.PUT, "key-" + (i % keys), "t" + i).encode()));
                if (batch.size() == 1000) {
                    st.persist(null, batch);
                    batch.clear();
                }
            }
            st.persist(new HardState(1, 0, index), batch);
        }
        System.out.printf("prepared %d keys (snapshot %d MB) + %d tail entries in %.1f s%n", keys,
                snap.data().length() >> 20, tail, (System.nanoTime() - t0) / 1e9);

        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        FileStorage storage = FileStorage.open(dir, FileStorage.Options.defaults());
        RaftServer server = RaftServer.start(NodeConfig.of(0, new HostPort("127.0.0.1", port), Map.of()), storage,
                t -> { throw new IllegalStateException(t); });
        long loadedNs = System.nanoTime() - start;
        final long lastIndex = index;
        while (server.status().appliedIndex() < lastIndex || !server.status().role().equals("leader")) Thread.sleep(1);
        long readyNs = System.nanoTime() - start;
        System.out.printf("restart: storage loaded and snapshot restored in %d ms; all %d entries applied and leading"
                + " after %d ms (includes the election timeout of a single node)%n", loadedNs / 1_000_000, lastIndex,
                readyNs / 1_000_000);
        if (server.status().keys() != keys) throw new AssertionError("keys after restart: " + server.status().keys());
        server.close();
    }
}
