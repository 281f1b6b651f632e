package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Authentication and roles (issue 12), etcd's model, on a 3-node cluster: every endpoint without a
 * token, with an expired one, with a user whose roles do not cover it, and with a deleted user, on
 * every node; role changes take effect on every node; nothing refused changes anything.
 */
class AuthTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<Integer> ALL = Set.of(0, 1, 2);

    private TestNodes nodes;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private record Answer(int status, JsonNode body) {}

    @BeforeEach
    void start() {
        nodes = new TestNodes(3).startAll();
        nodes.awaitLeader(ALL, TIMEOUT);
    }

    @AfterEach
    void stop() {
        nodes.close();
        http.close();
    }

    private Answer send(int node, String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + nodes.address(node) + path))
                .timeout(Duration.ofSeconds(8));
        if (token != null) b.header("Authorization", "Bearer " + token);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json;
        try {
            json = r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
        } catch (IOException e) {
            json = JSON.createObjectNode().put("raw", r.body());
        }
        return new Answer(r.statusCode(), json);
    }

    private static ObjectNode obj(String... kv) {
        ObjectNode o = JSON.createObjectNode();
        for (int i = 0; i < kv.length; i += 2) o.put(kv[i], kv[i + 1]);
        return o;
    }

    private void admin(RaftKvClient c, String path, ObjectNode body) {
        KvResult r = c.admin(path, body);
        assertThat(r.status()).as("%s %s: %s", path, body, r.body()).isEqualTo(200);
    }

    private String login(int node, String user, String password) throws Exception {
        Answer a = send(node, "POST", "/auth/login", obj("user", user, "password", password).toString(), null);
        assertThat(a.status()).as("login %s: %s", user, a.body()).isEqualTo(200);
        return a.body().path("token").asText();
    }

    /** root, role app (readwrite on app/, read on config/), alice with app, bob with none; then auth on. */
    private void setUp(RaftKvClient c, long ttlSeconds) {
        admin(c, "/user/add", obj("name", "root", "password", "rootpw"));
        admin(c, "/role/add", obj("name", "app"));
        admin(c, "/role/grant", obj("name", "app", "prefix", "app/", "permission", "readwrite"));
        admin(c, "/role/grant", obj("name", "app", "prefix", "config/", "permission", "read"));
        admin(c, "/user/add", obj("name", "alice", "password", "alicepw"));
        admin(c, "/user/grant-role", obj("name", "alice", "role", "app"));
        admin(c, "/user/add", obj("name", "bob", "password", "bobpw"));
        assertThat(c.put("app/x", "before").status()).isEqualTo(200);
        ObjectNode enable = JSON.createObjectNode().put("tokenTtlSeconds", ttlSeconds);
        admin(c, "/auth/enable", enable);
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
    }

    /** Every client endpoint, with a body that would be valid: none may run without a valid user. */
    private static final List<String[]> ENDPOINTS = List.of(
            new String[] {"POST", "/put", "{\"key\":\"app/x\",\"value\":\"no\"}"},
            new String[] {"POST", "/append", "{\"key\":\"app/x\",\"value\":\"no\"}"},
            new String[] {"GET", "/get?key=app/x", null},
            new String[] {"GET", "/get?key=app/x&consistency=stale", null},
            new String[] {"POST", "/delete", "{\"key\":\"app/x\"}"},
            new String[] {"POST", "/cas", "{\"key\":\"app/x\",\"value\":\"no\",\"expectedValue\":\"before\"}"},
            new String[] {"POST", "/txn", "{\"compare\":[],\"success\":[{\"op\":\"put\",\"key\":\"app/x\",\"value\":\"no\"}]}"},
            new String[] {"GET", "/range?prefix=app/", null},
            new String[] {"GET", "/watch?prefix=app/", null},
            new String[] {"POST", "/session", ""},
            new String[] {"POST", "/lease/grant", "{\"ttlMs\":10000}"},
            new String[] {"POST", "/lease/keepalive", "{\"leaseId\":1}"},
            new String[] {"POST", "/lease/revoke", "{\"leaseId\":1}"},
            new String[] {"GET", "/lease?id=1", null},
            new String[] {"GET", "/members", null},
            new String[] {"POST", "/members/add", "{\"id\":9,\"address\":\"127.0.0.1:1\"}"},
            new String[] {"POST", "/transfer-leader", "{}"},
            new String[] {"POST", "/user/add", "{\"name\":\"eve\",\"password\":\"x\"}"},
            new String[] {"POST", "/role/add", "{\"name\":\"eve\"}"},
            new String[] {"POST", "/role/grant", "{\"name\":\"app\",\"prefix\":\"\",\"permission\":\"readwrite\"}"},
            new String[] {"POST", "/user/grant-role", "{\"name\":\"bob\",\"role\":\"root\"}"},
            new String[] {"POST", "/auth/disable", "{}"},
            new String[] {"GET", "/user/list", null},
            new String[] {"GET", "/role/list", null});

    @Test
    void withoutAValidTokenNothingIsDoneOnAnyNode() throws Exception {
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            setUp(c, 600);
        }
        long revision = nodes.node(0).status().commitIndex();
        for (int node : ALL) {
            for (String[] e : ENDPOINTS) {
                for (String token : new String[] {null, "not-a-token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyb290In0.x"}) {
                    Answer a = send(node, e[0], e[1], e[2], token);
                    assertThat(a.status()).as("%s %s on node %d with %s: %s", e[0], e[1], node, token, a.body()).isEqualTo(401);
                    assertThat(a.body().path("error").asText()).contains("nothing was done");
                }
            }
            // What stays open: status, metrics, whether auth is on, and logging in.
            assertThat(send(node, "GET", "/status", null, null).status()).isEqualTo(200);
            assertThat(send(node, "GET", "/metrics", null, null).status()).isEqualTo(200);
            assertThat(send(node, "GET", "/auth/status", null, null).body().path("enabled").asBoolean()).isTrue();
        }
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        assertThat(nodes.node(0).status().commitIndex()).as("nothing was proposed").isEqualTo(revision);
        String root = login(0, "root", "rootpw");
        assertThat(send(1, "GET", "/get?key=app/x", null, root).body().path("value").asText()).isEqualTo("before");
    }

    @Test
    void rolesDecideAndChangesTakeEffectOnEveryNode() throws Exception {
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            setUp(c, 600);
        }
        for (int node : ALL) {
            String alice = login(node, "alice", "alicepw");
            assertThat(send(node, "POST", "/put", "{\"key\":\"app/a" + node + "\",\"value\":\"ok\"}", alice).status()).isEqualTo(200);
            assertThat(send(node, "GET", "/get?key=config/db", null, alice).status()).as("read allowed, key absent").isEqualTo(404);
            assertThat(send(node, "POST", "/put", "{\"key\":\"config/db\",\"value\":\"no\"}", alice).status()).isEqualTo(403);
            assertThat(send(node, "POST", "/put", "{\"key\":\"other\",\"value\":\"no\"}", alice).status()).isEqualTo(403);
            assertThat(send(node, "GET", "/get?key=other", null, alice).status()).isEqualTo(403);
            assertThat(send(node, "GET", "/range?prefix=app/", null, alice).status()).isEqualTo(200);
            assertThat(send(node, "GET", "/range?prefix=", null, alice).status()).isEqualTo(403);
            assertThat(send(node, "GET", "/range?from=app/a&to=app/z", null, alice).status()).isEqualTo(200);
            assertThat(send(node, "GET", "/range?from=app/a", null, alice).status()).as("to the last key").isEqualTo(403);
            assertThat(send(node, "GET", "/watch?prefix=other", null, alice).status()).isEqualTo(403);
            assertThat(send(node, "POST", "/delete", "{\"prefix\":\"app/\"}", alice).status()).isEqualTo(200);
            assertThat(send(node, "POST", "/delete", "{\"prefix\":\"\"}", alice).status()).isEqualTo(403);
            Answer txn = send(node, "POST", "/txn", "{\"compare\":[{\"key\":\"other\",\"target\":\"value\",\"op\":\"==\","
                    + "\"operand\":\"x\"}],\"success\":[{\"op\":\"put\",\"key\":\"app/t\",\"value\":\"1\"}]}", alice);
            assertThat(txn.status()).as("a txn comparing a key alice may not read: %s", txn.body()).isEqualTo(403);
            assertThat(txn.body().path("error").asText()).contains("may not read key 'other'");
            assertThat(send(node, "POST", "/members/add", "{\"id\":9,\"address\":\"127.0.0.1:1\"}", alice).status()).isEqualTo(403);
            assertThat(send(node, "POST", "/user/add", "{\"name\":\"eve\",\"password\":\"x\"}", alice).status()).isEqualTo(403);
            assertThat(send(node, "POST", "/session", "", alice).status()).isEqualTo(200);
        }
        // bob has no role: refused, until root grants him app, then allowed on every node.
        String bob = login(2, "bob", "bobpw");
        for (int node : ALL) assertThat(send(node, "POST", "/put", "{\"key\":\"app/b\",\"value\":\"no\"}", bob).status()).isEqualTo(403);
        String root = login(1, "root", "rootpw");
        assertThat(send(1, "POST", "/user/grant-role", "{\"name\":\"bob\",\"role\":\"app\"}", root).status()).isEqualTo(200);
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        for (int node : ALL) {
            Answer a = send(node, "POST", "/put", "{\"key\":\"app/b" + node + "\",\"value\":\"yes\"}", bob);
            assertThat(a.status()).as("bob on node %d: %s", node, a.body()).isEqualTo(200);
        }
        // Deleting alice ends her tokens on every node.
        String alice = login(0, "alice", "alicepw");
        assertThat(send(0, "POST", "/user/delete", "{\"name\":\"alice\"}", root).status()).isEqualTo(200);
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        for (int node : ALL) {
            Answer a = send(node, "GET", "/get?key=app/x", null, alice);
            assertThat(a.status()).isEqualTo(401);
            assertThat(a.body().path("error").asText()).contains("no longer exists");
        }
        // Turned off by root: no token needed again.
        assertThat(send(2, "POST", "/auth/disable", "{}", root).status()).isEqualTo(200);
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        for (int node : ALL) assertThat(send(node, "GET", "/get?key=app/b0", null, null).status()).isEqualTo(200);
    }

    @Test
    void expiredTokensAreRefusedAndTheClientLogsInAgain() throws Exception {
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            setUp(c, 2); // JWT times are whole seconds: 2 s leaves at least 1 s of life after a login
        }
        String token = login(0, "alice", "alicepw");
        assertThat(send(0, "GET", "/get?key=app/x", null, token).status()).isEqualTo(200);
        awaitCondition(() -> {
            try {
                return send(0, "GET", "/get?key=app/x", null, token).status() == 401;
            } catch (Exception e) {
                return false;
            }
        }, TIMEOUT, "the 2 s token to expire");
        assertThat(send(1, "GET", "/get?key=app/x", null, token).body().path("error").asText()).contains("expired");
        try (RaftKvClient alice = nodes.client(TIMEOUT)) {
            assertThat(alice.login("alice", "alicepw").status()).isEqualTo(200);
            assertThat(alice.put("app/y", "1").status()).isEqualTo(200);
            // Past the token's life the client logs in again by itself and the write goes through.
            long until = System.nanoTime() + Duration.ofMillis(3500).toNanos();
            int n = 0;
            while (System.nanoTime() < until) {
                KvResult r = alice.put("app/y", String.valueOf(++n));
                assertThat(r.status()).as("put %d: %s", n, r.body()).isEqualTo(200);
            }
            assertThat(alice.login("alice", "wrong").status()).isEqualTo(401);
        }
    }

    @Test
    void theEventLoopClientSendsTheTokenAndLogsInAgainWhenItExpires() throws Exception {
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            setUp(c, 2); // JWT times are whole seconds: 2 s leaves at least 1 s of life after a login
        }
        try (RaftKvClient alice = nodes.client(TIMEOUT);
             io.raftkv.client.ClientLoop loop = new io.raftkv.client.ClientLoop(1, TIMEOUT, TIMEOUT, true, null, alice)) {
            assertThat(alice.login("alice", "alicepw").status()).isEqualTo(200);
            io.raftkv.client.LoopClient c = loop.newClient(List.of(nodes.address(0), nodes.address(1), nodes.address(2)));
            // Past the token's life the client logs in again through alice and the writes go through.
            long until = System.nanoTime() + Duration.ofMillis(3500).toNanos();
            int n = 0;
            while (System.nanoTime() < until) {
                java.util.concurrent.CompletableFuture<KvResult> put = new java.util.concurrent.CompletableFuture<>();
                c.put("app/z", String.valueOf(++n), put::complete);
                KvResult r = put.orTimeout(TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
                assertThat(r.status()).as("put %d: %s", n, r.body()).isEqualTo(200);
            }
        }
        // Without the login: refused, not retried.
        try (io.raftkv.client.ClientLoop loop = new io.raftkv.client.ClientLoop(1, TIMEOUT, TIMEOUT, true, null, null)) {
            java.util.concurrent.CompletableFuture<KvResult> put = new java.util.concurrent.CompletableFuture<>();
            loop.newClient(List.of(nodes.address(0))).put("app/z", "x", put::complete);
            assertThat(put.orTimeout(TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join().status()).isEqualTo(401);
        }
    }

    @Test
    void failedLoginsAreLimitedPerUserAndAddress() throws Exception {
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            setUp(c, 600);
        }
        for (int i = 0; i < 5; i++) {
            Answer a = send(0, "POST", "/auth/login", "{\"user\":\"alice\",\"password\":\"guess" + i + "\"}", null);
            assertThat(a.status()).isEqualTo(401);
        }
        Answer limited = send(0, "POST", "/auth/login", "{\"user\":\"alice\",\"password\":\"alicepw\"}", null);
        assertThat(limited.status()).as("even the right password, for a while: %s", limited.body()).isEqualTo(429);
        assertThat(limited.body().path("error").asText()).contains("try again in");
        // Another user is not held up.
        assertThat(send(0, "POST", "/auth/login", "{\"user\":\"bob\",\"password\":\"bobpw\"}", null).status()).isEqualTo(200);
        // A login with a malformed body says what to send.
        Answer bad = send(0, "POST", "/auth/login", "{\"user\":\"alice\"}", null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body().path("error").asText()).contains("'password' must be a string");
    }

    @Test
    void enablingWithoutRootIsRefusedAndBadInputSaysWhatToFix() throws Exception {
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            KvResult r = c.admin("/auth/enable", JSON.createObjectNode());
            assertThat(r.status()).isEqualTo(409);
            assertThat(r.error().orElse("")).contains("add user root first");
            assertThat(c.admin("/user/add", obj("name", "bad name", "password", "x")).status()).isEqualTo(400);
            assertThat(c.admin("/user/add", obj("name", "ok", "password", "")).status()).isEqualTo(400);
            assertThat(c.admin("/role/grant", obj("name", "r", "prefix", "", "permission", "write")).error().orElse(""))
                    .contains("read or readwrite");
            assertThat(c.admin("/user/grant-role", obj("name", "nobody", "role", "x")).status()).isEqualTo(404);
            assertThat(c.admin("/user/add", obj("name", "ok", "password", "pw", "extra", "x")).status()).isEqualTo(400);
            assertThat(send(0, "POST", "/auth/login", "{\"user\":\"ok\",\"password\":\"pw\"}", null).status())
                    .as("login while auth is off").isEqualTo(409);
        }
    }
}
