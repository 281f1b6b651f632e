package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code POST /transfer-leader} on a real 3-node cluster over HTTP on loopback (thesis §3.10). */
class TransferLeaderTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    @DisplayName("§3.10: the leadership moves to each node in turn, asked through a follower; every write before and after is there")
    void transferToEachNodeInTurn() {
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient writer = nodes.client(WAIT)) {
            Map<String, String> acknowledged = new LinkedHashMap<>();
            int leader = nodes.awaitLeader(ALL, WAIT);
            for (int i = 0; i < 5; i++) write(writer, acknowledged, "before" + i, "v" + i);
            for (int round = 0; round < 2; round++) {
                for (int target = 0; target < 3; target++) {
                    long termBefore = nodes.node(leader).status().term();
                    int via = (target + 1) % 3 == leader ? (target + 2) % 3 : (target + 1) % 3; // not the leader when it can be
                    KvResult r;
                    try (RaftKvClient c = nodes.client(WAIT, via)) {
                        r = c.transferLeader(OptionalInt.of(target));
                    }
                    assertThat(r.ok()).as("transfer to %d via %d: %s", target, via, r.body()).isTrue();
                    assertThat(r.leaderId()).hasValue(target);
                    assertThat(r.leaderAddress()).hasValue(nodes.address(target).toString());
                    long term = r.body().path("term").asLong();
                    if (target == leader) assertThat(term).as("to the leader itself: nothing changes").isEqualTo(termBefore);
                    else assertThat(term).isGreaterThan(termBefore);
                    int t = target;
                    awaitCondition(() -> nodes.leader(ALL).orElse(-1) == t, WAIT, "node " + t + " to lead");
                    leader = target;
                    write(writer, acknowledged, "after" + round + "-" + target, "w" + round + target);
                }
            }
            acknowledged.forEach((k, v) -> assertThat(writer.get(k).value()).as("value of %s", k).hasValue(v));
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("§3.10: a transfer without a target, asked through either follower, moves the leadership exactly once")
    void aTransferWithoutATargetMovesTheLeadershipOnce() {
        try (TestNodes nodes = new TestNodes(3).startAll()) {
            for (int round = 0; round < 20; round++) {
                int leader = nodes.awaitLeader(ALL, WAIT);
                long termBefore = nodes.node(leader).status().term();
                int via = (leader + 1 + round % 2) % 3; // each follower in turn: one of them becomes the leader
                KvResult r;
                try (RaftKvClient c = nodes.client(WAIT, via)) {
                    r = c.transferLeader(OptionalInt.empty());
                }
                assertThat(r.ok()).as("round %d, via %d: %s", round, via, r.body()).isTrue();
                int now = r.leaderId().orElseThrow();
                long term = r.body().path("term").asLong();
                assertThat(now).as("round %d: another node leads", round).isNotEqualTo(leader);
                int expected = now;
                awaitCondition(() -> nodes.leader(ALL).orElse(-1) == expected, WAIT, "node " + expected + " to lead");
                assertThat(nodes.node(expected).status().term()).as("round %d: the term it answered (one transfer, from %d)",
                        round, termBefore).isEqualTo(term);
            }
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("§3.10: writes sent during transfers are held and forwarded to the new leader: none fails")
    void writesDuringTransfersSucceed() throws Exception {
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient admin = nodes.client(WAIT)) {
            nodes.awaitLeader(ALL, WAIT);
            AtomicBoolean stop = new AtomicBoolean();
            List<String> failures = new CopyOnWriteArrayList<>();
            Map<String, String> acknowledged = new java.util.concurrent.ConcurrentHashMap<>();
            AtomicInteger writes = new AtomicInteger();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                int id = w;
                writers.add(Thread.ofPlatform().start(() -> {
                    try (RaftKvClient c = nodes.client(WAIT)) {
                        for (int i = 0; !stop.get(); i++) {
                            KvResult r = c.put("w" + id + "-" + i, "x" + i);
                            if (r.ok()) acknowledged.put("w" + id + "-" + i, "x" + i);
                            else failures.add(r.status() + " " + r.body());
                            writes.incrementAndGet();
                        }
                    }
                }));
            }
            for (int i = 0; i < 6; i++) {
                int before = writes.get();
                awaitCondition(() -> writes.get() >= before + 5, WAIT, "writes going on");
                KvResult r = admin.transferLeader(OptionalInt.empty());
                assertThat(r.ok()).as("transfer %d: %s", i, r.body()).isTrue();
            }
            stop.set(true);
            for (Thread t : writers) t.join(WAIT.toMillis());
            assertThat(failures).as("writes that failed during the transfers").isEmpty();
            acknowledged.forEach((k, v) -> assertThat(admin.get(k).value()).as("value of %s", k).hasValue(v));
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("POST /transfer-leader: 400 for a bad body, 404 for an unknown id, 405 for GET; {} picks another voter")
    void errorsAndTheDefaultTarget() throws Exception {
        try (TestNodes nodes = new TestNodes(3).startAll();
             HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int follower = (leader + 1) % 3;
            String at = "http://" + nodes.address(follower) + "/transfer-leader";
            assertThat(post(http, at, "{\"id\":")).extracting(Answer::status).isEqualTo(400);
            Answer typed = post(http, at, "{\"id\":\"2\"}");
            assertThat(typed.status()).isEqualTo(400);
            assertThat(typed.body().path("error").asText()).contains("'id' must be a node id");
            assertThat(post(http, at, "[2]").status()).isEqualTo(400);
            Answer unknown = post(http, at, "{\"id\":7}");
            assertThat(unknown.status()).as(unknown.body().toString()).isEqualTo(404);
            assertThat(unknown.body().path("error").asText()).contains("no node 7");
            HttpResponse<String> get = http.send(HttpRequest.newBuilder(URI.create(at)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(get.statusCode()).isEqualTo(405);

            Answer any = post(http, at, "{}");
            assertThat(any.status()).as(any.body().toString()).isEqualTo(200);
            int next = any.body().path("leader").path("id").asInt();
            assertThat(next).isNotEqualTo(leader);
            awaitCondition(() -> nodes.leader(ALL).orElse(-1) == next, WAIT, "node " + next + " to lead");
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    private record Answer(int status, JsonNode body) {}

    private static Answer post(HttpClient http, String url, String body) throws Exception {
        HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(res.statusCode(), JSON.readTree(res.body()));
    }

    private static void write(RaftKvClient c, Map<String, String> acknowledged, String key, String value) {
        KvResult r = c.put(key, value);
        assertThat(r.ok()).as("put %s: %s", key, r.body()).isTrue();
        acknowledged.put(key, value);
    }
}
