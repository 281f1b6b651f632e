package io.raftkv.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.Watch;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A watch of a prefix across {@code kill -9} of real node processes: the Java client's
 * {@link Watch} follows {@code w/} from revision R0 on a follower while one writer puts, deletes,
 * deletes by prefix and runs two-key transactions there (and puts outside the prefix); the leader
 * is killed and restarted, then the node the watch is connected to, and the watch resumes on
 * another node by itself.
 *
 * <p>What is compared, and why it is the right oracle:
 * <ol>
 * <li><b>Order, no duplicate</b>: revisions never go back, and a revision repeats only for the
 *     several keys one transaction or prefix delete changed (etcd's rule: one revision per write,
 *     one event per key it changed) - so no (revision, key) is seen twice.</li>
 * <li><b>The writer's answers</b>: every write answered 200 shows up at the revision its answer
 *     gave, with exactly the events that answer implies (a put: its key and value; a delete: one
 *     event if it answered {@code deleted:1}, none if 0; a transaction: its two puts; a prefix
 *     delete: {@code deleted} events under its prefix), and nothing else is at that revision.
 *     Every other event must be explained by a write whose outcome the writer does not know
 *     (values are unique per write, so a put names its write); a write refused for certain never
 *     shows. This oracle is independent of the server's watch code: it is what clients were told.</li>
 * <li><b>The committed history</b>: once every node has applied the whole log, a sentinel write
 *     ends the history; a fresh watch from R0 on a node the watch did not start on replays that
 *     node's record of the committed log, and must equal what the failing-over watch delivered,
 *     event for event (createRevision and version included). This catches what (2) cannot know:
 *     the fate of writes with unknown outcome, and events a watch invented.</li>
 * <li><b>The state</b>: the prefix was empty before R0 (a fresh cluster; R0 is its first write),
 *     so replaying the delivered events gives the prefix's state, which must equal a linearizable
 *     {@code range} read at the end; on the way, a delete must remove a key that exists.</li>
 * </ol>
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class WatchFailoverIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String PREFIX = "w/";
    private static final String TXN_PREFIX = PREFIX + "t/";
    private static final String SENTINEL = PREFIX + "~end";
    /** Writes acknowledged between two steps of the script: the cluster is taking writes again. */
    private static final int STEP_WRITES = 30;

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private final ProcessCluster cluster = new ProcessCluster(procs, ItEnv.newLogDir("it-watch-"), 3, WAIT);

    @AfterEach
    void stopEverything() {
        procs.close();
        cluster.close();
    }

    @Test
    void aWatchThatLosesTheLeaderAndItsOwnNodeDeliversEveryCommittedChangeOnceInOrder() throws Exception {
        long startNs = System.nanoTime();
        ProcessCluster.Leader leader = cluster.start();
        List<Watch.Change> seen = new CopyOnWriteArrayList<>();
        Writer writer;
        long r0;
        long sentinel;
        int watched = (leader.id() + 1) % 3;
        try (RaftKvClient admin = new RaftKvClient(cluster.addresses(), WAIT)) {
            KvResult first = admin.put(PREFIX + "k0", "first");
            assertThat(first.status()).as("the first write: %s", first.body()).isEqualTo(200);
            r0 = first.body().get("revision").asLong();
            writer = new Writer(cluster.addresses());
            writer.awaitAcked(STEP_WRITES); // the watch starts with a replay of history

            try (RaftKvClient watchClient = new RaftKvClient(cluster.addressesStartingWith(watched), WAIT);
                 Watch watch = watchClient.watch(PREFIX, true, r0, seen::add)) {
                ItEnv.awaitTrue("the watch on node " + watched + " to deliver the first write", WAIT,
                        () -> !seen.isEmpty(), cluster::describe);
                writer.awaitAcked(writer.acked() + STEP_WRITES);

                // 1. The leader.
                ProcessCluster.Leader next = cluster.killLeaderAndAwaitNext(leader);
                writer.awaitAcked(writer.acked() + STEP_WRITES);
                cluster.start(leader.id());
                assertThat(watch.reconnects()).as("the watch is still on node %d: its stream was not cut", watched).isZero();

                // 2. The node the watch is connected to (the new leader, if the election chose it).
                cluster.kill(watched);
                ItEnv.awaitTrue("the watch to resume on another node", WAIT, () -> watch.reconnects() > 0, cluster::describe);
                cluster.awaitLeader(cluster.idsExcept(watched), next.id() == watched ? next.term() : 0);
                writer.awaitAcked(writer.acked() + STEP_WRITES);
                cluster.start(watched);
                cluster.awaitLeader(cluster.ids(), 0);
                writer.awaitAcked(writer.acked() + STEP_WRITES);
                writer.stop();

                long lastAcked = writer.lastAckedRevisionWithEvents();
                ItEnv.awaitTrue("the watch to see the last acknowledged revision " + lastAcked, WAIT,
                        () -> !seen.isEmpty() && seen.getLast().revision() >= lastAcked,
                        () -> "last seen " + (seen.isEmpty() ? "nothing" : seen.getLast()) + "; " + cluster.describe());

                // Everything settles; a last write ends the history both watches are compared on.
                cluster.awaitAllApplied();
                KvResult end = admin.put(SENTINEL, "end");
                assertThat(end.status()).as("the sentinel write: %s", end.body()).isEqualTo(200);
                sentinel = end.body().get("revision").asLong();
                ItEnv.awaitTrue("the watch to see the sentinel at revision " + sentinel, WAIT,
                        () -> seen.stream().anyMatch(c -> c.revision() == sentinel), cluster::describe);
                System.out.printf("WatchFailoverIT: %s; the watch saw %d events and resumed %d times%n",
                        writer.summary(), seen.size(), watch.reconnects());
            }
            List<Watch.Change> delivered = List.copyOf(seen);
            assertThat(delivered.getLast().revision()).as("nothing after the sentinel").isEqualTo(sentinel);

            // 1. Order, no duplicate.
            for (int i = 1; i < delivered.size(); i++) {
                Watch.Change a = delivered.get(i - 1);
                Watch.Change b = delivered.get(i);
                assertThat(b.revision() > a.revision() || b.revision() == a.revision() && !b.key().equals(a.key()))
                        .as("event %d (%s) after %s: revisions increase, a revision repeats only for other keys", i, b, a).isTrue();
            }

            // 2. The writer's answers.
            checkAgainstAnswers(delivered, writer.ops(), r0);

            // 3. The committed history, as another node replays it.
            int other = (watched + 1) % 3;
            List<Watch.Change> fresh = new CopyOnWriteArrayList<>();
            try (RaftKvClient c = new RaftKvClient(List.of(cluster.address(other)), WAIT);
                 Watch w = c.watch(PREFIX, true, r0, fresh::add)) {
                ItEnv.awaitTrue("a fresh watch from " + r0 + " on node " + other + " to reach the sentinel", WAIT,
                        () -> fresh.stream().anyMatch(ch -> ch.revision() == sentinel), () -> fresh.size() + " events");
            }
            assertThat(delivered).as("the failing-over watch against a fresh watch from R0 on node %d", other)
                    .containsExactlyElementsOf(fresh);

            // 4. The state.
            Map<String, String> replayed = replay(delivered, writer.ops());
            assertThat(replayed).as("the events replayed against a range of %s", PREFIX).isEqualTo(range(admin));
        }
        System.out.printf("WatchFailoverIT: %.1f s; logs in %s%n", (System.nanoTime() - startNs) / 1e9, cluster.testDir());
    }

    // ------------------------------------------------------------------ the oracles

    private static void checkAgainstAnswers(List<Watch.Change> delivered, List<Op> ops, long r0) {
        Map<Long, List<Watch.Change>> byRevision = delivered.stream()
                .collect(Collectors.groupingBy(Watch.Change::revision, TreeMap::new, Collectors.toList()));
        Map<Long, Op> acked = new TreeMap<>();
        for (Op op : ops) if (op.fate() == Fate.ACKED) acked.put(op.revision(), op);
        for (Op op : acked.values()) {
            List<Watch.Change> at = byRevision.getOrDefault(op.revision(), List.of());
            if (op.kind() == Kind.DELETE_PREFIX) {
                assertThat(at).as("events at the revision of %s", op).hasSize(op.deleted())
                        .allSatisfy(c -> assertThat(c.type() + " " + c.key()).startsWith("delete " + TXN_PREFIX));
            } else {
                assertThat(at.stream().map(WatchFailoverIT::describe).toList()).as("events at the revision of %s", op)
                        .containsExactlyElementsOf(op.expected());
            }
        }
        Set<Integer> explained = new HashSet<>();
        for (Map.Entry<Long, List<Watch.Change>> e : byRevision.entrySet()) {
            if (acked.containsKey(e.getKey()) || e.getKey() == r0 || e.getValue().getFirst().key().equals(SENTINEL)) continue;
            for (Watch.Change c : e.getValue()) {
                Optional<Op> by = ops.stream().filter(op -> op.fate() == Fate.UNKNOWN && op.couldHave(c)).findFirst();
                assertThat(by).as("event %s is neither an acknowledged write nor one of unknown outcome; unknown: %s",
                        c, ops.stream().filter(op -> op.fate() == Fate.UNKNOWN).toList()).isPresent();
                explained.add(by.get().n());
            }
        }
        System.out.printf("WatchFailoverIT: %d acknowledged writes checked, %d events from writes of unknown outcome (%s)%n",
                acked.size(), explained.size(), explained);
    }

    private static String describe(Watch.Change c) {
        return c.type() + " " + c.key() + (c.value() == null ? "" : "=" + c.value());
    }

    /** The prefix's state from the delivered events alone (it was empty before R0). */
    private static Map<String, String> replay(List<Watch.Change> delivered, List<Op> ops) {
        Map<String, String> state = new TreeMap<>();
        for (Watch.Change c : delivered) {
            switch (c.type()) {
                case "put" -> state.put(c.key(), c.value());
                case "delete" -> assertThat(state.remove(c.key())).as("%s deletes a key that exists", c).isNotNull();
                default -> throw new AssertionError("unexpected event " + c + " (no appends, no leases here)");
            }
        }
        return state;
    }

    private static Map<String, String> range(RaftKvClient c) {
        KvResult r = c.range(PREFIX, 1000, null);
        assertThat(r.status()).as("range: %s", r.body()).isEqualTo(200);
        assertThat(r.body().path("more").asBoolean()).isFalse();
        Map<String, String> out = new TreeMap<>();
        r.body().path("kvs").forEach(kv -> out.put(kv.path("key").asText(), kv.path("value").asText()));
        return out;
    }

    // ------------------------------------------------------------------ the writer

    private enum Kind { PUT, DELETE, TXN, DELETE_PREFIX, OUTSIDE }

    private enum Fate { ACKED, UNKNOWN, REFUSED }

    /**
     * One write and what became of it. {@code keys}/{@code values}: what it writes (one key for a
     * put or delete, two for a transaction, the prefix for a prefix delete).
     */
    private record Op(int n, Kind kind, List<String> keys, List<String> values, Fate fate, long revision, int deleted,
                      String answer) {
        /** The events (as {@link #describe}) an acknowledged write implies at its revision. */
        List<String> expected() {
            return switch (kind) {
                case PUT, TXN -> {
                    List<String> out = new ArrayList<>();
                    for (int i = 0; i < keys.size(); i++) out.add("put " + keys.get(i) + "=" + values.get(i));
                    yield out;
                }
                case DELETE -> deleted == 1 ? List.of("delete " + keys.getFirst()) : List.of();
                case OUTSIDE -> List.of();
                case DELETE_PREFIX -> throw new IllegalStateException("a prefix delete's keys are not known in advance");
            };
        }

        /** Whether this write, had it been applied, could have produced {@code c}. */
        boolean couldHave(Watch.Change c) {
            return switch (kind) {
                case PUT, TXN -> c.type().equals("put") && values.contains(c.value())
                        && keys.get(values.indexOf(c.value())).equals(c.key());
                case DELETE -> c.type().equals("delete") && keys.getFirst().equals(c.key());
                case DELETE_PREFIX -> c.type().equals("delete") && c.key().startsWith(TXN_PREFIX);
                case OUTSIDE -> false;
            };
        }
    }

    /** One client writing without pause, in its session; every write's answer is recorded. */
    private static final class Writer {
        private static final int KEYS = 8;
        private final List<Op> ops = new CopyOnWriteArrayList<>();
        private final AtomicInteger acked = new AtomicInteger();
        private final Thread thread;
        private volatile boolean stopped;

        Writer(List<HostPort> nodes) {
            thread = Thread.ofPlatform().name("watch-it-writer").start(() -> {
                // Resends a write of unknown outcome in its session for up to 10 s; one node is tried for 3 s at most.
                try (RaftKvClient c = new RaftKvClient(nodes, Duration.ofSeconds(10), true, Duration.ofSeconds(3))) {
                    for (int n = 1; !stopped; n++) ops.add(write(c, n));
                }
            });
        }

        private Op write(RaftKvClient c, int n) {
            String key = PREFIX + "k" + (n % KEYS);
            String value = "v" + n;
            return switch (n % 10) {
                case 3 -> record(n, Kind.DELETE, List.of(key), List.of(), c.delete(key));
                case 5 -> {
                    String a = TXN_PREFIX + (n % 3);
                    String b = TXN_PREFIX + (n % 3 + 1);
                    ObjectNode txn = JSON.createObjectNode();
                    txn.putArray("compare");
                    ArrayNode success = txn.putArray("success");
                    success.addObject().put("op", "put").put("key", a).put("value", value + "a");
                    success.addObject().put("op", "put").put("key", "x/" + n).put("value", value); // not in the prefix
                    success.addObject().put("op", "put").put("key", b).put("value", value + "b");
                    txn.putArray("failure");
                    yield record(n, Kind.TXN, List.of(a, b), List.of(value + "a", value + "b"), c.txn(txn));
                }
                case 7 -> record(n, Kind.OUTSIDE, List.of("x/" + n), List.of(value), c.put("x/" + n, value));
                case 9 -> n % 30 == 29 ? record(n, Kind.DELETE_PREFIX, List.of(TXN_PREFIX), List.of(), c.deletePrefix(TXN_PREFIX))
                        : record(n, Kind.PUT, List.of(key), List.of(value), c.put(key, value));
                default -> record(n, Kind.PUT, List.of(key), List.of(value), c.put(key, value));
            };
        }

        private Op record(int n, Kind kind, List<String> keys, List<String> values, KvResult r) {
            Fate fate;
            if (r.ok()) {
                fate = Fate.ACKED;
                acked.incrementAndGet();
            } else if (r.retryable() || r.status() >= 400 && r.status() < 500) {
                fate = Fate.REFUSED; // certainly not applied
            } else {
                fate = Fate.UNKNOWN; // 0 (connection lost after sending), 503 without retryable, ...
            }
            JsonNode b = r.body();
            return new Op(n, kind, keys, values, fate, b.path("revision").asLong(-1), b.path("deleted").asInt(-1),
                    r.status() + " " + b);
        }

        int acked() {
            return acked.get();
        }

        void awaitAcked(int target) {
            ItEnv.awaitTrue(target + " acknowledged writes", WAIT, () -> acked.get() >= target || !thread.isAlive(),
                    this::summary);
            assertThat(thread.isAlive()).as("the writer thread is running").isTrue();
        }

        void stop() throws InterruptedException {
            stopped = true;
            thread.join(Duration.ofSeconds(20));
            assertThat(thread.isAlive()).as("the writer stopped").isFalse();
            for (Op op : ops) {
                if (op.fate() == Fate.ACKED) {
                    assertThat(op.revision()).as("the revision in the answer to %s", op).isPositive();
                    if (op.kind() == Kind.DELETE || op.kind() == Kind.DELETE_PREFIX) {
                        assertThat(op.deleted()).as("'deleted' in the answer to %s", op).isNotNegative();
                    }
                }
            }
        }

        List<Op> ops() {
            return List.copyOf(ops);
        }

        /** The highest revision of an acknowledged write that changed something under the prefix. */
        long lastAckedRevisionWithEvents() {
            return ops.stream().filter(op -> op.fate() == Fate.ACKED)
                    .filter(op -> op.kind() == Kind.PUT || op.kind() == Kind.TXN || op.deleted() > 0)
                    .mapToLong(Op::revision).max().orElseThrow();
        }

        String summary() {
            Map<Fate, Long> fates = ops.stream().collect(Collectors.groupingBy(Op::fate, TreeMap::new, Collectors.counting()));
            return ops.size() + " writes " + fates;
        }
    }
}
