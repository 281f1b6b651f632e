package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the API takes as keys and values, through every endpoint and every node of a real 3-node
 * cluster on loopback: keys at and past the default key limit (4 KiB); values against a small value
 * limit (so that the bodies stay small), which holds for what a write leaves, not only for what it
 * sends; and text that is not valid Unicode, refused rather than stored as something else.
 */
class KeysAndValuesApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final int MAX_KEY_BYTES = NodeConfig.DEFAULT_MAX_KEY_BYTES;
    private static final int MAX_VALUE_BYTES = 64;

    private static TestNodes nodes;
    private static HttpClient http;

    @BeforeAll
    static void startCluster() {
        nodes = new TestNodes(3, c -> c.withRequestTimeoutMs(3000).withLimits(MAX_KEY_BYTES, MAX_VALUE_BYTES)).startAll();
        nodes.awaitLeader(ALL, WAIT);
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

    // ---------------------------------------------------------------- keys at the limit

    /**
     * A key of exactly the key limit works through every endpoint that takes one, on every node
     * (a follower forwards a linearizable get to the leader): percent-encoded in a query it is up
     * to three times as long, and the request line must still be accepted.
     */
    @Test
    void aKeyOfExactlyTheLimitWorksThroughEveryEndpointOnEveryNode() {
        // ASCII as it is; 'é' is 2 UTF-8 bytes, each percent-encoded as 3 chars: 12,288 chars in the query.
        for (String key : List.of("k".repeat(MAX_KEY_BYTES), "é".repeat(MAX_KEY_BYTES / 2))) {
            assertThat(key.getBytes(StandardCharsets.UTF_8)).hasSize(MAX_KEY_BYTES);
            for (int n : ALL) {
                String value = "v" + n;
                assertOk(send(n, "POST", "/put", body(key, value)));
                Reply appended = send(n, "POST", "/append", body(key, "+"));
                assertOk(appended);
                assertThat(appended.json().path("key").asText()).isEqualTo(key);
                assertEveryNodeHolds(key, value + "+");
            }
        }
    }

    /** One byte past the key limit is a 413 naming the limit on every endpoint; far past it, too (not a 400). */
    @Test
    void aKeyPastTheLimitIs413OnEveryEndpoint() {
        for (String key : List.of("k".repeat(MAX_KEY_BYTES + 1), "é".repeat(MAX_KEY_BYTES / 2) + "k")) {
            for (int n : ALL) {
                for (String path : List.of("/put", "/append")) {
                    assertError(send(n, "POST", path, body(key, "v")), 413, "key is " + (MAX_KEY_BYTES + 1) + " bytes",
                            "the limit is " + MAX_KEY_BYTES + " bytes");
                }
                for (String query : List.of("/get?key=" + encode(key), "/get?key=" + encode(key) + "&consistency=stale")) {
                    assertError(send(n, "GET", query, null), 413, "key is " + (MAX_KEY_BYTES + 1) + " bytes",
                            "the limit is " + MAX_KEY_BYTES + " bytes");
                }
            }
        }
        // Twice the limit, every byte percent-encoded: the request line itself is too long, which is still the key's fault.
        String huge = "é".repeat(MAX_KEY_BYTES);
        for (int n : ALL) {
            for (String query : List.of("/get?key=" + encode(huge), "/get?key=" + encode(huge) + "&consistency=stale")) {
                assertError(send(n, "GET", query, null), 413, "request line", "key", MAX_KEY_BYTES + " bytes");
            }
        }
    }

    // ---------------------------------------------------------------- the value an append leaves

    /**
     * Appends that are each within the limit cannot build a value past it: the one that would is
     * refused with 413 naming the size it would leave and the limit, on whichever node it arrives,
     * and no node applies any of it.
     */
    @Test
    void anAppendThatWouldGrowTheValuePastTheLimitIs413AndNoNodeAppliesIt() {
        String quarter = "a".repeat(MAX_VALUE_BYTES / 4);
        assertOk(send(0, "POST", "/put", body("kGrow", quarter)));
        for (int i = 2; i <= 4; i++) {
            Reply r = send(i % 3, "POST", "/append", body("kGrow", quarter));
            assertOk(r);
            assertThat(r.json().path("value").asText()).hasSize(i * quarter.length());
        }
        for (int n : ALL) {
            Reply r = send(n, "POST", "/append", body("kGrow", quarter));
            assertError(r, 413, "would make the value " + (MAX_VALUE_BYTES + quarter.length()) + " bytes",
                    "the limit is " + MAX_VALUE_BYTES + " bytes", "nothing was applied");
            // Bytes, not chars: one 2-byte character past a full value.
            assertError(send(n, "POST", "/append", body("kGrow", "é")), 413,
                    "would make the value " + (MAX_VALUE_BYTES + 2) + " bytes");
        }
        assertEveryNodeHolds("kGrow", "a".repeat(MAX_VALUE_BYTES));
    }

    /**
     * §6.3: an append refused as too large uses up its seq, and its resend is refused again, even
     * after the value was shortened so that it would now fit: a resend is never applied later.
     */
    @Test
    void aRefusedAppendInASessionIsRefusedAgainWhenResent() {
        long clientId = session(1);
        assertOk(send(0, "POST", "/put", body("kSession", "x".repeat(MAX_VALUE_BYTES - 2))));
        String tooMuch = write("kSession", "yyy", clientId, 1);
        for (int n : ALL) assertError(send(n, "POST", "/append", tooMuch), 413, "would make the value " + (MAX_VALUE_BYTES + 1));
        assertOk(send(0, "POST", "/put", body("kSession", "x")));
        for (int n : ALL) {
            Reply resent = send(n, "POST", "/append", tooMuch);
            assertError(resent, 413, "would make the value " + (MAX_VALUE_BYTES + 1));
            assertThat(resent.json().path("duplicate").asBoolean()).as("a refusal is not a duplicate success").isFalse();
        }
        Reply next = send(2, "POST", "/append", write("kSession", "z", clientId, 2));
        assertOk(next);
        assertThat(next.json().path("value").asText()).isEqualTo("xz");
        assertEveryNodeHolds("kSession", "xz");
    }

    // ---------------------------------------------------------------- text that is not Unicode

    /**
     * A lone UTF-16 surrogate in a JSON string (the escape of U+D800 alone) is not Unicode text and
     * could only be stored as something else ({@code "sur?"}): 400 naming the field, nothing written.
     */
    @Test
    void aLoneSurrogateInAJsonKeyOrValueIs400NamingTheField() {
        assertOk(send(0, "POST", "/put", body("kSur", "old")));
        List<String> notUnicode = List.of("sur\\ud800", "\\udc00x", "x\\ude00\\ud83d", "x\\ud83d");
        for (int n : ALL) {
            for (String path : List.of("/put", "/append")) {
                for (String bad : notUnicode) {
                    assertError(send(n, "POST", path, "{\"key\":\"" + bad + "\",\"value\":\"v\"}"), 400,
                            "field 'key'", "not valid Unicode", "surrogate");
                    assertError(send(n, "POST", path, "{\"key\":\"kSur\",\"value\":\"" + bad + "\"}"), 400,
                            "field 'value'", "not valid Unicode", "surrogate");
                }
            }
        }
        for (String stored : List.of("sur?", "sur\uFFFD", "?x", "\uFFFDx")) {
            assertThat(send(0, "GET", "/get?key=" + encode(stored), null).status()).as("key %s was never written", stored)
                    .isEqualTo(404);
        }
        assertEveryNodeHolds("kSur", "old");
        // A surrogate pair is one valid character (U+1F600), in JSON escapes as well as in UTF-8.
        String emoji = "\uD83D\uDE00";
        Reply paired = send(1, "POST", "/put", "{\"key\":\"kEmoji\\ud83d\\ude00\",\"value\":\"\\ud83d\\ude00\"}");
        assertOk(paired);
        assertThat(paired.json().path("key").asText()).isEqualTo("kEmoji" + emoji);
        assertEveryNodeHolds("kEmoji" + emoji, emoji);
    }

    /**
     * Percent-encoded bytes that are not UTF-8 (a stray byte, a cut sequence, an overlong form, an
     * encoded surrogate) would be read as U+FFFD: 400 naming the parameter, on both kinds of get.
     */
    @Test
    void aQueryParameterThatIsNotUtf8Is400NamingIt() {
        for (String badKey : List.of("sur%FF", "sur%ED%A0%80", "%C3", "%C0%80", "a%E2%82")) {
            for (int n : ALL) {
                for (String query : List.of("/get?key=" + badKey, "/get?key=" + badKey + "&consistency=stale",
                        "/get?consistency=stale&key=" + badKey)) {
                    assertError(send(n, "GET", query, null), 400, "query parameter 'key'", "not valid UTF-8");
                }
                assertError(send(n, "GET", "/get?key=k&consistency=stale%FF", null), 400, "query parameter 'consistency'");
            }
        }
        // Bytes that are not percent-encoded at all (here the UTF-8 of 'é') are not read as text either.
        byte[] rawUtf8 = "GET /get?key=caf\u00e9 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.UTF_8);
        for (int n : ALL) {
            String raw = rawRequest(n, rawUtf8);
            assertThat(raw).as("answer to a raw UTF-8 request line").startsWith("HTTP/1.1 400").contains("query parameter 'key'");
        }
        // Valid UTF-8, percent-encoded: a 4-byte character, and U+FFFD itself.
        assertOk(send(2, "POST", "/put", body("q\uD83D\uDE00\uFFFD", "ok")));
        for (int n : ALL) {
            Reply r = send(n, "GET", "/get?key=q%F0%9F%98%80%EF%BF%BD", null);
            assertOk(r);
            assertThat(r.json().path("value").asText()).isEqualTo("ok");
        }
    }

    // ---------------------------------------------------------------- helpers

    private record Reply(int status, String raw, JsonNode json) {
        String error() {
            return json.path("error").asText();
        }
    }

    private static Reply send(int node, String method, String pathAndQuery, String body) {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + nodes.address(node) + pathAndQuery))
                .timeout(Duration.ofSeconds(15))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body.getBytes(StandardCharsets.UTF_8)))
                .build();
        try {
            HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            JsonNode json = res.body().isEmpty() ? JSON.missingNode() : JSON.readTree(res.body());
            return new Reply(res.statusCode(), res.body(), json);
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + pathAndQuery + " to node " + node, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Sends {@code request} byte for byte on a new connection; the whole answer, up to the server's close. */
    private static String rawRequest(int node, byte[] request) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(nodes.address(node).host(), nodes.address(node).port()), 2000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("raw request to node " + node, e);
        }
    }

    private static String body(String key, String value) {
        return JSON.createObjectNode().put("key", key).put("value", value).toString();
    }

    private static String write(String key, String value, long clientId, long seq) {
        return JSON.createObjectNode().put("key", key).put("value", value).put("clientId", clientId).put("seq", seq).toString();
    }

    private static long session(int node) {
        Reply r = send(node, "POST", "/session", null);
        assertOk(r);
        return r.json().path("clientId").asLong();
    }

    private static void assertOk(Reply r) {
        assertThat(r.status()).as("status (body %s)", r.raw()).isEqualTo(200);
    }

    private static void assertError(Reply r, int status, String... fragments) {
        assertThat(r.status()).as("status (body %s)", r.raw()).isEqualTo(status);
        assertThat(r.json().path("error").isTextual()).as("'error' string in %s", r.raw()).isTrue();
        assertThat(r.error()).contains(fragments);
    }

    /**
     * Every node's own state machine holds {@code value} under {@code key}: a linearizable read
     * through each node, then each node's stale read once it applied everything the leader had.
     */
    private static void assertEveryNodeHolds(String key, String value) {
        for (int n : ALL) {
            Reply r = send(n, "GET", "/get?key=" + encode(key), null);
            assertOk(r);
            assertThat(r.json().path("value").asText()).as("%s via node %d", key, n).isEqualTo(value);
        }
        int leader = nodes.awaitLeader(ALL, WAIT);
        long commit = nodes.node(leader).status().commitIndex();
        TestNodes.awaitCondition(() -> ALL.stream().allMatch(n -> nodes.node(n).status().appliedIndex() >= commit), WAIT,
                "every node to apply up to " + commit);
        for (int n : ALL) {
            Reply r = send(n, "GET", "/get?consistency=stale&key=" + encode(key), null);
            assertOk(r);
            assertThat(r.json().path("value").asText()).as("%s in node %d's own state", key, n).isEqualTo(value);
        }
    }

    private static String encode(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
