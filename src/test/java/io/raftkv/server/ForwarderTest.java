package io.raftkv.server;

import com.sun.net.httpserver.HttpServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpMethod;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** What a follower's forwarder makes of each way a leader can answer, or not. */
class ForwarderTest {
    private EventLoopGroup group;
    private Forwarder forwarder;
    private HttpServer server;

    @BeforeEach
    void setUp() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        forwarder = new Forwarder(group, Optional.empty(), 1 << 20, 1000);
    }

    @AfterEach
    void tearDown() {
        forwarder.close();
        if (server != null) server.stop(0);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private HostPort serve(com.sun.net.httpserver.HttpHandler handler) throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", handler);
        server.start();
        return new HostPort("127.0.0.1", server.getAddress().getPort());
    }

    @Test
    void answersAreRelayedAndTheConnectionIsKeptForTheNextRequest() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        HostPort leader = serve(ex -> {
            byte[] in = ex.getRequestBody().readAllBytes();
            seen.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " hops=" + ex.getRequestHeaders()
                    .getFirst(ClientRequests.HOPS_HEADER) + " body=" + new String(in, StandardCharsets.UTF_8)
                    + " from=" + ex.getRemoteAddress().getPort());
            byte[] out = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(201, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        Forwarder.Result first = forwarder.send(leader, HttpMethod.POST, "/put", "{\"key\":\"k\"}".getBytes(StandardCharsets.UTF_8),
                1, 5000).get(10, TimeUnit.SECONDS);
        Forwarder.Result second = forwarder.send(leader, HttpMethod.GET, "/get?key=k", null, 2, 5000).get(10, TimeUnit.SECONDS);

        assertThat(first).isInstanceOf(Forwarder.Result.Answered.class);
        Forwarder.Result.Answered a = (Forwarder.Result.Answered) first;
        assertThat(a.status()).isEqualTo(201);
        assertThat(new String(a.body(), StandardCharsets.UTF_8)).isEqualTo("{\"ok\":true}");
        assertThat(second).isInstanceOf(Forwarder.Result.Answered.class);
        assertThat(seen).hasSize(2);
        assertThat(seen.get(0)).startsWith("POST /put hops=1 body={\"key\":\"k\"}");
        assertThat(seen.get(1)).startsWith("GET /get?key=k hops=2 body=");
        String port0 = seen.get(0).substring(seen.get(0).indexOf("from="));
        String port1 = seen.get(1).substring(seen.get(1).indexOf("from="));
        assertThat(port1).as("the second request reuses the first one's connection").isEqualTo(port0);
    }

    @Test
    void aLeaderThatCannotBeReachedMeansTheRequestWasNotSent() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Forwarder.Result r = forwarder.send(new HostPort("127.0.0.1", closedPort), HttpMethod.POST, "/put", new byte[] {'{', '}'},
                1, 5000).get(10, TimeUnit.SECONDS);
        assertThat(r).isInstanceOf(Forwarder.Result.NotSent.class);
    }

    @Test
    void aLeaderThatNeverAnswersTimesOut() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        HostPort leader = serve(ex -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        try {
            Forwarder.Result r = forwarder.send(leader, HttpMethod.POST, "/put", new byte[] {'{', '}'}, 1, 200)
                    .get(10, TimeUnit.SECONDS);
            assertThat(r).isInstanceOf(Forwarder.Result.TimedOut.class);
        } finally {
            release.countDown();
        }
    }

    @Test
    void aConnectionClosedBeforeTheAnswerIsLost() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
                try (Socket c = s.accept(); InputStream in = c.getInputStream()) {
                    in.read(new byte[1024]); // the request arrived; close without answering
                } catch (Exception ignored) {
                    // the test's assertion says what matters
                }
            });
            Forwarder.Result r = forwarder.send(new HostPort("127.0.0.1", s.getLocalPort()), HttpMethod.POST, "/put",
                    new byte[] {'{', '}'}, 1, 5000).get(10, TimeUnit.SECONDS);
            assertThat(r).isInstanceOf(Forwarder.Result.Lost.class);
            acceptor.join(5000);
        }
    }
}
