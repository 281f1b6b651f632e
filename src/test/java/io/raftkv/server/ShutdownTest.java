package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Snapshot;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.RaftStorage;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/** Stopping a node is not a failure, whatever its loop is doing at that moment. */
class ShutdownTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    @DisplayName("close() while the loop is writing the WAL stops cleanly: no storage failure, the write completes")
    void closeDuringWalWriteIsCleanStop(@TempDir Path dir) throws Exception {
        AtomicReference<RaftServer> server = new AtomicReference<>();
        AtomicBoolean armed = new AtomicBoolean();
        CountDownLatch inPersist = new CountDownLatch(1);
        List<Throwable> fatal = new CopyOnWriteArrayList<>();
        FileStorage file = FileStorage.open(dir, new FileStorage.Options(1024 * 1024, true));
        // Holds the loop inside persist() until close() has begun, then does the real file write.
        RaftStorage storage = new RaftStorage() {
            @Override public Stored load() { return file.load(); }
            @Override public long writeSnapshot(Snapshot s) { return file.writeSnapshot(s); }
            @Override public void snapshotWritten(Snapshot s, long bytes) { file.snapshotWritten(s, bytes); }
            @Override public Snapshot installSnapshot(Snapshot s) { return file.installSnapshot(s); }
            @Override public Stats stats() { return file.stats(); }
            @Override public void close() { file.close(); }

            @Override
            public void persist(HardState hs, List<Entry> entries) {
                if (!entries.isEmpty() && !entries.getFirst().isNoop() && armed.compareAndSet(true, false)) {
                    inPersist.countDown();
                    try {
                        awaitCondition(() -> !server.get().isRunning(), WAIT, "close() to begin");
                    } catch (AssertionError interrupted) {
                        Thread.currentThread().interrupt(); // keep the interrupt for the write below
                    }
                }
                file.persist(hs, entries);
            }
        };
        int port = TestNodes.freePorts(1).getFirst();
        NodeConfig cfg = NodeConfig.of(0, new HostPort("127.0.0.1", port), Map.of());
        server.set(RaftServer.start(cfg, storage, fatal::add));
        awaitCondition(() -> server.get().status().role().equals("leader"), WAIT, "the single node to lead");

        armed.set(true);
        CompletableFuture<io.raftkv.node.WriteOutcome<io.raftkv.kv.ApplyResult>> write = server.get().propose(new KvCommand(KvCommand.Op.PUT, "k", "v"));
        assertThat(inPersist.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the loop reached persist()").isTrue();
        server.get().close();

        assertThat(fatal).as("fatal errors reported by a clean close()").isEmpty();
        assertThat(write.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as("outcome of the write in flight at close()")
                .isInstanceOfAny(io.raftkv.node.WriteOutcome.Applied.class, io.raftkv.node.WriteOutcome.Unknown.class);
        NodeFolder.Replayed disk = NodeFolder.replay(dir);
        assertThat(disk.lastIndex()).as("the entry being written at close() is on disk").isEqualTo(2);
    }
}
