package io.raftkv.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.server.WriteWorkload;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -9} of real node processes (fsync on, the default) while four clients write: a
 * follower, then the leader, then all three nodes at once, each restarted with its own command
 * line and data folder. At the end every write answered 200 is there with the right value
 * ({@link WriteWorkload}: appends in order, at most once), every node holds the same data, and
 * the cluster serves again. Small snapshot and segment settings make the restarts recover from
 * a snapshot plus a WAL tail, and a node that was down catch up by InstallSnapshot.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class CrashRecoveryIT {
    private static final int NODES = 3;
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final Duration ELECTION_WAIT = Duration.ofSeconds(30);
    private static final Duration PROGRESS_WAIT = Duration.ofSeconds(30);
    /** Above the nodes' request timeout (2 s), so the node's own answer normally comes first. */
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(3);
    private static final int START_ATTEMPTS = 3;

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private final Path testDir = ItEnv.newLogDir("it-crash-");

    private int[] ports;
    private final Process[] processes = new Process[NODES];
    private final int[] starts = new int[NODES];
    private RaftKvClient statusClient;

    @AfterEach
    void stopEverything() {
        procs.close();
        if (statusClient != null) statusClient.close();
    }

    @Test
    void acknowledgedWritesSurviveKillMinus9OfAFollowerTheLeaderAndAllNodes() {
        startCluster();
        awaitLeader(ALL, 0);
        WriteWorkload w = new WriteWorkload("", 4, 5, () -> new RaftKvClient(addresses(), CLIENT_TIMEOUT)).start();
        w.awaitAcked(300, PROGRESS_WAIT);

        // 1. A follower. It stays down while the others write and compact past its log (the
        //    leader keeps 300 entries behind each snapshot), so it comes back through a snapshot.
        Leader leader = awaitLeader(ALL, 0);
        int follower = (leader.id() + 1) % NODES;
        kill(follower);
        w.awaitAcked(w.acked() + 900, PROGRESS_WAIT);
        start(follower);
        awaitCaughtUp(follower);

        // 2. The leader.
        leader = awaitLeader(ALL, 0);
        kill(leader.id());
        Set<Integer> survivors = new TreeSet<>(ALL);
        survivors.remove(leader.id());
        awaitLeader(survivors, leader.term());
        w.awaitAcked(w.acked() + 300, PROGRESS_WAIT);
        start(leader.id());
        awaitCaughtUp(leader.id());

        // 3. All three at once: SIGKILL to each, then wait for all to be gone.
        w.awaitAcked(w.acked() + 300, PROGRESS_WAIT);
        for (int id : ALL) processes[id].destroyForcibly();
        for (int id : ALL) assertThat(ProcessGroup.awaitExit(processes[id], 10)).as("node %d exits on SIGKILL", id).isTrue();
        long ackedAtCrash = w.acked();
        for (int id : ALL) start(id);
        awaitLeader(ALL, 0);
        w.awaitAcked(ackedAtCrash + 300, PROGRESS_WAIT);
        w.stop();

        // Every node converges, every acknowledged write is there, and the cluster takes writes.
        for (int id : ALL) awaitCaughtUp(id);
        WriteWorkload.Check check = w.check(() -> new RaftKvClient(addresses(), Duration.ofSeconds(5)), 4, PROGRESS_WAIT);
        System.out.printf("CrashRecoveryIT: %s; %d keys read back; logs and data in %s%n", w.summary(), check.keysRead(), testDir);
        assertThat(check.violations()).as("final values against the answers the writers got (%s)", w.summary()).isEmpty();
        assertThat(w.anomalies()).isEmpty();
        assertThat(w.acked()).isGreaterThan(ackedAtCrash);
        Map<Integer, JsonNode> statuses = awaitAllCaughtUp();
        for (int id : ALL) {
            assertThat(statuses.get(id).get("keys").asInt()).as("keys on node %d", id).isEqualTo(check.observed().size());
        }
        for (int id : ALL) {
            try (RaftKvClient via = new RaftKvClient(List.of(address(id)), CLIENT_TIMEOUT)) {
                KvResult put = via.append("after-crashes", "<" + id + ">");
                assertThat(put.status()).as("write via node %d after the crashes: %s", id, put.body()).isEqualTo(200);
                KvResult get = via.get("after-crashes");
                assertThat(get.value()).as("read via node %d", id).hasValueSatisfying(v -> assertThat(v).endsWith("<" + id + ">"));
            }
        }
    }

    // ------------------------------------------------------------------ processes

    private HostPort address(int id) {
        return new HostPort("localhost", ports[id]);
    }

    private List<HostPort> addresses() {
        return IntStream.range(0, NODES).mapToObj(this::address).toList();
    }

    private Path dataDir(int id) {
        return testDir.resolve("data-" + ports[0]).resolve("node-" + id);
    }

    private Path logOf(int id) {
        return testDir.resolve("node-" + id + "-" + ports[id] + ".log");
    }

    /** The same command line on every start: fsync on (the default), small snapshots and segments. */
    private List<String> nodeCommand(int id) {
        String peers = IntStream.range(0, NODES).filter(i -> i != id).mapToObj(i -> "localhost:" + ports[i])
                .collect(Collectors.joining(","));
        return List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString(), "-id", String.valueOf(id),
                "-port", String.valueOf(ports[id]), "-peers", peers, "--no-shell", "-data", dataDir(id).toString(),
                "--snapshot-entries", "300", "--segment-bytes", "65536", "--request-timeout-ms", "2000");
    }

    private void start(int id) {
        starts[id]++;
        processes[id] = procs.start(logOf(id), nodeCommand(id), testDir);
    }

    /** kill -9, by the pid the node reports in its own /status. */
    private void kill(int id) {
        JsonNode s = status(id).orElseThrow(() -> new AssertionError("node " + id + " does not answer /status"));
        assertThat(s.get("pid").asLong()).as("pid in /status of node %d", id).isEqualTo(processes[id].pid());
        processes[id].destroyForcibly();
        assertThat(ProcessGroup.awaitExit(processes[id], 10)).as("node %d exits on SIGKILL", id).isTrue();
    }

    /** Starts the nodes on fresh ports; starts over on other ports if one was taken before a node bound it. */
    private void startCluster() {
        for (int attempt = 1; ; attempt++) {
            ports = ItEnv.freePorts(NODES);
            if (statusClient != null) statusClient.close();
            statusClient = new RaftKvClient(addresses(), Duration.ofSeconds(2));
            for (int id : ALL) start(id);
            Optional<String> clash = ItEnv.await("each node's port to be answered by that node's process", ELECTION_WAIT,
                    this::ownNodesOrPortClash, this::describe);
            if (clash.isEmpty()) return;
            procs.close();
            if (attempt == START_ATTEMPTS) throw new AssertionError("ports taken in " + attempt + " attempts; last: " + clash.get());
        }
    }

    private Optional<Optional<String>> ownNodesOrPortClash() {
        for (int id : ALL) {
            if (processes[id].isAlive()) continue;
            String log = ProcessGroup.read(logOf(id));
            assertThat(log).as("node %d exited with code %d at startup", id, processes[id].exitValue()).contains("already in use");
            return Optional.of(Optional.of("node " + id + ": " + log.strip()));
        }
        for (int id : ALL) {
            if (status(id).map(s -> s.get("pid").asLong() != processes[id].pid()).orElse(true)) return Optional.empty();
        }
        return Optional.of(Optional.empty());
    }

    // ------------------------------------------------------------------ status

    private Optional<JsonNode> status(int id) {
        KvResult r = statusClient.status(address(id));
        return r.ok() ? Optional.of(r.body()) : Optional.empty();
    }

    private record Leader(int id, long term) {}

    /** One leader among {@code among}, in a term above {@code aboveTerm}, that all of them follow. */
    private Leader awaitLeader(Set<Integer> among, long aboveTerm) {
        return ItEnv.await("one leader among " + among + " above term " + aboveTerm + ", agreed by all", ELECTION_WAIT, () -> {
            Map<Integer, JsonNode> st = new TreeMap<>();
            for (int id : among) status(id).ifPresent(s -> st.put(id, s));
            if (st.size() < among.size()) return Optional.empty();
            List<Integer> leaders = st.entrySet().stream().filter(e -> e.getValue().path("role").asText().equals("leader"))
                    .filter(e -> e.getValue().get("term").asLong() > aboveTerm).map(Map.Entry::getKey).toList();
            if (leaders.size() != 1) return Optional.empty();
            int l = leaders.getFirst();
            long term = st.get(l).get("term").asLong();
            boolean agreed = st.values().stream().allMatch(s -> s.path("leader").path("id").asInt(-1) == l
                    && s.get("term").asLong() == term);
            return agreed ? Optional.of(new Leader(l, term)) : Optional.empty();
        }, this::describe);
    }

    /** Waits until {@code node} follows a leader and has applied what that leader had committed when the wait began. */
    private void awaitCaughtUp(int node) {
        long target = ItEnv.await("a leader's commit index", ELECTION_WAIT, () -> {
            for (int id : ALL) {
                Optional<JsonNode> s = status(id);
                if (s.isPresent() && s.get().path("role").asText().equals("leader")) {
                    return Optional.of(s.get().get("commitIndex").asLong());
                }
            }
            return Optional.empty();
        }, this::describe);
        ItEnv.awaitTrue("node " + node + " (started " + starts[node] + " times) to apply up to index " + target, PROGRESS_WAIT,
                () -> status(node).map(s -> s.get("lastApplied").asLong() >= target
                        && s.path("leader").path("id").asInt(-1) >= 0).orElse(false), this::describe);
    }

    /** With the writers stopped: every node has applied the leader's whole log and holds as many keys. */
    private Map<Integer, JsonNode> awaitAllCaughtUp() {
        return ItEnv.await("all nodes to apply the leader's whole log", PROGRESS_WAIT, () -> {
            Map<Integer, JsonNode> st = new TreeMap<>();
            for (int id : ALL) status(id).ifPresent(s -> st.put(id, s));
            if (st.size() < NODES) return Optional.empty();
            Optional<JsonNode> leader = st.values().stream().filter(s -> s.path("role").asText().equals("leader")).findFirst();
            if (leader.isEmpty()) return Optional.empty();
            long commit = leader.get().get("commitIndex").asLong();
            int keys = leader.get().get("keys").asInt();
            boolean all = st.values().stream().allMatch(s -> s.get("lastApplied").asLong() == commit
                    && s.get("lastLogIndex").asLong() == commit && s.get("keys").asInt() == keys);
            return all ? Optional.of(st) : Optional.empty();
        }, this::describe);
    }

    private String describe() {
        List<String> parts = new ArrayList<>();
        for (int id : ALL) {
            KvResult r = statusClient.status(address(id));
            parts.add("node " + id + ": " + (r.ok() ? r.body() : r.error().orElse("HTTP " + r.status())));
        }
        return String.join("; ", parts) + "; logs in " + testDir;
    }
}
