package io.raftkv.sim;

import io.raftkv.raft.Role;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;

/**
 * One seeded run of a whole cluster: nodes, disks, network, clients and faults on one simulated
 * clock (see the package doc). {@link #run(SimConfig)} returns what happened; the same config
 * always yields the same run.
 *
 * <p>Phases: faults for {@code faultPhaseMs} (crashes, crashes during fsync, after a commit and
 * after an election win, process pauses, partitions full and one-way, clients cut off, message
 * loss/duplication/delay, and leadership transfers on a schedule of their own, thesis §3.10);
 * then the network heals, down nodes
 * restart, loss stops and clients finish; the cluster must converge (liveness) and the final
 * checks run: equal state machines, every acknowledged write took effect once, a linearizable
 * history.
 */
final class Simulation {
    private static final int TRACE_TAIL = 80;

    private final SimConfig cfg;
    private final Scheduler scheduler = new Scheduler();
    private final Random nodeRandom;
    private final Random faultRandom;
    /** Leadership transfers draw from their own stream, so the other faults of a seed stay what they were. */
    private final Random transferRandom;
    /** Membership changes too (thesis ch. 4). */
    private final Random membershipRandom;
    /** Node slots beyond the first {@code n}: fresh ids for nodes that join (an id is never reused, as in etcd). */
    static final int SPARES = 2;
    /** Per id: whether the node was started (bootstrapped or joined), joined later, or was removed for good. */
    private final boolean[] started;
    private final boolean[] joined;
    private final boolean[] removed;
    private final MembershipSchedule membership = new MembershipSchedule();
    private final SimNetwork network;
    private final SimStorage[] storages;
    private final SimServer[] servers;
    /** Per node on file seeds: the simulated disk under its FileStorage; null otherwise. */
    private final SimDisk[] disks;
    private final int[] incarnations;
    /** Each machine's monotonic clock origin: hours apart, which the cluster clock must not notice. */
    private final long[] clockOffsetMs;
    private final List<SimClient> clients = new ArrayList<>();
    private final Invariants invariants;
    private final List<ClientOp> history = new ArrayList<>();
    private final java.util.TreeMap<String, Long> counters = new java.util.TreeMap<>();
    private final boolean tracing;
    private final ArrayDeque<String> trace = new ArrayDeque<>();
    private final List<String> fullTrace;
    private boolean faultsActive = true;
    private int crashes;
    private int partitions;

    private Simulation(SimConfig cfg, boolean tracing, boolean keepFullTrace) {
        this.cfg = cfg;
        this.tracing = tracing;
        this.fullTrace = keepFullTrace ? new ArrayList<>() : null;
        this.nodeRandom = new Random(cfg.seed() ^ 0x5DEECE66DL);
        this.faultRandom = new Random(cfg.seed() * 6364136223846793005L + 1442695040888963407L);
        this.transferRandom = new Random(cfg.seed() * 0x2545F4914F6CDD1DL + 0x7F4A7C15L);
        this.membershipRandom = new Random(cfg.seed() * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L);
        this.network = new SimNetwork(this, new Random(cfg.seed() + 0x1234567L), cfg);
        int n = cfg.nodes();
        int slots = n + SPARES;
        this.storages = new SimStorage[slots + 1];
        this.servers = new SimServer[slots + 1];
        this.disks = new SimDisk[slots + 1];
        this.started = new boolean[slots + 1];
        this.joined = new boolean[slots + 1];
        this.removed = new boolean[slots + 1];
        Random diskRandom = new Random(cfg.seed() * 0x2545F4914F6CDD1DL + 0x1B873593L);
        this.incarnations = new int[slots + 1];
        this.clockOffsetMs = new long[slots + 1];
        this.invariants = new Invariants(slots);
        for (int id = 1; id <= slots; id++) {
            storages[id] = new SimStorage();
            if (cfg.fileStorage()) disks[id] = new SimDisk(this, diskRandom, storages[id], cfg.walSegmentBytes());
            clockOffsetMs[id] = (faultRandom.nextInt(2001) - 1000) * 36_000L; // +-10 hours
        }
        for (int c = 1; c <= cfg.clients(); c++) {
            clients.add(new SimClient(this, c, new Random(cfg.seed() * 1_000_003L + c)));
        }
    }

    /** Runs {@code cfg}; never throws for a failed check, the result says. */
    static SimResult run(SimConfig cfg) {
        return new Simulation(cfg, false, false).execute();
    }

    /** Runs {@code cfg} again recording every event, for a failure report: the tail goes into the result. */
    static SimResult runTraced(SimConfig cfg, java.nio.file.Path fullTraceFile) {
        Simulation s = new Simulation(cfg, true, fullTraceFile != null);
        SimResult r = s.execute();
        if (fullTraceFile != null) {
            try {
                java.nio.file.Files.createDirectories(fullTraceFile.getParent());
                java.nio.file.Files.write(fullTraceFile, s.fullTrace);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return r;
    }

    // ---------------------------------------------------------------- accessors for the parts

    SimConfig config() { return cfg; }

    Scheduler scheduler() { return scheduler; }

    SimNetwork network() { return network; }

    Invariants invariants() { return invariants; }

    Random random() { return nodeRandom; }

    SimStorage[] storages() { return storages; }

    boolean faultsActive() { return faultsActive; }

    /** Whether node {@code id} joined a running cluster (it starts without a configuration). */
    boolean joiner(int id) { return joined[id]; }

    /** The running server of node {@code id}, or null while it is down. */
    SimServer server(int id) {
        return id >= 1 && id < servers.length ? servers[id] : null;
    }

    /** Counts an occurrence of something worth reporting (coverage: what the run exercised). */
    void count(String what) {
        counters.merge(what, 1L, Long::sum);
    }

    void record(ClientOp op) {
        history.add(op);
    }

    void trace(String format, Object... args) {
        if (!tracing) return;
        String line = String.format("%6d ms  ", scheduler.nowMs()) + String.format(format, args);
        if (fullTrace != null) fullTrace.add(line);
        trace.addLast(line);
        if (trace.size() > TRACE_TAIL) trace.removeFirst();
    }

    // ---------------------------------------------------------------- the run

    private SimResult execute() {
        String failure = null;
        LinearizabilityGate.Verdict verdict = LinearizabilityGate.Verdict.NOT_CHECKED;
        try {
            trace("seed %d: %s", cfg.seed(), cfg.describe());
            for (int id = 1; id <= cfg.nodes(); id++) start(id);
            for (SimClient c : clients) c.start(faultRandom.nextInt(50));
            scheduleFault();
            scheduleTransfer();
            membership.schedule();
            scheduler.at(cfg.faultPhaseMs(), this::endFaults);
            boolean settled = false;
            while (scheduler.runNext(cfg.settleLimitMs())) {
                afterEvent();
                if (scheduler.nowMs() >= cfg.clientsStopMs() && settled()) {
                    settled = true;
                    break;
                }
            }
            if (!settled) {
                throw new AssertionError("liveness: no convergence " + (cfg.settleLimitMs() - cfg.faultPhaseMs())
                        + " ms after the faults stopped" + (clients.stream().anyMatch(SimClient::busy)
                        ? " (clients still busy)" : "") + ": " + describeNodes());
            }
            finalChecks();
            LinearizabilityGate.Result lin = LinearizabilityGate.check(history, Duration.ofSeconds(10));
            verdict = lin.verdict();
            if (verdict == LinearizabilityGate.Verdict.NOT_LINEARIZABLE)
                throw new AssertionError("linearizability: history of " + history.size() + " operations, "
                        + lin.explanation());
        } catch (AssertionError | RuntimeException e) {
            failure = (e instanceof AssertionError ? "" : e.getClass().getSimpleName() + ": ") + e.getMessage()
                    + "\n  at " + scheduler.nowMs() + " ms simulated; nodes: " + describeNodes();
            if (!(e instanceof AssertionError)) {
                java.io.StringWriter sw = new java.io.StringWriter();
                e.printStackTrace(new java.io.PrintWriter(sw));
                failure += "\n" + sw;
            }
        }
        int unknown = (int) history.stream().filter(op -> !op.ok()).count();
        return new SimResult(cfg.seed(), cfg, failure, history.size(), unknown, scheduler.eventsRun(),
                scheduler.nowMs(), crashes, partitions, network.raftSent, network.raftDropped, invariants.checks,
                verdict, counters, tracing ? String.join("\n", trace) : null);
    }

    private void afterEvent() {
        for (int id = 1; id < servers.length; id++) {
            SimServer s = servers[id];
            if (s != null) invariants.checkRole(id, s.core);
        }
    }

    private void start(int id) {
        started[id] = true;
        SimServer s = new SimServer(this, id, ++incarnations[id], storages[id], disks[id], clockOffsetMs[id]);
        servers[id] = s;
        s.start(1 + nodeRandom.nextInt(SimConfig.TICK_MS));
        trace("node %d starts (life %d): %s", id, incarnations[id], s);
    }

    /** Crashes node {@code id} if it is still in life {@code incarnation} (0: any). */
    void crash(int id, int incarnation, String why) {
        SimServer s = servers[id];
        if (s == null || incarnation != 0 && s.incarnation != incarnation) return;
        s.crash();
        servers[id] = null;
        crashes++;
        count("crashes: " + (why.startsWith("fault") ? "random" : why.replaceAll(" [0-9].*", "").replaceAll(", before.*", "")));
        trace("node %d crashes (%s)", id, why);
        long downMs = 1 + faultRandom.nextInt(cfg.maxDownMs());
        int life = incarnations[id];
        scheduler.after(downMs, () -> {
            if (servers[id] == null && incarnations[id] == life && !removed[id]) start(id);
        });
    }

    // ---------------------------------------------------------------- faults

    private void scheduleFault() {
        int wait = cfg.faultEveryMinMs() + faultRandom.nextInt(cfg.faultEveryMaxMs() - cfg.faultEveryMinMs() + 1);
        scheduler.after(wait, this::fault);
    }

    private void fault() {
        if (!faultsActive) return;
        int n = cfg.nodes();
        int dice = faultRandom.nextInt(100);
        List<Integer> up = upNodes();
        int maxDown = n / 2 + 1;
        if (dice < 20) {
            if (n - up.size() < maxDown && !up.isEmpty()) crash(up.get(faultRandom.nextInt(up.size())), 0, "fault");
        } else if (dice < 30) {
            Optional<Integer> leader = leader();
            if (leader.isPresent() && n - up.size() < maxDown) crash(leader.get(), 0, "fault: the leader");
        } else if (dice < 45) {
            network.heal();
            List<Integer> side = new ArrayList<>();
            for (int id = 1; id <= n; id++) if (faultRandom.nextBoolean()) side.add(id);
            for (int a : side) for (int b = 1; b <= n; b++) if (!side.contains(b)) network.cutBothWays(a, b);
            partitions++;
            trace("partition %s | rest", side);
        } else if (dice < 55) {
            int id = leader().filter(l -> faultRandom.nextBoolean()).orElse(1 + faultRandom.nextInt(n));
            for (int b = 1; b <= n; b++) if (b != id) network.cutBothWays(id, b);
            partitions++;
            trace("isolate node %d", id);
        } else if (dice < 65) {
            int a = 1 + faultRandom.nextInt(n);
            int b = 1 + (a + faultRandom.nextInt(n - 1)) % n;
            network.cut(a, b);
            partitions++;
            trace("cut %d -> %d", a, b);
        } else if (dice < 70) {
            int c = 1 + faultRandom.nextInt(cfg.clients());
            int id = 1 + faultRandom.nextInt(n);
            network.cutBothWays(SimNetwork.clientEndpoint(c), id);
            partitions++;
            trace("cut client %d from node %d", c, id);
        } else if (dice < 78) {
            // A process stops for a while (SIGSTOP, a GC pause, a frozen VM), the leader half the time.
            int id = leader().filter(l -> faultRandom.nextBoolean()).orElse(1 + faultRandom.nextInt(n));
            SimServer s = servers[id];
            if (s != null && !s.paused()) {
                long ms = 50 + faultRandom.nextInt(1450);
                s.pause();
                count("pauses");
                trace("node %d pauses for %d ms", id, ms);
                scheduler.after(ms, () -> {
                    trace("node %d resumes", id);
                    s.resume();
                });
            }
        } else {
            if (network.hasCuts()) trace("heal");
            network.heal();
        }
        scheduleFault();
    }

    private void scheduleTransfer() {
        scheduler.after(150 + transferRandom.nextInt(451), this::transfer);
    }

    /**
     * Thesis §3.10: the leader is asked to hand its leadership to a random node (itself now and
     * then) or, a quarter of the time, to its most caught-up voter, while the other faults go on
     * (and after them, until the clients stop).
     * A transfer the leader answers as done must name the node that really leads that term.
     */
    private void transfer() {
        // Also in the quiet phase while clients still run: a seed whose faults left no leader for
        // long still gets its transfers, with writes going on around them.
        if (scheduler.nowMs() >= cfg.clientsStopMs()) return;
        Optional<Integer> leader = leader();
        if (leader.isEmpty()) {
            scheduler.after(50, this::transfer); // soon, when there may be a leader to ask
            return;
        }
        int from = leader.get();
        OptionalInt target = transferRandom.nextInt(4) == 0 ? OptionalInt.empty()
                : OptionalInt.of(1 + transferRandom.nextInt(cfg.nodes()));
        count("transfers asked");
        trace("node %d is asked to transfer its leadership to %s", from,
                target.isPresent() ? "node " + target.getAsInt() : "its most caught-up voter");
        servers[from].transferLeadership(target, outcome -> {
            trace("node %d: transfer %s", from, outcome);
            count("transfers " + outcome.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT)
                    + (outcome instanceof io.raftkv.node.TransferOutcome.Transferred t && t.leader() == from
                    ? " (to itself)" : ""));
            if (outcome instanceof io.raftkv.node.TransferOutcome.Transferred t) {
                invariants.onTransferred(from, target, t.leader(), t.term());
            }
        });
        scheduleTransfer();
    }

    /** The faults stop: the network heals and loses nothing more, every node is up. */
    private void endFaults() {
        faultsActive = false;
        network.heal();
        network.stopLoss();
        for (int id = 1; id < servers.length; id++) if (started[id] && !removed[id] && servers[id] == null) start(id);
        trace("faults end");
    }

    private List<Integer> upNodes() {
        List<Integer> up = new ArrayList<>();
        for (int id = 1; id < servers.length; id++) if (servers[id] != null) up.add(id);
        return up;
    }

    /** The live leader of the highest term, if any. */
    private Optional<Integer> leader() {
        int best = -1;
        for (int id = 1; id < servers.length; id++) {
            SimServer s = servers[id];
            if (s != null && s.core.role() == Role.LEADER && (best < 0 || s.core.term() > servers[best].core.term())) {
                best = id;
            }
        }
        return best < 0 ? Optional.empty() : Optional.of(best);
    }

    // ---------------------------------------------------------------- the end

    /** Clients done, one leader everyone follows, every log equal, committed and applied everywhere. */
    private boolean settled() {
        if (faultsActive) return false;
        for (SimClient c : clients) if (c.busy()) return false;
        Optional<Integer> l = leader();
        if (l.isEmpty()) return false;
        SimServer leader = servers[l.get()];
        if (!leader.core.committedInCurrentTerm()) return false;
        long last = leader.core.lastIndex();
        if (leader.core.configurationIndex() > leader.core.commitIndex()) return false;
        for (int id : members(leader)) {
            SimServer s = servers[id];
            if (s == null || !s.quiescent() || s.core.term() != leader.core.term()) return false;
            if (s.core.lastIndex() != last || s.core.commitIndex() != last || s.core.appliedIndex() != last) return false;
        }
        return true;
    }

    private void finalChecks() {
        // Every member applied the same log: equal state machines.
        SimServer first = servers[leader().orElseThrow()];
        for (int id : members(first)) {
            SimServer s = servers[id];
            for (int k = 0; k < cfg.keys(); k++) {
                for (String key : List.of("k" + k, "c" + k))
                    if (!s.kv.get(key).equals(first.kv.get(key)))
                        throw new AssertionError("state machines differ after convergence: key " + key + " is "
                                + first.kv.get(key) + " on the leader but " + s.kv.get(key) + " on node " + id);
            }
            if (s.kv.sessionCount() != first.kv.sessionCount())
                throw new AssertionError("session tables differ: " + first.kv.sessionCount() + " on the leader, "
                        + s.kv.sessionCount() + " on node " + id);
        }
        // Every acknowledged write took effect (exactly once: a second time fails as it happens).
        for (ClientOp op : history) {
            boolean wrote = switch (op.op()) {
                case "put", "append" -> true;
                case "cas", "txn" -> op.succeeded().orElse(false) && op.value().isPresent();
                default -> false; // a get, or a delete (no value to trace)
            };
            if (!op.ok() || !wrote) continue;
            if (invariants.writeTookEffectAt(op.value().orElseThrow()) == null)
                throw new AssertionError("acknowledged write never took effect: " + op);
        }
    }

    /** The members (voters and learners) of {@code s}'s configuration in use. */
    private static List<Integer> members(SimServer s) {
        return List.copyOf(s.core.configuration().members());
    }

    // ---------------------------------------------------------------- membership changes (thesis ch. 4)

    /**
     * An operator's membership changes on their own schedule, one at a time, through the node the
     * operator thinks leads: a fresh node joins (empty storage, no configuration) and is added as
     * a learner, promoted once it has caught up (a promote refused as lagging is asked again), and
     * then a voter is removed - the leader itself a third of the time - and shut down for good
     * once its removal is committed. Nodes that a client knows as its only address are not removed
     * (that client would have nowhere to go). Each change is asked again until it is made; an
     * answer of unknown fate is settled by looking at the configuration.
     */
    private final class MembershipSchedule {
        private enum Step { ADD, PROMOTE, REMOVE }

        private Step step = Step.ADD;
        private int adding = -1;
        private int victim = -1;
        private boolean inFlight;

        void schedule() {
            scheduler.after(300 + membershipRandom.nextInt(700), this::next);
        }

        private void retry() {
            scheduler.after(100 + membershipRandom.nextInt(200), this::next);
        }

        private void next() {
            if (scheduler.nowMs() >= cfg.clientsStopMs() || inFlight) return;
            Optional<Integer> l = leader();
            if (l.isEmpty()) {
                retry();
                return;
            }
            SimServer leader = servers[l.get()];
            io.raftkv.raft.Configuration conf = leader.core.configuration();
            io.raftkv.raft.ConfChange change;
            switch (step) {
                case ADD -> {
                    if (adding < 0) {
                        int id = cfg.nodes() + 1;
                        while (id < servers.length && started[id]) id++;
                        if (id >= servers.length) return; // every spare used: no more changes this run
                        adding = id;
                        joined[id] = true;
                        start(id);
                        count("membership: nodes started to join");
                    }
                    if (conf.contains(adding)) {
                        step = Step.PROMOTE;
                        next();
                        return;
                    }
                    change = new io.raftkv.raft.ConfChange.AddLearner(adding, "sim-node-" + adding);
                }
                case PROMOTE -> {
                    if (conf.isVoter(adding)) {
                        step = Step.REMOVE;
                        victim = -1;
                        schedule();
                        return;
                    }
                    change = new io.raftkv.raft.ConfChange.Promote(adding);
                }
                default -> {
                    if (victim < 0) victim = pickVictim(conf, l.get());
                    if (victim < 0) return; // nobody may go: no more changes this run
                    if (!conf.contains(victim)) {
                        removedForGood(victim);
                        step = Step.ADD;
                        adding = -1;
                        schedule();
                        return;
                    }
                    change = new io.raftkv.raft.ConfChange.Remove(victim);
                }
            }
            int asked = l.get();
            io.raftkv.raft.ConfChange c = change;
            trace("node %d is asked to change the membership: %s", asked, c);
            count("membership: changes asked");
            inFlight = true;
            leader.changeMembership(c, outcome -> {
                inFlight = false;
                trace("node %d: membership change %s: %s", asked, c, outcome);
                String kind = outcome instanceof io.raftkv.node.MembershipOutcome.Refused r
                        ? "refused " + r.reason().name().toLowerCase(java.util.Locale.ROOT)
                        : outcome.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
                count("membership: " + c.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " " + kind);
                if (outcome instanceof io.raftkv.node.MembershipOutcome.Committed && c instanceof io.raftkv.raft.ConfChange.Remove
                        && victim == asked) {
                    count("membership: leader removals committed");
                }
                retry(); // the next step looks at the configuration to see what happened
            });
        }

        private int pickVictim(io.raftkv.raft.Configuration conf, int leader) {
            java.util.Set<Integer> pinned = new java.util.HashSet<>();
            for (SimClient c : clients) if (c.nodes().size() == 1) pinned.add(c.nodes().getFirst());
            List<Integer> candidates = new ArrayList<>();
            for (int id : conf.voters().keySet()) if (id != adding && !pinned.contains(id)) candidates.add(id);
            if (candidates.isEmpty() || conf.voters().size() <= 3) return -1;
            if (candidates.contains(leader) && membershipRandom.nextInt(3) == 0) return leader;
            return candidates.get(membershipRandom.nextInt(candidates.size()));
        }

        /** A removed node keeps running a little (it must not disturb), then is shut down for good. */
        private void removedForGood(int id) {
            removed[id] = true;
            count("membership: nodes removed");
            scheduler.after(100 + membershipRandom.nextInt(900), () -> {
                SimServer s = servers[id];
                if (s != null) {
                    // Thesis §4.2.3: told by the leader unless it was down, paused or cut off meanwhile.
                    count(s.alive() && s.knowsItWasRemoved() ? "membership: removed nodes that knew at shutdown"
                            : "membership: removed nodes that did not know at shutdown");
                    s.crash();
                    servers[id] = null;
                    trace("node %d, removed from the cluster, shuts down", id);
                }
            });
        }
    }

    private String describeNodes() {
        StringBuilder s = new StringBuilder();
        for (int id = 1; id < servers.length; id++) {
            s.append("\n    node ").append(id).append(": ")
                    .append(servers[id] == null ? "down, disk " + storages[id].hardState() + " last="
                            + storages[id].lastIndex() : servers[id].toString());
        }
        return s.toString();
    }
}
