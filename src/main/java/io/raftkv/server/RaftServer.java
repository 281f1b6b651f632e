package io.raftkv.server;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import io.raftkv.raft.FollowerProgress;
import io.raftkv.raft.Message;
import io.raftkv.raft.ProposeResult;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Ready;
import io.raftkv.raft.Role;
import io.raftkv.raft.RoleChange;
import io.raftkv.storage.RaftStorage;
import io.raftkv.transport.HostPort;
import io.raftkv.transport.MessageCodec;
import io.raftkv.transport.PeerTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One raftkv node. One thread does everything on the hot path: it is the node's only Netty event
 * loop (client and peer connections, both ways) and it owns the {@link RaftNode}, the state
 * machine and every table below. HTTP handlers, peer answers and the tick hand it work through
 * {@link #submit(Runnable)}, which from that same thread costs a queue insert and no wake-up; after
 * the work that came in together, one drain handles the core's {@link Ready}s: persist, send,
 * apply, advance. So a request crosses no thread inside a node, and proposals that arrive
 * together share one log write (group commit). Only snapshot writing runs on a thread of its own.
 */
public final class RaftServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftServer.class);

    private final NodeConfig config;
    private final RaftStorage storage;
    private final RaftNode core;
    private final KvStateMachine kv;
    private final EventLoopGroup ioGroup;
    private final PeerTransport transport;
    private final HttpApi http;
    /** The node's thread: its only event loop, running the core too. */
    private final EventLoop loop;
    /** A drain of the core's Readies is queued on the loop (loop thread). */
    private boolean drainScheduled;
    private final Consumer<Throwable> fatalHandler;

    // Owned by the loop thread.
    private final TreeMap<Long, PendingWrite> pendingWrites = new TreeMap<>();
    /** Linearizable reads: waiting for their ReadIndex round, then for the apply of its index. */
    private final Map<Long, PendingRead> readsAwaitingIndex = new HashMap<>();
    private final TreeMap<Long, List<PendingRead>> readsAwaitingApply = new TreeMap<>();
    private long nextReadId;
    private final Map<Long, ArrayDeque<RpcReply>> pendingRpcs = new HashMap<>();

    private volatile boolean running = true;
    private volatile boolean closed;
    /** Index of the newest snapshot and command bytes applied since it (loop thread). */
    private long lastSnapshotIndex;
    private long bytesSinceSnapshot;
    private boolean snapshotInFlight;
    /** Encodes and writes snapshots off the loop thread. */
    private final java.util.concurrent.ExecutorService snapshotWriter;
    /** The term of the hard state on disk (loop thread). */
    private long persistedTerm;
    /** Fault injection for tests: peers for which this is false are unreachable both ways. */
    private volatile java.util.function.IntPredicate peerReachable = id -> true;
    private volatile StatusSnapshot lastStatus;

    private record PendingWrite(long term, CompletableFuture<WriteOutcome> future) {}

    private record PendingRead(String key, CompletableFuture<ReadOutcome> future) {}

    /** Starts a node: binds its HTTP port (throws if taken) and starts the loop. */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler)
            throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler);
    }

    private RaftServer(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler)
            throws InterruptedException {
        this.config = config;
        this.storage = storage;
        this.fatalHandler = fatalHandler;
        this.kv = new KvStateMachine(config.sessionTtlMs(), KvStateMachine.DEFAULT_MAX_SESSIONS, config.maxValueBytes());
        long loadStartNs = System.nanoTime();
        RaftStorage.Stored stored = storage.load();
        // Recovery: the latest snapshot into the state machine; the log after it is re-applied by the core.
        stored.snapshot().ifPresent(snap -> kv.restore(snap.data()));
        this.lastSnapshotIndex = stored.snapshot().map(io.raftkv.raft.Snapshot::index).orElse(0L);
        List<Integer> voters = new ArrayList<>(config.members().keySet());
        RaftConfig rc = new RaftConfig(config.id(), voters, config.electionMinMs() / config.tickMs(),
                config.electionMaxMs() / config.tickMs(), Math.max(1, config.heartbeatMs() / config.tickMs()),
                512, 256, System.nanoTime() ^ ((long) config.id() << 32), config.tickMs(),
                RaftConfig.DEFAULT_MAX_BYTES_PER_APPEND, config.snapshots().chunkBytes(), true, true);
        this.core = new RaftNode(rc, stored.hardState(), stored.snapshot(), stored.entries());
        this.persistedTerm = stored.hardState().term();
        LOG.info("node {} loaded {} in {} ms: snapshot at index {} with {} keys, {} log entries after it, term {}",
                config.id(), storage.getClass().getSimpleName(), (System.nanoTime() - loadStartNs) / 1_000_000,
                lastSnapshotIndex, kv.size(), stored.entries().size(), stored.hardState().term());
        this.ioGroup = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("raft-node-" + config.id()),
                NioIoHandler.newFactory());
        this.loop = ioGroup.next();
        this.transport = new PeerTransport(config.peers(), config.bindAddress(), ioGroup, m -> {
            if (peerReachable.test(m.from())) submit(() -> core.step(m));
        }, 64 * 1024 * 1024);
        this.lastStatus = snapshotStatus();
        this.snapshotWriter = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("raft-snapshot-" + config.id()).unstarted(r));
        try {
            this.http = new HttpApi(this, ioGroup);
            http.bind(config.bindAddress(), config.self().port());
        } catch (RuntimeException | InterruptedException e) {
            ioGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        loop.scheduleAtFixedRate(() -> submit(core::tick), config.tickMs(), config.tickMs(), TimeUnit.MILLISECONDS);
        LOG.info("node {} listening on {} ({}) with peers {}", config.id(), config.self(),
                config.bindAddress().map(a -> "bound to " + a).orElse("all interfaces"), config.peers());
    }

    public NodeConfig config() {
        return config;
    }

    /** Runs {@code task} on the loop thread, then drains the core's Readies (once for all tasks queued together). */
    public void submit(Runnable task) {
        if (running) loop.execute(() -> runTask(task));
    }

    private void runTask(Runnable task) {
        if (!running) return;
        try {
            task.run();
        } catch (Throwable t) {
            fatal(t);
            return;
        }
        if (!drainScheduled) {
            // Queued behind the tasks already waiting, so everything that came in together is in one Ready.
            drainScheduled = true;
            loop.execute(this::drain);
        }
    }

    // ---------------------------------------------------------------- API used by the HTTP layer

    public CompletableFuture<WriteOutcome> propose(KvCommand cmd) {
        CompletableFuture<WriteOutcome> f = new CompletableFuture<>();
        submit(() -> {
            // The leader stamps its clock on the command: the "log time" client sessions expire by.
            switch (core.propose(cmd.withTimestamp(System.currentTimeMillis()).encode())) {
                case ProposeResult.Accepted a -> pendingWrites.put(a.index(), new PendingWrite(a.term(), f));
                case ProposeResult.NotLeader n -> f.complete(new WriteOutcome.NotLeader(n.leaderHint()));
            }
        });
        return f;
    }

    /** A linearizable read through ReadIndex (thesis §6.4). */
    public CompletableFuture<ReadOutcome> read(String key) {
        CompletableFuture<ReadOutcome> f = new CompletableFuture<>();
        submit(() -> {
            long id = ++nextReadId;
            readsAwaitingIndex.put(id, new PendingRead(key, f));
            core.readIndex(id);
        });
        return f;
    }

    /** A read of this node's applied state, which may lag the leader: no guarantee but speed. */
    public CompletableFuture<ReadOutcome> readStale(String key) {
        CompletableFuture<ReadOutcome> f = new CompletableFuture<>();
        submit(() -> f.complete(new ReadOutcome.Value(kv.get(key), kv.appliedIndex())));
        return f;
    }

    /** An inbound peer request; {@code reply} gets the core's answer after it is persisted. */
    public void deliverRpc(Message request, RpcReply reply) {
        submit(() -> {
            pendingRpcs.computeIfAbsent(rpcKey(request.from(), request), k -> new ArrayDeque<>()).addLast(reply);
            core.step(request);
        });
    }

    /**
     * Cuts this node off from the peers for which {@code reachable} is false: messages to them are
     * dropped, their requests and answers are refused, and client requests are not forwarded to
     * them. For partition tests; a real partition does the same to every message.
     */
    public void setPeerReachable(java.util.function.IntPredicate reachable) {
        this.peerReachable = reachable;
    }

    public boolean isPeerReachable(int id) {
        return peerReachable.test(id);
    }

    /** Latest status, refreshed by the loop after every iteration (never blocks). */
    public StatusSnapshot status() {
        return lastStatus;
    }

    public OptionalInt leaderId() {
        StatusSnapshot s = lastStatus;
        return s.leaderId() < 0 ? OptionalInt.empty() : OptionalInt.of(s.leaderId());
    }

    public Optional<HostPort> addressOf(int id) {
        return Optional.ofNullable(config.members().get(id));
    }

    // ---------------------------------------------------------------- the loop

    private void drain() {
        drainScheduled = false;
        if (!running) return;
        try {
            while (core.hasReady()) handleReady(core.ready());
            maybeSnapshot();
            answerUnansweredRpcs();
            lastStatus = snapshotStatus();
        } catch (Throwable t) {
            fatal(t);
        }
    }

    /** A broken invariant or a storage failure: stop this node rather than go on wrong. */
    private void fatal(Throwable t) {
        if (!running) return;
        LOG.error("node {} stopping on fatal error", config.id(), t);
        running = false;
        fatalHandler.accept(t);
    }

    private void handleReady(Ready rd) {
        // 0. A snapshot from the leader replaces the log and the state machine (Raft §7).
        rd.snapshot().ifPresent(snap -> {
            storage.installSnapshot(snap);
            kv.restore(snap.data());
            lastSnapshotIndex = snap.index();
            bytesSinceSnapshot = 0;
            LOG.info("node {}: installed snapshot at index {} (term {}, {} bytes, {} keys) from the leader",
                    config.id(), snap.index(), snap.term(), snap.data().length, kv.size());
            // Writes proposed here at or below the snapshot may or may not be in it.
            pendingWrites.headMap(snap.index(), true).values().forEach(p -> p.future().complete(
                    new WriteOutcome.Unknown("node " + config.id() + " was replaced by a snapshot from the leader")));
            pendingWrites.headMap(snap.index(), true).clear();
        });
        // 1. The leader's AppendEntries leave before its own disk write, so that the followers'
        //    writes run in parallel with it (thesis §10.2.1): the leader counts itself towards a
        //    commit only for entries on its disk (stableIndex), so this promises nothing early.
        //    Everything else waits for the write below.
        List<Message> afterPersist = rd.messages();
        boolean io = rd.hardState().isPresent() || !rd.entries().isEmpty();
        if (io) {
            afterPersist = new ArrayList<>(rd.messages().size());
            for (Message m : rd.messages()) {
                if (mayLeaveBeforePersist(m, persistedTerm)) dispatch(m);
                else afterPersist.add(m);
            }
            // 2. Persist before anything that depends on it leaves this node (Raft Figure 2).
            storage.persist(rd.hardState().orElse(null), rd.entries());
            rd.hardState().ifPresent(hs -> persistedTerm = hs.term());
        }
        // 3. Send: answers go back on the HTTP request they answer, requests to the transport.
        for (Message m : afterPersist) dispatch(m);
        for (RoleChange rc : rd.roleChanges()) {
            LOG.info("node {}: {}", config.id(), rc);
            if (rc.from() == Role.LEADER) abandonPendingWrites("node " + config.id() + " lost leadership in term "
                    + rc.term() + " before the write committed");
        }
        // 4. Apply committed entries in order and answer the clients waiting on them.
        for (Entry e : rd.committed()) apply(e);
        takeReadStates(rd.readStates());
        serveAppliedReads();
        // 5. Tell the core it all happened.
        core.advance(rd);
    }

    /**
     * Whether {@code m} may be sent before the Ready it came in is on disk: a leader's
     * AppendEntries or InstallSnapshot of a term already durable. Votes, vote requests (the
     * candidate's own vote must be durable first) and acknowledgements must wait.
     */
    public static boolean mayLeaveBeforePersist(Message m, long persistedTerm) {
        return (m instanceof Message.AppendEntries || m instanceof Message.InstallSnapshot)
                && m.term() <= persistedTerm;
    }

    private void dispatch(Message m) {
        if (MessageCodec.isResponse(m)) {
            ArrayDeque<RpcReply> q = pendingRpcs.get(rpcKey(m.to(), m));
            RpcReply reply = q == null ? null : q.pollFirst();
            if (reply != null) reply.send(Optional.of(m));
        } else if (peerReachable.test(m.to())) {
            transport.send(m);
        }
    }

    private void apply(Entry e) {
        io.raftkv.kv.ApplyResult result = null;
        if (e.isNoop()) {
            kv.skip(e.index());
        } else {
            result = kv.apply(e.index(), KvCommand.decode(e.data()));
            bytesSinceSnapshot += e.data().length;
        }
        PendingWrite p = pendingWrites.remove(e.index());
        if (p != null) {
            p.future().complete(p.term() == e.term() && result != null
                    ? new WriteOutcome.Applied(e.index(), e.term(), result)
                    : new WriteOutcome.Superseded(e.index()));
        }
    }

    /**
     * Raft §7: once enough was applied since the last snapshot, snapshot the state machine,
     * persist it, and let storage and the core drop the log it covers (keeping a short tail).
     * Only the copy of the state happens on the loop thread; encoding and writing the file run on
     * the snapshot thread, and {@link #finishSnapshot} compacts back on the loop. One at a time.
     */
    private void maybeSnapshot() {
        if (snapshotInFlight) return;
        long applied = core.appliedIndex();
        NodeConfig.SnapshotPolicy policy = config.snapshots();
        if (applied - lastSnapshotIndex < policy.everyEntries() && bytesSinceSnapshot < policy.everyBytes()) return;
        if (applied <= lastSnapshotIndex) return;
        long startNs = System.nanoTime();
        long term = core.termAt(applied);
        KvStateMachine.Image image = kv.capture();
        long captureUs = (System.nanoTime() - startNs) / 1000;
        int keys = kv.size();
        snapshotInFlight = true;
        lastSnapshotIndex = applied;
        bytesSinceSnapshot = 0;
        snapshotWriter.execute(() -> {
            try {
                io.raftkv.raft.Snapshot snap = new io.raftkv.raft.Snapshot(applied, term, image.encode());
                long size = storage.writeSnapshot(snap);
                submit(() -> finishSnapshot(snap, size, keys, startNs, captureUs));
            } catch (RuntimeException e) {
                submit(() -> {
                    throw e; // the loop stops the node, as for any storage failure
                });
            }
        });
    }

    private void finishSnapshot(io.raftkv.raft.Snapshot snap, long sizeBytes, int keys, long startNs, long captureUs) {
        snapshotInFlight = false;
        storage.snapshotWritten(snap, sizeBytes);
        if (snap.index() < lastSnapshotIndex) return; // a newer snapshot came from the leader meanwhile
        core.compact(snap, Math.max(0, snap.index() - config.snapshots().keepEntries()));
        LOG.info("node {}: snapshot at index {} ({} keys, {} bytes) in {} ms ({} us on the loop); log now starts at {}",
                config.id(), snap.index(), keys, sizeBytes, (System.nanoTime() - startNs) / 1_000_000, captureUs,
                core.firstIndex());
    }

    private void abandonPendingWrites(String reason) {
        pendingWrites.values().forEach(p -> p.future().complete(new WriteOutcome.Unknown(reason)));
        pendingWrites.clear();
    }

    /** ReadIndex answers: a confirmed read waits for its index to be applied, a refused one goes elsewhere. */
    private void takeReadStates(List<ReadState> states) {
        for (ReadState rs : states) {
            PendingRead r = readsAwaitingIndex.remove(rs.requestId());
            if (r == null) continue;
            if (rs.ok()) {
                readsAwaitingApply.computeIfAbsent(rs.index(), i -> new ArrayList<>()).add(r);
            } else {
                r.future().complete(new ReadOutcome.NotLeader(core.leaderId()));
            }
        }
    }

    private void serveAppliedReads() {
        while (!readsAwaitingApply.isEmpty() && readsAwaitingApply.firstKey() <= kv.appliedIndex()) {
            for (PendingRead r : readsAwaitingApply.pollFirstEntry().getValue()) {
                r.future().complete(new ReadOutcome.Value(kv.get(r.key()), kv.appliedIndex()));
            }
        }
    }

    private void answerUnansweredRpcs() {
        for (ArrayDeque<RpcReply> q : pendingRpcs.values()) {
            RpcReply r;
            while ((r = q.pollFirst()) != null) r.send(Optional.empty());
        }
    }

    private static long rpcKey(int peer, Message m) {
        int kind = switch (MessageCodec.path(m)) {
            case "/requestVote" -> 1;
            case "/installSnapshot" -> 2;
            default -> 0;
        };
        return peer * 4L + kind;
    }

    private StatusSnapshot snapshotStatus() {
        int leader = core.leaderId().orElse(-1);
        List<FollowerProgress> followers = core.role() == Role.LEADER ? core.followerProgress() : List.of();
        return new StatusSnapshot(config.id(), config.self().toString(), core.role().label(), core.term(), leader,
                leader < 0 ? null : config.members().get(leader).toString(), core.votedFor(), core.commitIndex(),
                core.appliedIndex(), core.lastIndex(), core.lastTerm(), kv.size(), followers,
                ProcessHandle.current().pid(), config.members(), core.firstIndex(), storage.stats());
    }

    // ---------------------------------------------------------------- shutdown

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        running = false;
        // No interrupt: the task running now (a WAL write or fsync, say) finishes, and every task
        // after it sees running == false. An interrupt during a write closes the FileChannel
        // (ClosedByInterruptException): a storage failure and a torn record at every stop.
        if (!loop.inEventLoop()) loop.submit(() -> { }).awaitUninterruptibly(5, TimeUnit.SECONDS);
        snapshotWriter.shutdown();
        try {
            if (!snapshotWriter.awaitTermination(30, TimeUnit.SECONDS)) LOG.warn("node {}: snapshot still being written at stop", config.id());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        http.close();
        transport.close();
        ioGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        storage.close();
        pendingWrites.values().forEach(p -> p.future().complete(new WriteOutcome.Unknown("node stopped")));
        LOG.info("node {} stopped", config.id());
    }

    /** Whether the loop is still running (false after close or a fatal error). */
    public boolean isRunning() {
        return running;
    }
}
