package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.recipes.Election;
import io.raftkv.client.recipes.ServiceRegistry;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's recipes, run against a 3-node cluster whose Raft leader is stopped in the middle:
 * leader election (a lock) with a lease and a compare-and-swap, and a service registry a watcher
 * follows.
 */
class RecipesTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final long TTL_MS = 1_500;

    @Test
    @DisplayName("election: one leader at a time; it keeps leading across a Raft leader change; when it stops renewing, another takes over")
    void election() throws Exception {
        try (TestNodes nodes = new TestNodes(3).startAll()) {
            int raftLeader = nodes.awaitLeader(ALL, WAIT);
            List<RaftKvClient> clients = new ArrayList<>();
            List<Election> elections = new ArrayList<>();
            List<String> won = new CopyOnWriteArrayList<>();
            AtomicInteger leading = new AtomicInteger();
            List<Integer> overlaps = new CopyOnWriteArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                RaftKvClient c = nodes.client(WAIT);
                clients.add(c);
                Election e = new Election(c, "election/demo", "candidate-" + i, TTL_MS);
                elections.add(e);
                int me = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        e.campaign();
                        if (leading.incrementAndGet() > 1) overlaps.add(me);
                        won.add("candidate-" + me);
                    } catch (InterruptedException ignored) {
                        // test over
                    }
                }));
            }
            awaitCondition(() -> won.size() == 1, WAIT, "a first leader");
            String first = won.getFirst();
            Election firstElection = elections.get(Integer.parseInt(first.substring("candidate-".length())));
            try (RaftKvClient c = nodes.client(WAIT)) {
                assertThat(c.get("election/demo").value()).contains(first);
            }

            // The Raft leader goes: the lease survives the leader change (the new leader's clock starts
            // from the last applied time), and keep-alives go on to the new leader.
            nodes.stop(raftLeader);
            nodes.awaitLeader(Set.of(0, 1, 2).stream().filter(id -> id != raftLeader)
                    .collect(java.util.stream.Collectors.toSet()), WAIT);
            nodes.start(raftLeader);
            try (RaftKvClient c = nodes.client(WAIT)) {
                // Checked throughout two TTLs, longer than the lease would last without keep-alives.
                List<String> seen = new CopyOnWriteArrayList<>();
                long until = System.nanoTime() + 2 * TTL_MS * 1_000_000;
                awaitCondition(() -> {
                    seen.add(c.get("election/demo").value().orElse("<none>"));
                    return System.nanoTime() > until;
                }, WAIT, "two TTLs to pass");
                assertThat(seen).as("the leader's name during two TTLs after the Raft leader change").containsOnly(first);
            }
            assertThat(won).containsExactly(first);
            assertThat(firstElection.isLeader()).isTrue();

            // The leader stops renewing (as a crashed process would): another candidate takes over.
            leading.decrementAndGet();
            firstElection.abandon();
            awaitCondition(() -> won.size() == 2, WAIT, "a second leader after the first one's lease expired");
            assertThat(won.get(1)).isNotEqualTo(first);
            assertThat(overlaps).as("two leaders at once").isEmpty();

            for (Thread t : threads) t.interrupt();
            for (Election e : elections) e.close();
            for (RaftKvClient c : clients) c.close();
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("service registry: a watcher's view follows registrations, deregistrations and expiries, across a Raft leader change")
    void serviceRegistry() throws Exception {
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient client = nodes.client(WAIT)) {
            int raftLeader = nodes.awaitLeader(ALL, WAIT);
            ServiceRegistry.Registration a = ServiceRegistry.register(client, "api", "a", "10.0.0.1:80", TTL_MS);
            try (ServiceRegistry.Watcher watcher = ServiceRegistry.follow(client, "api")) {
                assertThat(watcher.instances()).containsExactly(Map.entry("a", "10.0.0.1:80"));
                ServiceRegistry.Registration b = ServiceRegistry.register(client, "api", "b", "10.0.0.2:80", TTL_MS);
                ServiceRegistry.Registration other = ServiceRegistry.register(client, "db", "x", "10.0.0.9:5432", TTL_MS);
                awaitCondition(() -> watcher.instances().size() == 2, WAIT, () -> "b to appear: " + watcher.instances());

                nodes.stop(raftLeader);
                nodes.awaitLeader(Set.of(0, 1, 2).stream().filter(id -> id != raftLeader)
                        .collect(java.util.stream.Collectors.toSet()), WAIT);
                ServiceRegistry.Registration c = ServiceRegistry.register(client, "api", "c", "10.0.0.3:80", TTL_MS);
                a.close();     // deregisters at once
                b.abandon();   // expires after its TTL
                awaitCondition(() -> watcher.instances().equals(Map.of("c", "10.0.0.3:80")), WAIT,
                        () -> "a deregistered and b expired: " + watcher.instances());
                assertThat(watcher.instances()).isEqualTo(registry(client, "api"));
                c.close();
                other.close();
            }
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    private static Map<String, String> registry(RaftKvClient client, String service) {
        KvResult r = client.range(ServiceRegistry.prefix(service), 100, null);
        Map<String, String> out = new TreeMap<>();
        r.body().path("kvs").forEach(kv -> out.put(kv.path("key").asText().substring(ServiceRegistry.prefix(service).length()),
                kv.path("value").asText()));
        return out;
    }
}
