package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.node.NodeRuntime;
import io.raftkv.node.Persister;
import io.raftkv.node.ReadOutcome;
import io.raftkv.node.RuntimeListener;
import io.raftkv.node.SnapshotPolicy;
import io.raftkv.node.StateMachine;
import io.raftkv.node.WriteOutcome;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Role;
import io.raftkv.raft.RoleChange;
import io.raftkv.raft.Snapshot;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * One life of one node, from a (re)start to a crash: the production {@link NodeRuntime} (the real
 * {@link RaftNode} and {@link KvStateMachine}) driven by a simulated process. This class simulates
 * the environment, never the node (Kafka's {@code RaftEventSimulationTest}): a process that runs
 * its queued inputs then lets the runtime process them, as RaftServer's event loop does; a disk
 * whose writes take simulated time and are lost by a crash before they complete; snapshot files
 * written in the background; peers reached through the simulated network, each inbound request
 * answered on its own exchange.
 */
final class SimServer {
    final int id;
    final int incarnation;
    private final Simulation sim;
    private final SimConfig cfg;
    /** What the runtime was told is durable, read by the invariants (a mirror of FileStorage on file seeds). */
    final SimStorage storage;
    /** Where writes go: the SimStorage, or on file seeds FileStorage then the mirror. */
    private final io.raftkv.storage.RaftStorage writes;
    /** The FileStorage disk on file seeds, null otherwise. */
    private final SimDisk disk;
    /**
     * The Ready writes in flight, oldest first, each with what waits for it (a log release); the
     * oldest is the one on its way to the disk (a crash may catch it half-done), and the snapshot
     * file in flight.
     */
    private final ArrayDeque<PendingDiskWrite> writesInFlight = new ArrayDeque<>();
    private Snapshot snapshotInFlight;
    /** When the newest write in flight ends (simulated ms): a disk writes in order, one after another. */
    private long lastWriteEndsMs;

    private record PendingDiskWrite(long token, Persister.Write write, List<Runnable> after) {}
    final NodeRuntime<ApplyResult> runtime;
    final RaftNode core;
    final KvStateMachine kv;
    private final SimRequests requests;
    private boolean alive = true;
    /** Stopped (SIGSTOP, a long GC pause, a frozen VM): nothing of this process runs until it resumes. */
    private boolean paused;
    /** What arrived or fell due while paused: socket reads, timers, ticks, the fsync's completion. */
    private final List<Runnable> frozen = new ArrayList<>();

    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    /** The servers the runtime told this node's transport to reach (RuntimeListener#peersChanged). */
    private java.util.Set<Integer> peers;
    private boolean loopScheduled;
    /** Index of the last snapshot this node started (for the coverage counters). */
    private long lastSnapshotTaken;
    /** Offset of this machine's monotonic clock: hours apart between machines, and it must not matter. */
    private final long clockOffsetMs;

    SimServer(Simulation sim, int id, int incarnation, SimStorage storage, SimDisk disk, long clockOffsetMs) {
        this.sim = sim;
        this.cfg = sim.config();
        this.id = id;
        this.incarnation = incarnation;
        this.storage = storage;
        this.disk = disk;
        this.writes = disk == null ? storage : disk;
        this.clockOffsetMs = clockOffsetMs;
        this.requests = new SimRequests(sim, this);
        this.kv = new KvStateMachine(cfg.sessionTtlMs(), cfg.maxSessions());
        // A node added by a membership change starts with no configuration: it learns it from the leader.
        List<Integer> voters = sim.joiner(id) ? List.of() : IntStream.rangeClosed(1, cfg.nodes()).boxed().toList();
        // Production's protocol (the builder's defaults: check quorum and pre-vote on); the seed instead of System.nanoTime().
        RaftConfig rc = RaftConfig.builder(id, voters)
                .tickMs(SimConfig.TICK_MS)
                .electionTicks(SimConfig.ELECTION_MIN_TICKS, SimConfig.ELECTION_MAX_TICKS)
                .heartbeatTicks(SimConfig.HEARTBEAT_TICKS)
                .maxEntriesPerAppend(cfg.maxEntriesPerAppend())
                .maxInflightAppends(cfg.maxInflightAppends())
                .randomSeed(cfg.seed() * 31 + incarnation * 1_000_003L + id)
                .snapshotChunkBytes(cfg.snapshotChunkBytes())
                .build();
        SnapshotPolicy policy = new SnapshotPolicy(cfg.snapshotEveryEntries(), cfg.snapshotEveryBytes(),
                cfg.snapshotKeepEntries(), cfg.snapshotChunkBytes());
        io.raftkv.storage.RaftStorage.Stored stored = disk == null ? storage.load() : disk.open(id);
        this.runtime = new NodeRuntime<>(rc, stored, kv, new SimPersister(), this::send,
                () -> (sim.scheduler().nowMs() + clockOffsetMs) * 1_000_000, policy, new Checks());
        this.core = runtime.core();
        this.peers = java.util.Set.copyOf(core.peers().keySet());
    }

    boolean alive() {
        return alive;
    }

    /** Starts the ticker: one tick every {@link SimConfig#TICK_MS}, first after {@code phaseMs}. */
    void start(long phaseMs) {
        sim.scheduler().after(phaseMs, this::tickerFired);
    }

    private void tickerFired() {
        if (!alive) return;
        // A fixed-rate ScheduledExecutor: ticks missed during a pause all fire when it ends.
        onProcess(() -> submit(runtime::tick));
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

    /**
     * Power off: memory, queued work and a write in flight are gone; the storage stays (on a
     * simulated disk, what was forced, and maybe part of the write in flight).
     */
    void crash() {
        if (alive && disk != null) {
            disk.crash(writesInFlight.isEmpty() ? null : writesInFlight.peekFirst().write(), snapshotInFlight);
        }
        writesInFlight.clear();
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

    /** A message from the network: a peer's response, or its request answered on the same exchange. */
    void receive(Message m) {
        onProcess(() -> submit(() -> {
            if (m.isResponse()) runtime.step(m);
            else runtime.stepRequest(m, response -> {
                if (response.isPresent()) send(response.get());
                else sim.count("peer requests the core left unanswered (empty reply)");
            });
        }));
    }

    /** A client request arrives (handled by the HTTP layer, which hands work to the loop). */
    void accept(Rpc rpc) {
        onProcess(() -> requests.handle(rpc));
    }

    /** RaftServer.propose. */
    void propose(KvCommand cmd, Consumer<WriteOutcome<ApplyResult>> done) {
        byte[] command = cmd.encode();
        submit(() -> runtime.propose(command, done));
    }

    /** RaftServer.transferLeader (thesis §3.10): in this process, when it runs. */
    void transferLeadership(java.util.OptionalInt target, Consumer<io.raftkv.node.TransferOutcome> done) {
        onProcess(() -> submit(() -> runtime.transferLeadership(target, done)));
    }

    /** RaftServer.changeMembership (thesis ch. 4): in this process, when it runs. */
    void changeMembership(io.raftkv.raft.ConfChange change, Consumer<io.raftkv.node.MembershipOutcome> done) {
        onProcess(() -> submit(() -> runtime.changeMembership(change, done)));
    }

    /** RaftServer.read: a linearizable read through ReadIndex (thesis §6.4). */
    void read(String key, Consumer<ReadOutcome<Optional<String>>> done) {
        submit(() -> runtime.read(() -> kv.get(key), done));
    }

    private void submit(Runnable task) {
        if (!alive) return;
        queue.add(task);
        scheduleLoop();
    }

    // ---------------------------------------------------------------- the loop

    private void scheduleLoop() {
        if (loopScheduled) return;
        loopScheduled = true;
        later(0, this::loopIteration);
    }

    /** RaftServer's event loop: the tasks that came in together, then one process(). */
    private void loopIteration() {
        loopScheduled = false;
        if (!alive) return;
        while (!queue.isEmpty()) queue.poll().run();
        runtime.process();
    }

    private void send(Message m) {
        if (!alive) return;
        if (cfg.checkSendContract()) Invariants.checkPersistedBeforeSend(id, storage, m);
        if (!m.isResponse() && !peers.contains(m.to())) {
            // RaftServer's transport knows the peers the runtime gave it, no one else.
            sim.count("requests to a server not among the peers (lost)");
            return;
        }
        sim.network().send(m);
    }

    /** Whether this node knows it was removed: its configuration, committed, does not include it (thesis §4.2.3). */
    boolean knowsItWasRemoved() {
        return !core.configuration().contains(id) && core.configurationIndex() <= core.commitIndex();
    }

    /**
     * The disk: a Ready's write takes up to {@code maxFsyncMs} and is durable only when it
     * completes; a crash first loses it. Snapshot files take up to {@code maxSnapshotWriteMs}.
     */
    private final class SimPersister implements Persister {
        /** The last write's snapshot from the leader as the storage keeps it (read from its file on a disk), or null. */
        private Snapshot installed;

        @Override
        public void persist(long token, Write write) {
            long fsyncMs = cfg.maxFsyncMs() > 0 ? sim.random().nextInt(cfg.maxFsyncMs() + 1) : 0;
            if (cfg.has(PlantedBug.SEND_BEFORE_PERSIST)) {
                // The bug: a disk that says "done" at once and writes after the fsync delay.
                runtime.persisted(token);
                PendingDiskWrite pending = new PendingDiskWrite(token, write, new ArrayList<>());
                writesInFlight.addLast(pending);
                later(fsyncMs, () -> {
                    writesInFlight.remove(pending);
                    write(write);
                    // The runtime kept the snapshot as it was: the stored copy is nobody's (release is explicit here).
                    if (installed != null && installed != write.snapshot().orElse(null)) installed.data().release();
                    installed = null;
                });
                return;
            }
            if (fsyncMs == 0 && writesInFlight.isEmpty()) {
                if (write(write)) done(token);
                return;
            }
            // Writes end in the order they were handed, the next one no sooner than the one before.
            long now = sim.scheduler().nowMs();
            long endsMs = Math.max(now + fsyncMs, lastWriteEndsMs);
            lastWriteEndsMs = endsMs;
            if (sim.faultsActive() && sim.random().nextDouble() < cfg.crashInFsyncRate()) {
                // Power loss while the write is in flight: scheduled before its completion, so it wins.
                long at = now + sim.random().nextInt((int) Math.max(1, endsMs - now));
                sim.scheduler().after(at - now, () -> sim.crash(id, incarnation, "crash during fsync"));
            }
            PendingDiskWrite pending = new PendingDiskWrite(token, write, new ArrayList<>());
            writesInFlight.addLast(pending);
            later(endsMs - now, () -> {
                // One writer: once this write is done, so is every one before it (a resumed
                // process may see the completions in any order).
                if (!writesInFlight.contains(pending)) return;
                PendingDiskWrite w;
                do {
                    w = writesInFlight.pollFirst();
                    if (!write(w.write())) return;
                    done(w.token());
                    w.after().forEach(Runnable::run);
                } while (w != pending);
                runtime.process();
            });
        }

        /** As RaftServer's persister: the leader's snapshot is held from now on as the storage keeps it. */
        private void done(long token) {
            Snapshot stored = installed;
            installed = null;
            if (stored == null) runtime.persisted(token);
            else runtime.persisted(token, stored);
        }

        /** Makes {@code w} durable with the checks around it; false if the node crashed right after. */
        private boolean write(Write w) {
            installed = w.snapshot().map(writes::installSnapshot).orElse(null);
            if (w.hardState().isEmpty() && w.entries().isEmpty()) return true;
            HardState before = storage.hardState();
            sim.invariants().beforePersist(id, storage, w.entries());
            writes.persist(w.hardState().orElse(null), w.entries());
            sim.invariants().afterPersist(id, core.term(), before, storage, w.entries(), sim.storages());
            if (core.role() == Role.LEADER && storage.hardState().commit() > before.commit() && sim.faultsActive()
                    && sim.random().nextDouble() < cfg.crashAfterCommitRate()) {
                // Crash point: the leader's new commit index is on its disk, nothing of it has left.
                sim.crash(id, incarnation, "crash after persisting commit " + storage.hardState().commit()
                        + ", before sending");
                return false;
            }
            return true;
        }

        @Override
        public void writeSnapshot(long index, long term, Configuration configuration, StateMachine.Image image) {
            Snapshot snap = new Snapshot(index, term, configuration, image.encode());
            long writeMs = cfg.maxSnapshotWriteMs() > 0 ? sim.random().nextInt(cfg.maxSnapshotWriteMs() + 1) : 0;
            if (index - lastSnapshotTaken < cfg.snapshotEveryEntries()) sim.count("snapshots triggered by bytes");
            lastSnapshotTaken = index;
            snapshotInFlight = snap;
            later(writeMs, () -> {
                snapshotInFlight = null;
                if (index < storage.baseIndex()) sim.count("snapshots finished after a newer one came from the leader");
                long size = writes.writeSnapshot(snap);
                sim.trace("node %d snapshots at %d", id, index);
                sim.count("snapshots taken");
                runtime.snapshotWritten(snap, size);
                runtime.process();
            });
        }

        @Override
        public void releaseLog(Snapshot snapshot, long sizeBytes) {
            // After the writes handed before it, as a storage thread would.
            if (writesInFlight.isEmpty()) writes.snapshotWritten(snapshot, sizeBytes);
            else writesInFlight.peekLast().after().add(() -> writes.snapshotWritten(snapshot, sizeBytes));
        }
    }

    /** The simulation's checks on what the runtime does, as it happens. */
    private final class Checks implements RuntimeListener<ApplyResult> {
        @Override
        public void peersChanged(java.util.Map<Integer, String> now) {
            peers = java.util.Set.copyOf(now.keySet());
        }

        @Override
        public void roleChanged(RoleChange rc) {
            sim.trace("node %d: %s", id, rc);
            if (rc.to() != Role.LEADER) return;
            sim.count("elections won");
            sim.invariants().onLeader(id, rc.term(), core);
            if (sim.faultsActive() && sim.random().nextDouble() < cfg.crashNewLeaderRate()) {
                long at = sim.random().nextInt(8 * cfg.maxDelayMs() + 1);
                sim.scheduler().after(at, () -> sim.crash(id, incarnation, "crash soon after winning term " + rc.term()));
            }
        }

        @Override
        public void applied(Entry e, ApplyResult result) {
            // Applied only once on this node's disk too (etcd's rule with asynchronous writes), so
            // no snapshot of the state machine is ahead of the local log. The commit index on disk
            // may lag: it is a hint, the entries are on a majority of disks.
            if (e.index() > storage.baseIndex() && !e.equals(storage.entry(e.index())))
                throw new AssertionError("node " + id + " applies " + e + " which is not on its disk (it holds "
                        + storage.entry(e.index()) + ", last " + storage.lastIndex() + ")");
            KvCommand cmd = !e.isCommand() ? null : KvCommand.decode(e.data());
            sim.invariants().onApply(id, e, cmd, result);
            if (result != null && !(result instanceof ApplyResult.Applied)) {
                sim.count("applied as " + result.getClass().getSimpleName());
            }
        }

        @Override
        public void snapshotInstalled(Snapshot snap) {
            sim.invariants().onSnapshotInstalled(id, core.term(), snap);
            sim.trace("node %d installs %s", id, snap);
            sim.count("snapshots installed from the leader");
        }

        @Override
        public void snapshotTaken(Snapshot snap, long sizeBytes, long compactedTo, long captureNs, long totalNs) {
            sim.count("logs compacted after a snapshot");
        }
    }

    /** Whether this node is idle: nothing queued, no write in flight, no Ready pending. */
    boolean quiescent() {
        return queue.isEmpty() && !runtime.busy();
    }

    @Override
    public String toString() {
        return core + (runtime.writing() ? " (persisting)" : "") + " kv@" + kv.appliedIndex() + " disk: "
                + storage.hardState() + " last=" + storage.lastIndex() + " snap=" + storage.baseIndex();
    }
}
