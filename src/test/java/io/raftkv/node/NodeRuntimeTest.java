package io.raftkv.node;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.ConfChange;
import io.raftkv.raft.ConfChangeResult;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.InstallSnapshotResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.raft.Message.TimeoutNow;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import io.raftkv.raft.Snapshot;
import io.raftkv.kv.CountingSnapshotData;
import io.raftkv.raft.SnapshotData;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.MemoryStorage;
import io.raftkv.storage.RaftStorage;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The node runtime driven by hand, one input at a time: a node of a 3-voter cluster whose peers
 * are played by the test, on a {@link MemoryStorage} behind a persister that completes when the
 * test says so (or at once).
 */
class NodeRuntimeTest {
    private static final List<Integer> VOTERS = List.of(1, 2, 3);

    /**
     * The node's state machine as the runtime sees it: {@link KvStateMachine}, recording the
     * snapshots it is asked to validate and restore. The state machine reads each through one
     * {@link CountingSnapshotData} per object (so it still knows a snapshot it validated when asked
     * to restore it), which counts how much of it was read.
     */
    private static final class RecordingStateMachine implements StateMachine<ApplyResult> {
        final KvStateMachine kv;
        final List<SnapshotData> validated = new ArrayList<>();
        final List<SnapshotData> restored = new ArrayList<>();
        int forgotten;
        final Map<SnapshotData, CountingSnapshotData> views = new IdentityHashMap<>();

        RecordingStateMachine(KvStateMachine kv) {
            this.kv = kv;
        }

        CountingSnapshotData view(SnapshotData data) {
            return views.computeIfAbsent(data, CountingSnapshotData::new);
        }

        @Override public byte[] prepare(byte[] command, long clusterTimeMs) { return kv.prepare(command, clusterTimeMs); }
        @Override public ApplyResult apply(long index, byte[] command) { return kv.apply(index, command); }
        @Override public void applyNoop(long index) { kv.applyNoop(index); }
        @Override public long appliedIndex() { return kv.appliedIndex(); }
        @Override public long clusterTimeMs() { return kv.clusterTimeMs(); }
        @Override public byte[] housekeeping(long clusterTimeMs) { return kv.housekeeping(clusterTimeMs); }
        /** Per image captured: whether it was released. */
        final List<boolean[]> images = new ArrayList<>();

        @Override
        public Image capture() {
            Image image = kv.capture();
            boolean[] released = new boolean[1];
            images.add(released);
            return new Image() {
                @Override public long appliedIndex() { return image.appliedIndex(); }
                @Override public void encodeTo(java.io.OutputStream out) throws java.io.IOException { image.encodeTo(out); }

                @Override
                public void release() {
                    released[0] = true;
                    image.release();
                }
            };
        }

        @Override
        public void validate(SnapshotData snapshot) {
            validated.add(snapshot);
            kv.validate(view(snapshot));
        }

        @Override
        public void restore(SnapshotData snapshot) {
            restored.add(snapshot);
            kv.restore(view(snapshot));
        }

        @Override
        public void forgetValidated() {
            forgotten++;
            kv.forgetValidated();
        }
    }

    /** One node under test: its runtime, storage, the requests it sent and the answers it gave. */
    private static final class Node {
        final RaftStorage storage;
        final KvStateMachine kv = new KvStateMachine();
        final RecordingStateMachine sm = new RecordingStateMachine(kv);
        final List<Message> sent = new ArrayList<>();
        final List<Message> answered = new ArrayList<>();
        final List<String> refused = new ArrayList<>();
        /** Configurations reported and requests sent, in the order they happened. */
        final List<Object> events = new ArrayList<>();
        final List<Long> pendingTokens = new ArrayList<>();
        final List<Persister.Write> pendingWrites = new ArrayList<>();
        boolean completeAtOnce = true;
        long nowNs;
        final NodeRuntime<ApplyResult> runtime;

        /** The snapshot writes fail (as for a full disk), to be tried again at once. */
        boolean snapshotsFail;

        Node(int id, RaftStorage storage, long clockOriginNs) {
            this(id, storage, clockOriginNs, SnapshotPolicy.defaults());
        }

        Node(int id, RaftStorage storage, long clockOriginNs, SnapshotPolicy snapshots) {
            this.storage = storage;
            this.nowNs = clockOriginNs;
            RaftConfig config = RaftConfig.builder(id, VOTERS).randomSeed(42).build();
            this.runtime = new NodeRuntime<>(config, storage.load(), sm, new Persister() {
                @Override
                public void persist(long token, Write write) {
                    if (completeAtOnce) {
                        persisted(token, write(write));
                    } else {
                        pendingTokens.add(token);
                        pendingWrites.add(write);
                    }
                }

                @Override
                public void writeSnapshot(long index, long term, Configuration configuration, StateMachine.Image image) {
                    if (snapshotsFail) {
                        runtime.snapshotFailed(0);
                        return;
                    }
                    Snapshot snap = new Snapshot(index, term, configuration, image.encode());
                    runtime.snapshotWritten(snap, storage.writeSnapshot(snap));
                }

                @Override
                public void releaseLog(Snapshot snapshot, long sizeBytes) {
                    storage.snapshotWritten(snapshot, sizeBytes);
                }
            }, m -> {
                sent.add(m);
                events.add(m);
            }, () -> nowNs, snapshots, new RuntimeListener<>() {
                @Override
                public void snapshotRefused(long index, long term, String reason) {
                    refused.add(reason);
                }

                @Override
                public void configurationChanged(Configuration configuration) {
                    events.add(configuration);
                }
            });
        }

        /** Writes {@code w}; returns its snapshot as the storage keeps it (null if it has none). */
        Snapshot write(Persister.Write w) {
            Snapshot stored = w.snapshot().map(storage::installSnapshot).orElse(null);
            storage.persist(w.hardState().orElse(null), w.entries());
            return stored;
        }

        /** As RaftServer's persister: the leader's snapshot is held from now on as the storage keeps it. */
        void persisted(long token, Snapshot stored) {
            if (stored == null) runtime.persisted(token);
            else runtime.persisted(token, stored);
        }

        /** Completes the write in flight, as the storage thread would. */
        void completeWrite() {
            Snapshot stored = write(pendingWrites.removeFirst());
            persisted(pendingTokens.removeFirst(), stored);
        }

        /** A peer's request, its answer collected. */
        void request(Message m) {
            runtime.stepRequest(m, answer -> answer.ifPresent(answered::add));
        }

        /** Wins an election in term {@code term + 1} with node 2's vote, and commits the no-op with node 2's ack. */
        long becomeLeader() {
            runtime.core().campaign("test");
            runtime.process();
            long term = runtime.core().term();
            runtime.step(new RequestVoteResponse(2, 1, term, true));
            runtime.process();
            assertThat(runtime.core().role()).isEqualTo(Role.LEADER);
            runtime.step(AppendEntriesResponse.accept(2, 1, term, runtime.core().lastIndex()));
            runtime.process();
            assertThat(runtime.core().committedInCurrentTerm()).isTrue();
            sent.clear();
            return term;
        }
    }

    private static byte[] put(String key, String value, long clientId, long seq) {
        return new KvCommand(KvCommand.Op.PUT, key, value, clientId, seq, 0).encode();
    }

    @Test
    @DisplayName("§5.3 + issue 15: a write committed in the Ready that deposes its leader is answered as applied")
    void aWriteCommittedAsTheLeaderStepsDownIsAppliedNotAbandoned() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        List<WriteOutcome<ApplyResult>> outcome = new ArrayList<>();
        n.runtime.propose(put("k", "v", 0, 0), outcome::add);
        n.runtime.process();
        long index = n.runtime.core().lastIndex();
        // In one batch: node 2 acknowledges the write (it commits), then node 3 leads a newer term.
        n.runtime.step(AppendEntriesResponse.accept(2, 1, term, index));
        n.request(new AppendEntries(3, 1, term + 1, index, term, List.of(), index));
        n.runtime.process();

        assertThat(n.runtime.core().role()).isEqualTo(Role.FOLLOWER);
        assertThat(outcome).hasSize(1).first().isInstanceOf(WriteOutcome.Applied.class);
        assertThat(n.kv.get("k")).contains("v");
    }

    @Test
    @DisplayName("issue 15: a leader whose clock is hours ahead stamps the cluster time, so no session expires")
    void aLeaderWithAFastClockDoesNotExpireSessions() {
        MemoryStorage disk = new MemoryStorage();
        Node first = new Node(1, disk, 0);
        first.becomeLeader();
        List<WriteOutcome<ApplyResult>> registered = new ArrayList<>();
        first.runtime.propose(KvCommand.register().encode(), registered::add);
        first.runtime.process();
        first.runtime.step(AppendEntriesResponse.accept(2, 1, first.runtime.core().term(), first.runtime.core().lastIndex()));
        first.runtime.process();
        long clientId = ((ApplyResult.Registered) ((WriteOutcome.Applied<ApplyResult>) registered.getFirst()).result())
                .clientId();
        long timeAtRegister = first.kv.clusterTimeMs();

        // The node restarts on a machine whose monotonic clock reads 5 hours later (a different
        // origin, or a clock that jumped): 5 hours are far beyond the 10-minute session TTL.
        long fiveHoursNs = TimeUnit.HOURS.toNanos(5);
        Node later = new Node(1, disk, fiveHoursNs);
        long term = later.becomeLeader();
        later.nowNs += TimeUnit.SECONDS.toNanos(1);
        List<WriteOutcome<ApplyResult>> write = new ArrayList<>();
        later.runtime.propose(put("k", "v", clientId, 1), write::add);
        later.runtime.process();
        later.runtime.step(AppendEntriesResponse.accept(2, 1, term, later.runtime.core().lastIndex()));
        later.runtime.process();

        assertThat(write).hasSize(1).first().isInstanceOf(WriteOutcome.Applied.class);
        assertThat(((WriteOutcome.Applied<ApplyResult>) write.getFirst()).result())
                .as("the session registered before the restart").isInstanceOf(ApplyResult.Applied.class);
        assertThat(later.kv.clusterTimeMs() - timeAtRegister).as("cluster time advanced by the leader's elapsed time")
                .isBetween(1_000L, 2_000L);
    }

    @Test
    @DisplayName("Figure 2: while a write is in flight, its acknowledgement waits for it, and so does a later answer")
    void anAsynchronousWriteHoldsItsAnswerAndLaterInputs() {
        Node n = new Node(2, new MemoryStorage(), 0);
        n.completeAtOnce = false;
        Entry e = new Entry(1, 1, put("a", "1", 0, 0));
        n.request(new AppendEntries(1, 2, 1, 0, 0, List.of(e), 0));
        n.runtime.process();
        assertThat(n.answered).as("the acknowledgement of an entry not yet on disk").isEmpty();
        assertThat(n.runtime.writing()).isTrue();

        n.request(new AppendEntries(1, 2, 1, 1, 1, List.of(), 1)); // arrives during the write: its answer waits
        n.runtime.process();
        assertThat(n.answered).isEmpty();
        assertThat(n.kv.get("a")).as("committed, but this node's write of the commit index is not durable").isEmpty();

        n.completeWrite();
        n.runtime.process();
        assertThat(n.answered).first().isEqualTo(AppendEntriesResponse.accept(2, 1, 1, 1));
        assertThat(n.storage.load().entries()).containsExactly(e);
        // The held heartbeat ran after it; it commits index 1, a write of the commit index.
        while (!n.pendingTokens.isEmpty()) {
            n.completeWrite();
            n.runtime.process();
        }
        assertThat(n.answered).hasSize(2);
        assertThat(n.kv.get("a")).contains("1");
    }

    @Test
    @DisplayName("etcd's async storage writes: a follower hands out the next write before the last ends; each acknowledgement waits for its own write and every one before it")
    void aFollowerPipelinesWritesAndAcknowledgesEachOnceDurable() {
        Node n = new Node(2, new MemoryStorage(), 0);
        n.completeAtOnce = false;
        Entry e1 = new Entry(1, 1, put("a", "1", 0, 0));
        Entry e2 = new Entry(2, 1, put("b", "2", 0, 0));
        n.request(new AppendEntries(1, 2, 1, 0, 0, List.of(e1), 0));
        n.runtime.process();
        n.request(new AppendEntries(1, 2, 1, 1, 1, List.of(e2), 1));
        n.runtime.process();
        assertThat(n.pendingWrites).as("the second write is handed while the first is in flight").hasSize(2);
        assertThat(n.pendingWrites.get(1).entries()).containsExactly(e2);
        assertThat(n.answered).isEmpty();
        assertThat(n.kv.get("a")).as("committed, but not yet on this node's disk").isEmpty();

        n.completeWrite();
        n.runtime.process();
        assertThat(n.answered).as("only the first entry is on disk").containsExactly(AppendEntriesResponse.accept(2, 1, 1, 1));
        assertThat(n.kv.get("a")).as("committed and on this disk: applied, the write of the commit index still in flight")
                .contains("1");

        n.completeWrite();
        n.runtime.process();
        assertThat(n.answered).containsExactly(AppendEntriesResponse.accept(2, 1, 1, 1), AppendEntriesResponse.accept(2, 1, 1, 2));
        assertThat(n.kv.get("a")).contains("1");
        assertThat(n.storage.load().entries()).containsExactly(e1, e2);
        assertThat(n.runtime.writing()).isFalse();
    }

    @Test
    @DisplayName("thesis §10.2.1 with async writes: the leader commits on its followers' disks alone, and applies once the entry is on its own disk too")
    void aLeaderCommitsOnItsFollowersWhileItsOwnWriteIsInFlight() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        n.completeAtOnce = false;
        List<WriteOutcome<ApplyResult>> outcome = new ArrayList<>();
        n.runtime.propose(put("k", "v", 0, 0), outcome::add);
        n.runtime.process();
        long index = n.runtime.core().lastIndex();
        assertThat(n.sent).as("replication leaves before the leader's own write").isNotEmpty();
        assertThat(n.pendingWrites).hasSize(1);

        n.runtime.step(AppendEntriesResponse.accept(2, 1, term, index));
        n.runtime.process();
        assertThat(n.runtime.core().commitIndex()).as("one follower and a leader whose entry is not on its disk").isLessThan(index);
        n.runtime.step(AppendEntriesResponse.accept(3, 1, term, index));
        n.runtime.process();
        assertThat(n.runtime.core().commitIndex()).as("two followers of three voters").isEqualTo(index);
        assertThat(n.pendingWrites).as("the commit index follows in a second write").hasSize(2);
        assertThat(outcome).as("the entry is not on the leader's own disk yet").isEmpty();

        n.completeWrite();
        n.runtime.process();
        assertThat(outcome).as("on its disk now; the write of the commit index need not end first")
                .hasSize(1).first().isInstanceOf(WriteOutcome.Applied.class);
        assertThat(n.kv.get("k")).contains("v");
        n.completeWrite();
        n.runtime.process();
        assertThat(n.runtime.writing()).isFalse();
    }

    @Test
    @DisplayName("§7 + issue 15: a leader's snapshot that does not decode is refused before it replaces anything")
    void aSnapshotThatDoesNotDecodeIsRefused() {
        Node n = new Node(2, new MemoryStorage(), 0);
        n.request(new AppendEntries(1, 2, 1, 0, 0, List.of(new Entry(1, 1, put("a", "1", 0, 0))), 1));
        n.runtime.process();
        assertThat(n.kv.get("a")).contains("1");

        byte[] garbage = new byte[170];
        new java.util.Random(7).nextBytes(garbage);
        garbage[0] = 3;
        n.request(new InstallSnapshot(1, 2, 1, 100, 1, Configuration.bootstrap(List.of(1, 2, 3)), 0, garbage, true));
        n.runtime.process();

        assertThat(n.refused).hasSize(1);
        assertThat(n.answered.getLast()).isEqualTo(new InstallSnapshotResponse(2, 1, 1, 100, 0, false));
        assertThat(n.storage.load().snapshot()).as("nothing replaced on disk").isEmpty();
        assertThat(n.storage.load().entries()).hasSize(1);
        assertThat(n.kv.get("a")).contains("1");
        assertThat(n.runtime.core().lastIndex()).isEqualTo(1);

        // A good snapshot from the same leader is installed.
        KvStateMachine other = new KvStateMachine();
        other.apply(100, new KvCommand(KvCommand.Op.PUT, "b", "2"));
        n.request(new InstallSnapshot(1, 2, 1, 100, 1, Configuration.bootstrap(List.of(1, 2, 3)), 0, other.snapshot(), true));
        n.runtime.process();
        assertThat(n.kv.get("b")).contains("2");
        assertThat(n.storage.load().snapshot()).map(Snapshot::index).contains(100L);
    }

    /** A leader's state machine at {@code index} holding {@code key} = {@code value}, encoded. */
    private static byte[] leaderState(long index, String key, String value) {
        KvStateMachine leader = new KvStateMachine();
        leader.apply(index, new KvCommand(KvCommand.Op.PUT, key, value));
        return leader.snapshot();
    }

    /** How many bytes of {@code state} one decode reads (as {@link KvStateMachine#validate} does it). */
    private static long oneDecode(byte[] state) {
        CountingSnapshotData data = new CountingSnapshotData(state);
        new KvStateMachine().validate(data);
        return data.bytesRead();
    }

    @Test
    @DisplayName("§7 + issue 14: a leader's snapshot is decoded once, then held as read from its file; the next one releases it")
    void anInstalledSnapshotIsDecodedOnceAndHeldFromItsFile(@TempDir Path dir) {
        try (FileStorage disk = FileStorage.open(dir, new FileStorage.Options(1 << 20, false))) {
            Node n = new Node(2, disk, 0);
            n.request(new AppendEntries(1, 2, 1, 0, 0, List.of(new Entry(1, 1, put("a", "1", 0, 0))), 1));
            n.runtime.process();
            byte[] state = leaderState(100, "b", "2");
            n.request(new InstallSnapshot(1, 2, 1, 100, 1, Configuration.bootstrap(VOTERS), 0, state, true));
            n.runtime.process();

            assertThat(n.answered.getLast()).isEqualTo(new InstallSnapshotResponse(2, 1, 1, 100, state.length, true));
            assertThat(n.kv.get("b")).contains("2");
            assertThat(n.kv.get("a")).isEmpty();
            // Decoded once: validated before the core took it, restored from what that decoded.
            assertThat(n.sm.validated).hasSize(1);
            assertThat(n.sm.restored).hasSize(1).first().isSameAs(n.sm.validated.getFirst());
            assertThat(n.sm.view(n.sm.validated.getFirst()).bytesRead()).as("bytes of the leader's snapshot read")
                    .isEqualTo(oneDecode(state));
            // Held as read from the snapshot file, by the runtime and by the core (which sends it on as leader).
            Snapshot held = n.runtime.heldSnapshot().orElseThrow();
            assertThat(held.index()).isEqualTo(100);
            assertThat(held.data().heapBytes()).as("bytes of the held snapshot on the heap").isZero();
            assertThat(held.data().toByteArray()).isEqualTo(state);
            assertThat(n.runtime.core().latestSnapshot()).get().satisfies(s -> {
                assertThat(s.data()).isSameAs(held.data());
                assertThat(s.configuration()).contains(Configuration.bootstrap(VOTERS));
            });

            // The next snapshot from the leader: held from its file too, and the first one's file let go.
            byte[] next = leaderState(200, "c", "3");
            n.request(new InstallSnapshot(1, 2, 1, 200, 1, Configuration.bootstrap(VOTERS), 0, next, true));
            n.runtime.process();
            assertThat(n.kv.get("c")).contains("3");
            assertThat(n.runtime.heldSnapshot()).get().satisfies(s -> {
                assertThat(s.index()).isEqualTo(200);
                assertThat(s.data().heapBytes()).isZero();
            });
            // Closed on the file closer's thread (the last close of a deleted file frees its blocks, off the loop).
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && readsStill(held)) java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            assertThatThrownBy(() -> held.data().read(0, 1)).as("the released snapshot's file")
                    .isInstanceOf(UncheckedIOException.class);

            // At stop, the snapshot held then lets its file go too.
            Snapshot last = n.runtime.heldSnapshot().orElseThrow();
            n.runtime.stop("node stopped");
            assertThat(n.runtime.heldSnapshot()).isEmpty();
            long stopDeadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < stopDeadline && readsStill(last)) java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            assertThatThrownBy(() -> last.data().read(0, 1)).as("the snapshot held at stop")
                    .isInstanceOf(UncheckedIOException.class);
        }
    }

    @Test
    @DisplayName("issue 14: nodes of different ranks snapshot a large state at different points of the same log")
    void nodesSnapshotALargeStateAtDifferentPointsOfTheLog() {
        // A stored state of ~40 KB at index 100; a snapshot is due after a quarter of it in commands
        // (sizeShare 4), and a sixth of that later again for each rank.
        KvStateMachine big = new KvStateMachine();
        for (int i = 1; i <= 100; i++) big.apply(i, new KvCommand(KvCommand.Op.PUT, "key" + i, "x".repeat(400)));
        byte[] state = big.snapshot();
        SnapshotPolicy bySize = new SnapshotPolicy(1, 1L << 40, 1, 1 << 20, 4);
        Map<Integer, Long> firstSnapshotAt = new java.util.TreeMap<>();
        for (int id : List.of(1, 3)) {
            MemoryStorage storage = new MemoryStorage();
            storage.saveSnapshot(new Snapshot(100, 1, Configuration.bootstrap(VOTERS), state));
            Node n = new Node(id, storage, 0, bySize);
            for (long i = 101; i <= 160; i++) {
                n.request(new AppendEntries(2, id, 1, i - 1, 1, List.of(new Entry(i, 1, put("k" + i, "y".repeat(400), 0, 0))), i));
                n.runtime.process();
                long at = n.runtime.core().latestSnapshot().orElseThrow().index();
                if (at > 100) {
                    firstSnapshotAt.put(id, at);
                    break;
                }
            }
        }
        assertThat(firstSnapshotAt).as("both took one").containsOnlyKeys(1, 3);
        long command = put("k101", "y".repeat(400), 0, 0).length; // every entry's command has this length
        long rank0 = state.length / 4;
        long rank2 = (long) (state.length / 4 * (1 + 1.0 / 3));
        assertThat(firstSnapshotAt.get(1) - 100).as("rank 0: once a quarter of the state was applied")
                .isEqualTo((rank0 + command - 1) / command);
        assertThat(firstSnapshotAt.get(3) - 100).as("rank 2: a third of that later")
                .isEqualTo((rank2 + command - 1) / command);
    }

    @Test
    @DisplayName("§7 + issue 14: the state machine's image is released once its snapshot is written, or failed")
    void theImageOfASnapshotIsReleasedWhenItsWriteEnds() {
        SnapshotPolicy everyThree = new SnapshotPolicy(3, 1L << 40, 1, 1 << 20, 0);
        Node n = new Node(2, new MemoryStorage(), 0, everyThree);
        n.snapshotsFail = true;
        List<Entry> entries = new ArrayList<>();
        for (long i = 1; i <= 4; i++) entries.add(new Entry(i, 1, put("k" + i, "v", 0, 0)));
        n.request(new AppendEntries(1, 2, 1, 0, 0, entries, 4));
        n.runtime.process();
        assertThat(n.sm.images).as("a snapshot was tried after 4 entries").isNotEmpty();
        assertThat(n.sm.images).as("each failed write released its image").allSatisfy(r -> assertThat(r[0]).isTrue());
        assertThat(n.runtime.core().latestSnapshot()).isEmpty();

        n.snapshotsFail = false;
        List<Entry> more = new ArrayList<>();
        for (long i = 5; i <= 8; i++) more.add(new Entry(i, 1, put("k" + i, "v", 0, 0)));
        n.request(new AppendEntries(1, 2, 1, 4, 1, more, 8));
        n.runtime.process();
        assertThat(n.runtime.core().latestSnapshot()).as("a snapshot written").isPresent();
        assertThat(n.sm.images).as("every image released, the written one too").allSatisfy(r -> assertThat(r[0]).isTrue());
    }

    @Test
    @DisplayName("§7 + issue 14: a snapshot validated but not installed (the log holds its last entry) is forgotten at once")
    void aValidatedSnapshotTheCoreDoesNotInstallIsForgotten() {
        Node n = new Node(2, new MemoryStorage(), 0);
        List<Entry> entries = new ArrayList<>();
        for (long i = 1; i <= 5; i++) entries.add(new Entry(i, 1, put("k" + i, "v", 0, 0)));
        n.request(new AppendEntries(1, 2, 1, 0, 0, entries, 0));
        n.runtime.process();
        assertThat(n.kv.appliedIndex()).isZero();

        n.request(new InstallSnapshot(1, 2, 1, 5, 1, Configuration.bootstrap(VOTERS), 0, leaderState(5, "k5", "v"), true));
        n.runtime.process();

        assertThat(n.sm.validated).hasSize(1);
        assertThat(n.sm.restored).as("Raft §7: the log is kept, only the commit index learned").isEmpty();
        assertThat(n.sm.forgotten).isEqualTo(1);
        assertThat(n.kv.appliedIndex()).isEqualTo(5);
        assertThat(n.runtime.core().lastIndex()).isEqualTo(5);
    }

    @Test
    @DisplayName("inbound requests are answered on their own exchange, in order per peer, empty when the core has nothing to say")
    void repliesMatchTheirRequests() {
        Node n = new Node(2, new MemoryStorage(), 0);
        List<Optional<Message>> fromLeader = new ArrayList<>();
        List<Optional<Message>> stale = new ArrayList<>();
        List<Optional<Message>> ignored = new ArrayList<>();
        n.runtime.stepRequest(new AppendEntries(1, 2, 2, 0, 0, List.of(), 0), fromLeader::add);
        n.runtime.stepRequest(new AppendEntries(3, 2, 1, 0, 0, List.of(), 0), stale::add); // an old term's leader
        n.runtime.stepRequest(new AppendEntries(1, 3, 2, 0, 0, List.of(), 0), ignored::add); // for another node
        n.runtime.process();
        assertThat(fromLeader).containsExactly(Optional.of(AppendEntriesResponse.accept(2, 1, 2, 0)));
        assertThat(stale).hasSize(1);
        assertThat(stale.getFirst()).get().satisfies(m -> {
            assertThat(m.to()).isEqualTo(3);
            assertThat(m.term()).as("tells the stale leader the newer term").isEqualTo(2);
        });
        assertThat(ignored).containsExactly(Optional.empty());
    }

    @Test
    @DisplayName("issue 15: the last contact with a leader is its last AppendEntries of the current term")
    void lastLeaderContactIsTheLeadersLastMessage() {
        Node n = new Node(2, new MemoryStorage(), 1_000);
        assertThat(n.runtime.lastLeader()).isEmpty();
        assertThat(n.runtime.lastLeaderContactNs()).as("the start, before any leader").isEqualTo(1_000);

        n.nowNs = 5_000;
        n.request(new AppendEntries(1, 2, 2, 0, 0, List.of(), 0));
        n.runtime.process();
        assertThat(n.runtime.lastLeader()).hasValue(1);
        assertThat(n.runtime.lastLeaderContactNs()).isEqualTo(5_000);

        n.nowNs = 9_000;
        n.request(new AppendEntries(3, 2, 1, 0, 0, List.of(), 0)); // an old term's leader: refused, not a contact
        n.runtime.process();
        assertThat(n.runtime.lastLeader()).hasValue(1);
        assertThat(n.runtime.lastLeaderContactNs()).isEqualTo(5_000);
    }

    // ---------------------------------------------------------------- membership (thesis ch. 4)

    @Test
    @DisplayName("§4.1: a change is answered once its entry applies; the new configuration is reported before any message to the new member")
    void aMembershipChangeIsAnsweredWhenCommitted() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        n.events.clear();
        List<MembershipOutcome> outcome = new ArrayList<>();
        n.runtime.changeMembership(new ConfChange.AddLearner(4, "n4:4"), outcome::add);
        n.runtime.process();
        long index = n.runtime.core().lastIndex();
        for (int i = 0; i < n.runtime.core().config().heartbeatTicks(); i++) {
            n.runtime.tick();
            n.runtime.process();
        }
        assertThat(n.events).as("events").isNotEmpty();
        assertThat(n.events.getFirst()).as("the first event").isInstanceOfSatisfying(Configuration.class,
                c -> assertThat(c.learners()).containsEntry(4, "n4:4"));
        assertThat(n.events).filteredOn(e -> e instanceof Message m && m.to() == 4).as("messages to the learner").isNotEmpty();
        assertThat(outcome).as("not committed yet").isEmpty();

        n.runtime.step(AppendEntriesResponse.accept(2, 1, term, index));
        n.runtime.process();
        assertThat(outcome).hasSize(1).first().isInstanceOfSatisfying(MembershipOutcome.Committed.class, c -> {
            assertThat(c.index()).isEqualTo(index);
            assertThat(c.configuration().learners()).containsOnlyKeys(4);
            assertThat(c.configuration().voters()).containsOnlyKeys(1, 2, 3);
        });

        // Asked again (a joining node restarted): answered at once, nothing appended.
        outcome.clear();
        n.runtime.changeMembership(new ConfChange.AddLearner(4, "n4:4"), outcome::add);
        assertThat(outcome).containsExactly(new MembershipOutcome.Committed(n.runtime.core().configuration(), index));
        assertThat(n.runtime.core().lastIndex()).isEqualTo(index);
        // At another address it is a conflict.
        outcome.clear();
        n.runtime.changeMembership(new ConfChange.AddLearner(4, "elsewhere:4"), outcome::add);
        assertThat(outcome).hasSize(1).first().isInstanceOfSatisfying(MembershipOutcome.Refused.class,
                r -> assertThat(r.reason()).isEqualTo(ConfChangeResult.Reason.ALREADY_MEMBER));
    }

    @Test
    @DisplayName("§4.2.2: a leader that removes itself answers the change as committed, although it steps down as it commits")
    void aLeaderRemovingItselfAnswersCommitted() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        List<MembershipOutcome> outcome = new ArrayList<>();
        n.runtime.changeMembership(new ConfChange.Remove(1), outcome::add);
        n.runtime.process();
        long index = n.runtime.core().lastIndex();
        // In the new configuration {2, 3} node 2's ack is not a majority; node 3's makes it.
        n.runtime.step(AppendEntriesResponse.accept(2, 1, term, index));
        n.runtime.step(AppendEntriesResponse.accept(3, 1, term, index));
        n.runtime.process();
        for (int i = 0; i < 3 && outcome.isEmpty(); i++) {
            n.runtime.tick();
            n.runtime.process();
        }
        assertThat(n.runtime.core().role()).isNotEqualTo(Role.LEADER);
        assertThat(outcome).hasSize(1).first().isInstanceOfSatisfying(MembershipOutcome.Committed.class,
                c -> assertThat(c.configuration().voters()).containsOnlyKeys(2, 3));
    }

    @Test
    @DisplayName("§4.1: refusals come at once - not the leader, unknown member, a change already in flight")
    void membershipRefusals() {
        Node follower = new Node(2, new MemoryStorage(), 0);
        List<MembershipOutcome> outcome = new ArrayList<>();
        follower.runtime.changeMembership(new ConfChange.Remove(3), outcome::add);
        assertThat(outcome).containsExactly(new MembershipOutcome.NotLeader(OptionalInt.empty()));

        Node n = new Node(1, new MemoryStorage(), 0);
        n.becomeLeader();
        outcome.clear();
        n.runtime.changeMembership(new ConfChange.Promote(7), outcome::add);
        assertThat(outcome).hasSize(1).first().isInstanceOfSatisfying(MembershipOutcome.Refused.class,
                r -> assertThat(r.reason()).isEqualTo(ConfChangeResult.Reason.UNKNOWN_MEMBER));
        outcome.clear();
        n.runtime.changeMembership(new ConfChange.Remove(3), outcome::add);
        n.runtime.changeMembership(new ConfChange.Remove(2), outcome::add);
        assertThat(outcome).hasSize(1).first().isInstanceOfSatisfying(MembershipOutcome.Refused.class,
                r -> assertThat(r.reason()).isEqualTo(ConfChangeResult.Reason.CHANGE_IN_PROGRESS));
    }

    @Test
    @DisplayName("§4.1: a change whose leader is deposed, or stops, before it commits is of unknown fate")
    void aChangeLostWithLeadership() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        List<MembershipOutcome> outcome = new ArrayList<>();
        n.runtime.changeMembership(new ConfChange.Remove(3), outcome::add);
        n.runtime.process();
        long index = n.runtime.core().lastIndex();
        // Node 2 leads a newer term and has not got the change: it replaces the entry at that index.
        n.request(new AppendEntries(2, 1, term + 1, index - 1, term, List.of(), index - 1));
        n.runtime.process();
        assertThat(n.runtime.core().role()).isEqualTo(Role.FOLLOWER);
        assertThat(outcome).hasSize(1).first().isInstanceOf(MembershipOutcome.Unknown.class);

        // A change pending when the node stops: of unknown fate too.
        Node m = new Node(1, new MemoryStorage(), 0);
        m.becomeLeader();
        outcome.clear();
        m.runtime.changeMembership(new ConfChange.Remove(3), outcome::add);
        m.runtime.process();
        m.runtime.stop("node stopped");
        assertThat(outcome).hasSize(1).first().isInstanceOfSatisfying(MembershipOutcome.Unknown.class,
                u -> assertThat(u.reason()).isEqualTo("node stopped"));
    }

    // ---------------------------------------------------------------- leadership transfer (thesis §3.10)

    @Test
    @DisplayName("§3.10: a transfer is answered when the node hears from the target as leader of the next term")
    void aTransferIsAnsweredWhenTheTargetLeads() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        long last = n.runtime.core().lastIndex();
        List<TransferOutcome> outcome = new ArrayList<>();
        n.runtime.transferLeadership(OptionalInt.of(2), outcome::add);
        n.runtime.process();
        assertThat(n.sent).as("node 2 acknowledged the whole log").contains(new TimeoutNow(1, 2, term));
        List<WriteOutcome<ApplyResult>> write = new ArrayList<>();
        n.runtime.propose(put("k", "v", 0, 0), write::add);
        assertThat(write).containsExactly(new WriteOutcome.TransferInProgress<>(2));

        n.request(new RequestVote(2, 1, term + 1, last, term, false, true));
        n.runtime.process();
        assertThat(n.runtime.core().role()).isEqualTo(Role.FOLLOWER);
        assertThat(n.answered.getLast()).isEqualTo(new RequestVoteResponse(1, 2, term + 1, true));
        assertThat(outcome).as("no leader heard of yet").isEmpty();

        n.request(new AppendEntries(2, 1, term + 1, last, term, List.of(), last));
        n.runtime.process();
        assertThat(outcome).containsExactly(new TransferOutcome.Transferred(2, term + 1));
    }

    @Test
    @DisplayName("§3.10: a transfer to a silent node fails after an election timeout, and the leader takes writes again")
    void aTransferToASilentNodeFailsAfterAnElectionTimeout() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        List<TransferOutcome> outcome = new ArrayList<>();
        n.runtime.transferLeadership(OptionalInt.of(3), outcome::add);
        n.runtime.process();
        int timeoutTicks = n.runtime.core().config().electionTicksMin();
        for (int i = 0; i < timeoutTicks - 1; i++) {
            n.runtime.tick();
            n.runtime.process();
        }
        assertThat(outcome).isEmpty();
        n.runtime.tick();
        n.runtime.process();
        assertThat(outcome).hasSize(1).first().isInstanceOfSatisfying(TransferOutcome.Failed.class, f -> assertThat(
                f.reason()).contains("node 3 did not take over within the election timeout", "Node 1 leads on"));
        assertThat(n.runtime.core().role()).isEqualTo(Role.LEADER);
        assertThat(n.runtime.core().term()).isEqualTo(term);
        List<WriteOutcome<ApplyResult>> write = new ArrayList<>();
        n.runtime.propose(put("k", "v", 0, 0), write::add);
        assertThat(write).as("proposed: waiting for its commit").isEmpty();
    }

    @Test
    @DisplayName("§3.10: to itself answered at once; unknown ids refused; a follower points at the leader; {} picks the most caught-up voter")
    void transferRefusalsAndTheDefaultTarget() {
        Node n = new Node(1, new MemoryStorage(), 0);
        long term = n.becomeLeader();
        List<TransferOutcome> outcome = new ArrayList<>();
        n.runtime.transferLeadership(OptionalInt.of(1), outcome::add);
        n.runtime.transferLeadership(OptionalInt.of(9), outcome::add);
        assertThat(outcome.get(0)).isEqualTo(new TransferOutcome.Transferred(1, term));
        assertThat(outcome.get(1)).isInstanceOfSatisfying(TransferOutcome.Refused.class, r -> {
            assertThat(r.reason()).isEqualTo(TransferOutcome.Reason.UNKNOWN_NODE);
            assertThat(r.message()).contains("no node 9", "[1, 2, 3]");
        });
        n.runtime.transferLeadership(OptionalInt.empty(), outcome::add);
        n.runtime.process();
        assertThat(n.sent).as("node 2 holds the whole log, node 3 nothing yet").contains(new TimeoutNow(1, 2, term));
        n.runtime.transferLeadership(OptionalInt.of(3), outcome::add);
        assertThat(outcome.getLast()).isInstanceOfSatisfying(TransferOutcome.Refused.class,
                r -> assertThat(r.reason()).isEqualTo(TransferOutcome.Reason.IN_PROGRESS));

        Node follower = new Node(2, new MemoryStorage(), 0);
        follower.request(new AppendEntries(1, 2, 1, 0, 0, List.of(), 0));
        follower.runtime.process();
        List<TransferOutcome> asked = new ArrayList<>();
        follower.runtime.transferLeadership(OptionalInt.empty(), asked::add);
        follower.runtime.transferLeadership(OptionalInt.of(3), asked::add);
        assertThat(asked).containsOnly(new TransferOutcome.NotLeader(OptionalInt.of(1)));
    }

    /** Whether {@code snap}'s data can still be read (its file not closed yet). */
    private static boolean readsStill(io.raftkv.raft.Snapshot snap) {
        try {
            snap.data().read(0, 1);
            return true;
        } catch (UncheckedIOException e) {
            return false;
        }
    }
}
