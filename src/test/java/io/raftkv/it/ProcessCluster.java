package io.raftkv.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cluster of {@code n} real node processes on fresh ports, each with its own data folder and
 * log under the test's folder, started, killed ({@code kill -9}) and restarted with the same
 * command line (fsync on, the default). The processes belong to the test's {@link ProcessGroup},
 * which kills what is left when the test ends. The same steps as {@code CrashRecoveryIT}'s, for
 * tests that only need a cluster to fail over.
 */
final class ProcessCluster implements AutoCloseable {
    private static final int START_ATTEMPTS = 3;

    private final ProcessGroup procs;
    private final Path testDir;
    private final int size;
    private final Duration wait;
    private final Process[] processes;
    private int[] ports;
    private RaftKvClient statusClient;

    ProcessCluster(ProcessGroup procs, Path testDir, int size, Duration wait) {
        this.procs = procs;
        this.testDir = testDir;
        this.size = size;
        this.wait = wait;
        this.processes = new Process[size];
    }

    record Leader(int id, long term) {}

    Set<Integer> ids() {
        return IntStream.range(0, size).boxed().collect(Collectors.toCollection(TreeSet::new));
    }

    /** Every id but {@code id}. */
    Set<Integer> idsExcept(int id) {
        Set<Integer> s = ids();
        s.remove(id);
        return s;
    }

    HostPort address(int id) {
        return new HostPort("localhost", ports[id]);
    }

    List<HostPort> addresses() {
        return IntStream.range(0, size).mapToObj(this::address).toList();
    }

    /** Node {@code first}'s address, then the others': a client of this list starts with that node. */
    List<HostPort> addressesStartingWith(int first) {
        List<HostPort> out = new ArrayList<>(List.of(address(first)));
        for (int id = 0; id < size; id++) if (id != first) out.add(address(id));
        return out;
    }

    Path testDir() {
        return testDir;
    }

    private Path dataDir(int id) {
        return testDir.resolve("data").resolve("node-" + id);
    }

    private Path logOf(int id) {
        return testDir.resolve("node-" + id + ".log");
    }

    private List<String> nodeCommand(int id) {
        String peers = IntStream.range(0, size).filter(i -> i != id).mapToObj(i -> "localhost:" + ports[i])
                .collect(Collectors.joining(","));
        return List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString(), "-id", String.valueOf(id),
                "-port", String.valueOf(ports[id]), "-peers", peers, "--no-shell", "-data", dataDir(id).toString(),
                "--request-timeout-ms", "2000");
    }

    /** Starts every node on fresh ports (over again on others if a port was taken before a node bound it), then waits for a leader. */
    Leader start() {
        for (int attempt = 1; ; attempt++) {
            ports = ItEnv.freePorts(size);
            if (statusClient != null) statusClient.close();
            statusClient = new RaftKvClient(addresses(), Duration.ofSeconds(2));
            for (int id = 0; id < size; id++) start(id);
            Optional<String> clash = ItEnv.await("each node's port to be answered by that node's process", wait,
                    this::ownNodesOrPortClash, this::describe);
            if (clash.isEmpty()) return awaitLeader(ids(), 0);
            procs.close();
            if (attempt == START_ATTEMPTS) throw new AssertionError("ports taken in " + attempt + " attempts; last: " + clash.get());
        }
    }

    /** Starts node {@code id} (again) with its command line and data folder. */
    void start(int id) {
        processes[id] = procs.start(logOf(id), nodeCommand(id), testDir);
    }

    /** kill -9 of node {@code id}, checked against the pid it reports in its /status; waits until it is gone. */
    void kill(int id) {
        JsonNode s = status(id).orElseThrow(() -> new AssertionError("node " + id + " does not answer /status"));
        assertThat(s.get("pid").asLong()).as("pid in /status of node %d", id).isEqualTo(processes[id].pid());
        processes[id].destroyForcibly();
        assertThat(ProcessGroup.awaitExit(processes[id], 10)).as("node %d exits on SIGKILL", id).isTrue();
    }

    private Optional<Optional<String>> ownNodesOrPortClash() {
        for (int id = 0; id < size; id++) {
            if (processes[id].isAlive()) continue;
            String log = ProcessGroup.read(logOf(id));
            assertThat(log).as("node %d exited with code %d at startup", id, processes[id].exitValue()).contains("already in use");
            return Optional.of(Optional.of("node " + id + ": " + log.strip()));
        }
        for (int id = 0; id < size; id++) {
            int node = id;
            if (status(id).map(s -> s.get("pid").asLong() != processes[node].pid()).orElse(true)) return Optional.empty();
        }
        return Optional.of(Optional.empty());
    }

    Optional<JsonNode> status(int id) {
        KvResult r = statusClient.status(address(id));
        return r.ok() ? Optional.of(r.body()) : Optional.empty();
    }

    /** One leader among {@code among}, in a term above {@code aboveTerm}, that all of them follow. */
    Leader awaitLeader(Set<Integer> among, long aboveTerm) {
        return ItEnv.await("one leader among " + among + " above term " + aboveTerm + ", agreed by all", wait, () -> {
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

    /** Kills the leader and waits for a new one among the others, in a later term. */
    Leader killLeaderAndAwaitNext(Leader leader) {
        kill(leader.id());
        return awaitLeader(idsExcept(leader.id()), leader.term());
    }

    /** Waits until every node has applied the leader's whole log (nothing is being written). */
    long awaitAllApplied() {
        return ItEnv.await("all nodes to apply the leader's whole log", wait, () -> {
            Map<Integer, JsonNode> st = new TreeMap<>();
            for (int id = 0; id < size; id++) status(id).ifPresent(s -> st.put(s.get("id").asInt(), s));
            if (st.size() < size) return Optional.empty();
            Optional<JsonNode> leader = st.values().stream().filter(s -> s.path("role").asText().equals("leader")).findFirst();
            if (leader.isEmpty()) return Optional.empty();
            long commit = leader.get().get("commitIndex").asLong();
            boolean all = st.values().stream().allMatch(s -> s.get("lastApplied").asLong() == commit);
            return all ? Optional.of(commit) : Optional.empty();
        }, this::describe);
    }

    String describe() {
        List<String> parts = new ArrayList<>();
        for (int id = 0; id < size; id++) {
            KvResult r = statusClient.status(address(id));
            parts.add("node " + id + ": " + (r.ok() ? r.body() : r.error().orElse("HTTP " + r.status())));
        }
        return String.join("; ", parts) + "; logs in " + testDir;
    }

    /** Closes the status client; the processes go with the test's {@link ProcessGroup}. */
    @Override
    public void close() {
        if (statusClient != null) statusClient.close();
    }
}
