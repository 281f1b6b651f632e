package io.raftkv.raft;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

/**
 * A deterministic in-process cluster of {@link RaftNode}s for tests: in-memory storage per node,
 * one message queue, drop rules and partitions, crash and restart. No threads, sleeps or clocks:
 * time passes only through {@link #tick}, messages move only through {@link #deliver}.
 *
 * <p>Every Ready is handled as the runtime must (persist, then send, then apply, then advance),
 * and {@link ClusterInvariants} checks the Raft safety properties and the Ready contract on each
 * one, so any test that drives the cluster also checks them.
 */
final class TestCluster {
    /** Persistent state of one node: what survives a crash. */
    static final class Storage {
        HardState hardState = HardState.EMPTY;
        final List<Entry> entries = new ArrayList<>();

        long lastIndex() {
            return entries.size();
        }

        /** Ready contract: entries replace the stored suffix from their first index on. */
        void persist(Ready rd) {
            if (!rd.entries().isEmpty()) {
                long first = rd.entries().getFirst().index();
                if (first > entries.size() + 1)
                    throw new AssertionError("Ready leaves a gap: entry " + first + " after " + entries.size());
                while (entries.size() >= first) entries.removeLast();
                entries.addAll(rd.entries());
            }
            rd.hardState().ifPresent(hs -> hardState = hs);
        }
    }

    private final long seed;
    private final Map<Integer, RaftConfig> configs = new TreeMap<>();
    private final Map<Integer, RaftNode> nodes = new TreeMap<>();
    private final Map<Integer, Storage> storages = new TreeMap<>();
    private final Map<Integer, List<Entry>> applied = new TreeMap<>();
    private final Map<Integer, Long> commitChecked = new HashMap<>();
    private final Map<Integer, Integer> restarts = new HashMap<>();
    private final Set<Integer> down = new HashSet<>();
    /** Messages sent and not yet delivered or dropped, in send order. */
    private final List<Message> inFlight = new ArrayList<>();
    /**
     * Messages waiting for a node that stopped reading from the network ({@link #pause}), in send
     * order, per node: neither in flight nor lost.
     */
    private final Map<Integer, List<Message>> pausedInbound = new TreeMap<>();
    /** Messages the network holds back: in neither {@link #inFlight} nor lost. */
    private final List<Message> delayed = new ArrayList<>();
    /** Every message any node sent, dropped or not. */
    private final List<Message> sent = new ArrayList<>();
    private final List<Predicate<Message>> dropRules = new ArrayList<>();
    /** node -> partition group; empty when the network is whole. */
    private final Map<Integer, Integer> groupOf = new HashMap<>();
    private final ClusterInvariants invariants = new ClusterInvariants();
    private final Map<Integer, List<ReadState>> reads = new HashMap<>();
    /** Role changes and configurations each node's Readies reported, in order. */
    private final Map<Integer, List<RoleChange>> roleChanges = new HashMap<>();
    private final Map<Integer, List<Configuration>> configurations = new HashMap<>();
    /** The peers each node's Readies reported (RaftNode#peers): all a runtime's transport can reach. */
    private final Map<Integer, Map<Integer, String>> reachable = new HashMap<>();
    /** Readies already persisted, sent and applied whose advance() the runtime has not called yet. */
    private final Map<Integer, Ready> held = new TreeMap<>();
    private long lastReadId = 1L << 40;
    private Random holdRandom;
    private int holdPercent;

    private TestCluster(long seed) {
        this.seed = seed;
    }

    /**
     * A fresh cluster of nodes 1..n with production's configuration (check-quorum and pre-vote
     * on) and per-node seeds derived from {@code seed}.
     */
    static TestCluster of(int n, long seed) {
        return builder(n).seed(seed).build();
    }

    static Builder builder(int n) {
        return new Builder(n);
    }

    /** Deterministic payload for an entry built into a starting log: equal (index, term) => equal data. */
    static byte[] payload(long index, long term) {
        return ("i" + index + "t" + term).getBytes(StandardCharsets.UTF_8);
    }

    static final class Builder {
        private final int n;
        private long seed;
        private final Map<Integer, long[]> logs = new HashMap<>();
        private final Map<Integer, HardState> hardStates = new HashMap<>();
        private final Map<Integer, UnaryOperator<RaftConfig.Builder>> tweaks = new HashMap<>();

        private Builder(int n) {
            this.n = n;
        }

        Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Node {@code id} starts with one entry per given term, at indexes 1, 2, ... */
        Builder log(int id, long... terms) {
            logs.put(id, terms.clone());
            return this;
        }

        Builder hardState(int id, long term, int votedFor, long commit) {
            hardStates.put(id, new HardState(term, votedFor, commit));
            return this;
        }

        /** Every node starts in {@code term} without a vote, with {@code commit} committed. */
        Builder allInTerm(long term, long commit) {
            for (int id = 1; id <= n; id++) hardState(id, term, RaftNode.NONE, commit);
            return this;
        }

        /**
         * Changes node {@code id}'s configuration from production's, by name: for example
         * {@code config(1, c -> c.maxEntriesPerAppend(1))} or {@code c.preVote(false)}.
         */
        Builder config(int id, UnaryOperator<RaftConfig.Builder> tweak) {
            tweaks.merge(id, tweak, (a, b) -> c -> b.apply(a.apply(c)));
            return this;
        }

        /** {@link #config(int, UnaryOperator)} for every node. */
        Builder configAll(UnaryOperator<RaftConfig.Builder> tweak) {
            for (int id = 1; id <= n; id++) config(id, tweak);
            return this;
        }

        TestCluster build() {
            TestCluster c = new TestCluster(seed);
            List<Integer> voters = IntStream.rangeClosed(1, n).boxed().toList();
            for (int id : voters) {
                RaftConfig cfg = tweaks.getOrDefault(id, x -> x)
                        .apply(RaftConfig.builder(id, voters).randomSeed(seed * 1_000_003L + id)).build();
                Storage st = new Storage();
                long[] terms = logs.getOrDefault(id, new long[0]);
                for (int i = 0; i < terms.length; i++) st.entries.add(new Entry(i + 1, terms[i], payload(i + 1, terms[i])));
                st.hardState = hardStates.getOrDefault(id, HardState.EMPTY);
                c.configs.put(id, cfg);
                c.storages.put(id, st);
                c.commitChecked.put(id, st.hardState.commit());
                c.startNode(id, cfg);
            }
            c.assertLogMatching();
            return c;
        }
    }

    private void startNode(int id, RaftConfig cfg) {
        Storage st = storages.get(id);
        RaftNode n = new RaftNode(cfg, st.hardState, List.copyOf(st.entries));
        nodes.put(id, n);
        reachable.put(id, n.peers());
        // A restarted node re-applies its log from the start: its state machine was in memory.
        applied.put(id, new ArrayList<>());
    }

    // ---------------------------------------------------------------- driving

    RaftNode node(int id) { return nodes.get(id); }

    List<Integer> ids() { return List.copyOf(nodes.keySet()); }

    boolean isUp(int id) { return !down.contains(id); }

    /** Handles every pending Ready of every live node until none has one. */
    void processReadies() {
        for (int round = 0; ; round++) {
            if (round > 1000) throw new AssertionError("Readies never run out: " + nodes.values());
            boolean any = false;
            for (int id : nodes.keySet()) {
                if (isUp(id) && !held.containsKey(id) && nodes.get(id).hasReady()) {
                    handleReady(id);
                    any = true;
                }
            }
            if (!any) return;
        }
    }

    private void handleReady(int id) {
        RaftNode n = nodes.get(id);
        Storage st = storages.get(id);
        Ready rd = n.ready();

        // 1. persist. A node never rewrites entries it has persisted as committed (§5.4).
        if (!rd.entries().isEmpty() && rd.entries().getFirst().index() <= st.hardState.commit())
            throw new AssertionError("node " + id + " overwrites committed entries: " + rd.entries() + " with "
                    + st.hardState);
        HardState before = st.hardState;
        st.persist(rd);
        checkHardStateStep(id, before, st.hardState);
        if (st.hardState.commit() > st.lastIndex())
            throw new AssertionError("node " + id + " persisted commit " + st.hardState.commit() + " beyond its log");
        if (!rd.entries().isEmpty()) {
            long from = rd.entries().getFirst().index();
            for (var other : storages.entrySet()) {
                if (other.getKey() != id)
                    ClusterInvariants.checkLogMatching(id, st.entries, other.getKey(), other.getValue().entries, from,
                            st.lastIndex());
            }
        }
        long checked = commitChecked.get(id);
        if (st.hardState.commit() > checked) {
            invariants.onCommit(id, n.term(), checked, st.hardState.commit(), st.entries);
            commitChecked.put(id, st.hardState.commit());
        }
        roleChanges.computeIfAbsent(id, k -> new ArrayList<>()).addAll(rd.roleChanges());
        rd.configuration().ifPresent(cf -> configurations.computeIfAbsent(id, k -> new ArrayList<>()).add(cf));
        // The runtime's contract (NodeRuntime): this Ready's messages reach its new peers and the old ones.
        Map<Integer, String> reachedBefore = reachable.get(id);
        rd.peers().ifPresent(p -> reachable.put(id, p));
        for (RoleChange rc : rd.roleChanges()) {
            if (rc.to() == Role.LEADER) {
                invariants.onLeader(id, rc.term());
                invariants.checkLeaderCompleteness(id, rc.term(), n.lastIndex(), n::termAt);
            }
        }

        // 2. send, only what the persisted state backs.
        for (Message m : rd.messages()) {
            if (m.from() != id) throw new AssertionError("node " + id + " sends a message from " + m.from());
            ClusterInvariants.checkPersistedBeforeSend(id, st.hardState, st.lastIndex(), m);
            // Ready contract: a runtime's transport reaches the reported peers only (responses go
            // back on the request's exchange); a request to anyone else would be lost.
            if (!m.isResponse() && !reachable.get(id).containsKey(m.to()) && !reachedBefore.containsKey(m.to()))
                throw new AssertionError("node " + id + " sends " + m + " to a server not among the peers it reported: "
                        + reachedBefore.keySet() + " before this Ready, " + reachable.get(id).keySet() + " with it");
            sent.add(m);
            if (!blocked(m)) enqueue(m);
        }

        // 3. apply: exactly once, in order, only committed entries.
        List<Entry> app = applied.get(id);
        for (Entry e : rd.committed()) {
            if (e.index() != app.size() + 1)
                throw new AssertionError("node " + id + " applies " + e + " after " + app.size() + " applied entries");
            if (e.index() > st.hardState.commit())
                throw new AssertionError("node " + id + " applies " + e + " beyond its persisted commit " + st.hardState);
            invariants.onApply(id, e);
            app.add(e);
        }

        for (ReadState rs : rd.readStates()) invariants.onReadState(id, rs);
        reads.computeIfAbsent(id, k -> new ArrayList<>()).addAll(rd.readStates());

        // 4. acknowledge, or keep stepping the node first as a runtime with asynchronous storage would.
        if (holdRandom != null && holdRandom.nextInt(100) < holdPercent) held.put(id, rd);
        else n.advance(rd);
    }

    /** Figure 2: currentTerm only grows, and a vote once cast is never changed within its term. */
    private static void checkHardStateStep(int id, HardState before, HardState after) {
        if (after.term() < before.term() || after.commit() < before.commit())
            throw new AssertionError("node " + id + " persisted hard state went back: " + before + " -> " + after);
        if (after.term() == before.term() && before.votedFor() != RaftNode.NONE
                && after.votedFor() != before.votedFor())
            throw new AssertionError("node " + id + " changed its vote within term " + after.term() + ": " + before
                    + " -> " + after);
    }

    /**
     * From now on, {@code percent}% of Readies are handled (persisted, sent, applied) but not
     * acknowledged until {@link #releaseHeld}: the node keeps stepping meanwhile.
     */
    void holdReadies(Random random, int percent) {
        this.holdRandom = random;
        this.holdPercent = percent;
    }

    List<Integer> heldNodes() {
        return List.copyOf(held.keySet());
    }

    /** Calls advance() for the Ready held on {@code id}, then handles the Readies that follow. */
    void releaseHeld(int id) {
        Ready rd = held.remove(id);
        if (rd == null) throw new IllegalStateException("no Ready held on node " + id);
        nodes.get(id).advance(rd);
        processReadies();
    }

    void releaseAllHeld() {
        for (int id : List.copyOf(held.keySet())) releaseHeld(id);
    }

    private boolean blocked(Message m) {
        if (!nodes.containsKey(m.to())) return true; // a member whose server is not started (yet)
        if (down.contains(m.to()) || down.contains(m.from())) return true;
        if (!groupOf.isEmpty() && !groupOf.getOrDefault(m.from(), -m.from()).equals(groupOf.getOrDefault(m.to(), -m.to())))
            return true;
        for (Predicate<Message> rule : dropRules) if (rule.test(m)) return true;
        return false;
    }

    /** Hands one in-flight message to its target (or loses it if the network now blocks it). */
    void deliver(Message m) {
        if (!inFlight.remove(m)) throw new IllegalArgumentException("not in flight: " + m);
        if (blocked(m)) return;
        nodes.get(m.to()).step(m);
        checkLeaders();
    }

    /** Delivers every message now in flight that matches, in send order, then handles the Readies. */
    int deliver(Predicate<Message> which) {
        List<Message> batch = inFlight.stream().filter(which).toList();
        for (Message m : batch) deliver(m);
        processReadies();
        return batch.size();
    }

    /** Delivers everything now in flight (not what that provokes), then handles the Readies. */
    int deliverAll() {
        return deliver(m -> true);
    }

    /** Delivers messages and handles Readies until nothing is in flight and no node has a Ready. */
    void stabilize() {
        processReadies();
        for (int round = 0; !inFlight.isEmpty(); round++) {
            if (round > 10_000) throw new AssertionError("cluster does not stabilize: " + nodes.values());
            deliverAll();
        }
    }

    /** Ticks one node once and handles its Ready; messages stay in flight. */
    void tick(int id) {
        nodes.get(id).tick();
        checkLeaders();
        processReadies();
    }

    /** {@code rounds} times: tick every live node once, then stabilize. */
    void tickAndStabilize(int rounds) {
        for (int r = 0; r < rounds; r++) {
            for (int id : nodes.keySet()) if (isUp(id)) nodes.get(id).tick();
            checkLeaders();
            stabilize();
        }
    }

    /**
     * Issues a ReadIndex read on node {@code id} and handles the Readies. Its answer is checked
     * against every index committed (on any node, in memory or on disk) before it was issued.
     * Request ids are the cluster's own, far above those tests pick for {@code readIndex} calls.
     */
    long read(int id) {
        long requestId = ++lastReadId;
        long floor = invariants.highestCommitted();
        for (RaftNode n : nodes.values()) floor = Math.max(floor, n.commitIndex());
        invariants.onReadIssued(requestId, floor);
        nodes.get(id).readIndex(requestId);
        processReadies();
        return requestId;
    }

    void campaign(int id) {
        nodes.get(id).campaign("test");
        checkLeaders();
        processReadies();
    }

    /** Proposes a membership change on node {@code id} (thesis §4.1) and handles the Readies. */
    ConfChangeResult changeMembership(int id, ConfChange change) {
        ConfChangeResult r = nodes.get(id).proposeConfChange(change);
        processReadies();
        return r;
    }

    /**
     * Starts a new node {@code id} with empty storage and no bootstrap configuration (it joins an
     * existing cluster and learns its configuration from the leader), with the settings of the
     * cluster's first node.
     */
    void addNode(int id) {
        if (nodes.containsKey(id)) throw new IllegalStateException("node " + id + " exists");
        RaftConfig like = configs.values().iterator().next();
        RaftConfig cfg = new RaftConfig(id, List.of(), like.electionTicksMin(), like.electionTicksMax(),
                like.heartbeatTicks(), like.maxEntriesPerAppend(), like.maxInflightAppends(),
                seed * 1_000_003L + id, like.tickMs(), like.maxBytesPerAppend(), like.snapshotChunkBytes(),
                like.checkQuorum(), like.preVote(), like.maxLearnerLagEntries(), java.util.Map.of()).validate();
        configs.put(id, cfg);
        storages.put(id, new Storage());
        commitChecked.put(id, 0L);
        startNode(id, cfg);
    }

    ProposeResult propose(int id, String command) {
        ProposeResult r = nodes.get(id).propose(command.getBytes(StandardCharsets.UTF_8));
        processReadies();
        return r;
    }

    /** Ticks (stabilizing each round) until some live node leads; fails after {@code maxRounds}. */
    int electLeader(int maxRounds) {
        for (int r = 0; r < maxRounds; r++) {
            Optional<Integer> l = leader();
            if (l.isPresent()) return l.get();
            tickAndStabilize(1);
        }
        throw new AssertionError("no leader after " + maxRounds + " tick rounds: " + nodes.values());
    }

    /** Election Safety, checked on live roles after every input. */
    private void checkLeaders() {
        for (var e : nodes.entrySet()) {
            if (isUp(e.getKey()) && e.getValue().role() == Role.LEADER) invariants.onLeader(e.getKey(), e.getValue().term());
        }
    }

    // ---------------------------------------------------------------- faults

    /** Only nodes in the same group can talk; nodes in no group are alone. */
    void partition(List<Set<Integer>> groups) {
        groupOf.clear();
        for (int g = 0; g < groups.size(); g++) for (int id : groups.get(g)) groupOf.put(id, g);
    }

    void partition(Set<Integer> a, Set<Integer> b) {
        partition(List.of(a, b));
    }

    void isolate(int id) {
        Set<Integer> rest = new HashSet<>(nodes.keySet());
        rest.remove(id);
        partition(Set.of(id), rest);
    }

    void heal() {
        groupOf.clear();
    }

    /** Drops (at send and at delivery) every message matching {@code rule} until {@link #clearDrops}. */
    void drop(Predicate<Message> rule) {
        dropRules.add(rule);
    }

    void clearDrops() {
        dropRules.clear();
    }

    /** Loses {@code m} in the network. */
    void lose(Message m) {
        inFlight.remove(m);
    }

    /**
     * The network holds {@code m} back (a long delay): it is not delivered, not even by
     * {@link #stabilize}, until {@link #releaseDelayed}.
     */
    void delay(Message m) {
        if (!inFlight.remove(m)) throw new IllegalArgumentException("not in flight: " + m);
        delayed.add(m);
    }

    /** A message held back by {@link #delay} is in flight again, for a late delivery. */
    void releaseDelayed(Message m) {
        if (!delayed.remove(m)) throw new IllegalArgumentException("not held back: " + m);
        enqueue(m);
    }

    /** In flight, or queued for a paused node. */
    private void enqueue(Message m) {
        List<Message> queue = pausedInbound.get(m.to());
        if (queue != null) queue.add(m);
        else inFlight.add(m);
    }

    /**
     * Node {@code id} stops reading from the network (a long GC pause, a full receive buffer):
     * messages to it wait, in order, until {@link #resume}. It still ticks and sends.
     */
    void pause(int id) {
        if (pausedInbound.containsKey(id)) throw new IllegalStateException("node " + id + " is already paused");
        List<Message> queue = new ArrayList<>(inFlight.stream().filter(m -> m.to() == id).toList());
        inFlight.removeIf(m -> m.to() == id);
        pausedInbound.put(id, queue);
    }

    /**
     * Node {@code id} reads again: it handles what waited for it in the order it was sent (as it
     * reads a socket's backlog), then its Readies are handled.
     */
    void resume(int id) {
        List<Message> queue = pausedInbound.remove(id);
        if (queue == null) throw new IllegalStateException("node " + id + " is not paused");
        inFlight.addAll(queue);
        for (Message m : queue) deliver(m);
        processReadies();
    }

    List<Integer> paused() { return List.copyOf(pausedInbound.keySet()); }

    List<Message> delayed() { return List.copyOf(delayed); }

    /** Duplicates {@code m} in the network. */
    void duplicate(Message m) {
        enqueue(m);
    }

    /** Stops a node; it keeps its storage, loses its volatile state and its messages. */
    void crash(int id) {
        down.add(id);
        held.remove(id);
        inFlight.removeIf(m -> m.to() == id);
        // Its socket is gone: what waited for it is lost, and its next process reads again.
        pausedInbound.remove(id);
    }

    /**
     * Deletes a crashed node's storage, so it restarts empty: a replaced or wiped disk, which Raft
     * assumes never happens (Figure 2, "updated on stable storage").
     */
    void wipe(int id) {
        if (!down.contains(id)) throw new IllegalStateException("crash node " + id + " before wiping it");
        storages.put(id, new Storage());
        commitChecked.put(id, 0L);
    }

    /** Restarts a crashed node from its storage, with a fresh randomization seed. */
    void restart(int id) {
        if (!down.remove(id)) throw new IllegalStateException("node " + id + " is not down");
        int k = restarts.merge(id, 1, Integer::sum);
        RaftConfig c = configs.get(id);
        // Same settings (check quorum, pre-vote, limits) with a fresh seed, so a restart does not replay its timeouts.
        startNode(id, c.toBuilder().randomSeed(c.randomSeed() + 7919L * k).build());
        processReadies();
    }

    // ---------------------------------------------------------------- observation

    List<Message> inFlight() { return List.copyOf(inFlight); }

    /** ReadIndex answers node {@code id} handed out so far, in order. */
    List<ReadState> readStates(int id) { return List.copyOf(reads.getOrDefault(id, List.of())); }

    List<Message> sent() { return List.copyOf(sent); }

    /** Role changes node {@code id}'s Readies reported so far, in order. */
    List<RoleChange> roleChanges(int id) { return List.copyOf(roleChanges.getOrDefault(id, List.of())); }

    /** Configurations node {@code id}'s Readies reported (each time it changed), in order. */
    List<Configuration> configurationsReported(int id) { return List.copyOf(configurations.getOrDefault(id, List.of())); }

    Storage storage(int id) { return storages.get(id); }

    List<Entry> log(int id) { return List.copyOf(storages.get(id).entries); }

    List<Entry> applied(int id) { return List.copyOf(applied.get(id)); }

    /** Live leaders of the highest term any live node leads. */
    List<Integer> leaders() {
        return nodes.entrySet().stream()
                .filter(e -> isUp(e.getKey()) && e.getValue().role() == Role.LEADER)
                .map(Map.Entry::getKey).toList();
    }

    /** The live leader with the highest term, if any. */
    Optional<Integer> leader() {
        return leaders().stream().max((a, b) -> Long.compare(nodes.get(a).term(), nodes.get(b).term()));
    }

    /** Log Matching over every pair of persisted logs. */
    void assertLogMatching() {
        for (int a : storages.keySet())
            for (int b : storages.keySet())
                if (a < b) ClusterInvariants.checkLogMatching(a, storages.get(a).entries, b, storages.get(b).entries);
    }

    @Override
    public String toString() {
        StringBuilder configs = new StringBuilder();
        nodes.forEach((id, n) -> configs.append(" ").append(id).append(": ").append(n.configuration())
                .append(" @").append(n.configurationIndex()).append(";"));
        return "TestCluster[seed=" + seed + " " + nodes.values() + " down=" + down + " partition=" + groupOf
                + " configurations:" + configs + "]";
    }
}
