package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.Watch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Watches on a real cluster: a watch that loses its node, and then the leader, resumes elsewhere
 * and its changes are exactly the committed writes under its prefix, in order, once each.
 */
class WatchTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);

    private record Write(String key, String value, long revision, String type) {}

    @Test
    @DisplayName("a watch resumes across the loss of its node and of the leader: the committed writes, in order, no gap, no duplicate")
    void watchSurvivesItsNodeAndTheLeader() {
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient writer = nodes.client(WAIT)) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int watched = ALL.stream().filter(id -> id != leader).findFirst().orElseThrow();
            List<Write> committed = new ArrayList<>();
            commit(writer, committed, "other", "x", 0); // outside the prefix: not seen
            long start = commit(writer, committed, "w/0", "a", 0);

            List<Watch.Change> seen = new CopyOnWriteArrayList<>();
            List<Integer> order = new ArrayList<>(List.of(watched));
            ALL.stream().filter(id -> id != watched).forEach(order::add);
            try (RaftKvClient watchClient = nodes.client(WAIT, order.stream().mapToInt(Integer::intValue).toArray());
                 Watch w = watchClient.watch("w/", true, start, seen::add)) {
                for (int i = 1; i <= 10; i++) commit(writer, committed, "w/" + (i % 3), "v" + i, 0);
                commitTxn(writer, committed);
                awaitCondition(() -> seen.size() == expected(committed).size(), WAIT, () -> "the first changes: " + seen);

                nodes.stop(watched); // the watched node goes: the watch resumes on another
                for (int i = 11; i <= 20; i++) commit(writer, committed, "w/" + (i % 4), "v" + i, 0);
                int leaderNow = nodes.awaitLeader(Set.of(0, 1, 2).stream().filter(id -> id != watched)
                        .collect(java.util.stream.Collectors.toSet()), WAIT);
                nodes.start(watched);
                nodes.stop(leaderNow); // and then the leader
                nodes.awaitLeader(Set.of(0, 1, 2).stream().filter(id -> id != leaderNow)
                        .collect(java.util.stream.Collectors.toSet()), WAIT);
                for (int i = 21; i <= 30; i++) commit(writer, committed, "w/" + (i % 5), "v" + i, 0);
                commit(writer, committed, "w/1", null, 0); // a delete
                awaitCondition(() -> seen.size() >= expected(committed).size(), WAIT,
                        () -> "every change: " + seen.size() + " of " + expected(committed).size());
                assertThat(w.reconnects()).as("resumed after its node stopped").isPositive();
            }
            assertThat(seen).extracting(c -> c.type() + " " + c.key() + "=" + c.value() + "@" + c.revision())
                    .containsExactlyElementsOf(expected(committed).stream()
                            .map(x -> x.type() + " " + x.key() + "=" + x.value() + "@" + x.revision()).toList());
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("--watch-history bounds the events kept (older: 410 with compactRevision), an idle stream gets progress events (--watch-progress-ms)")
    void historyAndProgressFollowTheirFlags() throws Exception {
        try (TestNodes nodes = new TestNodes(1, c -> c.withWatch(5, 50)).startAll(); RaftKvClient c = nodes.client(WAIT)) {
            nodes.awaitLeader(Set.of(0), WAIT);
            long first = 0;
            for (int i = 0; i < 12; i++) {
                KvResult r = c.put("h/" + i, "v" + i);
                assertThat(r.ok()).as("%s", r.body()).isTrue();
                if (i == 0) first = r.body().path("revision").asLong();
            }
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String base = "http://" + nodes.address(0) + "/watch?prefix=h/";
            java.net.http.HttpResponse<String> old = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(base + "&fromRevision=" + first)).timeout(WAIT).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(old.statusCode()).as(old.body()).isEqualTo(410);
            long compact = io.raftkv.server.HttpApi.JSON.readTree(old.body()).path("compactRevision").asLong();
            assertThat(compact).as(old.body()).isGreaterThan(first);

            // an idle stream from now on gets progress events (every 50 ms here)
            java.net.http.HttpResponse<java.util.stream.Stream<String>> live = http.send(java.net.http.HttpRequest
                    .newBuilder(java.net.URI.create(base)).timeout(WAIT).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofLines());
            assertThat(live.statusCode()).isEqualTo(200);
            try (java.util.stream.Stream<String> lines = live.body()) {
                long progressEvents = lines.filter(l -> l.equals("event: progress")).limit(3).count();
                assertThat(progressEvents).isEqualTo(3);
            }
        }
    }

    @Test
    @DisplayName("--watch-history-bytes bounds what the kept events hold: large values compact the history long before the event count does")
    void historyBytesBoundLargeValues() throws Exception {
        String big = "x".repeat(4096);
        try (TestNodes nodes = new TestNodes(1, c -> c.withWatch(100_000, 3 * 4096 + 1024, 50)).startAll();
             RaftKvClient c = nodes.client(WAIT)) {
            nodes.awaitLeader(Set.of(0), WAIT);
            long[] revisions = new long[6];
            for (int i = 0; i < revisions.length; i++) {
                KvResult r = c.put("b/" + i, big);
                assertThat(r.ok()).as("%s", r.body()).isTrue();
                revisions[i] = r.body().path("revision").asLong();
            }
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String base = "http://" + nodes.address(0) + "/watch?prefix=b/&fromRevision=";
            java.net.http.HttpResponse<String> old = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(base + revisions[0])).timeout(WAIT).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(old.statusCode()).as(old.body()).isEqualTo(410);
            // Three 4 KiB values fit the bound, a fourth does not: the last three revisions are kept, and
            // compactRevision (as etcd's) is the newest revision compacted, the one before them.
            long compact = io.raftkv.server.HttpApi.JSON.readTree(old.body()).path("compactRevision").asLong();
            assertThat(compact).as(old.body()).isEqualTo(revisions[2]);
            java.net.http.HttpResponse<java.util.stream.Stream<String>> kept = http.send(java.net.http.HttpRequest
                    .newBuilder(java.net.URI.create(base + revisions[3])).timeout(WAIT).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofLines());
            assertThat(kept.statusCode()).isEqualTo(200);
            kept.body().close();
        }
    }

    @Test
    @DisplayName("a node whose history is too short (410) is passed over for one that has it; only when none has it does the watch end as compacted")
    void compactedOnOneNodeResumesOnAnother() {
        // node 0 keeps 5 events, the others the default
        try (TestNodes nodes = new TestNodes(3, c -> c.id() == 0 ? c.withWatch(5, 2000) : c).startAll();
             RaftKvClient c = nodes.client(WAIT)) {
            nodes.awaitLeader(ALL, WAIT);
            long first = 0;
            for (int i = 0; i < 12; i++) {
                KvResult r = c.put("h/" + i, "v" + i);
                assertThat(r.ok()).as("%s", r.body()).isTrue();
                if (i == 0) first = r.body().path("revision").asLong();
            }
            long from = first;
            // every node has applied the 12 puts (node 0 has compacted the first ones)
            awaitCondition(() -> ALL.stream().allMatch(id -> nodes.node(id).status().appliedIndex() >= from + 11), WAIT,
                    "every node applied the puts");
            List<Watch.Change> seen = new CopyOnWriteArrayList<>();
            try (RaftKvClient startAtZero = nodes.client(WAIT, 0, 1, 2);
                 Watch w = startAtZero.watch("h/", true, first, seen::add)) {
                awaitCondition(() -> seen.size() >= 12, WAIT, () -> "the 12 puts: " + seen);
                assertThat(seen).extracting(Watch.Change::type).containsOnly("put");
                assertThat(seen).extracting(Watch.Change::key).containsExactlyElementsOf(
                        java.util.stream.IntStream.range(0, 12).mapToObj(i -> "h/" + i).toList());
                assertThat(w.reconnects()).as("passed over node 0").isPositive();
            }
        }
        // every node keeps 5: the watch ends as compacted
        try (TestNodes nodes = new TestNodes(3, c -> c.withWatch(5, 2000)).startAll(); RaftKvClient c = nodes.client(WAIT)) {
            nodes.awaitLeader(ALL, WAIT);
            long first = 0;
            for (int i = 0; i < 12; i++) {
                KvResult r = c.put("h/" + i, "v" + i);
                assertThat(r.ok()).as("%s", r.body()).isTrue();
                if (i == 0) first = r.body().path("revision").asLong();
            }
            long from = first;
            awaitCondition(() -> ALL.stream().allMatch(id -> nodes.node(id).status().appliedIndex() >= from + 11), WAIT,
                    "every node applied the puts");
            List<Watch.Change> seen = new CopyOnWriteArrayList<>();
            try (Watch w = c.watch("h/", true, first, seen::add)) {
                awaitCondition(() -> !seen.isEmpty(), WAIT, "the end of the watch");
                assertThat(seen).singleElement().satisfies(ch -> {
                    assertThat(ch.compacted()).isTrue();
                    assertThat(ch.revision()).isGreaterThan(from);
                });
            }
        }
    }

    private static List<Write> expected(List<Write> committed) {
        return committed.stream().filter(w -> w.key().startsWith("w/")).toList();
    }

    /** A put (or a delete when {@code value} is null), retried until acknowledged; returns its revision. */
    private static long commit(RaftKvClient c, List<Write> committed, String key, String value, int unused) {
        for (int attempt = 0; ; attempt++) {
            KvResult r = value == null ? c.delete(key) : c.put(key, value);
            if (r.ok()) {
                long rev = r.body().path("revision").asLong();
                committed.add(new Write(key, value, rev, value == null ? "delete" : "put"));
                return rev;
            }
            // Writes go to a cluster with a leader (the test waits for one after each stop), so a failure is
            // a refusal that nothing was applied; an unknown outcome would make the expected list wrong.
            assertThat(r.body().path("retryable").asBoolean(true)).as("write %s: %s", key, r.body()).isTrue();
            assertThat(attempt).as("write %s: %s", key, r.body()).isLessThan(20);
        }
    }

    /** A transaction of two puts: two changes at one revision. */
    private static void commitTxn(RaftKvClient c, List<Write> committed) {
        var txn = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().createObjectNode();
        var success = txn.putArray("success");
        success.addObject().put("op", "put").put("key", "w/t1").put("value", "t1");
        success.addObject().put("op", "put").put("key", "w/t2").put("value", "t2");
        KvResult r = c.txn(txn);
        assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
        long rev = r.body().path("revision").asLong();
        committed.add(new Write("w/t1", "t1", rev, "put"));
        committed.add(new Write("w/t2", "t2", rev, "put"));
    }
}
