package io.raftkv.it;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.Watch;
import io.raftkv.client.recipes.Election;
import io.raftkv.client.recipes.ServiceRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Leases across {@code kill -9} of the Raft leader, on real node processes. Expiry is decided by
 * the leader on the cluster clock and applied through the log; a new leader's clock starts from
 * the last applied time, so an election extends leases, never shortens them. Checked here: a
 * lease kept alive by the client's keep-alive helper keeps its key through the kill and the
 * election, for longer than the lease would last unrenewed; once the keep-alives stop the key
 * goes, and a watch on it sees the expiry. And the README's recipes, built on leases and
 * compare-and-swap ({@link Election}, {@link ServiceRegistry}), keep working through a leader kill.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class LeaseFailoverIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final long TTL_MS = 3_000;
    private static final long RECIPE_TTL_MS = 2_000;

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private final ProcessCluster cluster = new ProcessCluster(procs, ItEnv.newLogDir("it-lease-"), 3, WAIT);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
        procs.close();
        cluster.close();
    }

    private RaftKvClient client(int firstNode) {
        RaftKvClient c = new RaftKvClient(cluster.addressesStartingWith(firstNode), Duration.ofSeconds(10), true, Duration.ofSeconds(3));
        toClose.add(c);
        return c;
    }

    @Test
    @DisplayName("a lease kept alive keeps its key through a leader kill; when the keep-alives stop, the key expires and a watch sees it")
    void keptAliveLeaseOutlivesTheLeaderAndExpiresOnceKeepAlivesStop() throws Exception {
        long startNs = System.nanoTime();
        ProcessCluster.Leader leader = cluster.start();
        int follower = (leader.id() + 1) % 3;
        RaftKvClient client = client(leader.id());
        KvResult grant = client.grantLease(TTL_MS);
        assertThat(grant.status()).as("grant: %s", grant.body()).isEqualTo(200);
        long lease = grant.body().get("leaseId").asLong();
        KvResult put = client.put("lease/key", "held", lease);
        assertThat(put.status()).as("put with the lease: %s", put.body()).isEqualTo(200);
        long putRevision = put.body().get("revision").asLong();

        List<Watch.Change> events = new CopyOnWriteArrayList<>();
        Watch watch = client(follower).watch("lease/key", false, putRevision + 1, events::add);
        toClose.add(watch);
        AtomicBoolean lost = new AtomicBoolean();
        AutoCloseable keeper = client(follower).keepAliveUntilClosed(lease, TTL_MS, () -> lost.set(true));

        ProcessCluster.Leader next = cluster.killLeaderAndAwaitNext(leader);
        // From the new leader's election on, for longer than the lease lasts unrenewed: the key stays.
        List<String> seen = observeFor(Duration.ofMillis(TTL_MS * 3 / 2), () -> describeGet(client.get("lease/key")));
        assertThat(seen).as("the key during %d ms after node %d was elected in term %d", TTL_MS * 3 / 2, next.id(), next.term())
                .isNotEmpty().containsOnly("held");
        assertThat(lost).as("the keep-alive helper was told the lease is gone").isFalse();
        assertThat(events).as("changes to the key while it was kept alive").isEmpty();
        cluster.start(leader.id());

        keeper.close();
        ItEnv.awaitTrue("the key to expire once the keep-alives stopped", Duration.ofMillis(TTL_MS).plus(WAIT),
                () -> client.get("lease/key").notFound(), cluster::describe);
        ItEnv.awaitTrue("the watch to see the expiry", WAIT, () -> !events.isEmpty(), () -> events.toString());
        assertThat(events).hasSize(1);
        Watch.Change expiry = events.getFirst();
        assertThat(expiry.type()).as("%s", expiry).isEqualTo("expire");
        assertThat(expiry.key()).isEqualTo("lease/key");
        assertThat(expiry.revision()).isGreaterThan(putRevision);
        assertThat(client.lease(lease).status()).as("GET /lease of the expired lease").isEqualTo(404);
        System.out.printf("LeaseFailoverIT.lease: %.1f s; logs in %s%n", (System.nanoTime() - startNs) / 1e9, cluster.testDir());
    }

    @Test
    @DisplayName("recipes through a leader kill: the election holder keeps leading, then a new candidate wins once its lease expires;"
            + " a registry watcher sees instances registered before and after the kill, and sees them go")
    void recipesSurviveALeaderKill() throws Exception {
        long startNs = System.nanoTime();
        ProcessCluster.Leader leader = cluster.start();
        int follower = (leader.id() + 1) % 3;
        String key = "election/it";

        Election a = new Election(client(leader.id()), key, "a", RECIPE_TTL_MS);
        toClose.add(a::abandon);
        a.campaign();
        Election b = new Election(client(follower), key, "b", RECIPE_TTL_MS);
        toClose.add(b::abandon);
        AtomicBoolean bWon = new AtomicBoolean();
        Thread bCampaign = Thread.ofVirtual().start(() -> {
            try {
                b.campaign();
                bWon.set(true);
            } catch (InterruptedException e) {
                // the test is over
            }
        });
        toClose.add(bCampaign::interrupt);

        RaftKvClient registry = client(leader.id());
        ServiceRegistry.Registration i1 = ServiceRegistry.register(registry, "api", "i-1", "10.0.0.1:80", RECIPE_TTL_MS);
        toClose.add(i1::abandon);
        ServiceRegistry.Watcher api = ServiceRegistry.follow(client(follower), "api");
        toClose.add(api);
        ItEnv.awaitTrue("the watcher to see i-1", WAIT, () -> api.instances().equals(Map.of("i-1", "10.0.0.1:80")),
                () -> api.instances().toString());

        ProcessCluster.Leader next = cluster.killLeaderAndAwaitNext(leader);
        ServiceRegistry.Registration i2 = ServiceRegistry.register(registry, "api", "i-2", "10.0.0.2:80", RECIPE_TTL_MS);
        toClose.add(i2::abandon);
        ItEnv.awaitTrue("the watcher to see i-1 and i-2", WAIT, () -> api.instances().size() == 2, () -> api.instances().toString());
        // For longer than a lease lasts unrenewed: a keeps leading, b waits, both instances stay.
        RaftKvClient reader = client(follower);
        List<String> seen = observeFor(Duration.ofMillis(RECIPE_TTL_MS * 3 / 2),
                () -> describeGet(reader.get(key)) + " " + a.isLeader() + " " + bWon.get() + " " + api.instances().keySet());
        assertThat(seen).as("election key, a leads, b won, instances during %d ms after node %d was elected",
                RECIPE_TTL_MS * 3 / 2, next.id()).isNotEmpty().containsOnly("a true false [i-1, i-2]");
        cluster.start(leader.id());

        // a stops renewing, as a crashed holder would: b takes over once a's lease expired.
        a.abandon();
        ItEnv.awaitTrue("b to win once a's lease expired", WAIT, bWon::get, () -> describeGet(reader.get(key)));
        assertThat(b.isLeader()).isTrue();
        assertThat(a.isLeader()).isFalse();
        assertThat(reader.get(key).value()).hasValue("b");
        assertThat(b.leaderRevision()).as("b's fencing token after a's").isGreaterThan(a.leaderRevision());

        // b's lease is revoked behind its back (an operator, or an expiry b missed): b learns it lost.
        long bLease = reader.get(key).body().path("lease").asLong();
        assertThat(reader.revokeLease(bLease).status()).isEqualTo(200);
        ItEnv.awaitTrue("b to learn it no longer leads", WAIT, () -> !b.isLeader(), () -> describeGet(reader.get(key)));
        assertThat(reader.get(key).notFound()).as("the election key after b's lease was revoked").isTrue();

        // i-1 crashes (its lease expires), i-2 deregisters: the watcher sees each go.
        i1.abandon();
        ItEnv.awaitTrue("the watcher to see i-1 expire", WAIT, () -> api.instances().equals(Map.of("i-2", "10.0.0.2:80")),
                () -> api.instances().toString());
        i2.close();
        ItEnv.awaitTrue("the watcher to see i-2 deregister", WAIT, () -> api.instances().isEmpty(), () -> api.instances().toString());
        assertThat(range(reader, ServiceRegistry.prefix("api"))).isEmpty();
        System.out.printf("LeaseFailoverIT.recipes: %.1f s; logs in %s%n", (System.nanoTime() - startNs) / 1e9, cluster.testDir());
    }

    /**
     * What {@code probe} says, again and again until {@code window} has passed: a condition that
     * must hold throughout a span (a lease outliving its TTL) is observed over that span.
     */
    private static List<String> observeFor(Duration window, Supplier<String> probe) {
        List<String> seen = new ArrayList<>();
        long until = System.nanoTime() + window.toNanos();
        ItEnv.awaitTrue(window.toMillis() + " ms to pass", window.plus(WAIT), () -> {
            seen.add(probe.get());
            return System.nanoTime() - until > 0;
        }, seen::toString);
        return seen;
    }

    /** A get as the value, "absent" (404), or the failure (neither: the key's fate is unknown then). */
    private static String describeGet(KvResult r) {
        if (r.ok()) return r.value().orElse("<no value>");
        return r.notFound() ? "absent" : "HTTP " + r.status() + " " + r.body();
    }

    private static Map<String, String> range(RaftKvClient c, String prefix) {
        KvResult r = c.range(prefix, 100, null);
        assertThat(r.status()).as("range: %s", r.body()).isEqualTo(200);
        Map<String, String> out = new TreeMap<>();
        r.body().path("kvs").forEach(kv -> out.put(kv.path("key").asText(), kv.path("value").asText()));
        return out;
    }
}
