package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.MemoryStorage;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The membership API on a real cluster over HTTP on loopback (thesis ch. 4): a node joins with an
 * empty configuration through {@link Joiner}, is promoted, and the leader is removed, every step
 * asked of a follower that forwards it; and every bad request answers what to fix.
 */
class MembersApiTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    @DisplayName("§4.2.1, §4.2.2: a node joins as a learner, catches up, is promoted; the leader is removed and steps down; writes go on")
    void joinPromoteAndRemoveTheLeader() throws Exception {
        List<Throwable> fatal = new CopyOnWriteArrayList<>();
        HostPort joinerAddress = new HostPort("127.0.0.1", TestNodes.freePorts(1).getFirst());
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient client = nodes.client(WAIT)) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int follower = ALL.stream().filter(id -> id != leader).findFirst().orElseThrow();
            for (int i = 0; i < 20; i++) assertThat(client.put("k" + i, "v" + i).ok()).isTrue();

            // GET /members asked of a follower: the leader's view, the bootstrap voters with their addresses.
            try (RaftKvClient viaFollower = nodes.client(WAIT, follower)) {
                KvResult m = viaFollower.members();
                assertThat(m.status()).as(m.body().toString()).isEqualTo(200);
                assertThat(members(m.body())).containsExactly(
                        "0 " + nodes.address(0) + " voter", "1 " + nodes.address(1) + " voter", "2 " + nodes.address(2) + " voter");
                assertThat(m.body().path("leader").path("id").asInt()).isEqualTo(leader);
                assertThat(m.body().path("committed").asBoolean()).isTrue();
            }

            // Node 3 starts with no configuration and asks through a follower to be added.
            NodeConfig joining = NodeConfig.of(3, joinerAddress, Map.of()).joining();
            try (RaftServer node3 = RaftServer.start(joining, new MemoryStorage(), fatal::add);
                 Joiner joiner = Joiner.start(3, joinerAddress, List.of(nodes.address(follower)), WAIT,
                         why -> fatal.add(new AssertionError(why)))) {
                awaitCondition(() -> node3.status().appliedIndex() >= nodes.node(leader).status().commitIndex()
                                && node3.status().keys() == 20, WAIT, () -> "node 3 to catch up: " + node3.status());
                awaitCondition(() -> !joiner.running(), WAIT, "the joiner to finish");
                KvResult m = client.members();
                assertThat(members(m.body())).contains("3 " + joinerAddress + " learner");
                assertThat(m.body().path("members").get(3).path("caughtUp").asBoolean()).as(m.body().toString()).isTrue();
                assertThat(node3.status().role()).isEqualTo("follower");
                assertThat(node3.status().learners()).containsExactly(3);

                // Asked again (a restart with -join): 200, nothing changes.
                long configIndex = m.body().path("configIndex").asLong();
                KvResult again = client.addMember(3, joinerAddress.toString());
                assertThat(again.status()).as(again.body().toString()).isEqualTo(200);
                assertThat(again.body().path("configIndex").asLong()).isEqualTo(configIndex);

                try (RaftKvClient viaFollower = nodes.client(WAIT, follower)) {
                    KvResult promoted = viaFollower.promoteMember(3);
                    assertThat(promoted.status()).as(promoted.body().toString()).isEqualTo(200);
                    assertThat(members(promoted.body())).contains("3 " + joinerAddress + " voter");
                    assertThat(promoted.body().path("configIndex").asLong()).isGreaterThan(configIndex);

                    // The leader itself is removed: answered once committed, then it steps down (§4.2.2).
                    KvResult removed = viaFollower.removeMember(leader);
                    assertThat(removed.status()).as(removed.body().toString()).isEqualTo(200);
                    assertThat(members(removed.body())).hasSize(3).noneMatch(s -> s.startsWith(leader + " "));
                }
                Set<Integer> remaining = new java.util.TreeSet<>(ALL);
                remaining.remove(leader);
                awaitCondition(() -> nodes.node(leader).status().role().equals("follower"), WAIT, "the removed leader to step down");
                try (RaftKvClient c = new RaftKvClient(List.of(nodes.address(follower), joinerAddress), WAIT)) {
                    KvResult w = c.put("after", "removal");
                    assertThat(w.status()).as(w.body().toString()).isEqualTo(200);
                    assertThat(w.leaderId().orElseThrow()).isNotEqualTo(leader);
                    for (int i = 0; i < 20; i++) assertThat(c.get("k" + i).value()).contains("v" + i);
                }
                awaitCondition(() -> node3.status().keys() == 21, WAIT, "node 3 to apply the write after the removal");
                assertThat(node3.status().members()).doesNotContainKey(leader).containsKey(3);
            }
            assertThat(nodes.fatalErrors()).isEmpty();
            assertThat(fatal).isEmpty();
        }
    }

    @Test
    @DisplayName("bad membership requests: 400 with the body to send, 404 unknown id, 409 with the reason, 405 wrong method")
    void badRequestsSayWhatToFix() throws Exception {
        try (TestNodes nodes = new TestNodes(3).startAll()) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int follower = ALL.stream().filter(id -> id != leader).findFirst().orElseThrow();
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://" + nodes.address(follower);
            record Case(String path, String body, int status, String says) {}
            List<Case> cases = new ArrayList<>(List.of(
                    new Case("/members/add", "{\"id\":3}", 400, "field 'address' is missing"),
                    new Case("/members/add", "{\"id\":3,\"address\":\"nohost\"}", 400, "field 'address'"),
                    new Case("/members/add", "{\"id\":-1,\"address\":\"h:1\"}", 400, "an integer >= 0"),
                    new Case("/members/add", "{\"id\":3,\"address\":\"" + nodes.address(1) + "\"}", 409, "already used by node 1"),
                    new Case("/members/add", "{\"id\":1,\"address\":\"h:1\"}", 409, "already"),
                    new Case("/members/promote", "{\"id\":9}", 404, "node 9 is not a member"),
                    new Case("/members/promote", "{\"id\":1}", 409, "already a voter"),
                    new Case("/members/remove", "{\"id\":9}", 404, "node 9 is not a member"),
                    new Case("/members/remove", "[1]", 400, "must be a JSON object"),
                    new Case("/members/remove", "{\"id\":1", 400, "malformed JSON"),
                    new Case("/members/remove", "{\"id\":9,\"id\":1}", 400, "field 'id' is given twice"),
                    new Case("/members/promote", "{\"id\":1,\"force\":true}", 400, "unknown field 'force'"),
                    new Case("/members/add", "", 400, "empty request body"),
                    new Case("/transfer-leader", "{\"id\":1,\"id\":2}", 400, "field 'id' is given twice"),
                    new Case("/transfer-leader", "{\"target\":1}", 400, "unknown field 'target'")));
            for (Case c : cases) {
                HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(base + c.path()))
                        .POST(HttpRequest.BodyPublishers.ofString(c.body())).timeout(WAIT).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(res.statusCode()).as("%s %s: %s", c.path(), c.body(), res.body()).isEqualTo(c.status());
                assertThat(JSON.readTree(res.body()).path("error").asText()).as(c.path() + " " + c.body()).contains(c.says());
            }
            HttpResponse<String> get = http.send(HttpRequest.newBuilder(URI.create(base + "/members/add")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(get.statusCode()).isEqualTo(405);
            // Nothing above changed the membership.
            try (RaftKvClient c = nodes.client(WAIT)) {
                assertThat(c.members().body().path("configIndex").asLong()).isZero();
            }
        }
    }

    private static List<String> members(JsonNode body) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : body.path("members")) {
            out.add(m.path("id").asInt() + " " + m.path("address").asText() + " " + m.path("role").asText());
        }
        return out;
    }
}
