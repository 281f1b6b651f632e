package io.raftkv.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.raftkv.server.TestNodes;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The event-loop client's session semantics against a real in-process cluster, seen through a
 * proxy that spoils the first append's answer after the cluster applied it: the answer is lost
 * (the connection closed), replaced by a 503 whose outcome is unknown, or never comes. With
 * sessions the append is resent with the same seq and the key holds it once; without, the client
 * reports the unknown outcome and does not resend.
 */
class LoopClientTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestNodes nodes;

    private enum Spoil { CLOSE, UNKNOWN_503, NO_ANSWER }

    private final EventLoopGroup proxyGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final HttpClient forward = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    /** The appends the proxy saw (their bodies), in order. */
    private final List<JsonNode> appends = new CopyOnWriteArrayList<>();
    private ClientLoop loop;

    @BeforeAll
    static void startCluster() {
        nodes = new TestNodes(3).startAll();
        nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
    }

    @AfterAll
    static void stopCluster() {
        if (nodes != null) nodes.close();
    }

    @AfterEach
    void tearDown() {
        if (loop != null) loop.close();
        proxyGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        forward.shutdownNow();
    }

    /**
     * A proxy to the cluster's leader: it forwards every request and relays the answer, except
     * the first append's, which it spoils as {@code spoil} says once the leader has answered it.
     */
    private HostPort proxy(Spoil spoil) throws InterruptedException {
        AtomicBoolean spoiled = new AtomicBoolean();
        Channel server = new ServerBootstrap().group(proxyGroup).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpRequest>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws Exception {
                                        byte[] body = ByteBufUtil.getBytes(req.content());
                                        if (req.uri().equals("/append")) appends.add(JSON.readTree(body));
                                        HttpResponse<byte[]> answer = relay(req.method().name(), req.uri(), body);
                                        if (req.uri().equals("/append") && spoiled.compareAndSet(false, true)) {
                                            switch (spoil) {
                                                case CLOSE -> ctx.close();
                                                case UNKNOWN_503 -> respond(ctx, 503, ("{\"error\":\"the write was not committed"
                                                        + " in time; the outcome is unknown\",\"retryable\":false}").getBytes(StandardCharsets.UTF_8));
                                                case NO_ANSWER -> { } // the connection stays open, silent
                                            }
                                            return;
                                        }
                                        respond(ctx, answer.statusCode(), answer.body());
                                    }
                                });
                    }
                }).bind("127.0.0.1", 0).sync().channel();
        return new HostPort("127.0.0.1", ((InetSocketAddress) server.localAddress()).getPort());
    }

    private HttpResponse<byte[]> relay(String method, String uri, byte[] body) throws IOException, InterruptedException {
        HostPort leader = nodes.address(nodes.awaitLeader(Set.of(0, 1, 2), WAIT));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + leader + uri)).timeout(WAIT);
        b = method.equals("GET") ? b.GET() : b.POST(HttpRequest.BodyPublishers.ofByteArray(body));
        return forward.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static void respond(ChannelHandlerContext ctx, int status, byte[] body) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        ctx.writeAndFlush(res);
    }

    private static KvResult await(CompletableFuture<KvResult> f) {
        return f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
    }

    private KvResult append(LoopClient c, String key, String value) {
        CompletableFuture<KvResult> f = new CompletableFuture<>();
        c.append(key, value, f::complete);
        return await(f);
    }

    private String valueOf(String key) {
        try (RaftKvClient c = nodes.client(WAIT)) {
            KvResult r = c.get(key);
            assertThat(r.ok()).as("%s", r).isTrue();
            return r.value().orElseThrow();
        }
    }

    /** With sessions: the append is resent under the same clientId and seq, and applied once. */
    private void resentWithTheSameSeqAndAppliedOnce(Spoil spoil, Duration attemptTimeout) throws InterruptedException {
        HostPort p = proxy(spoil);
        loop = new ClientLoop(1, WAIT, attemptTimeout, true, null, null);
        LoopClient c = loop.newClient(List.of(p));
        String key = "loop-" + spoil;
        KvResult r = append(c, key, "x");
        assertThat(r.ok()).as("%s %s", r.status(), r.body()).isTrue();
        // At least one resend (more if a resend too found no answer in time on a slow machine), all alike.
        List<JsonNode> sent = List.copyOf(appends);
        assertThat(sent).as("the appends the cluster was sent").hasSizeGreaterThanOrEqualTo(2).allSatisfy(a -> {
            assertThat(a.get("clientId")).isEqualTo(sent.getFirst().get("clientId"));
            assertThat(a.get("seq")).isEqualTo(sent.getFirst().get("seq"));
        });
        assertThat(valueOf(key)).as("applied once").isEqualTo("x");
        // The session goes on: the next append has the next seq and is applied too.
        assertThat(append(c, key, "y").ok()).isTrue();
        assertThat(appends.getLast().get("seq").asLong()).isEqualTo(sent.getFirst().get("seq").asLong() + 1);
        assertThat(valueOf(key)).isEqualTo("xy");
    }

    @Test
    void anAppendWhoseAnswerIsLostIsResentWithTheSameSeqAndAppliedOnce() throws InterruptedException {
        resentWithTheSameSeqAndAppliedOnce(Spoil.CLOSE, WAIT);
    }

    @Test
    void anAppendAnswered503OutcomeUnknownIsResentWithTheSameSeqAndAppliedOnce() throws InterruptedException {
        resentWithTheSameSeqAndAppliedOnce(Spoil.UNKNOWN_503, WAIT);
    }

    @Test
    void anAppendWithoutAnswerWithinTheAttemptTimeoutIsResentWithTheSameSeqAndAppliedOnce() throws InterruptedException {
        resentWithTheSameSeqAndAppliedOnce(Spoil.NO_ANSWER, Duration.ofSeconds(1));
    }

    @Test
    void withoutSessionsALostAnswerIsReportedAsUnknownAndNotResent() throws InterruptedException {
        HostPort p = proxy(Spoil.CLOSE);
        loop = new ClientLoop(1, WAIT, WAIT, false, null, null);
        LoopClient c = loop.newClient(List.of(p));
        KvResult r = append(c, "loop-nosession", "x");
        assertThat(r.status()).isZero();
        assertThat(r.error().orElseThrow()).startsWith("connection to " + p + " failed").endsWith("the outcome is unknown");
        assertThat(appends).hasSize(1);
        assertThat(appends.getFirst().has("seq")).isFalse();
        assertThat(valueOf("loop-nosession")).isEqualTo("x");
    }

    @Test
    void followsTheLeaderNamedInAnswersAndReadsWhatItWrote() {
        // Without sessions, so that the put is the first request (a registration would learn the leader).
        loop = new ClientLoop(1, WAIT, WAIT, false, null, null);
        int leader = nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
        int follower = (leader + 1) % 3;
        LoopClient c = loop.newClient(List.of(nodes.address(follower), nodes.address(leader), nodes.address((leader + 2) % 3)));
        CompletableFuture<KvResult> put = new CompletableFuture<>();
        c.put("loop-follow", "v1", put::complete);
        assertThat(await(put).servedBy()).as("the first answer came through the follower").isEqualTo(nodes.address(follower));
        CompletableFuture<KvResult> get = new CompletableFuture<>();
        c.get("loop-follow", get::complete);
        KvResult r = await(get);
        assertThat(r.value()).contains("v1");
        assertThat(r.servedBy()).as("then the client talks to the leader").isEqualTo(nodes.address(leader));
    }
}
