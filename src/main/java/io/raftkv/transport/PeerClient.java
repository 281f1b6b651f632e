package io.raftkv.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.raftkv.raft.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One persistent, pipelined HTTP connection to a peer. Sending never blocks: when the peer is
 * unreachable or too many requests are outstanding the message is dropped (Raft resends). A
 * message sent while the connection is down waits for the connection attempt it starts (one
 * round trip) and is dropped only if that attempt fails: a follower sends nothing to a peer that
 * restarted until it campaigns, and dropping that first pre-vote or vote cost a whole election
 * timeout (300-500 ms) of failover time.
 */
final class PeerClient {
    private static final Logger LOG = LoggerFactory.getLogger(PeerClient.class);
    /** A request whose round trip is not measured. */
    private static final long NOT_TIMED = Long.MIN_VALUE;

    private final int peerId;
    private final HostPort address;
    private final Bootstrap bootstrap;
    private final Consumer<Message> inbound;
    private final int maxOutstanding;
    private final long reconnectBackoffNs;
    private final AtomicInteger outstanding = new AtomicInteger();
    private final AtomicInteger dropped = new AtomicInteger();

    /** Messages handed over by the Raft loop, written by the connection's event loop. */
    private final ConcurrentLinkedQueue<Message> sendQueue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    /** Messages queued while no connection was up, waiting for the connection attempt. */
    private final AtomicInteger waitingForConnection = new AtomicInteger();
    private final AtomicBoolean retryScheduled = new AtomicBoolean();
    private final String hostHeader;
    /** The cluster id sent with every request (null: none known yet). */
    private final java.util.function.Supplier<String> clusterId;

    private volatile Channel channel;
    private volatile boolean connecting;
    private volatile long lastConnectAttemptNs;
    private volatile boolean reportedDown;
    /** A refusal (400) was logged on the current connection: once per connection is enough to be seen. */
    private volatile boolean reportedRefusal;
    private volatile boolean closed;
    /** When a TLS failure with this peer was last logged (at most one line in 10 s). */
    private volatile long lastTlsWarningNs = System.nanoTime() - 20_000_000_000L;
    private final RoundTripObserver roundTrips;

    PeerClient(int peerId, HostPort address, Optional<String> localAddress, EventLoopGroup group,
               Consumer<Message> inbound, int maxOutstanding, long reconnectBackoffNs, int maxResponseBytes,
               RoundTripObserver roundTrips, java.util.function.Supplier<io.netty.handler.ssl.SslContext> tls,
               java.util.function.Supplier<String> clusterId) {
        this.clusterId = clusterId;
        this.roundTrips = roundTrips;
        this.peerId = peerId;
        this.address = address;
        this.hostHeader = address.toString();
        this.inbound = inbound;
        this.maxOutstanding = maxOutstanding;
        this.reconnectBackoffNs = reconnectBackoffNs;
        this.bootstrap = new Bootstrap().group(group).channel(NettyIo.socketChannel(group))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 1000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // The host name as the configuration names the peer: its certificate must be valid for it.
                        if (tls != null) ch.pipeline().addLast(tls.get().newHandler(ch.alloc(), address.host(), address.port()));
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(maxResponseBytes),
                                new ResponseHandler());
                    }
                });
        // From the node's own address, so that a packet filter sees which node talks to which.
        localAddress.ifPresent(a -> bootstrap.localAddress(new InetSocketAddress(a, 0)));
    }

    /**
     * Queues {@code m} for the connection's event loop, which encodes and writes everything queued
     * and flushes once: the Raft loop hands over a message without encoding it or waking the I/O
     * thread once per message.
     */
    void send(Message m) {
        Channel ch = channel;
        if (ch == null || !ch.isActive()) {
            if (closed || waitingForConnection.get() >= maxOutstanding) {
                dropped.incrementAndGet();
            } else {
                waitingForConnection.incrementAndGet();
                sendQueue.add(m);
            }
            maybeConnect();
            return;
        }
        if (outstanding.get() >= maxOutstanding) {
            dropped.incrementAndGet();
            return;
        }
        sendQueue.add(m);
        if (drainScheduled.compareAndSet(false, true)) ch.eventLoop().execute(() -> drain(ch));
    }

    /** On {@code ch}'s event loop: encodes and writes the queued messages, then flushes once. */
    private void drain(Channel ch) {
        drainScheduled.set(false);
        boolean wrote = false;
        ResponseHandler handler = ch.pipeline().get(ResponseHandler.class);
        Message m;
        while ((m = sendQueue.poll()) != null) {
            if (!ch.isActive() || outstanding.get() >= maxOutstanding) {
                dropped.incrementAndGet(); // Raft resends what matters
                continue;
            }
            // From the channel's (pooled) allocator; the write hands the buffer to Netty, which releases it.
            ByteBuf body = MessageCodec.encode(m, ch.alloc());
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                    MessageCodec.path(m), body);
            req.headers().set(HttpHeaderNames.HOST, hostHeader);
            req.headers().set(HttpHeaderNames.CONTENT_TYPE, MessageCodec.CONTENT_TYPE);
            String cluster = clusterId.get();
            if (cluster != null) req.headers().set("X-Raftkv-Cluster", cluster);
            req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
            outstanding.incrementAndGet();
            if (handler != null) handler.sent(m instanceof Message.AppendEntries);
            ch.write(req, ch.voidPromise());
            wrote = true;
        }
        if (wrote) ch.flush();
    }

    private void maybeConnect() {
        long now = System.nanoTime();
        if (closed || connecting) return;
        long backoffLeftNs = reconnectBackoffNs - (now - lastConnectAttemptNs);
        if (backoffLeftNs > 0) {
            // Queued messages must not wait for a later send to try again: retry when the backoff ends.
            if (waitingForConnection.get() > 0 && retryScheduled.compareAndSet(false, true)) {
                bootstrap.config().group().schedule(() -> {
                    retryScheduled.set(false);
                    maybeConnect();
                }, backoffLeftNs, TimeUnit.NANOSECONDS);
            }
            return;
        }
        synchronized (this) {
            if (connecting) return;
            connecting = true;
            lastConnectAttemptNs = now;
        }
        ChannelFuture f = bootstrap.connect(address.host(), address.port());
        f.addListener((ChannelFuture cf) -> {
            if (cf.isSuccess() && closed) {
                cf.channel().close();
            } else if (cf.isSuccess()) {
                outstanding.set(0);
                reportedRefusal = false;
                channel = cf.channel();
                if (reportedDown) LOG.info("connected to node {} at {}", peerId, address);
                reportedDown = false;
                cf.channel().closeFuture().addListener(c -> outstanding.set(0));
                // What was sent while the connection was down leaves now.
                waitingForConnection.set(0);
                if (!sendQueue.isEmpty() && drainScheduled.compareAndSet(false, true)) {
                    Channel ch = cf.channel();
                    ch.eventLoop().execute(() -> drain(ch));
                }
            } else {
                // The messages that waited for this attempt are dropped (Raft resends).
                Message m;
                while ((m = sendQueue.poll()) != null) dropped.incrementAndGet();
                waitingForConnection.set(0);
                if (!reportedDown) {
                    reportedDown = true;
                    LOG.info("node {} at {} unreachable: {}", peerId, address, Failures.rootMessage(cf.cause()));
                }
            }
            connecting = false;
        });
    }

    int droppedCount() {
        return dropped.get();
    }

    void close() {
        closed = true;
        Channel ch = channel;
        if (ch != null) ch.close().awaitUninterruptibly();
    }

    /** Closes without waiting (from an event loop thread, where waiting is not allowed). */
    void closeAsync() {
        closed = true;
        Channel ch = channel;
        if (ch != null) ch.close();
    }

    HostPort address() {
        return address;
    }


    /** One per connection, on its event loop; answers come in the order of the requests (HTTP/1.1 pipelining). */
    private final class ResponseHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
        /** When each unanswered request left, oldest first (NOT_TIMED: not an AppendEntries): a ring, no allocation. */
        private final long[] sentNs = new long[maxOutstanding + 1];
        private long written;
        private long answered;

        void sent(boolean timed) {
            if (written - answered == sentNs.length) return; // cannot happen: at most maxOutstanding are unanswered
            sentNs[(int) (written++ % sentNs.length)] = timed ? System.nanoTime() : NOT_TIMED;
        }

        private void answered() {
            if (answered == written) return;
            long start = sentNs[(int) (answered++ % sentNs.length)];
            if (start != NOT_TIMED) roundTrips.appendEntriesRoundTrip(peerId, System.nanoTime() - start);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
            outstanding.decrementAndGet();
            answered();
            ByteBuf body = res.content();
            if (res.status().equals(HttpResponseStatus.BAD_REQUEST) && !reportedRefusal) {
                // A peer that refuses every message (another raftkv version, another cluster's config)
                // would otherwise show only as elections that never end; its error body says why.
                reportedRefusal = true;
                LOG.warn("node {} at {} refused a message: {}", peerId, address,
                        body.toString(body.readerIndex(), Math.min(body.readableBytes(), 500), StandardCharsets.UTF_8));
            }
            if (!res.status().equals(HttpResponseStatus.OK) || body.readableBytes() == 0) return;
            try {
                // Decoded in place: the content is released after channelRead0, the message copies what it keeps.
                inbound.accept(MessageCodec.decode(body));
            } catch (IllegalArgumentException e) {
                LOG.warn("bad response from node {}: {}", peerId, e.getMessage());
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Throwable tls = cause instanceof javax.net.ssl.SSLException ? cause
                    : cause.getCause() instanceof javax.net.ssl.SSLException s ? s : null;
            long now = System.nanoTime();
            if (tls != null && now - lastTlsWarningNs > 10_000_000_000L) {
                // A certificate problem on either side: without this line the link just stays down.
                lastTlsWarningNs = now;
                LOG.warn("TLS with node {} at {} failed: {}", peerId, address, tls.getMessage());
            }
            LOG.debug("connection to node {} failed: {}", peerId, cause.toString());
            ctx.close();
        }
    }
}
