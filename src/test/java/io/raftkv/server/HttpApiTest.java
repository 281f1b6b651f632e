package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.transport.MessageCodec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client HTTP API of real nodes on loopback: every kind of bad input is refused with a status
 * and a JSON error naming the problem and changes nothing; the happy path works through any node;
 * {@code /status} has its fields; without a quorum requests answer 503.
 *
 * <p>One 3-node cluster serves the whole class (tests run one after another, so the only writes are
 * the test's own); the no-quorum tests start clusters of their own because they stop nodes.
 */
class HttpApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    /** Small limits keep the oversize bodies small; the defaults are 4 KiB and 1 MiB. */
    private static final int MAX_KEY_BYTES = 16;
    private static final int MAX_VALUE_BYTES = 64;

    private static TestNodes nodes;
    private static HttpClient http;

    @BeforeAll
    static void startCluster() {
        nodes = new TestNodes(3, c -> c.withRequestTimeoutMs(3000).withLimits(MAX_KEY_BYTES, MAX_VALUE_BYTES)).startAll();
        stableLeader(nodes);
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    }

    @AfterAll
    static void stopCluster() {
        if (http != null) http.close();
        if (nodes != null) {
            nodes.close();
            assertThat(nodes.fatalErrors()).as("fatal errors in the nodes").isEmpty();
        }
    }

    // ---------------------------------------------------------------- routing

    @Test
    void unknownPathIs404NamingThePathAndTheApi() {
        for (int n : ALL) {
            for (String path : List.of("/nope", "/", "/putt", "/get/extra", "/PUT")) {
                Reply r = send(nodes, n, "GET", path, null);
                assertError(r, 404, path, "/put", "/get?key=");
                assertError(send(nodes, n, "POST", path, "{\"key\":\"k\",\"value\":\"v\"}"), 404, path);
            }
        }
    }

    @Test
    void wrongMethodIs405WithAllowHeader() {
        Written before = put(0, "k405", "old");
        record Case(String method, String path, String allowed) {}
        List<Case> cases = List.of(new Case("GET", "/put", "POST"), new Case("GET", "/append", "POST"),
                new Case("PUT", "/put?key=k405", "POST"), new Case("DELETE", "/put", "POST"),
                new Case("POST", "/get?key=k405", "GET"), new Case("POST", "/status", "GET"),
                new Case("DELETE", "/get?key=k405", "GET"), new Case("GET", "/appendEntries", "POST"));
        for (int n : ALL) {
            for (Case c : cases) {
                String body = c.method().equals("GET") || c.method().equals("DELETE") ? null
                        : "{\"key\":\"k405\",\"value\":\"new\"}";
                Reply r = send(nodes, n, c.method(), c.path(), body);
                assertError(r, 405, c.allowed(), c.method());
                assertThat(r.allow()).as("Allow header of %s %s", c.method(), c.path()).isEqualTo(c.allowed());
            }
        }
        assertUnchanged(before, "k405", "old");
    }

    // ---------------------------------------------------------------- bodies of /put and /append

    @Test
    void emptyBodyIs400() {
        Written before = put(0, "kEmpty", "old");
        for (int n : ALL) {
            for (String path : List.of("/put", "/append")) {
                assertError(send(nodes, n, "POST", path, ""), 400, "empty", "{\"key\":");
            }
        }
        assertUnchanged(before, "kEmpty", "old");
    }

    @Test
    void malformedJsonIs400() {
        Written before = put(0, "kJson", "old");
        List<String> bodies = List.of("{\"key\":\"kJson\",\"value\":", "not json", "{key:'kJson',value:'new'}",
                "{\"key\":\"kJson\" \"value\":\"new\"}", "{\"key\":\"kJson\",\"value\":\"new\"} trailing",
                "{\"key\":\"kJson\",\"value\":\"new\"}{\"key\":\"kJson\",\"value\":\"newer\"}");
        byte[] invalidUtf8 = {'{', '"', 'k', 'e', 'y', '"', ':', '"', (byte) 0xff, '"', ',', '"', 'v', 'a', 'l', 'u', 'e',
                '"', ':', '"', 'n', 'e', 'w', '"', '}'};
        for (int n : ALL) {
            for (String path : List.of("/put", "/append")) {
                for (String body : bodies) {
                    Reply r = send(nodes, n, "POST", path, body);
                    assertError(r, 400, "JSON");
                    assertThat(r.error()).as("error for %s", body).contains("malformed");
                }
                assertError(sendBytes(nodes, n, "POST", path, invalidUtf8), 400, "malformed JSON");
            }
        }
        assertUnchanged(before, "kJson", "old");
    }

    @Test
    void nonObjectJsonIs400() {
        Written before = put(0, "kObj", "old");
        for (int n : ALL) {
            for (String body : List.of("[\"kObj\",\"new\"]", "\"kObj\"", "42", "null", "true", "   ")) {
                assertError(send(nodes, n, "POST", "/put", body), 400, "JSON object");
                assertError(send(nodes, n, "POST", "/append", body), 400, "JSON object");
            }
        }
        assertUnchanged(before, "kObj", "old");
    }

    @Test
    void nonStringFieldsAre400NamingTheField() {
        Written before = put(0, "kType", "old");
        for (int n : ALL) {
            for (String key : List.of("1", "[\"kType\"]", "{\"a\":\"kType\"}", "true", "1.5")) {
                assertError(send(nodes, n, "POST", "/put", "{\"key\":" + key + ",\"value\":\"new\"}"), 400,
                        "'key'", "must be a string");
            }
            for (String value : List.of("5", "[\"new\"]", "{\"v\":\"new\"}", "false")) {
                assertError(send(nodes, n, "POST", "/put", "{\"key\":\"kType\",\"value\":" + value + "}"), 400,
                        "'value'", "must be a string");
                assertError(send(nodes, n, "POST", "/append", "{\"key\":\"kType\",\"value\":" + value + "}"), 400,
                        "'value'", "must be a string");
            }
        }
        assertUnchanged(before, "kType", "old");
    }

    @Test
    void missingFieldsAre400NamingTheField() {
        Written before = put(0, "kMiss", "old");
        for (int n : ALL) {
            for (String path : List.of("/put", "/append")) {
                assertError(send(nodes, n, "POST", path, "{\"key\":\"kMiss\"}"), 400, "missing field 'value'");
                assertError(send(nodes, n, "POST", path, "{\"key\":\"kMiss\",\"value\":null}"), 400, "missing field 'value'");
                assertError(send(nodes, n, "POST", path, "{\"value\":\"new\"}"), 400, "missing field 'key'");
                assertError(send(nodes, n, "POST", path, "{\"key\":null,\"value\":\"new\"}"), 400, "missing field 'key'");
                assertError(send(nodes, n, "POST", path, "{}"), 400, "missing field");
            }
        }
        assertUnchanged(before, "kMiss", "old");
    }

    @Test
    void emptyKeyIs400() {
        Written before = put(0, "kEmptyKey", "old");
        for (int n : ALL) {
            assertError(send(nodes, n, "POST", "/put", "{\"key\":\"\",\"value\":\"new\"}"), 400, "key", "empty");
            assertError(send(nodes, n, "POST", "/append", "{\"key\":\"\",\"value\":\"new\"}"), 400, "key", "empty");
            assertError(send(nodes, n, "GET", "/get?key=", null), 400, "key", "empty");
        }
        assertUnchanged(before, "kEmptyKey", "old");
    }

    // ---------------------------------------------------------------- /get parameters

    @Test
    void getWithoutKeyParameterIs400() {
        for (int n : ALL) {
            for (String path : List.of("/get", "/get?", "/get?k=x", "/get?KEY=x")) {
                assertError(send(nodes, n, "GET", path, null), 400, "key", "/get?key=");
            }
        }
    }

    /** A query that cannot be percent-decoded is bad input like any other: it deserves a 400, not a dropped connection. */
    @Test
    void malformedPercentEncodingIs400() {
        for (int n : ALL) {
            for (String target : List.of("/get?key=%zz", "/get?key=%", "/get?key=a%2", "/%zz")) {
                RawReply r = rawRequest(nodes, n, "GET " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
                assertThat(r.status()).as("status of GET %s (raw response: %s)", target, r.raw()).isEqualTo(400);
                assertThat(r.error()).as("error of GET %s", target).containsIgnoringCase("malformed");
            }
        }
    }

    // ---------------------------------------------------------------- size limits

    @Test
    void keyOverTheLimitIs413AndAKeyAtTheLimitIsAccepted() {
        String atLimit = "k".repeat(MAX_KEY_BYTES);
        Written before = put(0, atLimit, "old");
        assertThat(getValue(1, atLimit)).isEqualTo("old");

        String over = "k".repeat(MAX_KEY_BYTES + 1);
        // The limit counts UTF-8 bytes, not characters: 9 'é' are 18 bytes.
        String overInBytes = "é".repeat(MAX_KEY_BYTES / 2 + 1);
        for (int n : ALL) {
            for (String key : List.of(over, overInBytes)) {
                int bytes = key.getBytes(StandardCharsets.UTF_8).length;
                assertError(send(nodes, n, "POST", "/put", body(key, "new")), 413, "key is " + bytes + " bytes",
                        "limit is " + MAX_KEY_BYTES);
                assertError(send(nodes, n, "POST", "/append", body(key, "new")), 413, "key", String.valueOf(MAX_KEY_BYTES));
                assertError(send(nodes, n, "GET", "/get?key=" + encode(key), null), 413, "key",
                        String.valueOf(MAX_KEY_BYTES));
            }
        }
        assertThat(getReply(0, over).status()).as("the oversize key was never written").isEqualTo(413);
        assertUnchanged(before, atLimit, "old");
    }

    @Test
    void valueOverTheLimitIs413AndAValueAtTheLimitIsAccepted() {
        String multiByteAtLimit = "é".repeat(MAX_VALUE_BYTES / 2);
        put(2, "kBigUtf8", multiByteAtLimit);
        assertThat(getValue(0, "kBigUtf8")).isEqualTo(multiByteAtLimit);
        String atLimit = "v".repeat(MAX_VALUE_BYTES);
        Written before = put(1, "kBig", atLimit);
        assertThat(getValue(2, "kBig")).isEqualTo(atLimit);

        for (int n : ALL) {
            for (String value : List.of("v".repeat(MAX_VALUE_BYTES + 1), "é".repeat(MAX_VALUE_BYTES / 2 + 1))) {
                int bytes = value.getBytes(StandardCharsets.UTF_8).length;
                assertError(send(nodes, n, "POST", "/put", body("kBig", value)), 413, "value is " + bytes + " bytes",
                        "limit is " + MAX_VALUE_BYTES);
                assertError(send(nodes, n, "POST", "/append", body("kBig", value)), 413, "value",
                        String.valueOf(MAX_VALUE_BYTES));
            }
        }
        assertThat(getValue(0, "kBigUtf8")).isEqualTo(multiByteAtLimit);
        assertUnchanged(before, "kBig", atLimit);
    }

    // ---------------------------------------------------------------- peer RPCs

    /**
     * A peer still running a raftkv that sent JSON gets a 400 saying the versions differ, instead
     * of a dropped connection or a vague parse error; a cut binary body gets a 400 naming the field.
     */
    @Test
    void peerRpcWithAJsonBodyIs400NamingTheVersionMismatch() {
        String oldJson = "{\"type\":\"AppendEntries\",\"from\":1,\"to\":0,\"term\":1,\"prevLogIndex\":0,"
                + "\"prevLogTerm\":0,\"leaderCommit\":0,\"entries\":[]}";
        for (int n : ALL) {
            for (String path : List.of("/appendEntries", "/requestVote", "/installSnapshot")) {
                assertError(send(nodes, n, "POST", path, oldJson), 400, "raft message: bad magic byte 0x7b",
                        "peers must run the same raftkv version");
            }
            byte[] vote = MessageCodec.encode(new RequestVote((n + 1) % 3, n, 1, 0, 0));
            assertError(sendBytes(nodes, n, "POST", "/requestVote", Arrays.copyOf(vote, vote.length - 1)), 400,
                    "raft message: truncated at field 'flags' of RequestVote");
        }
    }

    /** A stale RequestVote (term 0) changes nothing; its answer comes back in the binary encoding. */
    @Test
    void peerRpcIsAnsweredInTheBinaryEncoding() throws IOException, InterruptedException {
        for (int n : ALL) {
            int peer = (n + 1) % 3;
            long termBefore = status(nodes, n).path("term").asLong();
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + nodes.address(n) + "/requestVote"))
                    .timeout(Duration.ofSeconds(15)).header("Content-Type", MessageCodec.CONTENT_TYPE)
                    .header(ClusterIdentity.HEADER, nodes.node(n).identity().id().orElseThrow())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(MessageCodec.encode(new RequestVote(peer, n, 0, 0, 0))))
                    .build();
            HttpResponse<byte[]> res;
            // A connection of its own: one that carried a peer RPC serves peer RPCs only (ClientLoopsTest).
            try (HttpClient peerHttp = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                res = peerHttp.send(req, HttpResponse.BodyHandlers.ofByteArray());
            }
            assertThat(res.statusCode()).as("status of the stale vote to node %d", n).isEqualTo(200);
            assertThat(res.headers().firstValue("content-type")).hasValue("application/octet-stream");
            Message answer = MessageCodec.decode(res.body());
            assertThat(answer).isInstanceOfSatisfying(RequestVoteResponse.class, r -> {
                assertThat(r.from()).isEqualTo(n);
                assertThat(r.to()).isEqualTo(peer);
                assertThat(r.granted()).as("a vote for a stale term").isFalse();
                assertThat(r.term()).as("node %d's term", n).isBetween(termBefore, status(nodes, n).path("term").asLong());
            });
        }
    }

    // ---------------------------------------------------------------- happy path

    @Test
    void anyNodeServesWritesAndReadsAndNamesTheLeader() {
        int leader = stableLeader(nodes);
        List<Integer> followers = ALL.stream().filter(i -> i != leader).sorted().toList();
        int viaPut = followers.get(0);
        int viaAppend = followers.get(1);

        Reply put = send(nodes, viaPut, "POST", "/put", body("color", "red"));
        assertThat(put.status()).as("put via follower %d: %s", viaPut, put.raw()).isEqualTo(200);
        assertThat(put.json().path("ok").asBoolean()).isTrue();
        assertThat(put.json().path("key").asText()).isEqualTo("color");
        assertThat(put.json().path("value").asText()).isEqualTo("red");
        assertNamesLeader(put, leader);

        Reply append = send(nodes, viaAppend, "POST", "/append", body("color", "-blue"));
        assertThat(append.status()).as("append via follower %d: %s", viaAppend, append.raw()).isEqualTo(200);
        assertThat(append.json().path("ok").asBoolean()).isTrue();
        assertThat(append.json().path("value").asText()).isEqualTo("red-blue");
        assertNamesLeader(append, leader);

        for (int n : List.of(leader, viaPut, viaAppend)) {
            Reply got = getReply(n, "color");
            assertThat(got.status()).as("get via node %d: %s", n, got.raw()).isEqualTo(200);
            assertThat(got.json().path("key").asText()).isEqualTo("color");
            assertThat(got.json().path("value").asText()).isEqualTo("red-blue");
            assertNamesLeader(got, leader);
        }

        // append to a missing key appends to the empty string
        Reply fresh = send(nodes, viaAppend, "POST", "/append", body("fresh", "x"));
        assertThat(fresh.status()).as(fresh.raw()).isEqualTo(200);
        assertThat(fresh.json().path("value").asText()).isEqualTo("x");
        assertThat(getValue(viaPut, "fresh")).isEqualTo("x");

        // put overwrites
        assertThat(send(nodes, leader, "POST", "/put", body("color", "green")).status()).isEqualTo(200);
        assertThat(getValue(viaAppend, "color")).isEqualTo("green");
    }

    @Test
    void getOfAMissingKeyIs404WithFoundFalse() {
        for (int n : ALL) {
            Reply r = getReply(n, "never-written");
            assertThat(r.status()).as("get via node %d: %s", n, r.raw()).isEqualTo(404);
            assertThat(r.json().path("key").asText()).isEqualTo("never-written");
            assertThat(r.json().path("found").isBoolean()).isTrue();
            assertThat(r.json().path("found").asBoolean()).isFalse();
            assertThat(r.json().has("value")).isFalse();
        }
    }

    /** Keys that need escaping in a URL survive a follower forwarding the read to the leader. */
    @Test
    void keysNeedingUrlEscapingRoundTripThroughFollowers() {
        int leader = stableLeader(nodes);
        for (String key : List.of("a b", "x&y=z", "p/q?r", "é+ü", "100%")) {
            put(leader, key, "v:" + key);
            for (int n : ALL) assertThat(getValue(n, key)).as("get %s via node %d", key, n).isEqualTo("v:" + key);
        }
    }

    // ---------------------------------------------------------------- /status

    @Test
    void statusHasItsFieldsOnLeaderAndFollowers() {
        Written w = put(stableLeader(nodes), "kStatus", "v");
        // Followers learn the commit index with the next append or heartbeat: wait for it.
        TestNodes.awaitCondition(() -> ALL.stream().allMatch(n -> status(nodes, n).path("lastApplied").asLong() >= w.index()),
                WAIT, "every node to apply index " + w.index());
        // Leadership may move under a loaded machine; take whoever leads once the followers caught up.
        int[] current = {-1};
        TestNodes.awaitCondition(() -> {
            current[0] = nodes.leader(ALL).orElse(-1);
            if (current[0] < 0) return false;
            JsonNode s = status(nodes, current[0]);
            long last = s.path("lastLogIndex").asLong();
            return s.path("peers").size() == 2 && stream(s.path("peers")).allMatch(p -> p.path("matchIndex").asLong() == last);
        }, WAIT, "the leader to see both followers caught up");
        int leader = current[0];

        JsonNode ls = status(nodes, leader);
        assertThat(ls.path("id").asInt()).isEqualTo(leader);
        assertThat(ls.path("role").asText()).isEqualTo("leader");
        assertThat(ls.path("term").asLong()).isEqualTo(w.term());
        assertThat(ls.path("leader").path("id").asInt()).isEqualTo(leader);
        assertThat(ls.path("leader").path("address").asText()).isEqualTo(nodes.address(leader).toString());
        assertThat(ls.path("commitIndex").asLong()).isGreaterThanOrEqualTo(w.index());
        assertThat(ls.path("lastApplied").asLong()).isBetween(w.index(), ls.path("commitIndex").asLong());
        assertThat(ls.path("lastLogIndex").asLong()).isGreaterThanOrEqualTo(ls.path("commitIndex").asLong());
        for (String f : List.of("id", "term", "commitIndex", "lastApplied", "lastLogIndex")) {
            assertThat(ls.path(f).isIntegralNumber()).as("leader status field %s in %s", f, ls).isTrue();
        }
        JsonNode peers = ls.path("peers");
        assertThat(peers.isArray()).as("peers in %s", ls).isTrue();
        assertThat(stream(peers).map(p -> p.path("id").asInt()).toList())
                .containsExactlyInAnyOrderElementsOf(ALL.stream().filter(i -> i != leader).toList());
        for (JsonNode p : peers) {
            assertThat(p.path("matchIndex").isIntegralNumber()).as("matchIndex in %s", p).isTrue();
            assertThat(p.path("nextIndex").isIntegralNumber()).as("nextIndex in %s", p).isTrue();
            assertThat(p.path("matchIndex").asLong()).isEqualTo(ls.path("lastLogIndex").asLong());
            assertThat(p.path("nextIndex").asLong()).isGreaterThan(p.path("matchIndex").asLong());
        }

        for (int f : ALL) {
            if (f == leader) continue;
            JsonNode fs = status(nodes, f);
            assertThat(fs.path("id").asInt()).isEqualTo(f);
            assertThat(fs.path("role").asText()).isEqualTo("follower");
            assertThat(fs.path("term").asLong()).isEqualTo(ls.path("term").asLong());
            assertThat(fs.path("leader").path("id").asInt()).as("leader in %s", fs).isEqualTo(leader);
            assertThat(fs.path("leader").path("address").asText()).isEqualTo(nodes.address(leader).toString());
            assertThat(fs.path("commitIndex").asLong()).isGreaterThanOrEqualTo(w.index());
            assertThat(fs.path("lastApplied").asLong()).isGreaterThanOrEqualTo(w.index());
            assertThat(fs.path("lastLogIndex").asLong()).isGreaterThanOrEqualTo(w.index());
        }
    }

    // ---------------------------------------------------------------- no quorum

    /**
     * A follower left alone cannot find a leader: writes and reads answer 503 within the request
     * timeout, its status shows no leader, and once the cluster is back the writes indeed were not applied.
     */
    @Test
    void withoutQuorumAFollowerAnswers503() {
        try (TestNodes lone = new TestNodes(3, c -> c.withRequestTimeoutMs(1000))) {
            lone.startAll();
            int leader = stableLeader(lone);
            int survivor = leader == 0 ? 1 : 0;
            int other = 3 - leader - survivor;
            Reply before = send(lone, survivor, "POST", "/put", body("k", "before"));
            assertThat(before.status()).as(before.raw()).isEqualTo(200);
            // Stop the other follower first, so that the leader keeps its quorum until it stops too
            // and the survivor can never win an election alone.
            lone.stop(other);
            lone.stop(leader);
            assertThat(lone.node(survivor).status().role()).as("role of the survivor").isNotEqualTo("leader");

            // Usually "no leader is reachable from node N ...; the write was not applied" (at once: it
            // cannot connect to its leader, or has not heard from one for an election timeout); when a
            // proposal is not answered by the loop before the deadline, the node says "outcome unknown".
            for (Reply write : List.of(send(lone, survivor, "POST", "/put", body("k", "after")),
                    send(lone, survivor, "POST", "/append", body("k", "-after")))) {
                assertThat(write.status()).as(write.raw()).isEqualTo(503);
                assertThat(write.error()).containsAnyOf("no leader", "outcome is unknown");
                assertThat(write.json().path("retryable").isBoolean()).as("retryable in %s", write.raw()).isTrue();
                assertThat(write.json().path("retryable").asBoolean())
                        .as("retryable exactly when the write was certainly not applied: %s", write.raw())
                        .isEqualTo(write.error().contains("not applied"));
            }
            Reply get = send(lone, survivor, "GET", "/get?key=k", null);
            assertError(get, 503, "no leader is reachable from node " + survivor);
            assertThat(get.json().path("noLeaderReachable").asBoolean()).as(get.raw()).isTrue();

            // With pre-vote (thesis §9.6) a lone node keeps asking without ever raising its term.
            TestNodes.awaitCondition(() -> status(lone, survivor).path("role").asText().equals("pre-candidate"), WAIT,
                    "node " + survivor + " to become a pre-candidate");
            JsonNode s = status(lone, survivor);
            assertThat(s.has("leader")).isTrue();
            assertThat(s.path("leader").isNull()).as("leader in %s", s).isTrue();
            assertThat(s.has("peers")).as("only a leader reports peers: %s", s).isFalse();

            lone.start(other);
            lone.start(leader);
            lone.awaitLeader(ALL, WAIT);
            Reply after = send(lone, survivor, "GET", "/get?key=k", null);
            assertThat(after.status()).as(after.raw()).isEqualTo(200);
            assertThat(after.json().path("value").asText()).as("the 503 writes were not applied").isEqualTo("before");
            assertThat(lone.fatalErrors()).isEmpty();
        }
    }

    /**
     * A leader that lost its followers cannot commit: the write answers 503 saying its outcome is
     * unknown. Check quorum (thesis §6.2) then makes it step down, so reads answer 503 too instead
     * of serving a value a newer leader elsewhere might have overwritten.
     */
    @Test
    void withoutQuorumALeaderAnswers503OutcomeUnknown() {
        try (TestNodes lone = new TestNodes(3, c -> c.withRequestTimeoutMs(1000))) {
            lone.startAll();
            int leader = stableLeader(lone);
            assertThat(send(lone, leader, "POST", "/put", body("k", "before")).status()).isEqualTo(200);
            for (int n : ALL) if (n != leader) lone.stop(n);
            assertThat(lone.node(leader).status().role()).as("role of the remaining node").isEqualTo("leader");

            Reply put = send(lone, leader, "POST", "/put", body("k", "after"));
            // Either the request timed out or the leader stepped down first: both leave the outcome open.
            assertError(put, 503, "outcome is unknown");
            assertThat(put.json().path("retryable").asBoolean(true)).isFalse();

            TestNodes.awaitCondition(() -> !lone.node(leader).status().role().equals("leader"), WAIT,
                    "the cut-off leader to step down");
            Reply get = send(lone, leader, "GET", "/get?key=k", null);
            assertError(get, 503, "no leader is reachable from node " + leader);
            assertThat(lone.fatalErrors()).isEmpty();
        }
    }

    /**
     * A stopped node must close the connections it accepted, like a crashed process: a follower
     * that forwards on a pooled connection to a stopped leader then fails fast and retries,
     * instead of waiting out the request timeout and answering "outcome unknown". The leak took
     * all connections of one event loop in some of the stops, hence several connections and stops.
     */
    @Test
    void aStoppedNodeClosesItsConnections() throws IOException {
        for (int round = 0; round < 6; round++) {
            try (TestNodes one = new TestNodes(1).startAll()) {
                one.awaitLeader(Set.of(0), WAIT);
                List<Socket> connections = new java.util.ArrayList<>();
                try {
                    for (int i = 0; i < 8; i++) {
                        Socket s = new Socket();
                        connections.add(s);
                        s.connect(new InetSocketAddress(one.address(0).host(), one.address(0).port()), 2000);
                        s.setSoTimeout(5000);
                        s.getOutputStream().write("GET /status HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                        readResponse(s.getInputStream());
                    }
                    one.stop(0);
                    for (int i = 0; i < connections.size(); i++) {
                        String what = "round " + round + ", connection " + i;
                        assertThat(readAfterStop(connections.get(i), what)).as("%s: end of stream once the node stopped", what)
                                .isEqualTo(-1);
                    }
                } finally {
                    for (Socket s : connections) s.close();
                }
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private record Reply(int status, String raw, JsonNode json, String contentType, String allow) {
        String error() {
            return json.path("error").asText();
        }
    }

    private record RawReply(int status, String raw, String error) {}

    private record Written(long index, long term) {}

    private static Reply send(TestNodes cluster, int node, String method, String pathAndQuery, String body) {
        return sendBytes(cluster, node, method, pathAndQuery, body == null ? null : body.getBytes(StandardCharsets.UTF_8));
    }

    private static Reply sendBytes(TestNodes cluster, int node, String method, String pathAndQuery, byte[] body) {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + cluster.address(node) + pathAndQuery))
                .timeout(Duration.ofSeconds(15))
                // as a peer of this cluster would (peer paths check it; client paths ignore it)
                .header(ClusterIdentity.HEADER, cluster.node(node).identity().id().orElseThrow())
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        try {
            HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            JsonNode json = res.body().isEmpty() ? JSON.missingNode() : JSON.readTree(res.body());
            return new Reply(res.statusCode(), res.body(), json, res.headers().firstValue("content-type").orElse(""),
                    res.headers().firstValue("allow").orElse(null));
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + pathAndQuery + " to node " + node, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Sends a request byte for byte, for targets that {@link URI} refuses to build. */
    private static RawReply rawRequest(TestNodes cluster, int node, String request) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(cluster.address(node).host(), cluster.address(node).port()), 2000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            String raw = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (raw.isEmpty()) return new RawReply(-1, "(connection closed without a response)", "");
            int status = Integer.parseInt(raw.substring(raw.indexOf(' ') + 1, raw.indexOf(' ') + 4));
            int bodyStart = raw.indexOf("\r\n\r\n");
            String body = bodyStart < 0 ? "" : raw.substring(bodyStart + 4);
            String error = body.isEmpty() ? "" : JSON.readTree(body).path("error").asText();
            return new RawReply(status, raw, error);
        } catch (IOException e) {
            return new RawReply(-1, "(" + e + ")", "");
        }
    }

    private static void assertError(Reply r, int status, String... fragments) {
        assertThat(r.status()).as("status (body %s)", r.raw()).isEqualTo(status);
        assertThat(r.contentType()).as("content type of %s", r.raw()).startsWith("application/json");
        assertThat(r.json().isObject()).as("JSON object body: %s", r.raw()).isTrue();
        assertThat(r.json().path("error").isTextual()).as("'error' string in %s", r.raw()).isTrue();
        assertThat(r.error()).contains(fragments);
    }

    private static void assertNamesLeader(Reply r, int leader) {
        JsonNode l = r.json().path("leader");
        assertThat(l.path("id").asInt(-1)).as("leader in %s", r.raw()).isEqualTo(leader);
        assertThat(l.path("address").asText()).as("leader in %s", r.raw()).isEqualTo(nodes.address(leader).toString());
    }

    private static String body(String key, String value) {
        return JSON.createObjectNode().put("key", key).put("value", value).toString();
    }

    private static String encode(String key) {
        return URLEncoder.encode(key, StandardCharsets.UTF_8);
    }

    private static Written put(int node, String key, String value) {
        Reply r = send(nodes, node, "POST", "/put", body(key, value));
        assertThat(r.status()).as("put %s via node %d: %s", key, node, r.raw()).isEqualTo(200);
        return new Written(r.json().path("index").asLong(), r.json().path("term").asLong());
    }

    private static Reply getReply(int node, String key) {
        return send(nodes, node, "GET", "/get?key=" + encode(key), null);
    }

    private static String getValue(int node, String key) {
        Reply r = getReply(node, key);
        assertThat(r.status()).as("get %s via node %d: %s", key, node, r.raw()).isEqualTo(200);
        return r.json().path("value").asText();
    }

    /**
     * The key still holds {@code value} on every node, and no log entry was appended since
     * {@code before}: the next write lands right after it (unless an election intervened, whose
     * no-op would take an index too).
     */
    private static void assertUnchanged(Written before, String key, String value) {
        for (int n : ALL) assertThat(getValue(n, key)).as("%s via node %d", key, n).isEqualTo(value);
        Written next = put(0, "sentinel", "s");
        if (next.term() == before.term()) {
            assertThat(next.index()).as("index of the next write: the refused requests appended nothing")
                    .isEqualTo(before.index() + 1);
        }
    }

    /**
     * A leader every running node agrees on (same id, same term), after one committed write: right
     * after startup a leader can still lose its term to a node that timed out meanwhile.
     */
    private static int stableLeader(TestNodes cluster) {
        Set<Integer> running = cluster.running();
        int[] leader = {cluster.awaitLeader(running, WAIT)};
        TestNodes.awaitCondition(() -> {
            leader[0] = cluster.leader(running).orElse(-1);
            if (leader[0] < 0) return false;
            StatusSnapshot ls = cluster.node(leader[0]).status();
            return ls.commitIndex() > 0 && ls.appliedIndex() == ls.commitIndex() && running.stream()
                    .map(n -> cluster.node(n).status()).allMatch(st -> st.leaderId() == leader[0] && st.term() == ls.term());
        }, WAIT, "all nodes to follow one leader");
        return leader[0];
    }

    /** The next byte, -1 at end of stream or reset; a read timeout means the connection was left open. */
    private static int readAfterStop(Socket s, String what) {
        try {
            return s.getInputStream().read();
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError(what + ": the stopped node left a keep-alive connection open", e);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Reads one HTTP response with a Content-Length body. */
    private static void readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new AssertionError("connection closed in the middle of a response: " + head);
            head.append((char) b);
        }
        int length = head.toString().lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
                .mapToInt(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).trim())).findFirst().orElse(0);
        assertThat(in.readNBytes(length)).hasSize(length);
    }

    private static JsonNode status(TestNodes cluster, int node) {
        Reply r = send(cluster, node, "GET", "/status", null);
        assertThat(r.status()).as("status of node %d: %s", node, r.raw()).isEqualTo(200);
        return r.json();
    }

    private static java.util.stream.Stream<JsonNode> stream(JsonNode array) {
        return IntStream.range(0, array.size()).mapToObj(array::get);
    }
}
