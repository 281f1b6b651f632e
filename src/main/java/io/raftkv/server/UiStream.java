package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.raftkv.transport.Failures;
import io.raftkv.transport.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code GET /ui/events}: the web view's push channel, Server-Sent Events carrying the whole
 * cluster's picture every {@link #PERIOD_MS}. The node serving the page gathers it: its own state,
 * and every other member's {@code GET /ui/state}, polled with a short timeout, one request in
 * flight per member. A member that refuses the connection, times out or has not answered for
 * {@link #STALE_MS} is shown down (with the last state it gave). Each event is a whole picture,
 * so a page that reads slowly just skips some (no queue builds up), and a page that reconnects
 * to another node after this one died starts over from the next event.
 *
 * <p>All of it runs on a thread of its own, only while a page is open: the node's loop only
 * writes the bytes and answers the polls.
 */
final class UiStream implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UiStream.class);
    static final long PERIOD_MS = 250;
    /** A member not heard from for this long is down, even if its last poll is still in flight. */
    static final long STALE_MS = 1500;
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(1000);

    private final int selfId;
    private final Supplier<StatusSnapshot> status;
    private final Supplier<CompletableFuture<ObjectNode>> ownState;
    private final boolean localControl;
    private final ScheduledExecutorService executor;
    private final HttpClient http;
    /** http:// or, on a node with TLS, https:// for polling the members. */
    private final String scheme;
    private final Set<ChannelHandlerContext> pages = ConcurrentHashMap.newKeySet();
    /** What each member last said, by id (the UI thread only). */
    private final Map<Integer, Member> members = new TreeMap<>();
    private ScheduledFuture<?> ticking;
    private volatile JsonNode ownLast;

    private static final class Member {
        HostPort address;
        boolean inFlight;
        JsonNode last;
        long lastOkNs;
        boolean lastFailed = true;
        String error = "not polled yet";
    }

    UiStream(int selfId, Supplier<StatusSnapshot> status, Supplier<CompletableFuture<ObjectNode>> ownState,
             boolean localControl, ScheduledExecutorService executor, javax.net.ssl.SSLContext tls) {
        this.scheme = tls == null ? "http://" : "https://";
        this.selfId = selfId;
        this.status = status;
        this.ownState = ownState;
        this.localControl = localControl;
        this.executor = executor;
        HttpClient.Builder b = HttpClient.newBuilder();
        if (tls != null) b.sslContext(tls); // the node's own certificate and CA, as for its peers
        this.http = b.version(HttpClient.Version.HTTP_1_1).connectTimeout(POLL_TIMEOUT).executor(executor).build();
    }

    /** Answers {@code reply} with the stream; it lasts until the page goes away or the node stops. */
    void open(ResponseOrder.Reply reply) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        reply.stream(head, ctx -> {
            // A page that loses the stream retries after a second (EventSource), on this node or, once it is back, here.
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("retry: 1000\n\n", StandardCharsets.UTF_8)));
            pages.add(ctx);
            ctx.channel().closeFuture().addListener(f -> left(ctx));
            executor.execute(this::startTicking);
        });
    }

    int pages() {
        return pages.size();
    }

    private synchronized void startTicking() {
        if (ticking == null && !pages.isEmpty()) {
            ticking = executor.scheduleWithFixedDelay(this::tick, 0, PERIOD_MS, TimeUnit.MILLISECONDS); // no catch-up burst after a pause
        }
    }

    private void left(ChannelHandlerContext ctx) {
        pages.remove(ctx);
        executor.execute(() -> {
            synchronized (this) {
                if (pages.isEmpty() && ticking != null) {
                    ticking.cancel(false);
                    ticking = null;
                }
            }
        });
    }

    /** One round (UI thread): push the picture gathered so far, then start the polls for the next. */
    private void tick() {
        try {
            StatusSnapshot s = status.get();
            for (Map.Entry<Integer, HostPort> e : s.members().entrySet()) {
                if (e.getKey() == selfId) continue;
                members.computeIfAbsent(e.getKey(), id -> new Member()).address = e.getValue();
            }
            members.forEach(this::poll);
            // Pushed once this node's own state is in (from its loop); the others' are those of the last polls.
            ownState.get().orTimeout(POLL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).whenCompleteAsync((o, err) -> {
                ownLast = err == null ? o : null;
                push(picture(status.get()));
            }, executor);
        } catch (RuntimeException e) {
            LOG.warn("node {}: web view round failed: {}", selfId, e.toString());
        }
    }

    private void poll(int id, Member m) {
        if (m.inFlight || m.address == null) return;
        m.inFlight = true;
        HttpRequest req = HttpRequest.newBuilder(URI.create(scheme + m.address + "/ui/state")).timeout(POLL_TIMEOUT)
                .GET().build();
        http.sendAsync(req, BodyHandlers.ofByteArray()).whenCompleteAsync((res, err) -> {
            m.inFlight = false;
            if (err != null) {
                m.lastFailed = true;
                m.error = describe(err);
                return;
            }
            if (res.statusCode() != 200) {
                m.lastFailed = true;
                m.error = "GET /ui/state answered HTTP " + res.statusCode();
                return;
            }
            try {
                m.last = HttpApi.JSON.readTree(res.body());
                m.lastOkNs = System.nanoTime();
                m.lastFailed = false;
            } catch (IOException e) {
                m.lastFailed = true;
                m.error = "GET /ui/state answered something that is not JSON";
            }
        }, executor);
    }

    private static String describe(Throwable err) {
        Throwable root = err;
        while (root.getCause() != null) root = root.getCause();
        if (root instanceof java.net.ConnectException) return "connection refused: the process is not running";
        if (root instanceof java.nio.channels.ClosedChannelException || root instanceof java.io.EOFException) {
            return "the connection closed without an answer: the process stopped";
        }
        if (root instanceof java.net.http.HttpTimeoutException) return "no answer within " + POLL_TIMEOUT.toMillis() + " ms";
        return Failures.rootMessage(err);
    }

    /** The cluster as this node knows it now: itself, then every member polled. */
    private ObjectNode picture(StatusSnapshot s) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        o.put("servedBy", selfId);
        o.put("timeMs", System.currentTimeMillis());
        o.put("localControl", localControl);
        ArrayNode nodes = o.putArray("nodes");
        Map<Integer, ObjectNode> byId = new TreeMap<>();
        JsonNode own = ownLast;
        ObjectNode self = HttpApi.JSON.createObjectNode().put("id", selfId).put("address", s.address());
        if (own != null) self.put("up", true).set("state", own);
        else self.put("up", false).put("error", "this node's own loop did not answer in time");
        byId.put(selfId, self);
        long now = System.nanoTime();
        members.forEach((id, m) -> {
            ObjectNode n = HttpApi.JSON.createObjectNode().put("id", id).put("address", String.valueOf(m.address));
            boolean up = !m.lastFailed && m.last != null && now - m.lastOkNs < TimeUnit.MILLISECONDS.toNanos(STALE_MS);
            n.put("up", up);
            if (up) {
                n.set("state", m.last);
            } else {
                n.put("error", m.lastFailed ? m.error : "no answer for " + STALE_MS + " ms");
                if (m.last != null) n.set("last", m.last);
            }
            byId.put(id, n);
        });
        byId.values().forEach(nodes::add);
        return o;
    }

    private void push(ObjectNode picture) {
        if (pages.isEmpty()) return;
        byte[] data;
        try {
            data = ("event: cluster\ndata: " + HttpApi.JSON.writeValueAsString(picture) + "\n\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        for (ChannelHandlerContext ctx : pages) {
            // A page that has not read the last pictures skips this one: the next is whole anyway.
            if (ctx.channel().isWritable()) ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(data)));
        }
    }

    @Override
    public void close() {
        for (ChannelHandlerContext ctx : pages) ctx.close().addListener(ChannelFutureListener.CLOSE);
        pages.clear();
        http.close();
    }
}
