package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real nodes: a follower cut off from the rest (issue 15 §4) tells a client so at once, naming the
 * leader it last knew, instead of holding the request until the request timeout (here far longer
 * than the client's).
 */
class CutOffNodeTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void aFollowerCutOffFromTheLeaderAnswers503NamingTheLastLeader() {
        try (TestNodes nodes = new TestNodes(3, c -> c.withRequestTimeoutMs(60_000)).startAll()) {
            Set<Integer> all = Set.of(0, 1, 2);
            int leader = nodes.awaitLeader(all, WAIT);
            int lone = (leader + 1) % 3;
            TestNodes.awaitCondition(() -> nodes.node(lone).status().leaderId() == leader, WAIT, "node " + lone + " to follow " + leader);
            nodes.partition(Set.of(lone));
            TestNodes.awaitCondition(() -> nodes.node(lone).status().leaderId() < 0, WAIT, "node " + lone + " to lose its leader");
            // Asked directly (a RaftKvClient would go on retrying its only node until its own timeout).
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            String base = "http://" + nodes.address(lone);
            java.util.List<java.net.http.HttpRequest> requests = java.util.List.of(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/put")).timeout(Duration.ofSeconds(10))
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"key\":\"k\",\"value\":\"v\"}")).build(),
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/get?key=k")).timeout(Duration.ofSeconds(10))
                            .GET().build());
            {
                for (java.net.http.HttpRequest req : requests) {
                    java.net.http.HttpResponse<String> res;
                    try {
                        res = http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
                    } catch (Exception e) {
                        throw new AssertionError(req.uri() + ": " + e, e);
                    }
                    KvResult r;
                    try {
                        r = new KvResult(res.statusCode(), new com.fasterxml.jackson.databind.ObjectMapper().readTree(res.body()),
                                nodes.address(lone), 0);
                    } catch (java.io.IOException e) {
                        throw new AssertionError(res.body(), e);
                    }
                    assertThat(r.status()).as(r.body().toString()).isEqualTo(503);
                    assertThat(r.noLeaderReachable()).as(r.body().toString()).isTrue();
                    assertThat(r.retryable()).as(r.body().toString()).isTrue();
                    assertThat(r.body().path("lastLeader").path("id").asInt(-1)).as(r.body().toString()).isEqualTo(leader);
                    assertThat(r.error().orElseThrow()).contains("no leader is reachable from node " + lone);
                }
            }
            // The client moves on to a node that can serve.
            try (RaftKvClient client = nodes.client(Duration.ofSeconds(5), lone, leader)) {
                KvResult r = client.put("k", "v2");
                assertThat(r.ok()).as(r.body().toString()).isTrue();
            }
            nodes.heal();
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }
}
