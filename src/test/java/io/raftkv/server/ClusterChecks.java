package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/** Writing through and checking an in-process cluster ({@link TestNodes}). */
final class ClusterChecks {
    private ClusterChecks() {}

    /** Puts every pair through {@code threads} concurrent clients; each put must be acknowledged. */
    static void putAll(TestNodes nodes, Map<String, String> pairs, int threads, Duration timeout) {
        List<Map.Entry<String, String>> all = new ArrayList<>(pairs.entrySet());
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t;
                done.add(pool.submit(() -> {
                    try (RaftKvClient c = nodes.client(timeout)) {
                        for (int i = first; i < all.size(); i += threads) {
                            var e = all.get(i);
                            KvResult r = c.put(e.getKey(), e.getValue());
                            assertThat(r.status()).as("put %s: %s", e.getKey(), r.body()).isEqualTo(200);
                        }
                    }
                }));
            }
            for (Future<?> f : done) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while writing", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AssertionError a) throw a;
            throw new AssertionError(e.getCause());
        }
    }

    /**
     * Waits until {@code ids} agree on one leader among them and every one of them holds and has
     * applied exactly the leader's log: same last index, applied index = commit index = last index.
     * Returns that leader (it may differ from the leader when the wait began).
     */
    static int awaitConverged(TestNodes nodes, Set<Integer> ids, Duration timeout) {
        awaitCondition(() -> convergedLeader(nodes, ids) >= 0, timeout,
                () -> "nodes " + ids + " to hold and apply the leader's whole log; now " + describe(nodes, ids));
        return convergedLeader(nodes, ids);
    }

    private static int convergedLeader(TestNodes nodes, Set<Integer> ids) {
        int leader = nodes.leader(ids).orElse(-1);
        if (leader < 0) return -1;
        StatusSnapshot l = nodes.node(leader).status();
        if (l.commitIndex() != l.lastLogIndex()) return -1;
        for (int id : ids) {
            StatusSnapshot s = nodes.node(id).status();
            if (s.leaderId() != leader || s.term() != l.term() || s.lastLogIndex() != l.lastLogIndex()
                    || s.appliedIndex() != l.commitIndex() || s.commitIndex() != l.commitIndex()) {
                return -1;
            }
        }
        return leader;
    }

    static String describe(TestNodes nodes, Set<Integer> ids) {
        return new TreeSet<>(ids).stream().map(id -> {
            RaftServer s = nodes.node(id);
            if (s == null) return "node " + id + " stopped";
            StatusSnapshot st = s.status();
            return "node " + id + " " + st.role() + " term " + st.term() + " last " + st.lastLogIndex() + " commit "
                    + st.commitIndex() + " applied " + st.appliedIndex() + " keys " + st.keys();
        }).collect(Collectors.joining("; "));
    }

    /** Every running node reports the same applied index and exactly {@code keys} keys. */
    static void assertSameStatus(TestNodes nodes, Set<Integer> ids, int keys) {
        long applied = nodes.node(ids.iterator().next()).status().appliedIndex();
        for (int id : ids) {
            StatusSnapshot s = nodes.node(id).status();
            assertThat(s.appliedIndex()).as("applied index of node %d (%s)", id, describe(nodes, ids)).isEqualTo(applied);
            assertThat(s.keys()).as("keys on node %d (%s)", id, describe(nodes, ids)).isEqualTo(keys);
        }
    }

    /** Reads every key through each of {@code ids} (a follower forwards to the leader). */
    static void assertReadableThroughEach(TestNodes nodes, Set<Integer> ids, Map<String, String> expected,
                                          Duration timeout) {
        for (int id : ids) {
            try (RaftKvClient via = nodes.client(timeout, id)) {
                expected.forEach((k, v) -> {
                    KvResult r = via.get(k);
                    assertThat(r.status()).as("get %s via node %d: %s", k, id, r.body()).isEqualTo(200);
                    assertThat(r.value()).as("get %s via node %d", k, id).hasValue(v);
                });
            }
        }
    }
}
