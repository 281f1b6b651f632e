package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/** Whole clusters of real nodes over HTTP on loopback, in one JVM. */
class ClusterTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    @DisplayName("puts, appends and gets work through every node; each answer names the leader")
    void everyNodeServesClients() {
        try (TestNodes nodes = new TestNodes(3).startAll()) {
            int leader = nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
            for (int i = 0; i < 3; i++) {
                try (RaftKvClient viaI = nodes.client(WAIT, i);
                     RaftKvClient viaNext = nodes.client(WAIT, (i + 1) % 3);
                     RaftKvClient viaLast = nodes.client(WAIT, (i + 2) % 3)) {
                    String key = "k" + i;
                    KvResult put = viaI.put(key, "a" + i);
                    assertThat(put.ok()).as("put via node %d: %s", i, put.body()).isTrue();
                    assertThat(put.leaderId()).hasValue(leader);
                    KvResult append = viaNext.append(key, "-b");
                    assertThat(append.ok()).as("append: %s", append.body()).isTrue();
                    assertThat(append.value()).hasValue("a" + i + "-b");
                    KvResult get = viaLast.get(key);
                    assertThat(get.ok()).as("get: %s", get.body()).isTrue();
                    assertThat(get.value()).hasValue("a" + i + "-b");
                    assertThat(get.leaderId()).hasValue(leader);
                }
            }
            try (RaftKvClient c = nodes.client(WAIT)) {
                assertThat(c.append("fresh", "x").value()).as("append to a missing key").hasValue("x");
            }
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("leader stopped: a new leader is elected and every acknowledged write is still readable")
    void failover() {
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient client = nodes.client(WAIT)) {
            Map<String, String> acknowledged = new LinkedHashMap<>();
            for (int i = 0; i < 20; i++) {
                KvResult r = (i % 2 == 0) ? client.put("key" + (i % 7), "v" + i) : client.append("key" + (i % 7), "+" + i);
                assertThat(r.ok()).as("write %d: %s", i, r.body()).isTrue();
                acknowledged.put("key" + (i % 7), r.value().orElseThrow());
            }
            int oldLeader = nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
            long oldTerm = nodes.node(oldLeader).status().term();
            nodes.stop(oldLeader);

            Set<Integer> survivors = new HashSet<>(Set.of(0, 1, 2));
            survivors.remove(oldLeader);
            int newLeader = nodes.awaitLeader(survivors, WAIT);
            assertThat(nodes.node(newLeader).status().term()).isGreaterThan(oldTerm);
            acknowledged.forEach((k, v) -> {
                KvResult g = client.get(k);
                assertThat(g.ok()).as("get %s: %s", k, g.body()).isTrue();
                assertThat(g.value()).as("value of %s", k).hasValue(v);
            });
            KvResult after = client.append("key0", "!");
            assertThat(after.ok()).as("write after failover: %s", after.body()).isTrue();
            assertThat(after.value()).hasValue(acknowledged.get("key0") + "!");

            // The old leader comes back (same in-memory storage) and catches up as a follower.
            nodes.start(oldLeader);
            long commit = nodes.node(newLeader).status().commitIndex();
            awaitCondition(() -> nodes.node(oldLeader).status().appliedIndex() >= commit, WAIT, "old leader to catch up");
            assertThat(nodes.node(oldLeader).status().role()).isEqualTo("follower");
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("5 nodes, old leader partitioned with one follower: the majority serves, the minority cannot commit, all converge when healed")
    void minorityPartition() {
        try (TestNodes nodes = new TestNodes(5, c -> c.withRequestTimeoutMs(1500)).startAll()) {
            Set<Integer> all = Set.of(0, 1, 2, 3, 4);
            try (RaftKvClient client = nodes.client(WAIT)) {
                assertThat(client.put("before", "1").ok()).isTrue();
            }
            // Cut the current leader off with one follower. Leadership may move between looking and
            // cutting (a slow machine can miss a heartbeat), so retry until the cut leader still leads.
            int oldLeader = -1;
            for (int attempt = 0; attempt < 5 && oldLeader < 0; attempt++) {
                int leader = nodes.awaitLeader(all, WAIT);
                int follower = (leader + 1) % 5;
                awaitCondition(() -> nodes.node(follower).status().appliedIndex() == nodes.node(leader).status().commitIndex(),
                        WAIT, "node " + follower + " to apply everything committed");
                nodes.partition(Set.of(leader, follower));
                if (nodes.node(leader).status().role().equals("leader")) {
                    oldLeader = leader;
                } else {
                    nodes.heal();
                }
            }
            assertThat(oldLeader).as("a leader that stays leader while being cut off").isNotNegative();
            int buddy = (oldLeader + 1) % 5;
            Set<Integer> minority = Set.of(oldLeader, buddy);
            Set<Integer> majority = all.stream().filter(i -> !minority.contains(i)).collect(Collectors.toSet());
            long minorityCommit = nodes.node(oldLeader).status().commitIndex();

            // The old leader cannot commit: its write times out with an unknown outcome, not 200.
            // Without a session, so the server's own answer comes back rather than the client's retries.
            try (RaftKvClient toOldLeader = new RaftKvClient(java.util.List.of(nodes.address(oldLeader)),
                    Duration.ofSeconds(3), false)) {
                KvResult lost = toOldLeader.put("minority", "x");
                assertThat(lost.status()).as("write on the cut-off leader: %s", lost.body()).isEqualTo(503);
                assertThat(lost.error()).hasValueSatisfying(e -> assertThat(e).contains("outcome is unknown"));
            }

            int newLeader = nodes.awaitLeader(majority, WAIT);
            try (RaftKvClient viaMajority = nodes.client(WAIT, majority.stream().mapToInt(i -> i).toArray())) {
                for (int i = 0; i < 10; i++) {
                    KvResult r = viaMajority.append("during", String.valueOf(i));
                    assertThat(r.ok()).as("majority write %d: %s", i, r.body()).isTrue();
                    assertThat(r.leaderId()).hasValue(newLeader);
                }
            }
            assertThat(nodes.node(oldLeader).status().commitIndex()).as("minority commit index").isEqualTo(minorityCommit);
            assertThat(nodes.node(buddy).status().commitIndex()).isEqualTo(minorityCommit);

            nodes.heal();
            awaitCondition(() -> {
                long target = nodes.node(newLeader).status().commitIndex();
                return all.stream().allMatch(i -> nodes.node(i).status().appliedIndex() == target
                        && nodes.node(i).status().lastLogIndex() == target);
            }, WAIT, "every node to converge on the leader's log");
            assertThat(nodes.node(oldLeader).status().role()).isEqualTo("follower");
            String expected = IntStream.range(0, 10).mapToObj(String::valueOf).collect(Collectors.joining());
            for (int i : all) {
                try (RaftKvClient viaI = nodes.client(WAIT, i)) {
                    assertThat(viaI.get("during").value()).as("via node %d", i).hasValue(expected);
                    assertThat(viaI.get("before").value()).hasValue("1");
                    // The cut-off leader's write never reached a majority and was overwritten.
                    assertThat(viaI.get("minority").status()).as("minority write via node %d", i).isEqualTo(404);
                }
            }
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }
}
