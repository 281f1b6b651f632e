package io.raftkv.client;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client moves on from a node that cannot reach a leader to the node it names (issue 15 §4),
 * rather than to the next in its list: here the next one hangs, so only following the suggestion
 * answers within the client's timeout.
 */
class NodeSuggestionTest {
    private final List<HttpServer> servers = new ArrayList<>();
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void tearDown() {
        release.countDown();
        servers.forEach(s -> s.stop(0));
    }

    private HostPort serve(HttpHandler h) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        s.createContext("/", h);
        s.start();
        servers.add(s);
        return new HostPort("127.0.0.1", s.getAddress().getPort());
    }

    private static void answer(HttpExchange ex, int status, String json) throws IOException {
        ex.getRequestBody().readAllBytes();
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    /** Node B never answers; node C leads. */
    private HostPort[] cluster(int firstStatus, String firstBodyNamingC) throws IOException {
        HostPort b = serve(ex -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        HostPort[] c = new HostPort[1];
        c[0] = serve(ex -> answer(ex, 200, "{\"ok\":true,\"op\":\"put\",\"key\":\"k\",\"value\":\"v\",\"index\":5,\"term\":2,"
                + "\"leader\":{\"id\":2,\"address\":\"" + c[0] + "\"}}"));
        HostPort a = serve(ex -> answer(ex, firstStatus, firstBodyNamingC.replace("$C", c[0].toString())));
        return new HostPort[] {a, b, c[0]};
    }

    @Test
    void aNodeThatCannotReachALeaderSendsTheClientToTheLastLeaderItKnew() throws IOException {
        HostPort[] n = cluster(503, "{\"error\":\"no leader is reachable from node 0\",\"noLeaderReachable\":true,"
                + "\"retryable\":true,\"lastLeader\":{\"id\":2,\"address\":\"$C\"}}");
        try (RaftKvClient client = new RaftKvClient(List.of(n), Duration.ofSeconds(2), false)) {
            KvResult r = client.put("k", "v");
            assertThat(r.ok()).as(r.body().toString()).isTrue();
            assertThat(r.servedBy()).isEqualTo(n[2]);
        }
    }

    @Test
    void aRequestThatReachedTheForwardingLimitIsResentToTheHintedLeader() throws IOException {
        HostPort[] n = cluster(508, "{\"error\":\"the request was forwarded 2 times\",\"hopLimit\":2,"
                + "\"retryable\":true,\"leaderHint\":{\"id\":2,\"address\":\"$C\"}}");
        try (RaftKvClient client = new RaftKvClient(List.of(n), Duration.ofSeconds(2), false)) {
            KvResult r = client.put("k", "v");
            assertThat(r.ok()).as(r.status() + " " + r.body()).isTrue();
            assertThat(r.servedBy()).isEqualTo(n[2]);
        }
    }
}
