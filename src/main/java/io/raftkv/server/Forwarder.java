package io.raftkv.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.AbstractChannelPoolMap;
import io.netty.channel.pool.SimpleChannelPool;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.raftkv.transport.HostPort;

import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Relays a client request from a follower to the leader over pooled, persistent HTTP/1.1
 * connections on the node's own event loop: no thread hop, no connection per request. One
 * request at a time per connection, so the pool opens as many connections as there are requests
 * in flight and keeps them: the leader answers pipelined requests in order, so pipelining here
 * would make a quick read wait behind a slow write of another client. A connection attempt gives
 * up after {@code connectTimeoutMs} (an election timeout): a leader that cannot be reached by
 * then is reported to the client, which tries another node.
 */
final class Forwarder implements AutoCloseable {
    /** What became of a forwarded request; the caller decides what each means for the client. */
    sealed interface Result {
        /** The leader answered. */
        record Answered(int status, byte[] body) implements Result {}

        /** No connection could be made: the request never reached the leader. */
        record NotSent(Throwable cause) implements Result {}

        /** The connection failed after the request may have left. */
        record Lost(Throwable cause) implements Result {}

        /** No answer within the time given: the request may or may not have been applied. */
        record TimedOut() implements Result {}
    }

    private static final AttributeKey<Pending> PENDING = AttributeKey.valueOf("raftkv.forward.pending");

    private final AbstractChannelPoolMap<HostPort, SimpleChannelPool> pools;

    private record Pending(CompletableFuture<Result> result, SimpleChannelPool pool) {}

    /** {@code localAddress}: connect from the node's own address, as its peer RPCs do (a partition cuts both). */
    Forwarder(EventLoopGroup group, Optional<String> localAddress, int maxResponseBytes, int connectTimeoutMs) {
        this(group, localAddress, maxResponseBytes, connectTimeoutMs, null);
    }

    /** With {@code tls} not null, to the leader over TLS with the context it supplies at each connection. */
    Forwarder(EventLoopGroup group, Optional<String> localAddress, int maxResponseBytes, int connectTimeoutMs,
              java.util.function.Supplier<io.netty.handler.ssl.SslContext> tls) {
        Bootstrap base = new Bootstrap().group(group).channel(io.raftkv.transport.NettyIo.socketChannel(group))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs);
        localAddress.ifPresent(a -> base.localAddress(new InetSocketAddress(a, 0)));
        this.pools = new AbstractChannelPoolMap<>() {
            @Override
            protected SimpleChannelPool newPool(HostPort to) {
                return new SimpleChannelPool(base.clone().remoteAddress(to.host(), to.port()), new AbstractChannelPoolHandler() {
                    @Override
                    public void channelCreated(Channel ch) {
                        // Over TLS, to the leader's address as the configuration names it (its certificate must say so).
                        if (tls != null) ch.pipeline().addLast(tls.get().newHandler(ch.alloc(), to.host(), to.port()));
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(maxResponseBytes),
                                new ResponseHandler());
                    }
                });
            }
        };
    }

    /** Sends {@code method uri} (with {@code body} as JSON if not null) to {@code to}; never fails the future. */
    CompletableFuture<Result> send(HostPort to, HttpMethod method, String uri, byte[] body, int hops, long timeoutMs) {
        return send(to, method, uri, body, hops, timeoutMs, java.util.Map.of());
    }

    /** As above, with {@code headers} too (the client's credentials, which the leader checks again). */
    CompletableFuture<Result> send(HostPort to, HttpMethod method, String uri, byte[] body, int hops, long timeoutMs,
                                   java.util.Map<String, String> headers) {
        CompletableFuture<Result> result = new CompletableFuture<>();
        SimpleChannelPool pool = pools.get(to);
        pool.acquire().addListener((Future<Channel> acquired) -> {
            if (!acquired.isSuccess()) {
                result.complete(new Result.NotSent(acquired.cause()));
                return;
            }
            Channel ch = acquired.getNow();
            ch.attr(PENDING).set(new Pending(result, pool));
            // The connection is in an unknown state after a timeout: closed, so the pool drops it.
            // Checked by the loop's deadline sweep; once this request is answered, never (the
            // connection may carry another request by then).
            RequestDeadlines.watch(ch.eventLoop(), System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(1, timeoutMs)),
                    result, () -> finish(ch, new Result.TimedOut(), true));
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, uri,
                    body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            req.headers().set(HttpHeaderNames.HOST, to.toString());
            req.headers().set(ClientRequests.HOPS_HEADER, hops);
            headers.forEach((k, v) -> req.headers().set(k, v));
            req.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            if (body != null) req.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
            req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
            ch.writeAndFlush(req).addListener(written -> {
                if (!written.isSuccess()) finish(ch, new Result.Lost(written.cause()), true);
            });
        });
        return result;
    }

    /**
     * Completes the request pending on {@code ch} (once) and gives the channel back to its pool,
     * closed first when {@code close} (the pool then drops it instead of reusing it).
     */
    private static void finish(Channel ch, Result r, boolean close) {
        if (close) ch.close();
        Pending p = ch.attr(PENDING).getAndSet(null);
        if (p == null) return;
        p.pool().release(ch);
        p.result().complete(r);
    }

    @Override
    public void close() {
        pools.close();
    }

    private static final class ResponseHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
            finish(ctx.channel(), new Result.Answered(res.status().code(), ByteBufUtil.getBytes(res.content())),
                    !HttpUtil.isKeepAlive(res));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(ctx.channel(), new Result.Lost(new java.io.IOException("the leader closed the connection")), false);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(ctx.channel(), new Result.Lost(cause), true);
        }
    }
}
