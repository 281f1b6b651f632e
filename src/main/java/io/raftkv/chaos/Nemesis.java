package io.raftkv.chaos;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;

import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Injects one fault at a time on its own seeded schedule: a quiet spell, a fault held for a
 * while, its repair, again. The faults are real: {@code kill -9} of a node process, {@code
 * SIGSTOP}/{@code SIGCONT}, iptables rules between node addresses. {@link #healAll()} undoes
 * whatever is in effect and is safe to call from any thread, any number of times.
 *
 * <p>The kinds come round in turns: the first turn in the order given, later turns shuffled. The
 * first turn always runs whole, past the end of the run if need be, so even a short run sees every
 * kind (its seeded quiet spells and holds can add up to more than 30 s). A kind's odd occurrences (1st, 3rd, ...) aim at the leader
 * (kill or pause it, put it in the minority), its even ones at a random node.
 */
final class Nemesis {
    private static final long MS = 1_000_000L;
    /** Quiet time between two faults, and how long each kind of fault is held, in ms. */
    private static final long QUIET_MIN_MS = 500, QUIET_MAX_MS = 2_000;
    private static final long KILL_MIN_MS = 1_000, KILL_MAX_MS = 3_000;
    private static final long PAUSE_MIN_MS = 1_000, PAUSE_MAX_MS = 3_000;
    private static final long CUT_MIN_MS = 1_500, CUT_MAX_MS = 4_000;

    /**
     * A fault as injected.
     *
     * @param nodes    the nodes it hit (for a partition: the minority side, or all for a full one)
     * @param leader   the node that led when it started, if known
     * @param term     that leader's term (0 if unknown)
     * @param endNs    when it was repaired (0: not yet)
     */
    record Fault(FaultKind kind, String description, List<Integer> nodes, OptionalLong leader, long term,
                 long startNs, long endNs) {
        /** Whether the fault took the leader away: killed, paused, or cut off from the majority. */
        boolean hitLeader() {
            return leader.isPresent() && nodes.contains((int) leader.getAsLong());
        }
    }

    private final NodeProcesses nodes;
    private final Optional<Firewall> firewall;
    private final ClusterMonitor monitor;
    private final List<FaultKind> kinds;
    private final SplittableRandom random;
    private final EventLog log;
    private final int n;

    // Guarded by this.
    private final List<Fault> faults = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();
    private final TreeSet<Integer> killed = new TreeSet<>();
    /** The kinds still to come in this turn. */
    private final List<FaultKind> turn = new ArrayList<>();
    private final Map<FaultKind, Integer> occurrences = new java.util.EnumMap<>(FaultKind.class);
    private boolean firstTurn = true;
    /** Every kind was injected and repaired once (the run may end only then). */
    private volatile boolean firstTurnDone;
    private final Map<Integer, Long> paused = new LinkedHashMap<>();
    /** A node removed from the membership by the current fault (-1: none), added back at the repair. */
    private int removedMember = -1;
    private Fault current;

    private volatile boolean stopped;
    private volatile Thread runner;

    Nemesis(NodeProcesses nodes, Optional<Firewall> firewall, ClusterMonitor monitor, List<FaultKind> kinds, long seed,
            EventLog log) {
        if (kinds.stream().anyMatch(FaultKind::needsFirewall) && firewall.isEmpty())
            throw new IllegalArgumentException("partitions need the firewall");
        this.nodes = nodes;
        this.firewall = firewall;
        this.monitor = monitor;
        this.kinds = List.copyOf(kinds);
        this.random = new SplittableRandom(seed);
        this.log = log;
        this.n = nodes.addresses().size();
    }

    /** Injects faults until {@code endNs} or {@link #stop()}, then repairs the last one. */
    void run(long endNs) {
        runner = Thread.currentThread();
        try {
            while (!stopped && !kinds.isEmpty()) {
                long until = firstTurnDone ? endNs : Long.MAX_VALUE;
                sleepUntil(Math.min(until, System.nanoTime() + between(QUIET_MIN_MS, QUIET_MAX_MS)));
                if (stopped || System.nanoTime() >= until) break;
                FaultKind kind = nextKind();
                long holdNs = switch (kind) {
                    case KILL -> between(KILL_MIN_MS, KILL_MAX_MS);
                    case PAUSE -> between(PAUSE_MIN_MS, PAUSE_MAX_MS);
                    case PARTITION, PARTITION_FULL, MEMBERSHIP -> between(CUT_MIN_MS, CUT_MAX_MS);
                    case TRANSFER -> between(PAUSE_MIN_MS, PAUSE_MAX_MS);
                };
                try {
                    inject(kind);
                    sleepUntil(Math.min(until, System.nanoTime() + holdNs));
                } catch (IOException | RuntimeException e) {
                    error("could not inject " + kind.flagName() + ": " + e.getMessage());
                }
                healAll();
                if (turn.isEmpty()) firstTurnDone = true;
            }
        } finally {
            firstTurnDone = true; // stopped or out of kinds: nothing more to wait for
            healAll();
            runner = null;
        }
    }

    private FaultKind nextKind() {
        if (turn.isEmpty()) {
            turn.addAll(kinds);
            if (!firstTurn) {
                for (int i = turn.size() - 1; i > 0; i--) java.util.Collections.swap(turn, i, random.nextInt(i + 1));
            }
            firstTurn = false;
        }
        return turn.removeFirst();
    }

    /** Whether the first turn is over (every kind injected and repaired once), or the nemesis stopped. */
    boolean firstTurnDone() {
        return firstTurnDone;
    }

    void stop() {
        stopped = true;
        Thread t = runner;
        if (t != null) LockSupport.unpark(t);
    }

    private long between(long minMs, long maxMs) {
        return (minMs + random.nextLong(maxMs - minMs + 1)) * MS;
    }

    private void sleepUntil(long deadlineNs) {
        long left;
        while (!stopped && (left = deadlineNs - System.nanoTime()) > 0) LockSupport.parkNanos(left);
    }

    private void inject(FaultKind kind) throws IOException {
        Optional<ClusterMonitor.View> leader = monitor.leader();
        boolean atLeader = occurrences.merge(kind, 1, Integer::sum) % 2 == 1;
        OptionalLong leaderId = leader.map(v -> OptionalLong.of(v.id())).orElse(OptionalLong.empty());
        long term = leader.map(ClusterMonitor.View::term).orElse(0L);
        String leaderNote = leader.map(v -> "node " + v.id() + " leads in term " + v.term()).orElse("no leader known");
        switch (kind) {
            case KILL -> {
                int victim = victim(leader, atLeader);
                long pid;
                synchronized (this) {
                    pid = nodes.kill9(victim);
                    killed.add(victim);
                    begin(kind, "kill -9 node " + victim + " (pid " + pid + ")" + role(victim, leader), List.of(victim),
                            leaderId, term);
                }
            }
            case PAUSE -> {
                int victim = victim(leader, atLeader);
                long pid = nodes.pid(victim).orElseThrow(() -> new IllegalStateException("node " + victim + " is not running"));
                synchronized (this) {
                    signal("STOP", pid);
                    paused.put(victim, pid);
                    begin(kind, "pause node " + victim + " (SIGSTOP pid " + pid + ")" + role(victim, leader),
                            List.of(victim), leaderId, term);
                }
            }
            case PARTITION -> {
                List<Integer> minority = minority(leader, atLeader);
                List<Integer> majority = IntStream.range(0, n).filter(i -> !minority.contains(i)).boxed().toList();
                synchronized (this) {
                    firewall.orElseThrow().cut(hosts(minority), hosts(majority));
                    begin(kind, "partition " + minority + " | " + majority + ": " + leaderNote + "; "
                                    + (leader.isPresent() && minority.contains(leader.get().id())
                                    ? "the leader is in the minority" : "the leader keeps its majority"),
                            minority, leaderId, term);
                }
            }
            case MEMBERSHIP -> {
                int victim = victim(leader, atLeader);
                KvResult r;
                boolean removed;
                try (RaftKvClient admin = admin()) {
                    r = admin.removeMember(victim);
                    // An answer of unknown fate: the configuration says whether the node went.
                    removed = r.ok() || r.status() != 400 && r.status() != 404 && r.status() != 409
                            && !memberOf(admin.members(), victim);
                }
                if (!removed) throw new IllegalStateException("removing node " + victim + ": HTTP " + r.status() + " "
                        + r.error().orElse(r.body().toString()));
                synchronized (this) {
                    removedMember = victim;
                    begin(kind, "remove node " + victim + " from the membership" + role(victim, leader)
                            + " (configuration of log index " + r.body().path("configIndex").asLong() + ")", List.of(victim),
                            leaderId, term);
                }
            }
            case TRANSFER -> {
                if (leader.isEmpty()) throw new IllegalStateException("no leader to transfer from");
                int target = (leader.get().id() + 1 + random.nextInt(n - 1)) % n;
                KvResult r;
                try (RaftKvClient admin = admin()) {
                    r = admin.transferLeader(java.util.OptionalInt.of(target));
                }
                synchronized (this) {
                    // The leader is the node it hits: the unavailability after it is measured as after a kill.
                    begin(kind, "transfer the leadership from node " + leader.get().id() + " to node " + target + ": "
                            + (r.ok() ? "done in term " + r.body().path("term").asLong() : "HTTP " + r.status() + " "
                            + r.error().orElse("")), List.of(leader.get().id()), leaderId, term);
                }
            }
            case PARTITION_FULL -> {
                List<Integer> all = IntStream.range(0, n).boxed().toList();
                synchronized (this) {
                    for (int i = 0; i < n; i++) {
                        for (int j = i + 1; j < n; j++) firewall.orElseThrow().cut(hosts(List.of(i)), hosts(List.of(j)));
                    }
                    begin(kind, "full partition: every node cut off from every other (" + leaderNote + ")", all,
                            leaderId, term);
                }
            }
        }
    }

    private static boolean memberOf(KvResult members, int id) {
        if (!members.ok()) return true; // cannot tell: assume it is still there
        for (var m : members.body().path("members")) if (m.path("id").asInt() == id) return true;
        return false;
    }

    private RaftKvClient admin() {
        java.time.Duration timeout = java.time.Duration.ofSeconds(10);
        return new RaftKvClient(nodes.addresses(), timeout, true, timeout, null, nodes.clientTls());
    }

    /**
     * Adds the removed node back as a learner, waits until the leader sees it caught up and
     * promotes it; each step is asked again (a change in flight, a new leader) for up to 30 s.
     */
    private String restoreMember(int id) {
        long deadline = System.nanoTime() + 30_000 * MS;
        String last = "";
        try (RaftKvClient admin = admin()) {
            boolean added = false;
            while (System.nanoTime() < deadline) {
                if (!added) {
                    KvResult a = admin.addMember(id, nodes.addresses().get(id).toString());
                    added = a.ok();
                    last = "add: HTTP " + a.status() + " " + a.error().orElse("");
                } else {
                    KvResult m = admin.members();
                    boolean voter = false;
                    boolean caughtUp = false;
                    for (var member : m.body().path("members")) {
                        if (member.path("id").asInt() != id) continue;
                        voter = member.path("role").asText().equals("voter");
                        caughtUp = member.path("caughtUp").asBoolean(false);
                    }
                    if (voter) return "node " + id + " is a voter again";
                    if (caughtUp) {
                        KvResult p = admin.promoteMember(id);
                        if (p.ok()) return "node " + id + " added back and promoted";
                        last = "promote: HTTP " + p.status() + " " + p.error().orElse("");
                    }
                }
                LockSupport.parkNanos(100 * MS); // the next attempt, after the cluster settles a little
            }
        }
        throw new IllegalStateException("node " + id + " is not a voter again after 30 s (" + last + ")");
    }

    private static String role(int victim, Optional<ClusterMonitor.View> leader) {
        if (leader.isEmpty()) return ", no leader known";
        return leader.get().id() == victim ? ", the leader in term " + leader.get().term()
                : ", a follower; node " + leader.get().id() + " leads";
    }

    private int victim(Optional<ClusterMonitor.View> leader, boolean atLeader) {
        if (leader.isPresent() && atLeader) return leader.get().id();
        return random.nextInt(n);
    }

    private List<Integer> minority(Optional<ClusterMonitor.View> leader, boolean atLeader) {
        int size = 1 + random.nextInt(Math.max(1, (n - 1) / 2));
        List<Integer> order = new ArrayList<>(IntStream.range(0, n).boxed().toList());
        for (int i = order.size() - 1; i > 0; i--) java.util.Collections.swap(order, i, random.nextInt(i + 1));
        if (leader.isPresent() && atLeader) {
            order.remove(Integer.valueOf(leader.get().id()));
            order.addFirst(leader.get().id());
        }
        return order.subList(0, size).stream().sorted().toList();
    }

    private List<String> hosts(List<Integer> ids) {
        List<HostPort> a = nodes.addresses();
        return ids.stream().map(i -> a.get(i).host()).toList();
    }

    private void begin(FaultKind kind, String description, List<Integer> hit, OptionalLong leader, long term) {
        current = new Fault(kind, description, List.copyOf(hit), leader, term, System.nanoTime(), 0);
        log.event("fault", description);
    }

    /** Continues paused nodes, removes every cut, starts killed nodes. Never throws. */
    synchronized void healAll() {
        List<String> done = new ArrayList<>();
        for (Map.Entry<Integer, Long> p : paused.entrySet()) {
            try {
                signal("CONT", p.getValue());
                done.add("node " + p.getKey() + " continued (SIGCONT)");
            } catch (IOException | RuntimeException e) {
                error("could not continue node " + p.getKey() + " (pid " + p.getValue() + "): " + e.getMessage());
            }
        }
        paused.clear();
        if (removedMember >= 0) {
            try {
                done.add(restoreMember(removedMember));
            } catch (RuntimeException e) {
                error("could not add node " + removedMember + " back: " + e.getMessage());
            }
            removedMember = -1;
        }
        if (firewall.isPresent() && firewall.get().anyCut()) {
            try {
                firewall.get().healAll();
                done.add("network healed");
            } catch (IOException | RuntimeException e) {
                error("could not heal the network: " + e.getMessage());
            }
        }
        for (int id : killed) {
            try {
                done.add("node " + id + " started again (pid " + nodes.start(id) + ")");
            } catch (RuntimeException e) {
                error("could not start node " + id + ": " + e.getMessage());
            }
        }
        killed.clear();
        if (current != null) {
            faults.add(new Fault(current.kind(), current.description(), current.nodes(), current.leader(), current.term(),
                    current.startNs(), System.nanoTime()));
            current = null;
        }
        if (!done.isEmpty()) log.event("heal", String.join("; ", done));
    }

    private synchronized void error(String what) {
        errors.add(what);
        log.event("error", what);
    }

    /** {@code kill -SIG pid}: Java has no API for SIGSTOP/SIGCONT. */
    private static void signal(String sig, long pid) throws IOException {
        Process p = new ProcessBuilder("kill", "-" + sig, String.valueOf(pid)).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0)
                throw new IOException("kill -" + sig + " " + pid + " failed: " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Whether node {@code id} is not running although the nemesis did not kill it: it exited by
     * itself (a crash, a fatal storage error) or could not start again.
     */
    synchronized boolean exitedByItself(int id) {
        return !killed.contains(id) && nodes.pid(id).isEmpty();
    }

    /** Faults injected so far, repaired ones with their end time. */
    synchronized List<Fault> faults() {
        List<Fault> all = new ArrayList<>(faults);
        if (current != null) all.add(current);
        return all;
    }

    synchronized List<String> errors() {
        return List.copyOf(errors);
    }

    /** Counts per kind, e.g. {@code kill=3, pause=2}. */
    synchronized String counts() {
        return faults().stream().collect(Collectors.groupingBy(f -> f.kind().flagName(), java.util.TreeMap::new,
                Collectors.counting())).toString();
    }
}
