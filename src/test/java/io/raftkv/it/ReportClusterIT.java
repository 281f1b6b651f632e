package io.raftkv.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * The report's three command lines as three real {@code java -jar raftkv.jar} processes:
 * replication and forwarding over HTTP, {@code kill -9} of the leader, re-election among the
 * survivors with no acknowledged write lost, and a restarted node catching up.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class ReportClusterIT {
    private static final int NODES = 3;
    /** Generous bounds for conditions that normally hold within a second or two. */
    private static final Duration ELECTION_WAIT = Duration.ofSeconds(30);
    private static final Duration CATCH_UP_WAIT = Duration.ofSeconds(30);
    /** Longer than a node's own request timeout (5 s), so the node's answer arrives first. */
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(8);

    /** Attempts at starting the cluster when a chosen port was taken before a node could bind it. */
    private static final int START_ATTEMPTS = 3;

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private final Path logDir = ItEnv.newLogDir("it-report-");

    private int[] ports;

    private final Process[] processes = new Process[NODES];
    private final Map<Integer, RaftKvClient> viaNode = new HashMap<>();
    private RaftKvClient statusClient;
    /** Every write answered 200, with the value the answer reported: none of these may be lost. */
    private final Map<String, String> acknowledged = new LinkedHashMap<>();
    /** Raft §5.2 election safety, checked on every status poll: at most one leader per term. */
    private final Map<Long, Integer> leaderOfTerm = new TreeMap<>();

    @AfterEach
    void stopEverything() {
        procs.close();
        closeClients();
    }

    @Test
    void reportClusterReplicatesSurvivesLeaderKillAndCatchesUpARestartedNode() {
        startCluster();

        awaitAgreedLeader(Set.of(0, 1, 2), 0);

        // A write on node 0, read back through the two other nodes.
        write(0, "put", "report-key", "v0", "v0");
        assertReadable(2, "report-key", "v0");
        assertReadable(1, "report-key", "v0");

        // An append through a follower is forwarded to the leader and applied once.
        int follower = firstFollowerOtherThan(awaitAgreedLeader(Set.of(0, 1, 2), 0).id());
        write(follower, "append", "report-key", "+f", "v0+f");
        for (int id = 0; id < NODES; id++) assertReadable(id, "report-key", "v0+f");
        for (int i = 0; i < 6; i++) write(i % NODES, "put", "k" + i, "value-" + i, "value-" + i);

        // kill -9 the leader of now (a stalled node may have caused an election since the first one),
        // identified by the pid its own /status reports.
        Leader leader = awaitAgreedLeader(Set.of(0, 1, 2), 0);
        int killed = leader.id();
        JsonNode leaderStatus = status(killed).orElseThrow(() -> new AssertionError("leader " + killed + " stopped answering"));
        assertThat(leaderStatus.get("pid").asLong()).as("pid in /status of node %d", killed).isEqualTo(processes[killed].pid());
        processes[killed].destroyForcibly();
        assertThat(ProcessGroup.awaitExit(processes[killed], 10)).as("node %d exits after SIGKILL", killed).isTrue();

        Set<Integer> survivors = new TreeSet<>(Set.of(0, 1, 2));
        survivors.remove(killed);
        // A leader in a later term than the killed one's; usually elected after the kill.
        int secondLeader = awaitAgreedLeader(survivors, leader.term()).id();
        assertThat(secondLeader).isIn(survivors);

        // The service goes on: new writes through a surviving follower, and nothing acknowledged is lost.
        int survivingFollower = survivors.stream().filter(id -> id != secondLeader).findFirst().orElseThrow();
        write(survivingFollower, "put", "after-kill", "written-via-" + survivingFollower, "written-via-" + survivingFollower);
        write(survivingFollower, "append", "report-key", "+after", "v0+f+after");
        for (int id : survivors) assertAllAcknowledgedReadable(id);

        // The killed node comes back with the same command line and catches up from the leader.
        startNode(killed);
        awaitCaughtUp(killed);
        write(killed, "put", "after-restart", "via-" + killed, "via-" + killed);
        assertAllAcknowledgedReadable(killed);
        awaitCaughtUp(killed);
    }

    // ------------------------------------------------------------------ processes

    private HostPort address(int id) {
        return new HostPort("localhost", ports[id]);
    }

    /** The report's command line: {@code -id N -port P -peers "host:port,host:port"}, plus {@code --no-shell}. */
    private List<String> nodeCommand(int id) {
        String peers = IntStream.range(0, NODES).filter(i -> i != id).mapToObj(i -> "localhost:" + ports[i])
                .collect(Collectors.joining(","));
        return List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString(), "-id", String.valueOf(id), "-port",
                String.valueOf(ports[id]), "-peers", peers, "--no-shell");
    }

    private void startNode(int id) {
        // Run in this test's folder so the default data folder (data/node-<id>) is the test's own;
        // a restart with the same command line then finds the node's data again.
        processes[id] = procs.start(logDir.resolve("node-" + id + "-" + ports[id] + ".log"), nodeCommand(id),
                logDir.resolve("attempt-" + ports[0]));
    }

    /**
     * Starts the three nodes on fresh ports and waits until each port is answered by the process
     * started for it (its /status pid), so that no request of this test reaches a stranger. If a
     * port was taken between choosing and binding it, starts over on other ports.
     */
    private void startCluster() {
        for (int attempt = 1; ; attempt++) {
            ports = ItEnv.freePorts(NODES);
            connectClients();
            for (int id = 0; id < NODES; id++) startNode(id);
            Optional<String> clash = ItEnv.await("each node's port to be answered by that node's process", ELECTION_WAIT,
                    this::ownNodesOrPortClash, () -> describe(Set.of(0, 1, 2)));
            if (clash.isEmpty()) return;
            procs.close();
            if (attempt == START_ATTEMPTS) throw new AssertionError("ports taken in " + attempt + " attempts; last: " + clash.get());
            System.err.println("ReportClusterIT: starting over on other ports: " + clash.get());
        }
    }

    /** Present when settled: an empty inner value if every node answers with its own pid, else why a node exited. */
    private Optional<Optional<String>> ownNodesOrPortClash() {
        for (int id = 0; id < NODES; id++) {
            if (processes[id].isAlive()) continue;
            String log = ProcessGroup.read(logDir.resolve("node-" + id + "-" + ports[id] + ".log"));
            assertThat(log).as("node %d exited with code %d at startup", id, processes[id].exitValue())
                    .contains("already in use");
            return Optional.of(Optional.of("node " + id + ": " + log.strip()));
        }
        for (int id = 0; id < NODES; id++) {
            KvResult r = statusClient.status(address(id));
            if (!r.ok() || r.body().path("pid").asLong() != processes[id].pid()) return Optional.empty();
        }
        return Optional.of(Optional.empty());
    }

    private void connectClients() {
        closeClients();
        List<HostPort> all = IntStream.range(0, NODES).mapToObj(this::address).toList();
        statusClient = new RaftKvClient(all, Duration.ofSeconds(2));
        for (int id = 0; id < NODES; id++) viaNode.put(id, new RaftKvClient(List.of(address(id)), CLIENT_TIMEOUT));
    }

    private void closeClients() {
        viaNode.values().forEach(RaftKvClient::close);
        viaNode.clear();
        if (statusClient != null) statusClient.close();
    }

    // ------------------------------------------------------------------ status

    private Optional<JsonNode> status(int id) {
        KvResult r = statusClient.status(address(id));
        if (!r.ok()) return Optional.empty();
        JsonNode s = r.body();
        if (s.path("role").asText().equals("leader")) {
            long term = s.get("term").asLong();
            Integer before = leaderOfTerm.putIfAbsent(term, id);
            assertThat(before).as("leaders seen in term %d (two leaders in one term break Raft §5.2)", term)
                    .isIn(null, id);
        }
        return Optional.of(s);
    }

    private static int leaderId(JsonNode status) {
        JsonNode l = status.get("leader");
        return l == null || l.isNull() ? -1 : l.get("id").asInt();
    }

    private record Leader(int id, long term) {}

    /** Waits until exactly one of {@code among} leads, in a term above {@code aboveTerm}, and all of them say so. */
    private Leader awaitAgreedLeader(Set<Integer> among, long aboveTerm) {
        return ItEnv.await("one leader among nodes " + among + " in a term above " + aboveTerm + ", agreed by all of them",
                ELECTION_WAIT, () -> agreedLeader(among, aboveTerm), () -> describe(among));
    }

    private Optional<Leader> agreedLeader(Set<Integer> among, long aboveTerm) {
        Map<Integer, JsonNode> statuses = new TreeMap<>();
        for (int id : among) status(id).ifPresent(s -> statuses.put(id, s));
        if (statuses.size() < among.size()) return Optional.empty();
        List<Integer> leaders = statuses.entrySet().stream()
                .filter(e -> e.getValue().path("role").asText().equals("leader"))
                .filter(e -> e.getValue().get("term").asLong() > aboveTerm).map(Map.Entry::getKey).toList();
        if (leaders.size() != 1) return Optional.empty();
        int leader = leaders.getFirst();
        long term = statuses.get(leader).get("term").asLong();
        boolean agreed = statuses.values().stream().allMatch(s -> leaderId(s) == leader && s.get("term").asLong() == term);
        return agreed ? Optional.of(new Leader(leader, term)) : Optional.empty();
    }

    /** Waits until {@code node} follows the current leader and has applied everything that leader committed. */
    private void awaitCaughtUp(int node) {
        ItEnv.awaitTrue("node " + node + " to follow the leader and apply up to its commitIndex, with the same number of keys",
                CATCH_UP_WAIT, () -> {
                    Map<Integer, JsonNode> statuses = new TreeMap<>();
                    for (int id = 0; id < NODES; id++) {
                        int i = id;
                        status(id).ifPresent(st -> statuses.put(i, st));
                    }
                    JsonNode n = statuses.get(node);
                    if (n == null) return false;
                    JsonNode l = statuses.get(leaderId(n));
                    return l != null && l.path("role").asText().equals("leader")
                            && n.get("lastApplied").asLong() >= l.get("commitIndex").asLong()
                            && n.get("keys").asLong() == l.get("keys").asLong();
                }, () -> describe(Set.of(0, 1, 2)));
    }

    private String describe(Set<Integer> ids) {
        List<String> parts = new ArrayList<>();
        for (int id : new TreeSet<>(ids)) {
            KvResult r = statusClient.status(address(id));
            parts.add("node " + id + " (" + address(id) + "): " + (r.ok() ? r.body() : r.error().orElse("HTTP " + r.status())));
        }
        return String.join("; ", parts) + "; logs in " + logDir;
    }

    private int firstFollowerOtherThan(int leader) {
        return IntStream.range(0, NODES).filter(id -> id != leader).findFirst().orElseThrow();
    }

    // ------------------------------------------------------------------ data

    /** A put or append sent to {@code node} (which forwards it if it does not lead); must be acknowledged. */
    private void write(int node, String op, String key, String value, String expectedValue) {
        RaftKvClient c = viaNode.get(node);
        KvResult r = op.equals("put") ? c.put(key, value) : c.append(key, value);
        assertThat(r.status()).as("%s %s=%s via node %d: %s", op, key, value, node, r).isEqualTo(200);
        assertThat(r.value()).as("value after %s %s via node %d", op, key, node).contains(expectedValue);
        acknowledged.put(key, r.value().orElseThrow());
    }

    private void assertReadable(int node, String key, String expected) {
        KvResult r = viaNode.get(node).get(key);
        assertThat(r.status()).as("get %s via node %d: %s", key, node, r).isEqualTo(200);
        assertThat(r.value()).as("get %s via node %d", key, node).contains(expected);
    }

    private void assertAllAcknowledgedReadable(int node) {
        acknowledged.forEach((key, value) -> assertReadable(node, key, value));
    }
}
