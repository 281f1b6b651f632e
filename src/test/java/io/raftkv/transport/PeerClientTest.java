package io.raftkv.transport;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The peer client against a stand-in peer (the JDK's HTTP server, so that neither side of the
 * exchange is raftkv's own HTTP code): what goes out is the binary encoding with its media type,
 * what comes back is decoded, and a peer that refuses messages is logged, once per connection.
 */
class PeerClientTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final Queue<Message> received = new ConcurrentLinkedQueue<>();
    private final Queue<String> contentTypes = new ConcurrentLinkedQueue<>();
    private final Queue<Message> inbound = new ConcurrentLinkedQueue<>();
    private HttpServer peer;
    private EventLoopGroup group;
    private PeerTransport transport;

    @BeforeEach
    void start() throws IOException {
        peer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        peer.start();
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        transport = new PeerTransport(Map.of(2, new HostPort("127.0.0.1", peer.getAddress().getPort())), group, 1 << 20);
        transport.start(new Transport.Inbound() {
            @Override
            public void request(Message request, io.raftkv.node.RpcReply reply) {
                throw new AssertionError("no request expected: " + request);
            }

            @Override
            public void response(Message response) {
                inbound.add(response);
            }
        });
    }

    @AfterEach
    void stop() {
        transport.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        peer.stop(0);
    }

    @Test
    void requestsGoOutInTheBinaryEncodingAndAnswersComeBackDecoded() {
        AppendEntriesResponse answer = AppendEntriesResponse.accept(2, 1, 5, 3);
        peer.createContext("/appendEntries", ex -> {
            contentTypes.add(String.valueOf(ex.getRequestHeaders().getFirst("Content-Type")));
            received.add(MessageCodec.decode(ex.getRequestBody().readAllBytes()));
            reply(ex, 200, MessageCodec.encode(answer));
        });
        AppendEntries append = new AppendEntries(1, 2, 5, 0, 0, List.of(new Entry(1, 5, new byte[] {1, 2}),
                Entry.noop(2, 5), new Entry(3, 5, new byte[300])), 1, 9);

        sendUntil(append, () -> !inbound.isEmpty());

        Messages.assertSame(received.peek(), append);
        assertThat(contentTypes).allMatch("application/octet-stream"::equals);
        assertThat(inbound.peek()).isEqualTo(answer);
    }

    /**
     * A follower sends nothing to a peer that restarted until it campaigns: its first message then
     * finds no connection. It must go out once the connection is made, not be dropped (which cost a
     * whole election timeout of failover time: the pre-vote was lost and retried only at the next timeout).
     */
    @Test
    void aMessageSentWithoutAConnectionGoesOutOnceConnected() {
        peer.createContext("/requestVote", ex -> {
            received.add(MessageCodec.decode(ex.getRequestBody().readAllBytes()));
            reply(ex, 204, new byte[0]);
        });
        Message.RequestVote preVote = new Message.RequestVote(1, 2, 7, 3, 2, true);
        transport.send(preVote); // once: no connection yet
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (received.isEmpty() && System.nanoTime() < deadline) pause(10);
        assertThat(received).as("the pre-vote sent before the connection existed").hasSize(1);
        Messages.assertSame(received.peek(), preVote);
    }

    @Test
    void aPeerRefusingMessagesIsLoggedOncePerConnection() {
        AtomicInteger refusals = new AtomicInteger();
        peer.createContext("/appendEntries", ex -> {
            ex.getRequestBody().readAllBytes();
            refusals.incrementAndGet();
            reply(ex, 400, "{\"error\":\"raft message: bad magic byte 0xa1\"}".getBytes(StandardCharsets.UTF_8));
        });
        Logger logger = (Logger) LoggerFactory.getLogger(PeerClient.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            AppendEntries heartbeat = new AppendEntries(1, 2, 5, 0, 0, List.of(), 0);
            sendUntil(heartbeat, () -> !log.list.isEmpty());
            int logged = refusals.get();
            // More refusals on the same connection, given time to arrive: they add nothing to the log.
            sendUntil(heartbeat, () -> refusals.get() >= logged + 5);
            pause(300);
            List<ILoggingEvent> warnings = log.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
            assertThat(warnings).hasSize(1);
            assertThat(warnings.getFirst().getFormattedMessage())
                    .contains("node 2", "refused a message", "raft message: bad magic byte 0xa1");
            assertThat(inbound).as("a refusal is no answer").isEmpty();
        } finally {
            logger.detachAppender(log);
        }
    }

    private void sendUntil(Message m, BooleanSupplier done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("time left for an exchange with the stand-in peer").isLessThan(deadline);
            transport.send(m);
            pause(20);
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", status == 200 ? MessageCodec.CONTENT_TYPE : "application/json");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }
}
