package io.raftkv.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A non-blocking client with ONE keep-alive connection and at most one operation in flight,
 * driven by its {@link ClientLoop}'s event loop: a simulated client of a benchmark. The answer
 * comes to a callback on the loop's thread, which may start the next operation at once.
 *
 * <p>It behaves as {@link RaftKvClient} does, request for request: the same endpoints and bodies;
 * the last leader seen first, then the others in turn, following a node's suggestion (503
 * {@code noLeaderReachable} with {@code lastLeader}, 508 with {@code leaderHint}), 50 ms of pause
 * after a whole round of failures; a node that answers 503 {@code "retryable":true} or cannot be
 * connected to is passed over. With sessions each client registers one ({@code POST /session})
 * and numbers its writes; a write whose outcome is unknown (503 without {@code retryable}, the
 * connection lost after sending, no answer within the attempt timeout) is resent with the same
 * seq, so the cluster applies it once (Raft thesis §6.3); 409 {@code sessionExpired} opens a new
 * session once if no send of the write can have been applied, else the outcome is reported as
 * unknown. Without sessions a write with an unknown outcome is returned, not resent.
 *
 * <p>Differences: one deadline covers the whole operation (session registration included), and a
 * 401 logs in again through the {@link ClientLoop}'s logged-in {@link RaftKvClient} on a virtual
 * thread (its login call blocks), then resends once.
 *
 * <p>Not thread-safe in the usual sense: every method may be called from any thread, but the
 * client takes one operation at a time (start the next from the previous one's callback).
 */
public final class LoopClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] EMPTY = new byte[0];
    /** Pause after a whole round of nodes failed, as RaftKvClient's. */
    private static final long ROUND_PAUSE_NS = 50_000_000L;

    private final ClientLoop loop;
    private final EventLoop executor;
    private final List<HostPort> nodes;
    /** Everything below is touched on {@link #executor} only. */
    private HostPort preferred;
    private Channel channel;
    /** A connection whose TLS handshake is in progress (not yet {@link #channel}), closed with the client or its attempt. */
    private Channel handshaking;
    private HostPort channelNode;
    /** The session (0: none yet) and the last seq used in it. */
    private long clientId;
    private long seq;
    /** The request on the wire (or waiting for its connection), null when none. */
    private Call inFlight;

    LoopClient(ClientLoop loop, EventLoop executor, List<HostPort> nodes) {
        if (nodes.isEmpty()) throw new IllegalArgumentException("no cluster addresses given");
        this.loop = loop;
        this.executor = executor;
        this.nodes = List.copyOf(nodes);
        this.preferred = this.nodes.getFirst();
    }

    /** The event loop this client's work and callbacks run on (to schedule the next operation on). */
    public EventLoop executor() {
        return executor;
    }

    public void put(String key, String value, Consumer<KvResult> done) {
        write("/put", JSON.createObjectNode().put("key", key).put("value", value), done);
    }

    public void append(String key, String value, Consumer<KvResult> done) {
        write("/append", JSON.createObjectNode().put("key", key).put("value", value), done);
    }

    /** A linearizable read ({@code GET /get?key=K}). */
    public void get(String key, Consumer<KvResult> done) {
        read("/get?key=" + URLEncoder.encode(key, StandardCharsets.UTF_8), done);
    }

    /** A read of the contacted node's own state ({@code GET /get?key=K&consistency=stale}). */
    public void getStale(String key, Consumer<KvResult> done) {
        read("/get?key=" + URLEncoder.encode(key, StandardCharsets.UTF_8) + "&consistency=stale", done);
    }

    public void delete(String key, Consumer<KvResult> done) {
        write("/delete", JSON.createObjectNode().put("key", key), done);
    }

    /** {@code POST /cas}: sets {@code key} to {@code value} if it holds {@code expectedValue} (empty: if absent). */
    public void cas(String key, Optional<String> expectedValue, String value, Consumer<KvResult> done) {
        ObjectNode body = JSON.createObjectNode().put("key", key).put("value", value);
        expectedValue.ifPresentOrElse(v -> body.put("expectedValue", v), () -> body.put("expectAbsent", true));
        write("/cas", body, done);
    }

    /** {@code POST /txn} with a body in the API's form; the session fields are added to a copy. */
    public void txn(ObjectNode txn, Consumer<KvResult> done) {
        write("/txn", txn.deepCopy(), done);
    }

    /** Registers the session now (a benchmark keeps it out of its measurements); at once if one is open. */
    public void openSession(Consumer<KvResult> done) {
        if (!loop.sessions) throw new IllegalStateException("this client writes without sessions");
        onLoop(() -> {
            long start = System.nanoTime();
            if (clientId != 0) {
                done.accept(new KvResult(200, JSON.createObjectNode().put("clientId", clientId), preferred, 0));
            } else {
                register(start, start + loop.timeoutNs, done, () -> done.accept(new KvResult(200,
                        JSON.createObjectNode().put("clientId", clientId), preferred, System.nanoTime() - start)));
            }
        });
    }

    /** The session's client id, or 0 if none is registered yet (read it on the loop, e.g. in a callback). */
    public long clientId() {
        return clientId;
    }

    /** Closes the connection (an operation in flight fails as a lost connection). */
    public void close() {
        onLoop(() -> {
            if (channel != null) channel.close();
            dropHandshaking();
        });
    }

    // ---------------------------------------------------------------- operations

    private void onLoop(Runnable r) {
        if (executor.inEventLoop()) {
            r.run();
        } else {
            executor.execute(r);
        }
    }

    private void read(String path, Consumer<KvResult> done) {
        onLoop(() -> {
            long start = System.nanoTime();
            call(new Call(path, null, true, start, start + loop.timeoutNs, done));
        });
    }

    /** A write in the client's session when it has sessions: {@code body} (its own copy) gets clientId and seq. */
    private void write(String path, ObjectNode body, Consumer<KvResult> done) {
        onLoop(() -> {
            long start = System.nanoTime();
            long deadline = start + loop.timeoutNs;
            if (!loop.sessions) {
                call(new Call(path, RaftKvClient.json(body), false, start, deadline, done));
            } else {
                sessionWrite(path, body, true, start, deadline, done);
            }
        });
    }

    private void sessionWrite(String path, ObjectNode body, boolean firstTry, long start, long deadline, Consumer<KvResult> done) {
        if (clientId == 0) {
            register(start, deadline, done, () -> sessionWrite(path, body, firstTry, start, deadline, done));
            return;
        }
        long s = ++seq;
        Call[] call = new Call[1];
        call[0] = new Call(path, RaftKvClient.json(body.put("clientId", clientId).put("seq", s)), true, start, deadline, r -> {
            if (r.status() == 409 && r.body().path("sessionExpired").asBoolean()) {
                if (call[0].maybeApplied) {
                    // An earlier send of this seq may have been applied before the session went:
                    // sending it again under a new session could apply it twice.
                    clientId = 0;
                    done.accept(new KvResult(0, RaftKvClient.error("the session expired while this write was being resent;"
                            + " the outcome is unknown (it may have been applied once)"), r.servedBy(), r.latencyNs()));
                    return;
                }
                if (firstTry) {
                    clientId = 0; // expired while idle: nothing was applied, start a new session
                    sessionWrite(path, body, false, start, deadline, done);
                    return;
                }
            }
            done.accept(r);
        });
        call(call[0]);
    }

    /** Registers a session, then runs {@code then}; a failed registration goes to {@code failed}. */
    private void register(long start, long deadline, Consumer<KvResult> failed, Runnable then) {
        // A lost registration leaves an unused session behind, which simply expires: safe to resend.
        call(new Call("/session", EMPTY, true, start, deadline, reg -> {
            if (reg.ok() && reg.body().has("clientId")) {
                clientId = reg.body().get("clientId").asLong();
                seq = 0;
                then.run();
            } else {
                failed.accept(reg);
            }
        }));
    }

    // ---------------------------------------------------------------- one request, resent until definite

    /** A request and its resends to one node after another; {@code body} null: a GET. */
    private final class Call {
        final String path;
        final byte[] body;
        /** A read, or a write carrying a session seq: may be resent after an unknown outcome. */
        final boolean idempotent;
        final long startNs;
        final long deadlineNs;
        final Consumer<KvResult> then;
        boolean maybeApplied;
        boolean relogin = loop.login != null && loop.login.hasCredentials();
        List<HostPort> order;
        int next;
        HostPort suggested;
        Set<HostPort> triedThisRound;
        KvResult last;
        /** A TLS handshake an attempt failed, reported at the deadline in place of a later attempt's timeout. */
        KvResult tlsFailure;
        /** The current attempt: its number, node, channel once written, timer. */
        int attempt;
        HostPort node;
        Channel sentOn;
        ScheduledFuture<?> timer;

        Call(String path, byte[] body, boolean idempotent, long startNs, long deadlineNs, Consumer<KvResult> then) {
            this.path = path;
            this.body = body;
            this.idempotent = idempotent;
            this.startNs = startNs;
            this.deadlineNs = deadlineNs;
            this.then = then;
        }
    }

    /** The next attempt of {@code c}, or its end at the deadline. */
    private void call(Call c) {
        long now = System.nanoTime();
        if (now >= c.deadlineNs) {
            KvResult end = RaftKvClient.atDeadline(c.last, c.tlsFailure, c.body != null, c.maybeApplied);
            finish(c, end != null ? end : new KvResult(0, RaftKvClient.error("timed out"), preferred, now - c.startNs));
            return;
        }
        HostPort node;
        if (c.suggested != null) {
            node = c.suggested;
            c.suggested = null;
        } else if (c.order == null) {
            // The common case: the preferred node answers; the order of the others is made on the first failure.
            node = preferred;
            c.next = 1;
        } else {
            node = c.order.get(c.next++ % c.order.size());
        }
        if (c.triedThisRound == null) c.triedThisRound = new HashSet<>(4);
        c.triedThisRound.add(node);
        c.attempt++;
        c.node = node;
        c.sentOn = null;
        long left = c.deadlineNs - now;
        c.timer = executor.schedule(() -> attemptTimedOut(c), c.idempotent ? Math.min(left, loop.attemptTimeoutNs) : left,
                TimeUnit.NANOSECONDS);
        inFlight = c;
        if (channel != null && channel.isActive() && node.equals(channelNode)) {
            send(channel, c);
        } else {
            connect(c);
        }
    }

    private void connect(Call c) {
        dropHandshaking();
        if (channel != null) {
            Channel old = channel;
            channel = null; // its events are ignored from now on
            old.close();
        }
        HostPort node = c.node;
        int attempt = c.attempt;
        ChannelFuture f = loop.bootstrap.clone(executor).handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                SslHandler ssl = loop.sslHandler(node);
                if (ssl != null) ch.pipeline().addLast(ssl);
                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 << 20), new ResponseHandler());
            }
        }).connect(node.host(), node.port());
        f.addListener((ChannelFuture cf) -> {
            if (inFlight != c || c.attempt != attempt) {
                cf.channel().close(); // the attempt ended meanwhile (its timer fired)
            } else if (!cf.isSuccess()) {
                // Worded as RaftKvClient's, which the bench's error kinds read ("connect timed out", a refusal).
                String why = cf.cause() instanceof io.netty.channel.ConnectTimeoutException ? "connect timed out" : describe(cf.cause());
                failed(c, new KvResult(0, RaftKvClient.error("cannot connect to " + node + ": " + why), node,
                        System.nanoTime() - c.startNs));
            } else {
                SslHandler ssl = cf.channel().pipeline().get(SslHandler.class);
                if (ssl == null) {
                    connected(cf.channel(), node, c);
                    return;
                }
                // Over TLS the connection is made once the handshake is: nothing is sent before, so a
                // refused certificate is a connect failure (the request was not applied), not a lost request.
                handshaking = cf.channel();
                ssl.handshakeFuture().addListener(hf -> {
                    boolean dropped = handshaking != cf.channel(); // closed by us: the attempt or the client ended
                    if (!dropped) handshaking = null;
                    if (dropped || inFlight != c || c.attempt != attempt) {
                        cf.channel().close();
                    } else if (!hf.isSuccess()) {
                        cf.channel().close();
                        c.tlsFailure = RaftKvClient.tlsRefused(node, describe(hf.cause()), System.nanoTime() - c.startNs);
                        failed(c, c.tlsFailure);
                    } else {
                        connected(cf.channel(), node, c);
                    }
                });
            }
        });
    }

    private void connected(Channel ch, HostPort node, Call c) {
        channel = ch;
        channelNode = node;
        send(ch, c);
    }

    private void send(Channel ch, Call c) {
        c.sentOn = ch;
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, c.body == null ? HttpMethod.GET : HttpMethod.POST,
                c.path, c.body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(c.body));
        req.headers().set(HttpHeaderNames.HOST, c.node.toString());
        String auth = loop.authorization();
        if (auth != null) req.headers().set(HttpHeaderNames.AUTHORIZATION, auth);
        if (c.body != null) req.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
        ch.writeAndFlush(req).addListener(w -> {
            if (!w.isSuccess() && inFlight == c && c.sentOn == ch) lost(c, describe(w.cause()));
        });
    }

    private void attemptTimedOut(Call c) {
        if (inFlight != c) return;
        if (c.sentOn == null) {
            dropHandshaking();
            failed(c, new KvResult(0, RaftKvClient.error("cannot connect to " + c.node + ": connect timed out"), c.node,
                    System.nanoTime() - c.startNs));
            return;
        }
        // The connection is in an unknown state: a late answer must not be taken for the next request's.
        dropChannel();
        lost(c, "request timed out");
    }

    /** Sent, and no answer came: a read may be resent, a write's outcome is unknown. */
    private void lost(Call c, String why) {
        KvResult r = new KvResult(0, RaftKvClient.error("connection to " + c.node + " failed (" + why + ")"
                + (c.body != null ? "; the outcome is unknown" : "")), c.node, System.nanoTime() - c.startNs);
        if (!c.idempotent) {
            finish(c, r);
            return;
        }
        c.maybeApplied = true;
        failed(c, r);
    }

    /** The attempt failed with {@code r}; the next one, after a pause if a whole round failed. */
    private void failed(Call c, KvResult r) {
        c.timer.cancel(false);
        inFlight = null;
        c.last = r;
        if (c.order == null) {
            c.order = new ArrayList<>(nodes);
            c.order.remove(preferred);
            c.order.addFirst(preferred);
        }
        if (c.suggested == null && c.next % c.order.size() == 0) {
            c.triedThisRound.clear();
            long pause = Math.min(ROUND_PAUSE_NS, Math.max(0, c.deadlineNs - System.nanoTime()));
            executor.schedule(() -> call(c), pause, TimeUnit.NANOSECONDS);
        } else {
            call(c);
        }
    }

    private void answered(Call c, KvResult r) {
        c.timer.cancel(false);
        inFlight = null;
        if (r.status() == 401 && c.relogin) {
            // Nothing was done (a 401 comes before anything is): safe to resend with a new token.
            c.relogin = false;
            CompletableFuture.supplyAsync(loop.login::relogin, Thread::startVirtualThread).whenCompleteAsync((l, e) -> {
                if (l == null || !l.ok()) {
                    finish(c, l != null ? l : new KvResult(0, RaftKvClient.error("login failed: " + describe(e)), c.node, System.nanoTime() - c.startNs));
                } else {
                    c.suggested = c.node;
                    call(c);
                }
            }, executor);
            return;
        }
        r.leaderAddress().ifPresent(this::preferLeader);
        boolean elsewhere = r.status() == 503 || r.status() == 508 && r.retryable();
        if (!elsewhere || !(r.retryable() || c.idempotent)) {
            finish(c, r);
            return;
        }
        if (!r.retryable()) c.maybeApplied = true;
        c.suggested = r.suggestedNode().flatMap(this::member).filter(n -> !c.triedThisRound.contains(n)).orElse(null);
        failed(c, r);
    }

    private void finish(Call c, KvResult r) {
        if (c.timer != null) c.timer.cancel(false);
        if (inFlight == c) inFlight = null;
        c.then.accept(r);
    }

    /** Closes the connection whose TLS handshake is in progress, if any (its attempt ended). */
    private void dropHandshaking() {
        if (handshaking == null) return;
        Channel h = handshaking;
        handshaking = null;
        h.close();
    }

    private void dropChannel() {
        if (channel == null) return;
        Channel old = channel;
        channel = null;
        old.close();
    }

    private void preferLeader(String address) {
        member(address).ifPresent(n -> preferred = n);
    }

    private Optional<HostPort> member(String address) {
        for (HostPort n : nodes) {
            if (n.toString().equals(address)) return Optional.of(n);
        }
        return Optional.empty();
    }

    /** Answers and failures of this client's connection, on its event loop. */
    private final class ResponseHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
            Call c = inFlight;
            if (c == null || c.sentOn != ctx.channel()) return; // an answer after its attempt ended
            int status = res.status().code();
            JsonNode json;
            try {
                json = res.content().isReadable() ? JSON.readTree(new ByteBufInputStream(res.content())) : JSON.createObjectNode();
                if (json == null || json.isMissingNode()) json = JSON.createObjectNode();
            } catch (IOException e) {
                json = RaftKvClient.error("node answered with non-JSON (HTTP " + status + ")");
            }
            answered(c, new KvResult(status, json, c.node, System.nanoTime() - c.startNs));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (ctx.channel() == channel) channel = null;
            Call c = inFlight;
            if (c != null && c.sentOn == ctx.channel()) lost(c, "connection closed");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel() == channel) channel = null;
            Call c = inFlight;
            ctx.close();
            if (c != null && c.sentOn == ctx.channel()) lost(c, describe(cause));
        }
    }

    private static String describe(Throwable e) {
        if (e == null) return "unknown failure";
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
