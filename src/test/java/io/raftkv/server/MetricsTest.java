package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.node.SnapshotPolicy;
import io.raftkv.storage.FileStorage;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code GET /metrics} of a 3-node cluster on disk, parsed by {@link PrometheusText} (a strict
 * parser of the text format: see there why not a library's), checked against {@code /status} and
 * against the operations this test performed; and the Grafana dashboard in {@code bench/} names
 * only metrics that exist.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final int PUTS = 60;
    private static final int GETS = 40;
    /** A snapshot every 25 entries, so that the puts take some. */
    private static final UnaryOperator<NodeConfig> SMALL_SNAPSHOTS = c -> c.withSnapshots(new SnapshotPolicy(25, 1L << 40, 5, 64 * 1024));
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Static: a per-instance @TempDir is not injected yet when @BeforeAll runs (the nodes would keep their data in memory). */
    @TempDir
    static Path root;
    private TestNodes nodes;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void startAndLoad() {
        nodes = TestNodes.onDisk(3, root, new FileStorage.Options(64 * 1024 * 1024, true), SMALL_SNAPSHOTS).startAll();
        nodes.awaitLeader(ALL, WAIT);
        try (RaftKvClient client = nodes.client(Duration.ofSeconds(10))) {
            for (int i = 0; i < PUTS; i++) {
                KvResult r = client.put("k" + i, "v" + i);
                assertThat(r.ok()).as("put k%d: %s", i, r.body()).isTrue();
            }
            for (int i = 0; i < GETS; i++) {
                KvResult r = client.get("k" + (i % PUTS));
                assertThat(r.ok()).as("get: %s", r.body()).isTrue();
            }
        }
        // Every node applied every put, and took its snapshots (written off the loop).
        long last = nodes.node(nodes.awaitLeader(ALL, WAIT)).status().lastLogIndex();
        TestNodes.awaitCondition(() -> ALL.stream().allMatch(id -> nodes.node(id).status().appliedIndex() >= last
                && nodes.node(id).status().storage().snapshotIndex() > 0), WAIT, "every node applied and snapshotted");
    }

    @AfterAll
    void stop() {
        if (nodes != null) nodes.close();
    }

    @Test
    @DisplayName("/metrics of every node parses as the Prometheus text format and agrees with /status and with the operations done")
    void metricsAgreeWithStatusAndOperations() throws Exception {
        List<Map<String, PrometheusText.Family>> scrapes = new ArrayList<>();
        int leader = nodes.awaitLeader(ALL, WAIT);
        for (int id : ALL) {
            HttpResponse<String> res = get(id, "/metrics", "text/plain");
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.headers().firstValue("content-type").orElseThrow()).startsWith("text/plain; version=0.0.4");
            Map<String, PrometheusText.Family> m = PrometheusText.parse(res.body());
            scrapes.add(m);

            // Prometheus' naming conventions for ours: prefix, _total on counters, no unit-less durations.
            for (PrometheusText.Family f : m.values()) {
                if (!f.name().startsWith("raftkv_")) continue;
                assertThat(f.help()).as("HELP of %s", f.name()).isNotBlank();
                if (f.type().equals("counter")) assertThat(f.name()).endsWith("_total");
                if (f.name().contains("duration") || f.name().contains("round_trip") || f.name().contains("requests_seconds")) {
                    assertThat(f.name()).matches(".*_seconds(_max)?");
                }
            }
            // The JVM binders are there.
            assertThat(m).containsKeys("jvm_memory_used_bytes", "jvm_threads_live_threads", "jvm_gc_memory_allocated_bytes_total");
            // Every sample carries its node's id.
            assertThat(PrometheusText.samples(m)).allSatisfy(s -> assertThat(s.label("node")).isEqualTo(String.valueOf(id)));

            // The gauges and /status read the same published state: equal once no entry moves between the two reads.
            AtomicReference<JsonNode> status = new AtomicReference<>();
            AtomicReference<Map<String, PrometheusText.Family>> scrape = new AtomicReference<>(m);
            TestNodes.awaitCondition(() -> {
                JsonNode st = statusOf(id);
                status.set(st);
                Map<String, PrometheusText.Family> sm = scrape.get();
                boolean same = value(sm, "raftkv_term") == st.get("term").asLong()
                        && value(sm, "raftkv_commit_index") == st.get("commitIndex").asLong()
                        && value(sm, "raftkv_applied_index") == st.get("lastApplied").asLong()
                        && value(sm, "raftkv_last_log_index") == st.get("lastLogIndex").asLong()
                        && value(sm, "raftkv_leader_id") == st.path("leader").path("id").asLong(-1);
                if (!same) scrape.set(scrapeOf(id));
                return same;
            }, WAIT, () -> "node " + id + ": /metrics and /status to agree; /status " + status.get());
            m = scrape.get();
            String role = status.get().get("role").asText();
            for (String r : List.of("follower", "pre-candidate", "candidate", "leader")) {
                assertThat(PrometheusText.find(m, "raftkv_role", Map.of("role", r)).orElseThrow().value())
                        .as("node %d role %s (it is %s)", id, r, role).isEqualTo(r.equals(role) ? 1.0 : 0.0);
            }
            assertThat(value(m, "raftkv_keys")).isEqualTo((double) PUTS);
            assertThat(value(m, "raftkv_wal_size_bytes")).isPositive();

            // Proposals: received = committed + failed + pending, on every node.
            assertThat(value(m, "raftkv_proposals_received_total")).isEqualTo(value(m, "raftkv_proposals_committed_total")
                    + value(m, "raftkv_proposals_failed_total") + value(m, "raftkv_proposals_pending"));
            // Every node wrote and fsynced the log: the histograms' counts agree with the counters.
            assertThat(value(m, "raftkv_wal_fsync_duration_seconds_count")).isPositive()
                    .isEqualTo(value(m, "raftkv_wal_fsyncs_total")).isEqualTo(value(m, "raftkv_wal_entries_per_fsync_count"));
            assertThat(value(m, "raftkv_wal_entries_per_fsync_sum")).isLessThanOrEqualTo(value(m, "raftkv_wal_entries_written_total"));
            assertThat(value(m, "raftkv_wal_entries_written_total")).isGreaterThanOrEqualTo(PUTS);
            // Snapshots: at least one per node with 25-entry snapshots and 60 puts; its duration counted once each.
            assertThat(value(m, "raftkv_snapshots_taken_total")).isGreaterThanOrEqualTo(1)
                    .isEqualTo(value(m, "raftkv_snapshot_duration_seconds_count"));
            assertThat(value(m, "raftkv_snapshot_size_bytes")).isPositive();
            assertThat(value(m, "raftkv_http_open_connections")).isPositive();
        }

        // The operations performed, counted where the client sent them (at least once: a client may retry).
        assertThat(sum(scrapes, "raftkv_client_requests_seconds_count", Map.of("op", "put", "status", "200"))).isGreaterThanOrEqualTo(PUTS);
        assertThat(sum(scrapes, "raftkv_client_requests_seconds_count", Map.of("op", "get", "status", "200"))).isGreaterThanOrEqualTo(GETS);
        assertThat(sum(scrapes, "raftkv_proposals_committed_total", Map.of())).isGreaterThanOrEqualTo(PUTS);
        assertThat(sum(scrapes, "raftkv_elections_won_total", Map.of())).isGreaterThanOrEqualTo(1);
        assertThat(sum(scrapes, "raftkv_leader_changes_total", Map.of())).isGreaterThanOrEqualTo(ALL.size());
        // Linearizable gets went through ReadIndex rounds on the leader, one or more reads each.
        Map<String, PrometheusText.Family> lm = scrapeOf(leader);
        assertThat(value(lm, "raftkv_read_index_rounds_total")).isPositive()
                .isEqualTo(value(lm, "raftkv_read_index_reads_per_round_count"));
        assertThat(value(lm, "raftkv_read_index_reads_total")).isGreaterThanOrEqualTo(value(lm, "raftkv_read_index_rounds_total"))
                .isEqualTo(value(lm, "raftkv_read_index_reads_per_round_sum"));
        // The leader sees both followers: their lag and AppendEntries round trips.
        for (int f : ALL) {
            if (f == leader) continue;
            Map<String, String> follower = Map.of("follower", String.valueOf(f));
            assertThat(PrometheusText.find(lm, "raftkv_follower_match_lag_entries", follower)).isPresent();
            assertThat(PrometheusText.find(lm, "raftkv_append_entries_round_trip_seconds_count", follower).orElseThrow().value())
                    .isPositive();
        }
        // A follower has no follower lag to show.
        int aFollower = ALL.stream().filter(i -> i != leader).findFirst().orElseThrow();
        assertThat(scrapeOf(aFollower)).doesNotContainKey("raftkv_follower_match_lag_entries");
    }

    @Test
    @DisplayName("a put sent to a follower is a client request there and a received forwarded request at the leader, counted once each")
    void aForwardedRequestIsCountedOnceAsAClientRequest() throws Exception {
        int leader = nodes.awaitLeader(ALL, WAIT);
        int follower = ALL.stream().filter(id -> id != leader).findFirst().orElseThrow();
        Map<String, String> put = Map.of("op", "put", "status", "200");
        double followerClientBefore = sum(List.of(scrapeOf(follower)), "raftkv_client_requests_seconds_count", put);
        double leaderClientBefore = sum(List.of(scrapeOf(leader)), "raftkv_client_requests_seconds_count", put);
        double leaderForwardedBefore = sum(List.of(scrapeOf(leader)), "raftkv_received_forwarded_requests_seconds_count", put);
        int sent = 5;
        for (int i = 0; i < sent; i++) {
            HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create("http://" + nodes.address(follower) + "/put"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"k" + i + "\",\"value\":\"v" + i + "\"}")) // as loaded
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).as("put through node %d: %s", follower, res.body()).isEqualTo(200);
        }
        assertThat(nodes.awaitLeader(ALL, WAIT)).as("the leader stayed").isEqualTo(leader);
        assertThat(sum(List.of(scrapeOf(follower)), "raftkv_client_requests_seconds_count", put) - followerClientBefore)
                .as("client puts counted at the follower that received them").isEqualTo(sent);
        assertThat(sum(List.of(scrapeOf(leader)), "raftkv_received_forwarded_requests_seconds_count", put) - leaderForwardedBefore)
                .as("forwarded puts counted at the leader").isEqualTo(sent);
        assertThat(sum(List.of(scrapeOf(leader)), "raftkv_client_requests_seconds_count", put) - leaderClientBefore)
                .as("not counted again as client puts at the leader").isZero();
    }

    @Test
    @DisplayName("OpenMetrics on request: its content type and the # EOF it ends with")
    void openMetricsOnAccept() throws Exception {
        HttpResponse<String> res = get(0, "/metrics", "application/openmetrics-text; version=1.0.0");
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type").orElseThrow()).startsWith("application/openmetrics-text");
        assertThat(res.body()).contains("raftkv_term").endsWith("# EOF\n");
    }

    @Test
    @DisplayName("bench/grafana-dashboard.json parses, and every metric its queries name is in /metrics")
    void grafanaDashboardNamesOnlyExistingMetrics() throws Exception {
        JsonNode dashboard = JSON.readTree(Files.readString(Path.of("bench", "grafana-dashboard.json")));
        List<String> exprs = new ArrayList<>();
        dashboard.findValues("expr").forEach(e -> exprs.add(e.asText()));
        assertThat(exprs).as("the dashboard's queries").hasSizeGreaterThanOrEqualTo(6);
        Set<String> named = new TreeSet<>();
        Matcher m = Pattern.compile("\\b((?:raftkv|jvm|process)_[a-zA-Z0-9_]+)").matcher(String.join("\n", exprs));
        while (m.find()) named.add(m.group(1));
        assertThat(named).contains("raftkv_term", "raftkv_commit_index", "raftkv_applied_index",
                "raftkv_proposals_committed_total", "raftkv_client_requests_seconds_bucket",
                "raftkv_wal_fsync_duration_seconds_bucket", "raftkv_follower_match_lag_entries");
        // Names from every node: the follower lag exists only on the leader.
        Set<String> exposed = new TreeSet<>();
        for (int id : ALL) PrometheusText.samples(scrapeOf(id)).forEach(s -> exposed.add(s.name()));
        assertThat(exposed).containsAll(named);
    }

    @Test
    @DisplayName("a node started with --no-metrics answers /metrics with 404 and says why")
    void metricsOff() throws Exception {
        try (TestNodes single = new TestNodes(1, c -> c.withMetrics(false)).startAll()) {
            single.awaitLeader(Set.of(0), WAIT);
            HostPort a = single.address(0);
            HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create("http://" + a + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(404);
            assertThat(JSON.readTree(res.body()).get("error").asText()).contains("--no-metrics");
        }
    }

    @Test
    @DisplayName("the parser has teeth: it rejects what Prometheus rejects")
    void parserRejectsMalformedText() {
        String good = "# HELP x_total X\n# TYPE x_total counter\nx_total{a=\"1\"} 2.0\n";
        assertThat(PrometheusText.parse(good).get("x_total").samples()).hasSize(1);
        List<String> bad = List.of(
                "x_total 1",                                                   // no final line feed
                "x-y 1\n",                                                     // bad name
                "x{a=\"1} 1\n",                                                // unterminated value
                "x{a=\"\\t\"} 1\n",                                            // bad escape
                "x{a=\"1\",a=\"2\"} 1\n",                                      // label twice
                "x one\n",                                                     // not a number
                "x 1\nx 2\n",                                                  // series twice
                "x 1\ny 1\nx{a=\"b\"} 1\n",                                    // family split
                "x 1\n# TYPE x gauge\n",                                       // TYPE after samples
                "# TYPE x gauge\n# TYPE x gauge\n",                            // TYPE twice
                "# TYPE x widget\n",                                           // unknown type
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n", // decreasing
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 1\n",                          // no +Inf
                "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 1\nh_sum 1\n",                       // count differs
                "# TYPE h histogram\nh 1\n");                                                              // bare sample
        for (String text : bad) {
            assertThatThrownBy(() -> PrometheusText.parse(text)).as("%s", text).isInstanceOf(IllegalArgumentException.class);
        }
    }

    // ---------------------------------------------------------------- helpers

    private HttpResponse<String> get(int id, String path, String accept) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://" + nodes.address(id) + path)).header("Accept", accept)
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private Map<String, PrometheusText.Family> scrapeOf(int id) {
        try {
            HttpResponse<String> res = get(id, "/metrics", "text/plain");
            assertThat(res.statusCode()).as("node %d /metrics: %s", id, res.body()).isEqualTo(200);
            return PrometheusText.parse(res.body());
        } catch (IOException e) {
            throw new AssertionError("node " + id + " /metrics: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private JsonNode statusOf(int id) {
        try {
            return JSON.readTree(get(id, "/status", "application/json").body());
        } catch (IOException e) {
            throw new AssertionError("node " + id + " /status: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The value of the one unlabelled (but for {@code node}) sample {@code name}. */
    private static double value(Map<String, PrometheusText.Family> m, String name) {
        return PrometheusText.find(m, name, Map.of()).orElseThrow(() -> new AssertionError("no " + name + " in /metrics"))
                .value();
    }

    private static double sum(List<Map<String, PrometheusText.Family>> scrapes, String name, Map<String, String> labels) {
        double total = 0;
        for (var m : scrapes) total += PrometheusText.find(m, name, labels).map(PrometheusText.Sample::value).orElse(0.0);
        return total;
    }
}
