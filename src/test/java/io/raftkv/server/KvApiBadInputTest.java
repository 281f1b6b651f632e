package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 11: every bad input to the KV API gets a clear 4xx and changes nothing. One table of cases
 * per endpoint (malformed JSON, wrong types, missing and unknown fields, unknown txn operations,
 * comparisons and targets, oversized transactions, contradictory cas expectations, unknown leases,
 * out-of-range TTLs, limits and revisions, wrong methods), each sent to every node of one 3-node
 * cluster: a follower validates before it forwards, and an unknown lease is only known to the
 * leader. Every answer must be the expected status with a JSON {@code "error"} holding the words
 * that say what to fix, and no exception or stack frame; after every answer the whole state - each
 * key with its revisions, and the revision (applied index) of a linearizable range - is what it was.
 */
class KvApiBadInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    /** The nodes in a fixed order: the followers and the leader alike, each case to each. */
    private static final List<Integer> NODES = List.of(0, 1, 2);
    /** Small limits keep the oversized bodies small; the defaults are 4 KiB and 1 MiB. */
    private static final int MAX_KEY_BYTES = 64;
    private static final int MAX_VALUE_BYTES = 1024;
    /** Never granted: lease ids are the log indexes of their grants, and this cluster writes a few dozen entries. */
    private static final long NEVER_GRANTED = 1_000_000_000L;
    /** What an answer to bad input must not show: it is written for the user, not for the developer. */
    private static final List<String> INTERNALS = List.of("Exception", "\tat ", "io.raftkv.", "com.fasterxml",
            "io.netty.", "java.lang", "java.util", "NullPointer");

    private static TestNodes nodes;
    private static HttpClient http;
    /** A lease that lives through the test (a minute), on key probe/leased. */
    private static long liveLease;
    /** A lease granted and revoked during setup. */
    private static long revokedLease;
    /** The state every bad request must leave as it was: every key with its revisions, and the revision. */
    private static JsonNode expectedState;

    @BeforeAll
    static void startCluster() {
        // Election timeouts well above the defaults (300-500 ms): on a loaded machine a stalled
        // heartbeat must not start an election, whose entry would move the revision under a case.
        nodes = new TestNodes(3, c -> new NodeConfig(c.id(), c.self(), c.peers(), c.tickMs(), c.heartbeatMs(), 1500, 3000,
                10_000, MAX_KEY_BYTES, MAX_VALUE_BYTES)).startAll();
        stableLeader();
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
        ok(send(0, "POST", "/put", "{\"key\":\"probe\",\"value\":\"untouched\"}"));
        liveLease = ok(send(1, "POST", "/lease/grant", "{\"ttlMs\":60000}")).path("leaseId").asLong();
        ok(send(2, "POST", "/put", "{\"key\":\"probe/leased\",\"value\":\"v\",\"lease\":" + liveLease + "}"));
        revokedLease = ok(send(0, "POST", "/lease/grant", "{\"ttlMs\":60000}")).path("leaseId").asLong();
        ok(send(0, "POST", "/put", "{\"key\":\"probe/revoked\",\"value\":\"v\",\"lease\":" + revokedLease + "}"));
        ok(send(1, "POST", "/lease/revoke", "{\"leaseId\":" + revokedLease + "}"));
        expectedState = state();
        assertThat(expectedState.path("kvs").size()).as("keys after setup: %s", expectedState).isEqualTo(2);
    }

    @AfterAll
    static void stopCluster() {
        if (http != null) http.close();
        if (nodes != null) {
            nodes.close();
            assertThat(nodes.fatalErrors()).as("fatal errors in the nodes").isEmpty();
        }
    }

    // ---------------------------------------------------------------- the tables

    /** What every JSON body endpoint refuses the same way. */
    @TestFactory
    Stream<DynamicTest> anyJsonBody() {
        List<Case> cases = new ArrayList<>();
        for (String path : List.of("/put", "/append", "/delete", "/cas", "/txn", "/lease/grant", "/lease/keepalive",
                "/lease/revoke")) {
            cases.add(post(path, "", 400, "empty request body", "send {"));
            cases.add(post(path, "{\"key\":", 400, "malformed JSON", "send {"));
            cases.add(post(path, "{key:'probe'}", 400, "malformed JSON"));
            cases.add(post(path, "not json", 400, "malformed JSON"));
            cases.add(post(path, "{} {}", 400, "malformed JSON"));
            cases.add(post(path, "{\"a\":1} trailing", 400, "malformed JSON"));
            cases.add(post(path, "[]", 400, "JSON object"));
            cases.add(post(path, "\"probe\"", 400, "JSON object"));
            cases.add(post(path, "42", 400, "JSON object"));
            cases.add(post(path, "null", 400, "JSON object"));
            cases.add(post(path, "{\"bogus\":1}", 400, "unknown field 'bogus'", "send {"));
            // Two values for one field are ambiguous: refused, not one of them silently taken.
            cases.add(post(path, "{\"key\":\"probe\",\"key\":\"other\"}", 400, "'key'", "twice"));
        }
        return run(cases);
    }

    @TestFactory
    Stream<DynamicTest> putAndAppend() {
        List<Case> cases = new ArrayList<>();
        for (String path : List.of("/put", "/append")) {
            cases.add(post(path, "{\"value\":\"v\"}", 400, "missing field 'key'"));
            cases.add(post(path, "{\"key\":\"probe\"}", 400, "missing field 'value'"));
            cases.add(post(path, "{\"key\":null,\"value\":\"v\"}", 400, "missing field 'key'"));
            cases.add(post(path, "{\"key\":1,\"value\":\"v\"}", 400, "field 'key' must be a string"));
            cases.add(post(path, "{\"key\":[\"probe\"],\"value\":\"v\"}", 400, "field 'key' must be a string"));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":{\"a\":1}}", 400, "field 'value' must be a string"));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":true}", 400, "field 'value' must be a string"));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":7}", 400, "field 'value' must be a string"));
            cases.add(post(path, "{\"key\":\"\",\"value\":\"v\"}", 400, "key must not be empty"));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":\"v\",\"ttl\":5}", 400, "unknown field 'ttl'"));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":\"v\",\"clientId\":5}", 400, "'clientId' and 'seq' together"));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":\"v\",\"clientId\":\"5\",\"seq\":1}", 400,
                    "'clientId' must be a positive integer"));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":\"v\",\"clientId\":5,\"seq\":-1}", 400,
                    "'seq' must be a positive integer"));
            cases.add(post(path, "{\"key\":\"" + "k".repeat(MAX_KEY_BYTES + 1) + "\",\"value\":\"v\"}", 413,
                    "key is " + (MAX_KEY_BYTES + 1) + " bytes", "limit is " + MAX_KEY_BYTES));
            cases.add(post(path, "{\"key\":\"probe\",\"value\":\"" + "v".repeat(MAX_VALUE_BYTES + 1) + "\"}", 413,
                    "value is " + (MAX_VALUE_BYTES + 1) + " bytes", "limit is " + MAX_VALUE_BYTES));
        }
        cases.add(post("/put", "{\"key\":\"probe\",\"value\":\"v\",\"lease\":\"" + liveLease + "\"}", 400, "lease id",
                "positive integer"));
        cases.add(post("/put", "{\"key\":\"probe\",\"value\":\"v\",\"lease\":0}", 400, "lease id", "positive integer"));
        cases.add(post("/put", "{\"key\":\"probe\",\"value\":\"v\",\"lease\":-3}", 400, "lease id", "positive integer"));
        cases.add(post("/put", "{\"key\":\"probe\",\"value\":\"v\",\"lease\":1.5}", 400, "lease id", "positive integer"));
        cases.add(post("/append", "{\"key\":\"probe\",\"value\":\"v\",\"lease\":" + liveLease + "}", 400,
                "only put and cas take 'lease'"));
        cases.add(post("/put", "{\"key\":\"probe\",\"value\":\"v\",\"lease\":" + NEVER_GRANTED + "}", 404,
                "lease " + NEVER_GRANTED + " does not exist", "POST /lease/grant"));
        cases.add(post("/put", "{\"key\":\"probe\",\"value\":\"v\",\"lease\":" + revokedLease + "}", 404,
                "lease " + revokedLease + " does not exist", "POST /lease/grant"));
        cases.add(post("/put", "{\"key\":\"probe/new\",\"value\":\"v\",\"lease\":" + revokedLease + "}", 404,
                "lease " + revokedLease + " does not exist"));
        return run(cases);
    }

    @TestFactory
    Stream<DynamicTest> delete() {
        return run(List.of(
                post("/delete", "{}", 400, "exactly one of 'key' and 'prefix'"),
                post("/delete", "{\"key\":null}", 400, "exactly one of 'key' and 'prefix'"),
                post("/delete", "{\"key\":\"probe\",\"prefix\":\"probe\"}", 400, "exactly one of 'key' and 'prefix'"),
                post("/delete", "{\"key\":1}", 400, "field 'key' must be a string"),
                post("/delete", "{\"prefix\":false}", 400, "field 'prefix' must be a string"),
                post("/delete", "{\"key\":\"\"}", 400, "key must not be empty"),
                post("/delete", "{\"key\":\"probe\",\"value\":\"v\"}", 400, "unknown field 'value'"),
                post("/delete", "{\"key\":\"probe\",\"seq\":1}", 400, "'clientId' and 'seq' together"),
                post("/delete", "{\"prefix\":\"" + "p".repeat(MAX_KEY_BYTES + 1) + "\"}", 413, "prefix is",
                        "limit is " + MAX_KEY_BYTES)));
    }

    @TestFactory
    Stream<DynamicTest> cas() {
        String kv = "\"key\":\"probe\",\"value\":\"new\"";
        return run(List.of(
                post("/cas", "{" + kv + "}", 400, "exactly one expectation", "expectedValue", "expectedModRevision",
                        "expectAbsent"),
                post("/cas", "{" + kv + ",\"expectedValue\":\"untouched\",\"expectedModRevision\":1}", 400,
                        "exactly one expectation"),
                post("/cas", "{" + kv + ",\"expectedValue\":\"untouched\",\"expectAbsent\":true}", 400,
                        "exactly one expectation"),
                post("/cas", "{" + kv + ",\"expectedModRevision\":1,\"expectAbsent\":true}", 400, "exactly one expectation"),
                post("/cas", "{" + kv + ",\"expectedValue\":\"untouched\",\"expectedModRevision\":1,\"expectAbsent\":true}",
                        400, "exactly one expectation"),
                post("/cas", "{" + kv + ",\"expectAbsent\":false}", 400, "'expectAbsent' can only be true"),
                post("/cas", "{" + kv + ",\"expectAbsent\":\"true\"}", 400, "'expectAbsent' can only be true"),
                post("/cas", "{" + kv + ",\"expectedValue\":5}", 400, "field 'expectedValue' must be a string"),
                post("/cas", "{" + kv + ",\"expectedModRevision\":-1}", 400, "'expectedModRevision' must be an integer >= 0"),
                post("/cas", "{" + kv + ",\"expectedModRevision\":\"3\"}", 400, "'expectedModRevision' must be an integer"),
                post("/cas", "{" + kv + ",\"expectedModRevision\":2.5}", 400, "'expectedModRevision' must be an integer"),
                post("/cas", "{\"key\":\"probe\",\"expectAbsent\":true}", 400, "missing field 'value'"),
                post("/cas", "{\"key\":3,\"value\":\"v\",\"expectAbsent\":true}", 400, "field 'key' must be a string"),
                post("/cas", "{\"value\":\"v\",\"expectAbsent\":true}", 400, "missing field 'key'"),
                post("/cas", "{" + kv + ",\"expectAbsent\":true,\"ttlMs\":5}", 400, "unknown field 'ttlMs'"),
                post("/cas", "{" + kv + ",\"expectAbsent\":true,\"lease\":\"x\"}", 400, "lease id", "positive integer"),
                // A cas that would succeed but for its lease: refused whole, the key keeps its value.
                post("/cas", "{" + kv + ",\"expectedValue\":\"untouched\",\"lease\":" + NEVER_GRANTED + "}", 404,
                        "lease " + NEVER_GRANTED + " does not exist"),
                post("/cas", "{\"key\":\"probe/new\",\"value\":\"v\",\"expectAbsent\":true,\"lease\":" + revokedLease + "}",
                        404, "lease " + revokedLease + " does not exist")));
    }

    @TestFactory
    Stream<DynamicTest> txn() {
        String put = "{\"op\":\"put\",\"key\":\"probe\",\"value\":\"new\"}";
        String cmp = "{\"key\":\"probe\",\"target\":\"value\",\"op\":\"==\",\"operand\":\"untouched\"}";
        List<Case> cases = new ArrayList<>(List.of(
                post("/txn", "{\"compare\":{},\"success\":[" + put + "]}", 400, "'compare' must be an array"),
                post("/txn", "{\"success\":" + put + "}", 400, "'success' must be an array"),
                post("/txn", "{\"failure\":\"put\"}", 400, "'failure' must be an array"),
                post("/txn", "{\"compare\":[1],\"success\":[" + put + "]}", 400, "each comparison must be an object"),
                post("/txn", "{\"success\":[\"put\"]}", 400, "each operation must be an object"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"size\",\"op\":\"==\",\"operand\":1}],"
                        + "\"success\":[" + put + "]}", 400, "unknown compare target 'size'", "value|modRevision"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"value\",\"op\":\"=~\",\"operand\":\"u\"}],"
                        + "\"success\":[" + put + "]}", 400, "unknown comparison '=~'", "==, !=, < or >"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"value\",\"op\":1,\"operand\":\"u\"}],"
                        + "\"success\":[" + put + "]}", 400, "field 'op' must be a string"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"exists\",\"op\":\"<\",\"operand\":true}],"
                        + "\"success\":[" + put + "]}", 400, "exists compares with == or != only"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"exists\",\"op\":\"==\",\"operand\":\"yes\"}],"
                        + "\"success\":[" + put + "]}", 400, "operand must be true or false"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"value\",\"op\":\"==\"}],"
                        + "\"success\":[" + put + "]}", 400, "has no 'operand'"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"value\",\"op\":\"==\",\"operand\":5}],"
                        + "\"success\":[" + put + "]}", 400, "operand must be a string"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"version\",\"op\":\"==\",\"operand\":\"1\"}],"
                        + "\"success\":[" + put + "]}", 400, "'version operand' must be an integer >= 0"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"modRevision\",\"op\":\">\",\"operand\":-1}],"
                        + "\"success\":[" + put + "]}", 400, "'modRevision operand' must be an integer >= 0"),
                post("/txn", "{\"compare\":[{\"target\":\"value\",\"op\":\"==\",\"operand\":\"u\"}],\"success\":[" + put + "]}",
                        400, "missing field 'key'"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"op\":\"==\",\"operand\":\"u\"}],\"success\":[" + put + "]}",
                        400, "missing field 'target'"),
                post("/txn", "{\"compare\":[{\"key\":\"probe\",\"target\":\"value\",\"op\":\"==\",\"operand\":\"u\",\"x\":1}]}",
                        400, "unknown field 'x'"),
                post("/txn", "{\"compare\":[" + cmp + "],\"success\":[{\"op\":\"incr\",\"key\":\"probe\"}]}", 400,
                        "unknown operation 'incr'", "put|append"),
                post("/txn", "{\"compare\":[" + cmp + "],\"success\":[{\"key\":\"probe\",\"value\":\"v\"}]}", 400,
                        "missing field 'op'"),
                post("/txn", "{\"success\":[{\"op\":\"put\",\"key\":7,\"value\":\"v\"}]}", 400, "field 'key' must be a string"),
                post("/txn", "{\"success\":[{\"op\":\"put\",\"key\":\"probe\"}]}", 400, "missing field 'value'"),
                post("/txn", "{\"success\":[{\"op\":\"append\",\"key\":\"probe\",\"value\":[]}]}", 400,
                        "field 'value' must be a string"),
                post("/txn", "{\"success\":[{\"op\":\"put\",\"key\":\"probe\",\"value\":\"v\",\"lease\":" + liveLease + "}]}",
                        400, "unknown field 'lease'"),
                post("/txn", "{\"success\":[{\"op\":\"delete\",\"key\":\"probe\",\"prefix\":\"p\"}]}", 400,
                        "exactly one of 'key' and 'prefix'"),
                post("/txn", "{\"success\":[{\"op\":\"delete\"}]}", 400, "exactly one of 'key' and 'prefix'"),
                post("/txn", "{\"success\":[{\"op\":\"get\",\"key\":\"\"}]}", 400, "key must not be empty"),
                // A valid first operation does not go through when a later one is bad.
                post("/txn", "{\"success\":[" + put + ",{\"op\":\"put\",\"key\":\"probe\"}]}", 400, "missing field 'value'"),
                post("/txn", "{\"compare\":[" + cmp + "],\"success\":[" + put + "],\"then\":[]}", 400, "unknown field 'then'"),
                post("/txn", "{\"success\":[" + put + "],\"clientId\":0,\"seq\":1}", 400, "'clientId' must be a positive integer")));
        // Nested past what the parser takes (1,000 levels): refused as JSON, not a failure of the node.
        cases.add(post("/txn", "{\"compare\":" + "[".repeat(2000) + "]".repeat(2000) + "}", 400, "malformed JSON"));
        // Too many items: in one list, and across the lists.
        cases.add(post("/txn", txn(0, 129, 0), 413, "'success' has 129 items", "at most 128", "split"));
        cases.add(post("/txn", txn(129, 0, 0), 413, "'compare' has 129 items", "at most 128"));
        cases.add(post("/txn", txn(40, 45, 44), 413, "129 comparisons and operations", "limit is 128", "split"));
        // Within the item limit but larger than one log entry may be (the largest put).
        String big = "v".repeat(MAX_VALUE_BYTES);
        cases.add(post("/txn", "{\"success\":[{\"op\":\"put\",\"key\":\"probe\",\"value\":\"" + big + "\"},"
                + "{\"op\":\"put\",\"key\":\"probe/2\",\"value\":\"" + big + "\"}]}", 413, "log entry of", "largest put",
                "split"));
        return run(cases);
    }

    @TestFactory
    Stream<DynamicTest> leases() {
        List<Case> cases = new ArrayList<>();
        String ttlWords = "'ttlMs' must be an integer from " + KvApiJson.MIN_LEASE_TTL_MS + " to " + KvApiJson.MAX_LEASE_TTL_MS;
        for (String ttl : List.of("-1", "0", "999", String.valueOf(KvApiJson.MAX_LEASE_TTL_MS + 1), "9223372036854775807",
                "99999999999999999999", "1e30", "5000.5", "\"5000\"", "true", "[5000]")) {
            cases.add(post("/lease/grant", "{\"ttlMs\":" + ttl + "}", 400, ttlWords));
        }
        cases.add(post("/lease/grant", "{}", 400, "missing field 'ttlMs'"));
        cases.add(post("/lease/grant", "{\"ttlMs\":null}", 400, "missing field 'ttlMs'"));
        cases.add(post("/lease/grant", "{\"ttl\":5000}", 400, "unknown field 'ttl'"));
        for (String path : List.of("/lease/keepalive", "/lease/revoke")) {
            cases.add(post(path, "{}", 400, "missing lease id", "{\"leaseId\":ID}"));
            cases.add(post(path, "{\"leaseId\":null}", 400, "missing lease id"));
            for (String id : List.of("\"" + liveLease + "\"", "0", "-1", "1.5", "99999999999999999999", "{}")) {
                cases.add(post(path, "{\"leaseId\":" + id + "}", 400, "a lease id is a positive integer"));
            }
            cases.add(post(path, "{\"id\":" + liveLease + "}", 400, "unknown field 'id'"));
            cases.add(post(path, "{\"leaseId\":" + NEVER_GRANTED + "}", 404, "lease " + NEVER_GRANTED + " does not exist",
                    "POST /lease/grant"));
            cases.add(post(path, "{\"leaseId\":" + revokedLease + "}", 404, "lease " + revokedLease + " does not exist"));
        }
        cases.add(get("/lease", 400, "GET /lease?id=N"));
        for (String id : List.of("abc", "-1", "0", "1.5", "", "99999999999999999999")) {
            cases.add(get("/lease?id=" + id, 400, "'id' must be a lease id"));
        }
        cases.add(get("/lease?id=" + liveLease + "&id=" + liveLease, 400, "'id' given twice"));
        cases.add(get("/lease?id=" + liveLease + "&keys=true", 400, "unknown parameter 'keys'"));
        cases.add(get("/lease?id=" + NEVER_GRANTED, 404, "lease " + NEVER_GRANTED + " does not exist"));
        cases.add(get("/lease?id=" + revokedLease, 404, "lease " + revokedLease + " does not exist"));
        return run(cases);
    }

    @TestFactory
    Stream<DynamicTest> getRangeAndWatch() {
        List<Case> cases = new ArrayList<>(List.of(
                get("/get", 400, "missing query parameter 'key'"),
                get("/get?k=probe", 400, "unknown parameter 'k'"),
                get("/get?key=", 400, "key must not be empty"),
                get("/get?key=probe&key=other", 400, "'key' given twice"),
                get("/get?key=probe&consistency=eventual", 400, "consistency must be 'linearizable'", "'stale'"),
                get("/get?key=probe&limit=1", 400, "unknown parameter 'limit'"),
                get("/get?key=" + "k".repeat(MAX_KEY_BYTES + 1), 413, "key is", "limit is " + MAX_KEY_BYTES),
                get("/range", 400, "give 'prefix'", "'from'"),
                get("/range?limit=5", 400, "give 'prefix'"),
                get("/range?prefix=p&key=probe", 400, "unknown parameter 'key'"),
                get("/range?prefix=p&prefix=q", 400, "'prefix' given twice"),
                get("/range?prefix=&consistency=any", 400, "consistency must be 'linearizable'"),
                get("/range?from=b&to=a", 400, "'from' must not sort after 'to'"),
                get("/range?from=probe%2F&to=probe", 400, "'from' must not sort after 'to'"),
                get("/watch", 400, "exactly one of 'key' and 'prefix'"),
                get("/watch?key=probe&prefix=probe", 400, "exactly one of 'key' and 'prefix'"),
                get("/watch?fromRevision=1", 400, "exactly one of 'key' and 'prefix'"),
                get("/watch?key=", 400, "key must not be empty"),
                get("/watch?key=probe&key=x", 400, "'key' given twice"),
                get("/watch?key=probe&revision=3", 400, "unknown parameter 'revision'"),
                get("/watch?key=" + "k".repeat(MAX_KEY_BYTES + 1), 413, "key is", "limit is " + MAX_KEY_BYTES)));
        for (String limit : List.of("-1", "0", "abc", "1.5", "", String.valueOf(ClientRequests.MAX_RANGE_LIMIT + 1),
                "99999999999", "2147483648")) {
            cases.add(get("/range?prefix=&limit=" + limit, 400, "'limit' must be 1.." + ClientRequests.MAX_RANGE_LIMIT));
        }
        for (String from : List.of("-1", "0", "abc", "1.5", "", "99999999999999999999")) {
            cases.add(get("/watch?prefix=probe&fromRevision=" + from, 400, "'fromRevision' must be an integer >= 1"));
        }
        return run(cases);
    }

    /** 405 naming the method the path takes, with {@code Allow}; for every KV path. */
    @TestFactory
    Stream<DynamicTest> wrongMethod() {
        List<Case> cases = new ArrayList<>();
        String body = "{\"key\":\"probe\",\"value\":\"new\"}";
        for (String path : List.of("/put", "/append", "/delete", "/cas", "/txn", "/lease/grant", "/lease/keepalive",
                "/lease/revoke")) {
            for (String method : List.of("GET", "PUT", "DELETE", "PATCH")) {
                cases.add(new Case(method + " " + path, method, path, method.equals("GET") ? null : body, 405,
                        List.of(path + " takes POST, not " + method), "POST"));
            }
        }
        for (String path : List.of("/get?key=probe", "/range?prefix=", "/watch?key=probe", "/lease?id=" + liveLease)) {
            String bare = path.substring(0, path.indexOf('?'));
            for (String method : List.of("POST", "PUT", "DELETE")) {
                cases.add(new Case(method + " " + path, method, path, body, 405, List.of(bare + " takes GET, not " + method),
                        "GET"));
            }
        }
        return run(cases);
    }

    /**
     * A body past the largest request (64 MiB) is refused from its Content-Length, before it is
     * read: 413 with the limit in JSON, like every other error, and the connection is closed.
     */
    @Test
    void aBodyPastTheRequestLimitIs413WithAMessage() {
        for (int n : NODES) {
            String head = "POST /txn HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: "
                    + (NodeConfig.MAX_REQUEST_BYTES + 1L) + "\r\n\r\n{\"success\":[";
            String raw = rawRequest(n, head.getBytes(StandardCharsets.UTF_8));
            assertThat(raw).as("answer of node %d", n).startsWith("HTTP/1.1 413");
            int bodyAt = raw.indexOf("\r\n\r\n");
            assertThat(bodyAt).as("answer of node %d: %s", n, raw).isPositive();
            JsonNode json = parse(raw.substring(bodyAt + 4));
            assertThat(json.path("error").asText()).as("answer of node %d: %s", n, raw)
                    .contains(String.valueOf(NodeConfig.MAX_REQUEST_BYTES), "bytes");
            assertThat(raw).doesNotContain(INTERNALS);
            assertStateUnchanged(state(), "an oversized body via node " + n);
        }
    }

    /**
     * In a session, an unknown lease is refused when the entry applies, not before (a resend must
     * get its first attempt's answer, which only the session table knows): 404, and the resends are
     * answered from the session table with the same 404; no key changes, though each attempt's
     * entry takes a revision.
     */
    @Test
    void inASessionAnUnknownLeaseIsRefusedWhenAppliedAndAgainWhenResent() {
        try {
            long clientId = ok(send(0, "POST", "/session", null)).path("clientId").asLong();
            JsonNode before = state();
            String put = "{\"key\":\"probe\",\"value\":\"new\",\"lease\":" + revokedLease + ",\"clientId\":" + clientId
                    + ",\"seq\":1}";
            for (int n : NODES) {
                Reply r = send(n, "POST", "/put", put);
                assertThat(r.status()).as("via node %d: %s", n, r.body()).isEqualTo(404);
                JsonNode json = parse(r.body());
                assertThat(json.path("error").asText()).contains("lease " + revokedLease + " does not exist",
                        "nothing was applied");
                assertThat(json.path("duplicate").asBoolean()).as("a resend, via node %d: %s", n, r.body()).isEqualTo(n > 0);
            }
            assertThat(state().path("kvs")).isEqualTo(before.path("kvs"));
        } finally {
            expectedState = state();
        }
    }

    // ---------------------------------------------------------------- running a case

    /**
     * A bad request: sent to every node, it gets {@code status} with {@code words} in its error,
     * and changes nothing. {@code allow}: the Allow header a 405 carries, else null.
     */
    private record Case(String name, String method, String path, String body, int status, List<String> words, String allow) {}

    private static Case post(String path, String body, int status, String... words) {
        String shown = body.length() > 100 ? body.substring(0, 100) + "... (" + body.length() + " chars)" : body;
        return new Case("POST " + path + " " + shown, "POST", path, body, status, List.of(words), null);
    }

    private static Case get(String pathAndQuery, int status, String... words) {
        String shown = pathAndQuery.length() > 100 ? pathAndQuery.substring(0, 100) + "..." : pathAndQuery;
        return new Case("GET " + shown, "GET", pathAndQuery, null, status, List.of(words), null);
    }

    private static Stream<DynamicTest> run(List<Case> cases) {
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            List<Reply> replies = new ArrayList<>();
            for (int n : NODES) replies.add(send(n, c.method(), c.path(), c.body()));
            JsonNode state = state(); // read before the answers are checked: a wrong one must not hide what it changed
            for (int n : NODES) {
                Reply r = replies.get(n);
                String what = c.name() + " via node " + n;
                assertThat(r.status()).as("%s: status (body %s)", what, r.body()).isEqualTo(c.status());
                assertThat(r.contentType()).as("%s: content type", what).startsWith("application/json");
                JsonNode json = parse(r.body());
                assertThat(json.path("error").isTextual()).as("%s: an 'error' string in %s", what, r.body()).isTrue();
                assertThat(json.path("error").asText()).as("%s: error", what).contains(c.words());
                assertThat(r.body()).as("%s: no internals in the answer", what).doesNotContain(INTERNALS);
                if (c.allow() != null) assertThat(r.allow()).as("%s: Allow header", what).isEqualTo(c.allow());
            }
            assertStateUnchanged(state, c.name() + " via every node");
        }));
    }

    /**
     * Every key, its value and revisions, and the revision are as they were; on failure, later cases
     * compare to the new state. A new term (an election, despite the long timeouts) writes an entry
     * of its own: then only the keys are compared.
     */
    private static void assertStateUnchanged(JsonNode now, String after) {
        JsonNode expected = expectedState;
        expectedState = now;
        if (now.path("term").equals(expected.path("term"))) {
            assertThat(now).as("the state after %s", after).isEqualTo(expected);
        } else {
            assertThat(now.path("kvs")).as("the keys after %s (an election happened: %s)", after, now).isEqualTo(expected.path("kvs"));
        }
    }

    /** A linearizable range of every key (the leader's ReadIndex), without the leader's name. */
    private static JsonNode state() {
        int leader = nodes.awaitLeader(ALL, WAIT);
        JsonNode range = ok(send(leader, "GET", "/range?prefix=&limit=" + ClientRequests.MAX_RANGE_LIMIT, null));
        ObjectNode state = JSON.createObjectNode();
        state.set("kvs", range.path("kvs"));
        state.set("revision", range.path("revision"));
        state.put("term", nodes.node(leader).status().term());
        return state;
    }

    /** A transaction with that many comparisons, success and failure operations, all well-formed. */
    private static String txn(int compares, int success, int failure) {
        ObjectNode t = JSON.createObjectNode();
        ArrayNode c = t.putArray("compare");
        for (int i = 0; i < compares; i++) {
            c.addObject().put("key", "probe").put("target", "version").put("op", ">").put("operand", 0);
        }
        ArrayNode s = t.putArray("success");
        for (int i = 0; i < success; i++) s.addObject().put("op", "put").put("key", "probe/" + i).put("value", "v");
        ArrayNode f = t.putArray("failure");
        for (int i = 0; i < failure; i++) f.addObject().put("op", "get").put("key", "probe");
        return t.toString();
    }

    // ---------------------------------------------------------------- HTTP

    private record Reply(int status, String body, String contentType, String allow) {}

    private static Reply send(int node, String method, String pathAndQuery, String body) {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + nodes.address(node) + pathAndQuery))
                .timeout(Duration.ofSeconds(15))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        try {
            HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Reply(res.statusCode(), res.body(), res.headers().firstValue("content-type").orElse(""),
                    res.headers().firstValue("allow").orElse(null));
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + pathAndQuery + " to node " + node, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static JsonNode ok(Reply r) {
        assertThat(r.status()).as("status (body %s)", r.body()).isEqualTo(200);
        return parse(r.body());
    }

    private static JsonNode parse(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    /** Sends {@code request} byte for byte on a new connection; the whole answer, up to the server's close. */
    private static String rawRequest(int node, byte[] request) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(nodes.address(node).host(), nodes.address(node).port()), 2000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("raw request to node " + node, e);
        }
    }

    /** Waits until every node follows one leader that has applied what it committed. */
    private static void stableLeader() {
        TestNodes.awaitCondition(() -> {
            int leader = nodes.leader(ALL).orElse(-1);
            if (leader < 0) return false;
            StatusSnapshot ls = nodes.node(leader).status();
            return ls.commitIndex() > 0 && ls.appliedIndex() == ls.commitIndex() && ALL.stream()
                    .map(n -> nodes.node(n).status()).allMatch(st -> st.leaderId() == leader && st.term() == ls.term());
        }, WAIT, "all nodes to follow one leader");
    }
}
