package io.raftkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.server.TestNodes;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * {@code raftkv bench} run in-process against an in-process 3-node cluster: the JSON report, that
 * the writes it reports are applied, preload, the rate limit, the progress line, and its refusals
 * (bad flags: exit 2; no cluster: exit 1 with one line). Every run is bounded.
 */
class BenchCommandTest {
    private static final Duration BOUND = Duration.ofSeconds(60);
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestNodes nodes;
    private static String cluster;

    @BeforeAll
    static void startCluster() {
        nodes = new TestNodes(3).startAll();
        nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
        cluster = nodes.address(0) + "," + nodes.address(1) + "," + nodes.address(2);
    }

    @AfterAll
    static void stopCluster() {
        if (nodes != null) nodes.close();
    }

    private record Result(int exitCode, String out, String err, double wallSeconds) {
        JsonNode json() throws IOException {
            assertThat(out.lines().toList()).as("stdout is one JSON object; stderr: %s", err).hasSize(1);
            return JSON.readTree(out);
        }
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        long t0 = System.nanoTime();
        int code = assertTimeoutPreemptively(BOUND, () -> Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)),
                () -> "raftkv " + String.join(" ", args) + " did not return within " + BOUND);
        return new Result(code, out.toString(), err.toString(), (System.nanoTime() - t0) / 1e9);
    }

    private static Result bench(String... args) {
        List<String> all = new ArrayList<>(List.of("bench", "--cluster", cluster));
        all.addAll(List.of(args));
        return run(all.toArray(String[]::new));
    }

    /** A successful --json run: exit 0, nothing on stderr, no errors; the report. */
    private static JsonNode okJson(Result r) throws IOException {
        assertThat(r.exitCode()).as("exit code; stderr: %s; stdout: %s", r.err(), r.out()).isZero();
        assertThat(r.err()).as("stderr with --json").isEmpty();
        JsonNode o = r.json();
        assertThat(o.get("errors").size()).as("errors: %s", o).isZero();
        assertThat(o.get("failed").asLong()).isZero();
        return o;
    }

    private static void assertLatencyOrdered(JsonNode lat) {
        double p50 = lat.get("p50").asDouble();
        double p90 = lat.get("p90").asDouble();
        double p99 = lat.get("p99").asDouble();
        double p999 = lat.get("p99.9").asDouble();
        double max = lat.get("max").asDouble();
        assertThat(p50).as("p50 of %s", lat).isPositive();
        assertThat(p50).isLessThanOrEqualTo(p90);
        assertThat(p90).isLessThanOrEqualTo(p99);
        assertThat(p99).isLessThanOrEqualTo(p999);
        assertThat(p999).isLessThanOrEqualTo(max);
    }

    private static String key(String prefix, int i, int keyBytes) {
        String base = prefix + i;
        return base + "_".repeat(Math.max(0, keyBytes - base.length()));
    }

    @Test
    void countedRunReportsEveryOperationAsJson() throws IOException {
        JsonNode o = okJson(bench("--count", "200", "--clients", "8", "--key-prefix", "count-", "--json"));
        assertThat(o.get("operations").asLong()).isEqualTo(200);
        assertThat(o.get("throughput").asDouble()).isPositive();
        assertThat(o.get("seconds").asDouble()).isPositive();
        assertThat(o.get("sessions").asBoolean()).isTrue();
        assertThat(o.get("clients").asInt()).isEqualTo(8);
        assertLatencyOrdered(o.get("latencyMs"));
        assertThat(o.get("byOp").get("put").get("operations").asLong()).isEqualTo(200);
    }

    @ParameterizedTest(name = "sessions {0}")
    @ValueSource(booleans = {true, false})
    void appendsToOneKeyAreEachAppliedOnce(boolean sessions) throws IOException {
        String prefix = "app-" + sessions + "-";
        Result run = bench("--count", "200", "--clients", "8", "--keys", "1", "--key-prefix", prefix,
                "--mix", "append=1", "--value-bytes", "8", sessions ? "--sessions" : "--no-sessions", "--json");
        // Without sessions an append caught by a leader change (a slow machine) has an unknown outcome:
        // it is an error in the report and may or may not be in the value. With sessions, none is.
        JsonNode o = sessions ? okJson(run) : run.json();
        assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
        long failed = o.get("failed").asLong();
        assertThat(o.get("operations").asLong()).isEqualTo(200 - failed);
        assertThat(o.get("sessions").asBoolean()).isEqualTo(sessions);
        try (RaftKvClient c = nodes.client(WAIT)) {
            KvResult r = c.get(key(prefix, 0, 16));
            assertThat(r.ok()).as("%s", r).isTrue();
            assertThat(r.value().orElseThrow()).matches("v+").hasSizeBetween((int) (200 - failed) * 8, 200 * 8);
        }
    }

    @Test
    void mixedRunDoesEveryKindOfOperationAndAppliesTheWrites() throws IOException {
        String prefix = "mix-";
        int keys = 5;
        JsonNode o = okJson(bench("--count", "200", "--clients", "4", "--keys", String.valueOf(keys), "--key-prefix", prefix,
                "--mix", "put=1,append=1,get=1,staleget=1", "--value-bytes", "4", "--json"));
        assertThat(o.get("operations").asLong()).isEqualTo(200);
        JsonNode byOp = o.get("byOp");
        long sum = 0;
        for (String op : List.of("put", "append", "get", "staleget")) {
            assertThat(byOp.has(op)).as("%s in %s", op, byOp).isTrue();
            assertThat(byOp.get(op).get("operations").asLong()).as(op).isPositive();
            assertLatencyOrdered(byOp.get(op).get("latencyMs"));
            sum += byOp.get(op).get("operations").asLong();
        }
        assertThat(sum).isEqualTo(200);
        assertThat(byOp.get("get").has("notFound")).isTrue();
        long writes = byOp.get("put").get("operations").asLong() + byOp.get("append").get("operations").asLong();
        // Each key's value is the last put's value plus the appends after it: whole 4-byte values.
        int found = 0;
        long totalLength = 0;
        try (RaftKvClient c = nodes.client(WAIT)) {
            for (int i = 0; i < keys; i++) {
                KvResult r = c.get(key(prefix, i, 16));
                assertThat(r.ok() || r.notFound()).as("%s", r).isTrue();
                if (r.notFound()) continue;
                found++;
                String v = r.value().orElseThrow();
                assertThat(v).matches("v+");
                assertThat(v.length() % 4).as("length of %s", v).isZero();
                totalLength += v.length();
            }
        }
        assertThat(found).isPositive();
        assertThat(totalLength).isPositive().isLessThanOrEqualTo(writes * 4);
    }

    @ParameterizedTest(name = "--mix {0}=1")
    @ValueSource(strings = {"put", "append", "get", "staleget", "delete", "cas", "txn"})
    void everyOperationOfTheMixRunsItsCountWithoutErrors(String op) throws IOException {
        JsonNode o = okJson(bench("--preload", "--count", "150", "--clients", "6", "--keys", "20", "--key-prefix", "each-" + op + "-",
                "--mix", op + "=1", "--value-bytes", "8", "--json"));
        assertThat(o.get("operations").asLong()).isEqualTo(150);
        assertThat(o.get("byOp").get(op).get("operations").asLong()).isEqualTo(150);
        assertThat(o.get("byOp").size()).as("only %s in %s", op, o.get("byOp")).isEqualTo(1);
        assertLatencyOrdered(o.get("byOp").get(op).get("latencyMs"));
    }

    @Test
    void aLeaderStoppedMidRunCostsAtMostAFewOperationsAndEachAppendIsAppliedOnce() throws Exception {
        // A cluster of its own: its leader is stopped. Appends of one byte to one key: the value's length
        // is the number of appends applied, so a resend applied twice would show.
        try (TestNodes own = new TestNodes(3).startAll()) {
            int leader = own.awaitLeader(Set.of(0, 1, 2), WAIT);
            String addresses = own.address(0) + "," + own.address(1) + "," + own.address(2);
            String key = key("lc-", 0, 16);
            int count = 3000;
            int clients = 4;
            java.util.concurrent.CompletableFuture<Result> run = java.util.concurrent.CompletableFuture.supplyAsync(() -> run("bench",
                    "--cluster", addresses, "--count", String.valueOf(count), "--clients", String.valueOf(clients), "--keys", "1",
                    "--key-prefix", "lc-", "--mix", "append=1", "--value-bytes", "1", "--json"));
            int atStop;
            try (RaftKvClient c = own.client(WAIT)) {
                TestNodes.awaitCondition(() -> length(c, key) >= 100 || run.isDone(), WAIT, "100 appends applied");
                assertThat(run).as("the run is still going when the leader stops").isNotDone();
                own.stop(leader);
                atStop = length(c, key);
                Result r = run.get(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r.exitCode()).as("stderr: %s", r.err()).isZero();
                JsonNode o = r.json();
                long ops = o.get("operations").asLong();
                long failed = o.get("failed").asLong();
                assertThat(ops + failed).isEqualTo(count);
                assertThat(failed).as("errors: %s", o.get("errors")).isLessThanOrEqualTo(clients);
                int end = length(c, key);
                // Every successful append applied once; a failed one may or may not have been.
                assertThat((long) end).isBetween(ops, ops + failed);
                assertThat(end - atStop).as("appends applied after the leader stopped").isGreaterThan(count / 2);
            }
        }
    }

    /** The key's value's length (0 while absent), read from any node. */
    private static int length(RaftKvClient c, String key) {
        KvResult r = c.get(key);
        if (r.notFound()) return 0;
        assertThat(r.ok()).as("%s", r).isTrue();
        return r.value().orElseThrow().length();
    }

    @Test
    void preloadMakesEveryKeyReadable() throws IOException {
        String prefix = "pre-";
        int keys = 40;
        JsonNode o = okJson(bench("--preload", "--count", "100", "--clients", "4", "--keys", String.valueOf(keys),
                "--key-prefix", prefix, "--mix", "get=1", "--value-bytes", "10", "--json"));
        assertThat(o.get("preload").get("keys").asInt()).isEqualTo(keys);
        assertThat(o.get("operations").asLong()).isEqualTo(100);
        assertThat(o.get("byOp").get("get").get("notFound").asLong()).as("gets that found nothing").isZero();
        try (RaftKvClient c = nodes.client(WAIT)) {
            for (int i = 0; i < keys; i++) {
                KvResult r = c.get(key(prefix, i, 16));
                assertThat(r.ok()).as("key %d: %s", i, r).isTrue();
                assertThat(r.value().orElseThrow()).isEqualTo("v".repeat(10));
            }
        }
    }

    @Test
    void preloadSaysSoOnStderr() {
        Result r = bench("--preload", "--count", "20", "--clients", "2", "--keys", "10", "--key-prefix", "say-", "--mix", "get=1");
        assertThat(r.exitCode()).as("stderr: %s", r.err()).isZero();
        assertThat(r.err()).contains("preloading 10 keys with 2 clients").contains("preloaded 10 keys in");
        assertThat(r.out()).contains("20 operations in").doesNotContain("found no value");
    }

    @Test
    void rateLimitsTheRun() throws IOException {
        // 50 operations at 100 ops/s cannot take less than ~0.49 s, however fast the cluster is.
        Result r = bench("--rate", "100", "--count", "50", "--clients", "4", "--key-prefix", "rate-", "--json");
        JsonNode o = okJson(r);
        assertThat(o.get("operations").asLong()).isEqualTo(50);
        assertThat(o.get("seconds").asDouble()).isGreaterThanOrEqualTo(0.45);
        assertThat(r.wallSeconds()).isGreaterThanOrEqualTo(0.45);
        assertThat(o.get("throughput").asDouble()).isLessThanOrEqualTo(112);
    }

    @Test
    void textRunShowsSettingsProgressAndReport() {
        Result r = bench("--duration", "1.5s", "--clients", "2", "--key-prefix", "text-", "--mix", "put=1,get=1");
        assertThat(r.exitCode()).as("stderr: %s", r.err()).isZero();
        List<String> err = r.err().lines().toList();
        assertThat(err.getFirst()).startsWith("bench: 2 clients").contains("exactly-once sessions").contains("--no-sessions");
        assertThat(err.get(1)).as("a timed run warms up first, by default").isEqualTo("warming up for 10 s (--warm-up) ...");
        assertThat(err).as("progress lines in %s", r.err())
                .anySatisfy(l -> assertThat(l).matches(" *\\d+\\.\\ds +\\d+ ops/s  p50 +[\\d.]+ ms  p99 +[\\d.]+ ms  errors \\d+"));
        assertThat(err.size()).as("one progress line a second: %s", r.err()).isLessThanOrEqualTo(5);
        assertThat(r.out()).contains("operations in", "ops/s with 2 clients", "sessions", "latency ms: p50", "p99.9", "max",
                "errors: none").containsPattern("(?m)^  put ").containsPattern("(?m)^  get ");
    }

    @Test
    void unreachableClusterEndsWithOneLineAndExit1() throws IOException {
        int a;
        int b;
        try (ServerSocket s1 = new ServerSocket(0); ServerSocket s2 = new ServerSocket(0)) {
            a = s1.getLocalPort();
            b = s2.getLocalPort();
        }
        Result r = run("bench", "--cluster", "127.0.0.1:" + a + ",127.0.0.1:" + b, "--count", "100", "--json");
        assertThat(r.exitCode()).as("stderr: %s", r.err()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines().toList()).hasSize(1).first().asString().startsWith("raftkv: no node of --cluster answers")
                .contains("127.0.0.1:" + a + ": connection refused").contains("127.0.0.1:" + b);
        assertThat(r.err()).doesNotContain("Exception");
        assertThat(r.wallSeconds()).isLessThan(10);
    }

    @Test
    void clusterWithoutLeaderEndsWithOneLineAndExit1() {
        // One node of three answers /status but can never elect a leader: the warm-up fails after --timeout.
        try (TestNodes minority = new TestNodes(3)) {
            minority.start(0);
            String addresses = minority.address(0) + "," + minority.address(1) + "," + minority.address(2);
            Result r = run("bench", "--cluster", addresses, "--timeout", "1s", "--clients", "2", "--count", "10");
            assertThat(r.exitCode()).as("stderr: %s", r.err()).isEqualTo(1);
            assertThat(r.out()).isEmpty();
            List<String> err = r.err().lines().filter(l -> !l.startsWith("bench: ")).toList();
            assertThat(err).hasSize(1).first().asString()
                    .startsWith("raftkv: the cluster did not serve a first request within 1 s: ");
            assertThat(r.wallSeconds()).isLessThan(10);
        }
    }

    static Stream<Arguments> badBenchFlags() {
        return Stream.of(
                arguments(List.of(), List.of("--cluster")),
                arguments(List.of("--cluster", "localhost"), List.of("bad address in --cluster", "'localhost'")),
                arguments(List.of("--clients", "0"), List.of("--clients must be 1 to 1000, got 0")),
                arguments(List.of("--clients", "5000"), List.of("--clients must be 1 to 1000, got 5000")),
                arguments(List.of("--clients", "many"), List.of("--clients", "'many'")),
                arguments(List.of("--keys", "0"), List.of("--keys must be >= 1")),
                arguments(List.of("--count", "-1"), List.of("--count must be >= 0")),
                arguments(List.of("--value-bytes", "-1"), List.of("--value-bytes must be 0 to 67108864")),
                arguments(List.of("--value-bytes", "100000000"), List.of("--value-bytes must be 0 to 67108864", "--max-value-bytes")),
                arguments(List.of("--key-bytes", "2000000"), List.of("--key-bytes must be at most 1048576")),
                arguments(List.of("--rate", "-5"), List.of("--rate must be >= 0")),
                arguments(List.of("--rate", "NaN"), List.of("--rate must be >= 0")),
                arguments(List.of("--duration", "soon"), List.of("--duration 'soon'", "10s")),
                arguments(List.of("--duration", "0s"), List.of("--duration must be positive")),
                arguments(List.of("--timeout", "10ms"), List.of("--timeout must be at least 100ms")),
                arguments(List.of("--warm-up", "soon"), List.of("--warm-up 'soon'", "10s")),
                arguments(List.of("--warm-up", "-1s"), List.of("--warm-up must be 0 or more")),
                arguments(List.of("--loop-threads", "0"), List.of("--loop-threads must be 1 to 64, got 0")),
                arguments(List.of("--mix", "put=1,frob=1"), List.of("--mix 'put=1,frob=1'", "staleget", "txn")),
                arguments(List.of("--mix", "put=x"), List.of("--mix 'put=x'")),
                arguments(List.of("--mix", "put=0"), List.of("--mix needs at least one positive weight")),
                arguments(List.of("--mix", "get=2000"), List.of("--mix weights must be 0 to 1000")),
                arguments(List.of("--key-bytes", "2"), List.of("--key-bytes 2 is too small for 10000 keys", "at least 5")),
                arguments(List.of("--key-prefix", ""), List.of("--key-prefix must not be empty")),
                arguments(List.of("--bogus"), List.of("Unknown option", "--bogus")));
    }

    @ParameterizedTest(name = "raftkv bench {0}")
    @MethodSource("badBenchFlags")
    void badFlagsExit2WithOneLine(List<String> args, List<String> fragments) {
        List<String> all = new ArrayList<>(List.of("bench"));
        // A cluster that is not there: a flag accepted by mistake fails with exit 1, not 2.
        if (!args.isEmpty() && !args.contains("--cluster")) all.addAll(List.of("--cluster", "127.0.0.1:9"));
        all.addAll(args);
        Result r = run(all.toArray(String[]::new));
        assertThat(r.exitCode()).as("exit code; stderr: %s", r.err()).isEqualTo(2);
        assertThat(r.out()).as("stdout").isEmpty();
        assertThat(r.err()).as("no stack trace").doesNotContain("Exception").doesNotContain("\tat ");
        List<String> lines = r.err().lines().toList();
        assertThat(lines.getFirst()).startsWith("raftkv: ").contains(fragments);
        assertThat(lines.subList(1, lines.size())).allSatisfy(l -> assertThat(l).isEqualTo("Try 'raftkv bench --help' for the flags."));
    }

    @Test
    void helpNamesTheFlags() {
        Result r = run("bench", "--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("--cluster", "--clients", "--duration", "--count", "--mix", "staleget", "--keys",
                "--key-bytes", "--value-bytes", "--rate", "--preload", "--no-sessions", "--timeout", "--json", "--warm-up",
                "--loop-threads");
    }

    @Test
    void errorKindsSayWhatHappened() {
        HostPort n = new HostPort("127.0.0.1", 9);
        assertThat(BenchCommand.errorKind(result(0, "{\"error\":\"cannot connect to 127.0.0.1:9: ConnectException\"}", n)))
                .isEqualTo("connection refused");
        assertThat(BenchCommand.errorKind(result(0, "{\"error\":\"cannot connect to 127.0.0.1:9: HTTP connect timed out\"}", n)))
                .isEqualTo("connect timeout");
        assertThat(BenchCommand.errorKind(result(0, "{\"error\":\"cannot connect to 127.0.0.1:9: TLS handshake failed"
                + " (PKIX path building failed); check that the CA file is the cluster's\"}", n))).isEqualTo("TLS handshake failed");
        assertThat(BenchCommand.errorKind(result(0, "{\"error\":\"connection to 127.0.0.1:9 failed (request timed out)\"}", n)))
                .isEqualTo("timeout");
        assertThat(BenchCommand.errorKind(result(0, "{\"error\":\"timed out\"}", n))).isEqualTo("timeout");
        assertThat(BenchCommand.errorKind(result(0,
                "{\"error\":\"connection to 127.0.0.1:9 failed (Connection reset); the outcome is unknown\"}", n)))
                .isEqualTo("connection lost");
        assertThat(BenchCommand.errorKind(result(0, "{\"error\":\"the session expired while this write was being resent;"
                + " the outcome is unknown (it may have been applied once)\"}", n))).isEqualTo("session expired, outcome unknown");
        assertThat(BenchCommand.errorKind(result(503, "{\"error\":\"no leader available within 5000 ms\",\"retryable\":true}", n)))
                .isEqualTo("HTTP 503 no leader");
        assertThat(BenchCommand.errorKind(result(503, "{\"error\":\"no leader could serve the read within 5000 ms (no quorum?)\"}", n)))
                .isEqualTo("HTTP 503 no leader");
        assertThat(BenchCommand.errorKind(result(503, "{\"error\":\"the write was not committed within 5000 ms;"
                + " the outcome is unknown: the write may still commit\",\"retryable\":false}", n)))
                .isEqualTo("HTTP 503 not committed in time, outcome unknown");
        assertThat(BenchCommand.errorKind(result(409, "{\"error\":\"client session 3 is unknown or expired\",\"sessionExpired\":true}", n)))
                .isEqualTo("HTTP 409 session expired");
        assertThat(BenchCommand.errorKind(result(409, "{\"error\":\"seq 1 of client 3 is older than its last applied seq 2\"}", n)))
                .isEqualTo("HTTP 409 stale seq");
        assertThat(BenchCommand.errorKind(result(413, "{\"error\":\"value is 2000000 bytes\"}", n))).isEqualTo("HTTP 413 too large");
        assertThat(BenchCommand.errorKind(result(503, "{\"error\":\"no leader is reachable from node 2: ...\","
                + "\"noLeaderReachable\":true,\"retryable\":true}", n))).isEqualTo("HTTP 503 no leader reachable from the node");
        assertThat(BenchCommand.errorKind(result(503, "{\"error\":\"no leader is reachable from node 2: ...\","
                + "\"noLeaderReachable\":true,\"retryable\":false}", n))).isEqualTo("HTTP 503 leader went silent, outcome unknown");
        assertThat(BenchCommand.errorKind(result(508, "{\"error\":\"the request was forwarded 2 times\",\"retryable\":true}", n)))
                .isEqualTo("HTTP 508 forwarding limit");
        assertThat(BenchCommand.errorKind(result(500, "{}", n))).isEqualTo("HTTP 500");
    }

    @Test
    void aClosedPortIsNamedConnectionRefused() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        // One attempt with a second to spare. (An operation retries until its deadline and returns the
        // last attempt's error, which may be one cut short by the deadline: a connect timeout.)
        try (RaftKvClient c = new RaftKvClient(List.of(new HostPort("127.0.0.1", port)), Duration.ofSeconds(5))) {
            KvResult r = c.status(new HostPort("127.0.0.1", port));
            assertThat(BenchCommand.errorKind(r)).as("%s", r).isEqualTo("connection refused");
        }
    }

    private static KvResult result(int status, String body, HostPort node) {
        try {
            return new KvResult(status, JSON.readTree(body), node, 1);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
