package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Exactly-once writes over HTTP: POST /session, then clientId + seq on /put and /append (thesis §6.3). */
class SessionApiTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestNodes nodes;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        nodes = new TestNodes(3).startAll();
        nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
    }

    @AfterAll
    static void stop() {
        nodes.close();
    }

    private record Reply(int status, JsonNode json) {}

    private static Reply post(int node, String path, String body) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + nodes.address(node) + path))
                .timeout(WAIT).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), JSON.readTree(r.body()));
    }

    private static long register(int node) throws Exception {
        Reply r = post(node, "/session", "");
        assertThat(r.status()).as("%s", r.json()).isEqualTo(200);
        return r.json().get("clientId").asLong();
    }

    @Test
    @DisplayName("a resent append (same clientId and seq) is applied once, through any node")
    void resentAppendAppliesOnce() throws Exception {
        long client = register(1);
        String body = "{\"key\":\"once\",\"value\":\"a\",\"clientId\":" + client + ",\"seq\":1}";
        Reply first = post(0, "/append", body);
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.json().get("value").asText()).isEqualTo("a");
        Reply again = post(2, "/append", body);
        assertThat(again.status()).as("%s", again.json()).isEqualTo(200);
        assertThat(again.json().get("duplicate").asBoolean()).isTrue();
        assertThat(again.json().get("index").asLong()).isEqualTo(first.json().get("index").asLong());
        Reply next = post(1, "/append", "{\"key\":\"once\",\"value\":\"b\",\"clientId\":" + client + ",\"seq\":2}");
        assertThat(next.json().get("value").asText()).isEqualTo("ab");
        Reply stale = post(1, "/append", body);
        assertThat(stale.status()).isEqualTo(409);
        assertThat(stale.json().get("error").asText()).contains("older than its last applied seq 2");
        try (RaftKvClient c = nodes.client(WAIT)) {
            assertThat(c.get("once").value()).hasValue("ab");
        }
    }

    @Test
    @DisplayName("a resent put is answered with the revision it was applied at, as the first answer was")
    void resentPutAnswersWithItsRevision() throws Exception {
        long client = register(0);
        String body = "{\"key\":\"resent-put\",\"value\":\"v\",\"clientId\":" + client + ",\"seq\":1}";
        Reply first = post(0, "/put", body);
        assertThat(first.status()).as("%s", first.json()).isEqualTo(200);
        long revision = first.json().get("revision").asLong();
        Reply again = post(1, "/put", body);
        assertThat(again.status()).as("%s", again.json()).isEqualTo(200);
        assertThat(again.json().path("duplicate").asBoolean()).isTrue();
        assertThat(again.json().path("revision").asLong(-1)).as("revision in %s", again.json()).isEqualTo(revision);
    }

    @Test
    void unknownSessionIsRefusedAndNothingApplied() throws Exception {
        Reply r = post(0, "/put", "{\"key\":\"ghost\",\"value\":\"x\",\"clientId\":987654321,\"seq\":1}");
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.json().get("error").asText()).contains("unknown or expired").contains("POST /session");
        assertThat(r.json().get("sessionExpired").asBoolean()).isTrue();
        try (RaftKvClient c = nodes.client(WAIT)) {
            assertThat(c.get("ghost").notFound()).isTrue();
        }
    }

    @Test
    void badSessionFieldsAre400() throws Exception {
        for (String body : new String[] {
                "{\"key\":\"k\",\"value\":\"v\",\"clientId\":5}",
                "{\"key\":\"k\",\"value\":\"v\",\"seq\":5}",
                "{\"key\":\"k\",\"value\":\"v\",\"clientId\":5,\"seq\":0}",
                "{\"key\":\"k\",\"value\":\"v\",\"clientId\":-1,\"seq\":1}",
                "{\"key\":\"k\",\"value\":\"v\",\"clientId\":\"5\",\"seq\":1}",
                "{\"key\":\"k\",\"value\":\"v\",\"clientId\":5,\"seq\":1.5}"}) {
            Reply r = post(0, "/put", body);
            assertThat(r.status()).as(body).isEqualTo(400);
            assertThat(r.json().get("error").asText()).as(body).containsAnyOf("clientId", "seq");
        }
    }

    private static Reply get(int node, String query) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + nodes.address(node) + "/get?" + query))
                .timeout(WAIT).GET().build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), JSON.readTree(r.body()));
    }

    @Test
    @DisplayName("?consistency=stale reads the contacted node's own state and says so; bad modes are 400")
    void staleReadsSayWhatTheyAre() throws Exception {
        try (RaftKvClient c = nodes.client(WAIT)) {
            assertThat(c.put("staleKey", "v1").ok()).isTrue();
        }
        int follower = nodes.running().stream().filter(i -> !nodes.node(i).status().role().equals("leader")).findFirst().orElseThrow();
        TestNodes.awaitCondition(() -> {
            try {
                return get(follower, "key=staleKey&consistency=stale").status() == 200;
            } catch (Exception e) {
                return false;
            }
        }, WAIT, "the follower to apply the put");
        Reply stale = get(follower, "key=staleKey&consistency=stale");
        assertThat(stale.json().get("value").asText()).isEqualTo("v1");
        assertThat(stale.json().get("consistency").asText()).isEqualTo("stale");
        assertThat(stale.json().get("servedBy").asInt()).isEqualTo(follower);
        Reply linear = get(follower, "key=staleKey&consistency=linearizable");
        assertThat(linear.status()).isEqualTo(200);
        assertThat(linear.json().has("consistency")).isFalse();
        Reply bad = get(follower, "key=staleKey&consistency=eventual");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("error").asText()).contains("'linearizable'").contains("'stale'");
    }

    @Test
    void javaClientUsesASession() {
        try (RaftKvClient c = nodes.client(WAIT)) {
            KvResult a = c.append("viaClient", "1");
            KvResult b = c.append("viaClient", "2");
            assertThat(a.ok()).isTrue();
            assertThat(b.value()).hasValue("12");
            assertThat(c.clientId()).isPositive();
        }
    }
}
