package io.raftkv.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Polls every node's {@code GET /status} (one virtual thread per node, so a paused node delays
 * only its own poll) and reports leader changes. Also checks election safety on what it sees:
 * two nodes claiming leadership of one term break Raft §5.2.
 */
final class ClusterMonitor implements AutoCloseable {
    private static final long POLL_INTERVAL_NS = 100_000_000L;
    /** A status older than this says nothing about now (the node is paused, down or cut off). */
    private static final long FRESH_NS = 1_000_000_000L;

    /** What one poll of one node said. */
    record View(int id, String role, long term, int leaderId, long commitIndex, long lastApplied, long keys,
                long pid, long atNs) {
        boolean isLeader() {
            return role.equals("leader");
        }
    }

    /** A node seen as leader of {@code term} for the first time, at {@code atNs}. */
    record LeaderChange(long atNs, int node, long term) {}

    private final List<HostPort> nodes;
    private final RaftKvClient client;
    private final EventLog log;
    private final AtomicReferenceArray<View> views;
    private final Map<Long, Integer> leaderOfTerm = new TreeMap<>();
    private final List<LeaderChange> changes = new ArrayList<>();
    private final List<String> safetyViolations = new ArrayList<>();
    private final List<Thread> pollers = new ArrayList<>();
    private volatile boolean running = true;

    ClusterMonitor(List<HostPort> nodes, EventLog log, javax.net.ssl.SSLContext tls) {
        this.nodes = List.copyOf(nodes);
        this.client = new RaftKvClient(nodes, Duration.ofMillis(500), false, Duration.ofMillis(500), null, tls);
        this.log = log;
        this.views = new AtomicReferenceArray<>(nodes.size());
    }

    void start() {
        for (int i = 0; i < nodes.size(); i++) {
            int id = i;
            pollers.add(Thread.ofVirtual().name("status-" + id).start(() -> {
                while (running) {
                    poll(id);
                    LockSupport.parkNanos(POLL_INTERVAL_NS);
                }
            }));
        }
    }

    /** Polls node {@code id} once; returns its view if it answered. */
    Optional<View> poll(int id) {
        KvResult r = client.status(nodes.get(id));
        if (!r.ok()) return Optional.empty();
        JsonNode s = r.body();
        JsonNode leader = s.get("leader");
        View v = new View(s.path("id").asInt(id), s.path("role").asText("?"), s.path("term").asLong(),
                leader == null || leader.isNull() ? -1 : leader.path("id").asInt(-1), s.path("commitIndex").asLong(),
                s.path("lastApplied").asLong(), s.path("keys").asLong(), s.path("pid").asLong(), System.nanoTime());
        views.set(id, v);
        if (v.isLeader()) sawLeader(v);
        return Optional.of(v);
    }

    private synchronized void sawLeader(View v) {
        Integer before = leaderOfTerm.putIfAbsent(v.term(), v.id());
        if (before == null) {
            boolean newest = leaderOfTerm.keySet().stream().allMatch(t -> t <= v.term());
            changes.add(new LeaderChange(v.atNs(), v.id(), v.term()));
            if (newest) log.event("leader", "node " + v.id() + " leads in term " + v.term());
        } else if (before != v.id()) {
            String s = "nodes " + before + " and " + v.id() + " both claimed leadership of term " + v.term()
                    + " (Raft §5.2 election safety)";
            if (!safetyViolations.contains(s)) {
                safetyViolations.add(s);
                log.event("VIOLATION", s);
            }
        }
    }

    /** The leader with the highest term among fresh views, if any. */
    Optional<View> leader() {
        long now = System.nanoTime();
        View best = null;
        for (int i = 0; i < views.length(); i++) {
            View v = views.get(i);
            if (v != null && v.isLeader() && now - v.atNs() < FRESH_NS && (best == null || v.term() > best.term())) best = v;
        }
        return Optional.ofNullable(best);
    }

    synchronized List<LeaderChange> leaderChanges() {
        return List.copyOf(changes);
    }

    synchronized List<String> safetyViolations() {
        return List.copyOf(safetyViolations);
    }

    /** Highest term any node was seen leading. */
    synchronized long highestLeaderTerm() {
        return leaderOfTerm.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    @Override
    public void close() {
        running = false;
        for (Thread t : pollers) {
            try {
                t.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        client.close();
    }
}
