package io.raftkv.server;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;

import java.util.HashMap;
import java.util.Map;

/**
 * HTTP/1.1 pipelining on one server connection (RFC 9112 §9.3): responses leave in the order of
 * the requests, whatever order they complete in. Each request read gets the next sequence number
 * ({@link #next}); a response that completes early waits here until every earlier one has been
 * written, then leaves with them in one flush (the design of Netty's and Elasticsearch's
 * {@code HttpPipeliningHandler}).
 *
 * <p>Why a reorder buffer and not "stop reading until the current request is answered": requests
 * of one connection still run concurrently, so a pipelining client's puts share one log write and
 * one fsync (group commit) and its reads share one ReadIndex round, as if they came on separate
 * connections; only the bytes of the answers wait. A request's answer is always bounded by its
 * deadline, so a slow request delays the ones behind it by at most that. To bound the memory a
 * client can make the node hold, reading stops while {@link #MAX_IN_FLIGHT} requests of this
 * connection are unanswered and resumes at half. The bound is the peer transport's window of
 * outstanding messages per peer, so it never holds back a leader's replication stream.
 *
 * <p>Confined to the connection's event loop (the node's thread); {@link Reply#send} may be called
 * from any thread and hops there.
 */
final class ResponseOrder {
    static final int MAX_IN_FLIGHT = 1024;

    private final ChannelHandlerContext ctx;
    /** Sequence number of the next request read. */
    private long nextRequest;
    /** Sequence number of the next response to write: every earlier one is written. */
    private long nextToWrite;
    /** Responses that completed before an earlier one, by sequence number. */
    private final Map<Long, Out> waiting = new HashMap<>();
    /** A response with "Connection: close" was written: the rest are dropped. */
    private boolean closing;

    /** A response: a whole one, or the head of a stream ({@code stream} then owns the connection). */
    private record Out(io.netty.handler.codec.http.HttpResponse res, boolean keepAlive,
                       java.util.function.Consumer<ChannelHandlerContext> stream) {
        Out(FullHttpResponse res, boolean keepAlive) {
            this(res, keepAlive, null);
        }
    }

    ResponseOrder(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Whether reading may go on: few enough requests wait for their answers, and the client reads
     * what it was sent (answers it does not read stop its requests from being read, so the memory
     * they take stays bounded).
     */
    boolean mayRead() {
        return nextRequest - nextToWrite <= MAX_IN_FLIGHT / 2 && ctx.channel().isWritable();
    }

    /** The reply of the request just read (event loop only). */
    Reply next(boolean keepAlive) {
        Reply r = new Reply(this, nextRequest++, keepAlive);
        if (nextRequest - nextToWrite >= MAX_IN_FLIGHT) ctx.channel().config().setAutoRead(false);
        return r;
    }

    /** One request's answer slot; its response is written in the request's turn. Answer it once. */
    static final class Reply {
        private final ResponseOrder order;
        private final long seq;
        private final boolean keepAlive;
        /** Where the answer's status and latency are recorded (null: not recorded); set before the request runs. */
        private NodeMetrics.RequestMeter meter;
        private long startNs;

        private Reply(ResponseOrder order, long seq, boolean keepAlive) {
            this.order = order;
            this.seq = seq;
            this.keepAlive = keepAlive;
        }

        /** The connection's event loop: completions and timers of this request run there. */
        /** The client's address (for per-address limits such as failed logins). */
        String remoteHost() {
            return order.ctx.channel().remoteAddress() instanceof java.net.InetSocketAddress a
                    ? a.getAddress().getHostAddress() : String.valueOf(order.ctx.channel().remoteAddress());
        }

        EventExecutor executor() {
            return order.ctx.executor();
        }

        /** The connection this request came on. */
        io.netty.channel.Channel channel() {
            return order.ctx.channel();
        }

        void send(FullHttpResponse res) {
            send(res, keepAlive);
        }

        /** Records this request's answer in {@code meter} (if not null), timed from {@code startNs}. */
        void observe(NodeMetrics.RequestMeter meter, long startNs) {
            this.meter = meter;
            this.startNs = startNs;
        }

        private void record(io.netty.handler.codec.http.HttpResponse res) {
            if (meter != null) meter.record(res.status().code(), System.nanoTime() - startNs);
        }

        /**
         * Answers with a stream (Server-Sent Events): in this request's turn {@code head} is written
         * and {@code stream} takes the connection over, on its event loop; it writes the body's
         * chunks and closes the connection when done. Requests pipelined after it get no answer.
         */
        void stream(io.netty.handler.codec.http.HttpResponse head, java.util.function.Consumer<ChannelHandlerContext> stream) {
            record(head);
            Out out = new Out(head, false, stream);
            if (executor().inEventLoop()) order.complete(seq, out);
            else executor().execute(() -> order.complete(seq, out));
        }

        /** As {@link #send(FullHttpResponse)}, closing the connection after it unless {@code keepAlive}. */
        void send(FullHttpResponse res, boolean keepAlive) {
            record(res);
            if (executor().inEventLoop()) order.complete(seq, new Out(res, keepAlive && this.keepAlive));
            else executor().execute(() -> order.complete(seq, new Out(res, keepAlive && this.keepAlive)));
        }
    }

    private void complete(long seq, Out out) {
        if (closing || !ctx.channel().isActive()) {
            ReferenceCountUtil.release(out.res());
            return;
        }
        if (seq != nextToWrite) {
            waiting.put(seq, out);
            return;
        }
        boolean wrote = false;
        for (Out o = out; o != null && !closing; o = waiting.remove(nextToWrite)) {
            nextToWrite++;
            wrote = true;
            write(o);
        }
        if (wrote && !closing) ctx.flush();
        if (!ctx.channel().config().isAutoRead() && mayRead()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void write(Out o) {
        if (o.stream() != null) {
            closing = true;
            ctx.writeAndFlush(o.res());
            releaseWaiting();
            o.stream().accept(ctx);
            return;
        }
        if (o.keepAlive()) {
            o.res().headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.write(o.res(), ctx.voidPromise());
            return;
        }
        closing = true;
        o.res().headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(o.res()).addListener(ChannelFutureListener.CLOSE);
        releaseWaiting();
    }

    /** The connection closed: responses still waiting for their turn will never be written. */
    void closed() {
        closing = true;
        releaseWaiting();
    }

    private void releaseWaiting() {
        waiting.values().forEach(o -> ReferenceCountUtil.release(o.res()));
        waiting.clear();
    }
}
