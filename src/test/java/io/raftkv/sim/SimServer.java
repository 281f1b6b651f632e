package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Message;
import io.raftkv.raft.ProposeResult;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Ready;
import io.raftkv.raft.Role;
import io.raftkv.raft.RoleChange;
import io.raftkv.raft.Snapshot;
import io.raftkv.server.RaftServer;
import io.raftkv.server.ReadOutcome;
import io.raftkv.server.WriteOutcome;
import io.raftkv.storage.RaftStorage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * One life of one node, from a (re)start to a crash: the real {@link RaftNode} and
 * {@link KvStateMachine} driven by the rules of {@link io.raftkv.server.RaftServer}.
 *
 * <p>Like RaftServer's loop thread, the node runs its queued inputs (ticks, peer messages, client
 * proposals and reads), then drains the core's Readies one at a time: snapshot, persist, send,
 * apply, serve reads, advance; then maybe snapshots. The only difference is that persisting takes
 * simulated time (the fsync): the node is busy meanwhile, inputs queue up, and a crash in that
 * window loses the Ready - which is harmless exactly when nothing of it left the node yet.
 */
final class SimServer {
    private record PendingWrite(long term, Consumer<WriteOutcome> done) {}

    private record PendingRead(String key, Consumer<ReadOutcome> done) {}

    final int id;
    final int incarnation;
    private final Simulation sim;
    private final SimConfig cfg;
    final SimStorage storage;
    final RaftNode core;
    final KvStateMachine kv;
    private final SimRequests requests;
    private boolean alive = true;
    /** Stopped (SIGSTOP, a long GC pause, a frozen VM): nothing of this process runs until it resumes. */
    private boolean paused;
    /** What arrived or fell due while paused: socket reads, timers, ticks, the fsync's completion. */
    private final List<Runnable> frozen = new ArrayList<>();

    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private boolean loopScheduled;
    /** A Ready is being persisted (simulated fsync): no loop iteration until it is done. */
    private boolean persisting;

    private final TreeMap<Long, PendingWrite> pendingWrites = new TreeMap<>();
    private final Map<Long, PendingRead> readsAwaitingIndex = new LinkedHashMap<>();
    private final TreeMap<Long, List<PendingRead>> readsAwaitingApply = new TreeMap<>();
    private long nextReadId;
    private long lastSnapshotIndex;
    /** Clock offset of this machine: the leader stamps its own clock on commands (session log time). */
    private final long clockSkewMs;

    SimServer(Simulation sim, int id, int incarnation, SimStorage storage, long clockSkewMs) {
        this.sim = sim;
        this.cfg = sim.config();
        this.id = id;
        this.incarnation = incarnation;
        this.storage = storage;
        this.clockSkewMs = clockSkewMs;
        this.requests = new SimRequests(sim, this);
        this.kv = new KvStateMachine(cfg.sessionTtlMs(), cfg.maxSessions());
        // Recovery as RaftServer does it: the snapshot into the state machine, the log after it re-applied by the core.
        RaftStorage.Stored stored = storage.load();
        stored.snapshot().ifPresent(snap -> kv.restore(snap.data()));
        this.lastSnapshotIndex = stored.snapshot().map(Snapshot::index).orElse(0L);
        List<Integer> voters = IntStream.rangeClosed(1, cfg.nodes()).boxed().toList();
        // RaftServer's configuration (checkQuorum and preVote on); the seed instead of System.nanoTime().
        RaftConfig rc = new RaftConfig(id, voters, SimConfig.ELECTION_MIN_TICKS, SimConfig.ELECTION_MAX_TICKS,
                SimConfig.HEARTBEAT_TICKS, cfg.maxEntriesPerAppend(), cfg.maxInflightAppends(),
                cfg.seed() * 31 + incarnation * 1_000_003L + id, SimConfig.TICK_MS,
                RaftConfig.DEFAULT_MAX_BYTES_PER_APPEND, cfg.snapshotChunkBytes(), true, true);
        this.core = new RaftNode(rc, stored.hardState(), stored.snapshot(), stored.entries());
        if (cfg.has(PlantedBug.COMMIT_OLD_TERM_BY_COUNTING)) io.raftkv.raft.PlantedBugs.commitOldTermEntriesByCounting(core);
    }

    boolean alive() {
        return alive;
    }

    /** The machine's clock, as RaftServer's System.currentTimeMillis(). */
    long wallClockMs() {
        return sim.scheduler().nowMs() + clockSkewMs;
    }

    /** Starts the ticker: one tick every {@link SimConfig#TICK_MS}, first after {@code phaseMs}. */
    void start(long phaseMs) {
        sim.scheduler().after(phaseMs, this::tickerFired);
    }

    private void tickerFired() {
        if (!alive) return;
        // A fixed-rate ScheduledExecutor: ticks missed during a pause all fire when it ends.
        onProcess(() -> submit(core::tick));
        sim.scheduler().after(SimConfig.TICK_MS, this::tickerFired);
    }

    /** Runs {@code work} in this process: now, or when it resumes if paused; never after a crash. */
    void onProcess(Runnable work) {
        if (!alive) return;
        if (paused) frozen.add(work);
        else work.run();
    }

    /** {@code work} in this process after {@code delayMs} (a timer of its own). */
    void later(long delayMs, Runnable work) {
        sim.scheduler().after(delayMs, () -> onProcess(work));
    }

    /** Power off: memory, queued work and a Ready being persisted are gone; the storage stays. */
    void crash() {
        alive = false;
        queue.clear();
        frozen.clear();
        requests.crashed();
    }

    void pause() {
        paused = true;
    }

    boolean paused() {
        return paused;
    }

    /**
     * The process runs again. Its threads wake together, so what piled up - peer messages, client
     * requests, timers, the missed ticks - is handled in an arbitrary order.
     */
    void resume() {
        if (!alive || !paused) return;
        paused = false;
        List<Runnable> work = new ArrayList<>(frozen);
        frozen.clear();
        java.util.Collections.shuffle(work, sim.random());
        for (Runnable r : work) onProcess(r);
    }

    // ---------------------------------------------------------------- inputs

    void receive(Message m) {
        onProcess(() -> submit(() -> core.step(m)));
    }

    /** A client request arrives (handled by the HTTP layer, which hands work to the loop). */
    void accept(Rpc rpc) {
        onProcess(() -> requests.handle(rpc));
    }

    /** RaftServer.propose: the leader stamps its clock on the command and remembers the index. */
    void propose(KvCommand cmd, Consumer<WriteOutcome> done) {
        submit(() -> {
            switch (core.propose(cmd.withTimestamp(wallClockMs()).encode())) {
                case ProposeResult.Accepted a -> {
                    sim.trace("node %d proposes %s at %d@%d", id, cmd.op().label() + " " + cmd.key() + "=" + cmd.value(),
                            a.index(), a.term());
                    pendingWrites.put(a.index(), new PendingWrite(a.term(), done));
                }
                case ProposeResult.NotLeader n -> done.accept(new WriteOutcome.NotLeader(n.leaderHint()));
            }
        });
    }

    /** RaftServer.read: a linearizable read through ReadIndex (thesis §6.4). */
    void read(String key, Consumer<ReadOutcome> done) {
        submit(() -> {
            if (cfg.has(PlantedBug.LOCAL_READS)) {
                // The bug: a leader that has committed in its term trusts that it still leads and
                // serves from its own state, without a heartbeat round confirming it.
                if (core.role() == Role.LEADER && core.committedInCurrentTerm()) {
                    readsAwaitingApply.computeIfAbsent(core.commitIndex(), i -> new ArrayList<>())
                            .add(new PendingRead(key, done));
                    serveAppliedReads();
                } else {
                    done.accept(new ReadOutcome.NotLeader(core.leaderId()));
                }
                return;
            }
            long readId = ++nextReadId;
            readsAwaitingIndex.put(readId, new PendingRead(key, done));
            core.readIndex(readId);
        });
    }

    private void submit(Runnable task) {
        if (!alive) return;
        queue.add(task);
        scheduleLoop();
    }

    // ---------------------------------------------------------------- the loop

    private void scheduleLoop() {
        if (loopScheduled || persisting) return;
        loopScheduled = true;
        later(0, this::loopIteration);
    }

    private void loopIteration() {
        loopScheduled = false;
        if (!alive || persisting) return;
        while (!queue.isEmpty()) queue.poll().run();
        drainReadies();
    }

    /** {@code while (core.hasReady()) handleReady(core.ready())}, with the fsync taking simulated time. */
    private void drainReadies() {
        while (alive && core.hasReady()) {
            Ready rd = core.ready();
            boolean io = rd.hardState().isPresent() || !rd.entries().isEmpty() || rd.snapshot().isPresent();
            List<Message> afterPersist = rd.messages();
            if (cfg.has(PlantedBug.SEND_BEFORE_PERSIST)) {
                send(rd.messages()); // the bug: every message leaves first
                afterPersist = List.of();
            } else if (io) {
                // RaftServer's order: a leader's AppendEntries leave before its own write (§10.2.1).
                afterPersist = new ArrayList<>();
                List<Message> early = new ArrayList<>();
                for (Message m : rd.messages()) {
                    (RaftServer.mayLeaveBeforePersist(m, storage.hardState().term()) ? early : afterPersist).add(m);
                }
                send(early);
            }
            final List<Message> rest = afterPersist;
            long fsyncMs = io && cfg.maxFsyncMs() > 0 ? sim.random().nextInt(cfg.maxFsyncMs() + 1) : 0;
            if (fsyncMs == 0) {
                handleReady(rd, rest);
                continue;
            }
            persisting = true;
            if (sim.faultsActive() && sim.random().nextDouble() < cfg.crashInFsyncRate()) {
                // Power loss while the write is in flight: scheduled before its completion, so it wins.
                long at = sim.random().nextInt((int) fsyncMs);
                sim.scheduler().after(at, () -> sim.crash(id, incarnation, "crash during fsync"));
            }
            later(fsyncMs, () -> {
                persisting = false;
                handleReady(rd, rest);
                drainReadies();
            });
            return;
        }
        if (!alive) return;
        maybeSnapshot();
        if (!queue.isEmpty()) scheduleLoop();
    }

    /** RaftServer.handleReady, with the simulation's checks at each step. */
    private void handleReady(Ready rd, List<Message> afterPersist) {
        // 0. A snapshot from the leader replaces the log and the state machine (Raft §7).
        rd.snapshot().ifPresent(snap -> {
            storage.installSnapshot(snap);
            kv.restore(snap.data());
            lastSnapshotIndex = snap.index();
            sim.invariants().onSnapshotInstalled(id, core.term(), snap);
            sim.trace("node %d installs %s", id, snap);
            sim.count("snapshots installed from the leader");
            // Writes proposed here at or below the snapshot may or may not be in it.
            var covered = pendingWrites.headMap(snap.index(), true);
            covered.values().forEach(p -> p.done().accept(new WriteOutcome.Unknown("replaced by a snapshot")));
            covered.clear();
        });
        // 1. Persist before anything that depends on it leaves this node (Raft Figure 2).
        if (rd.hardState().isPresent() || !rd.entries().isEmpty()) {
            HardState before = storage.hardState();
            sim.invariants().beforePersist(id, storage, rd);
            storage.persist(rd.hardState().orElse(null), rd.entries());
            sim.invariants().afterPersist(id, core.term(), before, storage, rd, sim.storages());
            if (core.role() == Role.LEADER && storage.hardState().commit() > before.commit() && sim.faultsActive()
                    && sim.random().nextDouble() < cfg.crashAfterCommitRate()) {
                // Crash point: the leader's new commit index is on its disk, nothing of it has left.
                sim.crash(id, incarnation, "crash after persisting commit " + storage.hardState().commit()
                        + ", before sending");
                return;
            }
        }
        // 2. Send.
        send(afterPersist);
        for (RoleChange rc : rd.roleChanges()) {
            sim.trace("node %d: %s", id, rc);
            if (rc.to() == Role.LEADER) {
                sim.count("elections won");
                sim.invariants().onLeader(id, rc.term(), core);
                if (sim.faultsActive() && sim.random().nextDouble() < cfg.crashNewLeaderRate()) {
                    long at = sim.random().nextInt(8 * cfg.maxDelayMs() + 1);
                    sim.scheduler().after(at, () -> sim.crash(id, incarnation, "crash soon after winning term "
                            + rc.term()));
                }
            }
            if (rc.from() == Role.LEADER) abandonPendingWrites("lost leadership in term " + rc.term());
        }
        // 3. Apply committed entries in order and answer the clients waiting on them.
        for (Entry e : rd.committed()) apply(e);
        takeReadStates(rd.readStates());
        serveAppliedReads();
        // 4. Tell the core it all happened.
        core.advance(rd);
    }

    private void send(List<Message> messages) {
        for (Message m : messages) {
            if (cfg.checkSendContract()) Invariants.checkPersistedBeforeSend(id, storage, m);
            sim.network().send(m);
        }
    }

    private void apply(Entry e) {
        ApplyResult result = null;
        KvCommand cmd = null;
        if (e.isNoop()) {
            kv.skip(e.index());
        } else {
            cmd = KvCommand.decode(e.data());
            result = kv.apply(e.index(), cmd);
        }
        if (e.index() > storage.hardState().commit())
            throw new AssertionError("node " + id + " applies " + e + " beyond its persisted commit " + storage.hardState());
        sim.invariants().onApply(id, e, cmd, result);
        if (result != null && !(result instanceof ApplyResult.Applied)) {
            sim.count("applied as " + result.getClass().getSimpleName());
        }
        PendingWrite p = pendingWrites.remove(e.index());
        if (p != null) {
            p.done().accept(p.term() == e.term() && result != null
                    ? new WriteOutcome.Applied(e.index(), e.term(), result)
                    : new WriteOutcome.Superseded(e.index()));
        }
    }

    /** RaftServer.maybeSnapshot with the simulation's policy (by entries; the byte threshold never trips here). */
    private void maybeSnapshot() {
        long applied = core.appliedIndex();
        if (applied - lastSnapshotIndex < cfg.snapshotEveryEntries()) return;
        if (applied <= lastSnapshotIndex) return;
        Snapshot snap = new Snapshot(applied, core.termAt(applied), kv.snapshot());
        storage.saveSnapshot(snap);
        core.compact(snap, Math.max(0, applied - cfg.snapshotKeepEntries()));
        lastSnapshotIndex = applied;
        sim.trace("node %d snapshots at %d", id, applied);
        sim.count("snapshots taken");
    }

    private void abandonPendingWrites(String reason) {
        pendingWrites.values().forEach(p -> p.done().accept(new WriteOutcome.Unknown(reason)));
        pendingWrites.clear();
    }

    private void takeReadStates(List<ReadState> states) {
        for (ReadState rs : states) {
            PendingRead r = readsAwaitingIndex.remove(rs.requestId());
            if (r == null) continue;
            if (rs.ok()) {
                sim.count("reads confirmed by ReadIndex");
                readsAwaitingApply.computeIfAbsent(rs.index(), i -> new ArrayList<>()).add(r);
            } else {
                r.done().accept(new ReadOutcome.NotLeader(core.leaderId()));
            }
        }
    }

    private void serveAppliedReads() {
        while (!readsAwaitingApply.isEmpty() && readsAwaitingApply.firstKey() <= kv.appliedIndex()) {
            for (PendingRead r : readsAwaitingApply.pollFirstEntry().getValue()) {
                r.done().accept(new ReadOutcome.Value(kv.get(r.key()), kv.appliedIndex()));
            }
        }
    }

    /** Whether this node is idle: nothing queued, nothing being persisted, no Ready pending. */
    boolean quiescent() {
        return !persisting && queue.isEmpty() && !core.hasReady();
    }

    @Override
    public String toString() {
        return core + (persisting ? " (persisting)" : "") + " kv@" + kv.appliedIndex() + " disk: " + storage.hardState()
                + " last=" + storage.lastIndex() + " snap=" + storage.baseIndex();
    }
}
