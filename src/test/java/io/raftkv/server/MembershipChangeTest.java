package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.MemoryStorage;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Membership changes on a running cluster under load (thesis ch. 4), as an operator makes them:
 * the README's runbook "replace a dead machine", and growing 3 → 5 → 3 with the leader removed.
 * Every acknowledged write is read back afterwards.
 */
class MembershipChangeTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final FileStorage.Options DISK = new FileStorage.Options(64 * 1024, true);

    /** Nodes started outside {@link TestNodes}: the ones that join. */
    private static final class Joined implements AutoCloseable {
        final Map<Integer, RaftServer> servers = new TreeMap<>();
        final Map<Integer, HostPort> addresses = new TreeMap<>();
        final List<Throwable> fatal = new CopyOnWriteArrayList<>();

        RaftServer join(int id, List<HostPort> via, io.raftkv.storage.RaftStorage storage) throws InterruptedException {
            HostPort self = new HostPort("127.0.0.1", TestNodes.freePorts(1).getFirst());
            RaftServer s = RaftServer.start(NodeConfig.of(id, self, Map.of()).withRequestTimeoutMs(3000).joining(), storage,
                    fatal::add);
            servers.put(id, s);
            addresses.put(id, self);
            try (Joiner j = Joiner.start(id, self, via, WAIT, why -> fatal.add(new AssertionError(why)))) {
                awaitCondition(() -> !j.running(), WAIT, "node " + id + " to be added");
            }
            return s;
        }

        @Override
        public void close() {
            servers.values().forEach(RaftServer::close);
        }
    }

    @Test
    @DisplayName("runbook: a dead node's machine is replaced (learner via join, promote, remove the dead id) while 4 clients write; nothing acknowledged is lost")
    void replaceADeadMachine(@TempDir Path root) throws Exception {
        try (TestNodes nodes = TestNodes.onDisk(3, root, DISK, c -> c.withRequestTimeoutMs(3000)).startAll();
             Joined joined = new Joined()) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int dead = (leader + 1) % 3;
            WriteWorkload w = new WriteWorkload("", 4, 5, () -> nodes.client(Duration.ofSeconds(5))).start();
            w.awaitAcked(200, WAIT);

            // The machine of a follower dies for good: its process and its disk are gone.
            nodes.stop(dead);
            nodes.wipe(dead);
            w.awaitAcked(w.acked() + 100, WAIT);

            // A new machine: node 3, empty folder, joins through any live node.
            RaftServer replacement = joined.join(3, List.of(nodes.address(leader)),
                    FileStorage.open(root.resolve("node-3"), DISK));
            try (RaftKvClient admin = nodes.client(WAIT)) {
                awaitCondition(() -> caughtUp(admin, 3), WAIT, "node 3 to catch up");
                KvResult promoted = admin.promoteMember(3);
                assertThat(promoted.status()).as(promoted.body().toString()).isEqualTo(200);
                KvResult removed = admin.removeMember(dead);
                assertThat(removed.status()).as(removed.body().toString()).isEqualTo(200);
                assertThat(voters(removed)).containsExactlyInAnyOrder(3, (dead + 1) % 3, (dead + 2) % 3);
            }
            w.awaitAcked(w.acked() + 200, WAIT);
            w.stop();

            WriteWorkload.Check check = w.check(() -> nodes.client(WAIT), 4, WAIT);
            assertThat(check.violations()).as("reads against %s", w.summary()).isEmpty();
            assertThat(w.anomalies()).isEmpty();
            // The replacement holds everything too.
            awaitCondition(() -> replacement.status().appliedIndex() >= nodes.node(nodes.awaitLeader(
                    Set.of((dead + 1) % 3, (dead + 2) % 3), WAIT)).status().commitIndex(), WAIT, "node 3 to apply all");
            assertThat(replacement.status().keys()).isEqualTo(check.observed().size());
            assertThat(nodes.fatalErrors()).isEmpty();
            assertThat(joined.fatal).isEmpty();
        }
    }

    @Test
    @DisplayName("3 → 5 → 3 voters while 4 clients write, the leader among those removed; nothing acknowledged is lost")
    void growAndShrinkUnderLoad() throws Exception {
        try (TestNodes nodes = new TestNodes(3, c -> c.withRequestTimeoutMs(3000)).startAll(); Joined joined = new Joined()) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            List<HostPort> via = List.of(nodes.address(0), nodes.address(1), nodes.address(2));
            WriteWorkload w = new WriteWorkload("", 4, 5, () -> new RaftKvClient(allAddresses(nodes, joined),
                    Duration.ofSeconds(5))).start();
            w.awaitAcked(100, WAIT);
            try (RaftKvClient admin = nodes.client(WAIT)) {
                for (int id : List.of(3, 4)) {
                    joined.join(id, via, new MemoryStorage());
                    awaitCondition(() -> caughtUp(admin, id), WAIT, "node " + id + " to catch up");
                    KvResult p = admin.promoteMember(id);
                    assertThat(p.status()).as(p.body().toString()).isEqualTo(200);
                    w.awaitAcked(w.acked() + 50, WAIT);
                }
                assertThat(voters(admin.members())).containsExactlyInAnyOrder(0, 1, 2, 3, 4);

                // Remove the leader, then another of the first three.
                List<Integer> removed = new ArrayList<>();
                KvResult r1 = admin.removeMember(leader);
                assertThat(r1.status()).as(r1.body().toString()).isEqualTo(200);
                removed.add(leader);
                w.awaitAcked(w.acked() + 50, WAIT);
                int other = (leader + 1) % 3;
                KvResult r2 = admin.removeMember(other);
                assertThat(r2.status()).as(r2.body().toString()).isEqualTo(200);
                removed.add(other);
                assertThat(voters(r2)).containsExactlyInAnyOrder((leader + 2) % 3, 3, 4);
                w.awaitAcked(w.acked() + 100, WAIT);
                w.stop();
                // The removed nodes keep running, and do not disturb: the new leader keeps its term.
                KvResult status = admin.members();
                int newLeader = status.body().path("leader").path("id").asInt();
                assertThat(removed).doesNotContain(newLeader);
            }
            WriteWorkload.Check check = w.check(() -> new RaftKvClient(allAddresses(nodes, joined), WAIT), 4, WAIT);
            assertThat(check.violations()).as("reads against %s", w.summary()).isEmpty();
            assertThat(w.anomalies()).isEmpty();
            assertThat(nodes.fatalErrors()).isEmpty();
            assertThat(joined.fatal).isEmpty();
        }
    }

    @Test
    @DisplayName("§4.2.3: a removed follower that keeps running learns its removal committed (its /status says so) and never campaigns")
    void aRemovedFollowerKnowsItWasRemoved() throws Exception {
        try (TestNodes nodes = new TestNodes(3, c -> c.withRequestTimeoutMs(3000)).startAll()) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int gone = (leader + 1) % 3;
            RaftServer g = nodes.node(gone);
            try (RaftKvClient admin = nodes.client(WAIT, leader)) {
                KvResult removed = admin.removeMember(gone);
                // An election under load can lose the answer to a change that was made; asked
                // again, it is "not a member" (404). The membership says which.
                assertThat(removed.status()).as(removed.body().toString()).isIn(200, 404);
                KvResult members = admin.members();
                assertThat(members.ok()).as(members.body().toString()).isTrue();
                assertThat(voters(members)).as(members.body().toString()).hasSize(2).doesNotContain(gone);
                long configIndex = members.body().path("configIndex").asLong();
                assertThat(configIndex).isPositive();
                awaitCondition(() -> g.status().commitIndex() >= configIndex, WAIT,
                        () -> "node " + gone + " to learn that its removal at index " + configIndex + " committed: "
                                + g.status());
                var status = admin.status(nodes.address(gone));
                assertThat(status.status()).isEqualTo(200);
                assertThat(status.body().path("member").asBoolean(true)).as(status.body().toString()).isFalse();
                assertThat(status.body().path("configuration").path("committed").asBoolean()).isTrue();
                assertThat(status.body().path("configuration").path("index").asLong()).isEqualTo(configIndex);
                assertThat(status.body().path("members").has(String.valueOf(gone))).isFalse();

                // Once the leader has stopped telling it, it hears from no leader: wait until it has
                // been silent for two of its longest election timeouts, in which it would have
                // campaigned at least once had it not known.
                long votes = nodes.voteRequestsSent(gone);
                int electionMaxMs = g.config().electionMaxMs();
                awaitCondition(() -> g.leaderContact().silentMs(System.nanoTime()) > 2L * electionMaxMs, WAIT,
                        "node " + gone + " to go two election timeouts without a leader's message");
                assertThat(nodes.voteRequestsSent(gone)).as("vote requests of the removed node").isEqualTo(votes);
                assertThat(g.status().role()).isEqualTo("follower");
                KvResult put = admin.put("after", "removal");
                assertThat(put.ok()).as(put.body().toString()).isTrue();
                int now = nodes.awaitLeader(Set.of(leader, (leader + 2) % 3), WAIT);
                assertThat(g.status().term()).as("the removed node's term").isLessThanOrEqualTo(nodes.node(now).status().term());
            }
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    private static List<HostPort> allAddresses(TestNodes nodes, Joined joined) {
        List<HostPort> all = new ArrayList<>(List.of(nodes.address(0), nodes.address(1), nodes.address(2)));
        all.addAll(joined.addresses.values());
        return all;
    }

    private static boolean caughtUp(RaftKvClient admin, int id) {
        KvResult m = admin.members();
        if (!m.ok()) return false;
        for (var member : m.body().path("members")) {
            if (member.path("id").asInt() == id) return member.path("caughtUp").asBoolean(false);
        }
        return false;
    }

    private static List<Integer> voters(KvResult r) {
        List<Integer> out = new ArrayList<>();
        for (var member : r.body().path("members")) {
            if (member.path("role").asText().equals("voter")) out.add(member.path("id").asInt());
        }
        return out;
    }
}
