package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.raftkv.kv.KvCommand;
import io.raftkv.raft.Message;
import io.raftkv.transport.MessageCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The node's HTTP server: the client API ({@code /put}, {@code /append}, {@code /get},
 * {@code /status}, {@code /session}, {@code /transfer-leader}) in JSON and the peer RPCs
 * ({@code /requestVote}, {@code /appendEntries}, {@code /installSnapshot}, {@code /timeoutNow}) in
 * the binary encoding of {@link MessageCodec}.
 * Handlers never block a Netty thread: every operation is a future completed by the Raft loop.
 */
final class HttpApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
    static final ObjectMapper JSON = new ObjectMapper();
    /** Allowed methods per path; anything else is 404 (unknown path) or 405 (wrong method). */
    private static final Map<String, HttpMethod> ROUTES = Map.ofEntries(
            Map.entry("/put", HttpMethod.POST), Map.entry("/append", HttpMethod.POST), Map.entry("/get", HttpMethod.GET),
            Map.entry("/status", HttpMethod.GET), Map.entry("/requestVote", HttpMethod.POST),
            Map.entry("/appendEntries", HttpMethod.POST), Map.entry("/installSnapshot", HttpMethod.POST),
            Map.entry("/session", HttpMethod.POST), Map.entry("/transfer-leader", HttpMethod.POST),
            Map.entry("/timeoutNow", HttpMethod.POST), Map.entry("/members", HttpMethod.GET),
            Map.entry("/members/add", HttpMethod.POST), Map.entry("/members/promote", HttpMethod.POST),
            Map.entry("/members/remove", HttpMethod.POST), Map.entry("/delete", HttpMethod.POST),
            Map.entry("/cas", HttpMethod.POST), Map.entry("/txn", HttpMethod.POST), Map.entry("/range", HttpMethod.GET),
            Map.entry("/watch", HttpMethod.GET), Map.entry("/lease", HttpMethod.GET),
            Map.entry("/lease/grant", HttpMethod.POST), Map.entry("/lease/keepalive", HttpMethod.POST),
            Map.entry("/lease/revoke", HttpMethod.POST), Map.entry("/metrics", HttpMethod.GET),
            Map.entry("/auth/login", HttpMethod.POST), Map.entry("/auth/enable", HttpMethod.POST),
            Map.entry("/auth/disable", HttpMethod.POST), Map.entry("/auth/status", HttpMethod.GET),
            Map.entry("/user/add", HttpMethod.POST), Map.entry("/user/delete", HttpMethod.POST),
            Map.entry("/user/passwd", HttpMethod.POST), Map.entry("/user/grant-role", HttpMethod.POST),
            Map.entry("/user/revoke-role", HttpMethod.POST), Map.entry("/user/list", HttpMethod.GET),
            Map.entry("/role/add", HttpMethod.POST), Map.entry("/role/delete", HttpMethod.POST),
            Map.entry("/role/grant", HttpMethod.POST), Map.entry("/role/revoke", HttpMethod.POST),
            Map.entry("/role/list", HttpMethod.GET),
            // The web view (WebUi); /ui/control/* and /ui/network answer 404 on a node not started by 'raftkv local'.
            Map.entry("/ui", HttpMethod.GET), Map.entry("/ui/app.js", HttpMethod.GET), Map.entry("/ui/app.css", HttpMethod.GET),
            Map.entry("/ui/state", HttpMethod.GET), Map.entry("/ui/events", HttpMethod.GET),
            Map.entry("/ui/network", HttpMethod.POST), Map.entry("/ui/control/kill", HttpMethod.POST),
            Map.entry("/ui/control/restart", HttpMethod.POST), Map.entry("/ui/control/cut", HttpMethod.POST),
            Map.entry("/ui/control/heal", HttpMethod.POST));
    /** Room in a request line for the method, path, version and the parameters besides the key. */
    private static final int REQUEST_LINE_SLACK_BYTES = 1024;

    private final LocalNode server;
    private final EventLoopGroup group;
    private final ClientRequests clientRequests;
    private final AuthRequests authRequests;
    private final NodeMetrics metrics;
    /**
     * Accepted connections, closed by {@link #close()}: shutting the event loops down does not
     * reliably close them, and a stopped node that keeps them open leaves its clients (a follower
     * forwarding on a pooled connection) waiting for their timeout instead of failing fast.
     */
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel serverChannel;

    HttpApi(RaftServer server, EventLoopGroup group) {
        this(LocalNode.of(server), group);
    }

    /** Serves {@code node}: a real one, or a stub in tests. */
    HttpApi(LocalNode server, EventLoopGroup group) {
        this.server = server;
        this.group = group;
        this.clientRequests = new ClientRequests(server, group);
        this.authRequests = new AuthRequests(server, clientRequests);
        this.metrics = server.metrics();
        metrics.bindOpenConnections(connections::size);
    }

    /** Listens on {@code port} of {@code address}, or of every interface when it is empty. */
    void bind(Optional<String> address, int port) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap().group(group).channel(io.raftkv.transport.NettyIo.serverChannel(group))
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        NodeConfig.Limits limits = server.config().limits();
                        // Past the cap, the connection may still carry a peer's Raft messages (decided at its first request).
                        if (connections.size() > limits.maxConnections()) ch.attr(OVER_CAP).set(Boolean.TRUE);
                        long high = Math.max(1 << 20, limits.maxUnreadReplyBytes() / 16);
                        ch.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark((int) (high / 2), (int) high));
                        // HTTPS: the newest context (certificates reload), asking for or requiring client certificates.
                        // Plain HTTP sent to it gets a plain 400 saying to use https, not a silent close.
                        server.tls().ifPresent(t -> ch.pipeline().addLast("tls", new TlsOnly(t.server())));
                        RequestReadTimeout intake = new RequestReadTimeout(limits.requestReadTimeoutMs(), limits.maxReceivingBytes());
                        ch.pipeline().addLast(UNREAD, new UnreadReplyLimit(limits.maxUnreadReplyBytes()));
                        ch.pipeline().addLast(IDLE, idleHandler());
                        ch.pipeline().addLast(intake.firstByte,
                                new HttpServerCodec(new HttpDecoderConfig()
                                        .setMaxInitialLineLength(maxRequestLineBytes(server.config().maxKeyBytes()))),
                                intake,
                                new RequestAggregator(),
                                new Handler());
                    }
                });
        try {
            serverChannel = (address.isPresent() ? b.bind(address.get(), port) : b.bind(port)).sync().channel();
        } catch (Exception e) {
            Throwable bind = bindFailure(e);
            if (bind != null) {
                String where = "port " + port + address.map(a -> " of " + a).orElse("");
                String why = String.valueOf(bind.getMessage()).toLowerCase(java.util.Locale.ROOT);
                if (why.contains("assign") || why.contains("not available")) {
                    throw new IllegalStateException("cannot listen on " + where + ": " + address.orElse("")
                            + " is not an address of this machine; pick another --bind or --listen (0.0.0.0 for every interface)");
                }
                throw new IllegalStateException(address.map(a -> a + ":" + port).orElse("port " + port)
                        + " is already in use; stop what runs there or pick another -port"
                        + (address.isPresent() ? " (or another --bind / --listen address)" : ""));
            }
            throw e;
        }
    }

    /**
     * The failure to bind in {@code e} or its causes, or null: the JDK's {@link BindException} with
     * NIO, Netty's native I/O exception of a {@code bind(..)} call with epoll.
     */
    static Throwable bindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException) return t;
            if (t instanceof io.netty.channel.unix.Errors.NativeIoException && String.valueOf(t.getMessage()).startsWith("bind(")) {
                return t;
            }
        }
        return null;
    }

    @Override
    public void close() {
        if (serverChannel != null) serverChannel.close().syncUninterruptibly();
        connections.close().awaitUninterruptibly();
        clientRequests.close();
        authRequests.close();
    }

    /**
     * The longest request line accepted: {@code GET /get?key=K} with a key at the limit, each of its
     * bytes percent-encoded (3 chars), plus the rest of the line. Netty's default, 4,096, is shorter
     * than a 4 KiB key alone: such a key could be written but not read.
     */
    static int maxRequestLineBytes(int maxKeyBytes) {
        return (int) Math.min(Integer.MAX_VALUE, 3L * maxKeyBytes + REQUEST_LINE_SLACK_BYTES);
    }

    /**
     * The TLS handler of a connection, in place once the first bytes show a TLS handshake; a
     * connection that starts with anything else (plain HTTP to the HTTPS port) is answered with a
     * plain-text 400 that says to use https, and closed, before any request is read.
     */
    private static final class TlsOnly extends io.netty.handler.ssl.OptionalSslHandler {
        private static final byte[] REFUSAL;

        static {
            byte[] body = "{\"error\":\"this node serves HTTPS only (it was started with --tls-cert): use https://\"}"
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] head = ("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            REFUSAL = new byte[head.length + body.length];
            System.arraycopy(head, 0, REFUSAL, 0, head.length);
            System.arraycopy(body, 0, REFUSAL, head.length, body.length);
        }

        TlsOnly(io.netty.handler.ssl.SslContext context) {
            super(context);
        }

        @Override
        protected io.netty.channel.ChannelHandler newNonSslHandler(ChannelHandlerContext context) {
            return new io.netty.channel.ChannelInboundHandlerAdapter() {
                private boolean answered;

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    io.netty.util.ReferenceCountUtil.release(msg);
                    if (answered) return;
                    answered = true;
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(REFUSAL)).addListener(ChannelFutureListener.CLOSE);
                }
            };
        }
    }

    /**
     * What the certificate of one connection says, read once when its first request arrives (after
     * the handshake; a connection keeps its certificate): none (plain HTTP, or a client that showed
     * none), a node's (may carry peer RPCs and pass on a forwarded request's user), or a client's,
     * whose common name is its user.
     */
    private record Peer(java.security.cert.X509Certificate cert, boolean node, String commonName) {
        static final Peer NONE = new Peer(null, false, null);

        static Peer of(ChannelHandlerContext ctx) {
            io.netty.handler.ssl.SslHandler ssl = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class);
            if (ssl == null) return NONE;
            try {
                java.security.cert.Certificate[] certs = ssl.engine().getSession().getPeerCertificates();
                if (certs.length == 0 || !(certs[0] instanceof java.security.cert.X509Certificate c)) return NONE;
                return new Peer(c, io.raftkv.security.NodeTls.isNodeCertificate(c), commonName(c));
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                return NONE;
            }
        }

        /** Over TLS, why this connection may not carry peer RPCs, if it may not (checked before the message is read). */
        Optional<String> peerRpcProblem() {
            if (cert == null) return Optional.of("peer RPCs need a node certificate of this cluster's CA; this connection showed none");
            if (!node) {
                return Optional.of("peer RPCs need a node certificate; " + cert.getSubjectX500Principal().getName()
                        + " is a client certificate (its extended key usage does not include TLS servers)");
            }
            return Optional.empty();
        }

        /**
         * Sets {@link Authorizer#CERT_USER_HEADER} to the client certificate's common name; a node's
         * certificate may pass on the header of a request it forwards; from anyone else it is removed.
         */
        void setUserHeader(io.netty.handler.codec.http.HttpHeaders headers) {
            if (node) return;
            headers.remove(Authorizer.CERT_USER_HEADER);
            if (commonName != null) headers.set(Authorizer.CERT_USER_HEADER, commonName);
        }

        private static String commonName(java.security.cert.X509Certificate c) {
            try {
                for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                    if (rdn.getType().equalsIgnoreCase("CN")) return String.valueOf(rdn.getValue());
                }
            } catch (javax.naming.InvalidNameException e) {
                return null;
            }
            return null;
        }
    }

    private static final String UNREAD = "unread-reply-limit";
    private static final String IDLE = "idle";

    /** Closes a connection that read and wrote nothing for --idle-timeout-ms. */
    private io.netty.handler.timeout.IdleStateHandler idleHandler() {
        return new io.netty.handler.timeout.IdleStateHandler(0, 0, server.config().limits().idleTimeoutMs(), TimeUnit.MILLISECONDS);
    }

    /** Request body bytes being received on all connections (limit: --max-receiving-bytes). */
    private final java.util.concurrent.atomic.AtomicLong receiving = new java.util.concurrent.atomic.AtomicLong();
    private static final io.netty.util.AttributeKey<Boolean> OVER_CAP = io.netty.util.AttributeKey.valueOf("raftkv.overCap");
    private static final LogLimiter LIMIT_LOG = new LogLimiter();

    private void logLimit(ChannelHandlerContext ctx, String what) {
        if (LIMIT_LOG.tryAcquire()) LOG.warn("node {}: {} ({})", server.config().id(), what, ctx.channel().remoteAddress());
    }

    /**
     * Closes a connection whose client leaves more than {@code max} bytes of answers unread (it
     * stopped reading, or reads slower than it asks): reading its requests already stopped at 1/16
     * of that ({@link ResponseOrder#mayRead}); this is for answers that are large by themselves.
     */
    private final class UnreadReplyLimit extends io.netty.channel.ChannelOutboundHandlerAdapter {
        private final long max;

        UnreadReplyLimit(long max) {
            this.max = max;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) throws Exception {
            super.write(ctx, msg, promise);
            io.netty.channel.ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
            if (out != null && out.totalPendingWriteBytes() > max) {
                logLimit(ctx, "closed a connection whose client left more than " + max
                        + " bytes of answers unread (--max-unread-reply-bytes)");
                ctx.close();
            }
        }
    }

    /**
     * A request must arrive whole within {@code timeoutMs} of its first byte (slowloris: a body
     * shorter than its Content-Length used to keep the connection, and its buffer, forever): 408 and
     * the connection is closed.
     */
    private final class RequestReadTimeout extends io.netty.channel.ChannelInboundHandlerAdapter {
        private final long timeoutMs;
        private final long maxReceiving;
        private io.netty.util.concurrent.ScheduledFuture<?> timer;
        /** A request has begun (its first byte, headers included, was read) and has not arrived whole. */
        private boolean inProgress;
        private long startedNs;
        /** This handler's place, after the HTTP codec: where the 408 is written from. */
        private ChannelHandlerContext here;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            here = ctx;
        }
        /** Body bytes of the request being received on this connection, counted in {@link #receiving}. */
        private long counted;
        private boolean refused;

        RequestReadTimeout(long timeoutMs, long maxReceiving) {
            this.timeoutMs = timeoutMs;
            this.maxReceiving = maxReceiving;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (refused) {
                io.netty.util.ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof io.netty.handler.codec.http.HttpContent c) {
                int n = c.content().readableBytes();
                counted += n;
                if (receiving.addAndGet(n) > maxReceiving) {
                    // Many large bodies at once: this one waits for nobody, and its memory is given back.
                    refused = true;
                    io.netty.util.ReferenceCountUtil.release(msg);
                    release();
                    logLimit(ctx, "refused a request body past --max-receiving-bytes " + maxReceiving);
                    FullHttpResponse res = retryable(HttpResponseStatus.SERVICE_UNAVAILABLE, "node " + server.config().id()
                            + " is receiving " + maxReceiving + " bytes of request bodies at once, its limit"
                            + " (--max-receiving-bytes); send it again later or to another node");
                    res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                    ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
                    return;
                }
            }
            if (msg instanceof io.netty.handler.codec.http.LastHttpContent) {
                inProgress = false;
                if (timer != null) timer.cancel(false);
                timer = null;
                release(); // handed on whole: the handler copies and frees it at once
            }
            ctx.fireChannelRead(msg);
        }

        /**
         * Before the HTTP codec: the clock starts at a request's first byte, so headers trickled a
         * byte at a time are timed too (the codec says nothing until they are complete).
         */
        final io.netty.channel.ChannelInboundHandler firstByte = new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (!inProgress && msg instanceof ByteBuf b && b.isReadable()) {
                    inProgress = true;
                    startedNs = System.nanoTime();
                }
                ctx.fireChannelRead(msg);
            }

            /**
             * A timer only for a request still incomplete when a read ends: one that arrives in a
             * single read (almost all) costs no timer at all.
             */
            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                if (inProgress && timer == null) {
                    long leftNs = startedNs + TimeUnit.MILLISECONDS.toNanos(timeoutMs) - System.nanoTime();
                    timer = ctx.executor().schedule(() -> expired(here), Math.max(0, leftNs), TimeUnit.NANOSECONDS);
                }
                ctx.fireChannelReadComplete();
            }
        };

        private void release() {
            receiving.addAndGet(-counted);
            counted = 0;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timer != null) timer.cancel(false);
            release();
            ctx.fireChannelInactive();
        }

        private void expired(ChannelHandlerContext ctx) {
            if (!ctx.executor().inEventLoop()) {
                // Scheduled before the connection moved to the node's loop: it runs there.
                ctx.executor().execute(() -> expired(ctx));
                return;
            }
            timer = null;
            if (!inProgress) return;
            logLimit(ctx, "closed a connection whose request did not arrive whole within " + timeoutMs
                    + " ms (--request-read-timeout-ms)");
            FullHttpResponse res = error(HttpResponseStatus.REQUEST_TIMEOUT, "the request did not arrive whole within "
                    + timeoutMs + " ms (--request-read-timeout-ms); send its headers and body at once");
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** At most one log line a second for refused handshakes and peers: a flood must not flood the log too. */
    private static final class LogLimiter {
        private final java.util.concurrent.atomic.AtomicLong nextNs = new java.util.concurrent.atomic.AtomicLong();

        boolean tryAcquire() {
            long now = System.nanoTime();
            long next = nextNs.get();
            return now - next >= 0 && nextNs.compareAndSet(next, now + 1_000_000_000L);
        }
    }

    private static final LogLimiter TLS_FAILURE_LOG = new LogLimiter();
    private static final LogLimiter REFUSED_PEER_LOG = new LogLimiter();

    private void logRefusedPeer(ChannelHandlerContext ctx, String path, String why) {
        if (REFUSED_PEER_LOG.tryAcquire()) LOG.warn("node {}: refused {} from {}: {}", server.config().id(), path,
                ctx.channel().remoteAddress(), why);
    }

    private static boolean isPeerRpc(String path) {
        return switch (path) {
            case "/requestVote", "/appendEntries", "/installSnapshot", "/timeoutNow" -> true;
            default -> false;
        };
    }

    static FullHttpResponse json(HttpResponseStatus status, JsonNode body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bytes(status, bytes, HttpHeaderValues.APPLICATION_JSON.toString());
    }

    static FullHttpResponse bytes(HttpResponseStatus status, byte[] body, String contentType) {
        return bytes(status, Unpooled.wrappedBuffer(body), contentType);
    }

    /** A response owning {@code body}: writing it hands the buffer to Netty, which releases it. */
    static FullHttpResponse bytes(HttpResponseStatus status, ByteBuf body, String contentType) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        return res;
    }

    static FullHttpResponse error(HttpResponseStatus status, String message) {
        return json(status, JSON.createObjectNode().put("error", message));
    }

    /** An error for a request refused before anything was done: a client may send it again, here or elsewhere. */
    static FullHttpResponse retryable(HttpResponseStatus status, String message) {
        return json(status, JSON.createObjectNode().put("error", message).put("retryable", true));
    }

    /**
     * Whole requests of at most {@link NodeConfig#MAX_REQUEST_BYTES}. A larger one (refused from its
     * Content-Length before its body is read, or once the body passes the limit) is answered 413 in
     * JSON like every other error, not with Netty's empty 413, and the connection is closed: the
     * rest of the body cannot be told apart from a next request.
     */
    private static final class RequestAggregator extends HttpObjectAggregator {
        RequestAggregator() {
            super(NodeConfig.MAX_REQUEST_BYTES);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
            if (!(oversized instanceof HttpRequest)) {
                super.handleOversizedMessage(ctx, oversized);
                return;
            }
            FullHttpResponse res = error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "the request body is larger than "
                    + NodeConfig.MAX_REQUEST_BYTES + " bytes, the most a node takes; a key may be at most --max-key-bytes"
                    + " and a value --max-value-bytes: split the request");
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * One per connection: its requests are answered through its {@link ResponseOrder}, in the order
     * they came. Every connection starts on a client loop; one whose first peer RPC passes the
     * checks (node certificate, cluster id) moves to the node's loop ({@link #moveToNodeLoop}) and
     * carries peer RPCs only from then on, so that no client, however many or however abusive,
     * stands between Raft and its peers.
     */
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private ResponseOrder order;
        /** This connection's certificate, read at its first request. */
        private Peer peer;
        /** Requests read while the connection moves to the node's loop, handled there in order (null: not moving). */
        private java.util.ArrayDeque<FullHttpRequest> held;
        /** The connection moved to the node's loop: it carries peer RPCs only. */
        private boolean peerConnection;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            order = new ResponseOrder(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            order.closed();
            ctx.fireChannelInactive();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(order.mayRead());
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof io.netty.handler.timeout.IdleStateEvent) {
                // Nothing read or written for --idle-timeout-ms (a watch writes progress events; peers heartbeat).
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (held != null) {
                held.add(req.retain());
                return;
            }
            long startNs = metrics.enabled() ? System.nanoTime() : 0;
            ResponseOrder.Reply reply = order.next(HttpUtil.isKeepAlive(req));
            if (!req.decoderResult().isSuccess()) {
                // The line is sized for the longest key: one longer carries a key past the limit.
                int maxKeyBytes = server.config().maxKeyBytes();
                reply.send(req.decoderResult().cause() instanceof TooLongHttpLineException
                        ? error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "the request line is longer than "
                                + maxRequestLineBytes(maxKeyBytes) + " bytes: a key may be at most " + maxKeyBytes
                                + " bytes (" + 3L * maxKeyBytes + " percent-encoded)")
                        : error(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request"), false);
                return;
            }
            QueryStringDecoder uri = new QueryStringDecoder(req.uri());
            String path;
            Map<String, List<String>> params;
            try {
                // Decoded eagerly: a bad escape such as %zz must get an answer, not an exception that drops the connection.
                path = uri.path();
                params = uri.parameters();
            } catch (IllegalArgumentException e) {
                reply.send(error(HttpResponseStatus.BAD_REQUEST, "malformed URL: " + e.getMessage()
                        + "; percent-encode the key, e.g. GET /get?key=a%20b"));
                return;
            }
            // Netty decodes bytes that are not UTF-8 to U+FFFD: the key would not be the one sent.
            Optional<String> notUtf8 = ValidText.firstParameterNotUtf8(uri.rawQuery());
            if (notUtf8.isPresent()) {
                reply.send(error(HttpResponseStatus.BAD_REQUEST, "query parameter '" + notUtf8.get()
                        + "' is not valid UTF-8 once percent-decoded; percent-encode the UTF-8 bytes of the text,"
                        + " e.g. GET /get?key=caf%C3%A9"));
                return;
            }
            if (peerConnection && !isPeerRpc(path)) {
                reply.send(error(HttpResponseStatus.BAD_REQUEST, "this connection carries peer RPCs (its first request"
                        + " was one); send " + path + " on a connection of its own"), false);
                return;
            }
            if (Boolean.TRUE.equals(ctx.channel().attr(OVER_CAP).get()) && !isPeerRpc(path)) {
                int max = server.config().limits().maxConnections();
                logLimit(ctx, "refused a connection past --max-connections " + max);
                reply.send(retryable(HttpResponseStatus.SERVICE_UNAVAILABLE, "node " + server.config().id() + " has "
                        + max + " connections open, its limit (--max-connections); try again later or use another node"), false);
                return;
            }
            HttpMethod allowed = ROUTES.get(path);
            if (metrics.enabled() && !isPeerRpc(path) && !WebUi.owns(path)) {
                String hops = req.headers().get(ClientRequests.HOPS_HEADER);
                reply.observe(metrics.request(path, hops != null && !hops.equals("0")), startNs);
            }
            if (allowed == null) {
                reply.send(error(HttpResponseStatus.NOT_FOUND, "unknown path " + path
                        + "; the API is POST /put, POST /append, POST /delete, POST /cas, POST /txn, GET /get?key=K,"
                        + " GET /range?prefix=P, GET /watch?prefix=P, POST /lease/grant, POST /lease/keepalive,"
                        + " POST /lease/revoke, GET /lease?id=N, POST /session, GET /status, POST /transfer-leader,"
                        + " GET /members, POST /members/add, POST /members/promote, POST /members/remove, GET /metrics,"
                        + " POST /auth/login, /auth/enable, /auth/disable, GET /auth/status, POST /user/*, POST /role/*,"
                        + " GET /ui (the web view)"));
                return;
            }
            if (!allowed.equals(req.method())) {
                FullHttpResponse res = error(HttpResponseStatus.METHOD_NOT_ALLOWED,
                        path + " takes " + allowed + ", not " + req.method());
                res.headers().set(HttpHeaderNames.ALLOW, allowed.name());
                reply.send(res);
                return;
            }
            if (peer == null) peer = Peer.of(ctx);
            peer.setUserHeader(req.headers());
            switch (path) {
                case "/auth/login", "/auth/enable", "/auth/disable", "/auth/status", "/user/add", "/user/delete",
                     "/user/passwd", "/user/grant-role", "/user/revoke-role", "/user/list", "/role/add", "/role/delete",
                     "/role/grant", "/role/revoke", "/role/list" ->
                        authRequests.handle(reply, path, ByteBufUtil.getBytes(req.content()), req.headers());
                // Decoded from the request's own buffer, before channelRead0 returns and it is released.
                case "/requestVote", "/appendEntries", "/installSnapshot", "/timeoutNow" -> {
                    Optional<String> refused = server.tls().isPresent() ? peer.peerRpcProblem() : Optional.empty();
                    String reason = "no-node-certificate";
                    if (refused.isEmpty() && server.clusterIdentity().isPresent()) {
                        refused = server.clusterIdentity().get().check(req.headers().get(ClusterIdentity.HEADER));
                        reason = req.headers().contains(ClusterIdentity.HEADER) ? "other-cluster" : "no-cluster-id";
                    }
                    if (refused.isPresent()) {
                        server.peerRefused(reason);
                        logRefusedPeer(ctx, path, refused.get());
                        reply.send(error(HttpResponseStatus.FORBIDDEN, refused.get()));
                    } else {
                        peerRpc(ctx, reply, req.content());
                    }
                }
                case "/status" -> reply.send(json(HttpResponseStatus.OK, StatusJson.of(server.status())));
                case "/metrics" -> serveMetrics(reply, req.headers().get(HttpHeaderNames.ACCEPT));
                case "/get" -> clientRequests.get(reply, params, req.headers());
                case "/put" -> clientRequests.write(reply, KvCommand.Op.PUT,
                        ByteBufUtil.getBytes(req.content()), req.headers());
                case "/append" -> clientRequests.write(reply, KvCommand.Op.APPEND,
                        ByteBufUtil.getBytes(req.content()), req.headers());
                case "/session" -> clientRequests.register(reply, req.headers());
                case "/transfer-leader" -> clientRequests.transferLeader(reply, ByteBufUtil.getBytes(req.content()),
                        req.headers());
                case "/members" -> clientRequests.members(reply, req.headers());
                case "/lease" -> clientRequests.lease(reply, req.uri(), params, req.headers());
                case "/delete", "/cas", "/txn", "/lease/grant", "/lease/keepalive", "/lease/revoke" -> clientRequests.writeExt(reply, path.substring(1),
                        ByteBufUtil.getBytes(req.content()), req.headers());
                case "/range" -> clientRequests.range(reply, req.uri(), params, req.headers());
                case "/watch" -> clientRequests.watch(reply, params, req.headers());
                case "/ui", "/ui/app.js", "/ui/app.css", "/ui/state", "/ui/events", "/ui/network", "/ui/control/kill",
                     "/ui/control/restart", "/ui/control/cut", "/ui/control/heal" -> server.webUi().ifPresentOrElse(
                        ui -> ui.handle(path, params, reply),
                        () -> reply.send(error(HttpResponseStatus.NOT_FOUND, "this node serves no web view")));
                case "/members/add", "/members/promote", "/members/remove" -> clientRequests.changeMembership(reply,
                        path.substring("/members/".length()), ByteBufUtil.getBytes(req.content()), req.headers());
                default -> throw new IllegalStateException("route without handler: " + path);
            }
        }

        /**
         * Moves this connection to the node's loop (Netty: deregister from the client loop, register
         * with the node's), then answers {@code first} and the requests read meanwhile there. The
         * idle timer is made again on the new loop; the read timeout follows by itself (it schedules
         * on the connection's loop, and one set before the move hops over).
         */
        private void moveToNodeLoop(ChannelHandlerContext ctx, ResponseOrder.Reply reply, Message first) {
            io.netty.channel.EventLoop nodeLoop = server.nodeLoop().orElseThrow();
            Channel ch = ctx.channel();
            held = new java.util.ArrayDeque<>();
            ch.config().setAutoRead(false);
            ctx.pipeline().remove(IDLE); // its timers cancelled here, on the loop that set them
            ch.deregister().addListener(deregistered -> {
                if (!deregistered.isSuccess()) {
                    abandonMove(ch, deregistered.cause());
                    return;
                }
                nodeLoop.register(ch).addListener(registered -> {
                    if (!registered.isSuccess()) {
                        abandonMove(ch, registered.cause());
                        return;
                    }
                    // On the node's loop from here on.
                    peerConnection = true;
                    ch.pipeline().addAfter(UNREAD, IDLE, idleHandler());
                    deliver(ctx, reply, first);
                    java.util.ArrayDeque<FullHttpRequest> rest = held;
                    held = null;
                    for (FullHttpRequest r; (r = rest.poll()) != null; ) {
                        try {
                            channelRead0(ctx, r);
                        } finally {
                            r.release();
                        }
                    }
                    ch.config().setAutoRead(order.mayRead());
                });
            });
        }

        private void abandonMove(Channel ch, Throwable why) {
            LOG.warn("node {}: could not move a peer connection ({}) to the node's loop: {}", server.config().id(),
                    ch.remoteAddress(), String.valueOf(why));
            if (held != null) held.forEach(FullHttpRequest::release);
            held = null;
            ch.close();
        }

        /** Rendered off the event loop; the answer hops back to it. */
        private void serveMetrics(ResponseOrder.Reply reply, String accept) {
            if (!metrics.enabled()) {
                reply.send(error(HttpResponseStatus.NOT_FOUND, "node " + server.config().id()
                        + " keeps no metrics: it was started with --no-metrics"));
                return;
            }
            metrics.scrape(accept).whenComplete((s, e) -> reply.send(e != null
                    ? error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "metrics could not be rendered: "
                            + io.raftkv.transport.Failures.rootMessage(e))
                    : bytes(HttpResponseStatus.OK, s.body(), s.contentType())));
        }

        private void peerRpc(ChannelHandlerContext ctx, ResponseOrder.Reply reply, ByteBuf body) {
            Message m;
            try {
                m = MessageCodec.decode(body);
            } catch (IllegalArgumentException e) {
                // The codec's message starts with "raft message:" and, for another version's body, says so.
                reply.send(error(HttpResponseStatus.BAD_REQUEST, e.getMessage()));
                return;
            }
            int self = server.config().id();
            // Thesis §4.1: a server takes RPCs from servers outside its configuration (a node that
            // joins has none; a new member's leader is not in its configuration yet).
            if (m.isResponse() || m.to() != self || m.from() == self) {
                reply.send(error(HttpResponseStatus.BAD_REQUEST, "message " + m.getClass().getSimpleName()
                        + " from node " + m.from() + " to node " + m.to() + " is not for node " + self));
                return;
            }
            // A well-formed RPC for this node, on a connection that passed the peer checks: it is a peer's.
            if (!peerConnection && server.nodeLoop().isPresent()) moveToNodeLoop(ctx, reply, m);
            else deliver(ctx, reply, m);
        }

        private void deliver(ChannelHandlerContext ctx, ResponseOrder.Reply reply, Message m) {
            // The answer comes on the node's loop, where this connection is (moved at its first RPC).
            server.deliverRpc(m, (Optional<Message> response) -> {
                if (ctx.executor().inEventLoop()) reply.send(rpcAnswer(ctx, response));
                else ctx.executor().execute(() -> reply.send(rpcAnswer(ctx, response)));
            });
        }

        /** Encoded on the event loop, from its channel's pooled allocator; 204 when the node has no answer. */
        private static FullHttpResponse rpcAnswer(ChannelHandlerContext ctx, Optional<Message> response) {
            String type = MessageCodec.CONTENT_TYPE;
            if (response.isEmpty()) return bytes(HttpResponseStatus.NO_CONTENT, Unpooled.EMPTY_BUFFER, type);
            return bytes(HttpResponseStatus.OK, MessageCodec.encode(response.get(), ctx.alloc()), type);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() instanceof javax.net.ssl.SSLException ssl) {
                // A client of another CA, with an expired certificate, or speaking plain HTTP to HTTPS.
                if (TLS_FAILURE_LOG.tryAcquire()) LOG.info("node {}: TLS handshake with {} failed: {}",
                        server.config().id(), ctx.channel().remoteAddress(), ssl.getMessage());
            } else {
                LOG.debug("HTTP connection error: {}", cause.toString());
            }
            ctx.close();
        }
    }
}
