package io.raftkv.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.kv.WatchEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Watches ({@code GET /watch}): Server-Sent Events streams of the changes to a key or a prefix,
 * served by any node from its applied state (etcd's watch, over HTTP). A watch starts from a
 * revision: the kept history replays what happened since, then the stream follows live, in
 * revision order, each change once. Lives on the node's thread, the only one that applies entries;
 * the streams' connections live on the client event loops, and the events written to them from
 * here are handed over by Netty (a write from outside a channel's loop becomes a task on it).
 *
 * <p>Bounded: a watcher whose connection has more than {@link #MAX_PENDING_BYTES} unsent is too
 * slow; its stream ends with an {@code error} event saying so, and the client resumes from the
 * revision after the last it saw. Idle streams get a {@code progress} event with the applied
 * revision every {@code progressMs}, so that a client knows it missed nothing up to there.
 */
final class WatchHub {
    private static final Logger LOG = LoggerFactory.getLogger(WatchHub.class);
    /** Unsent bytes a watcher may have queued before it is cut off as too slow. */
    static final long MAX_PENDING_BYTES = 4L * 1024 * 1024;

    private final KvStateMachine kv;
    private final int nodeId;
    private final Set<Watcher> watchers = new LinkedHashSet<>();
    /** Watches admitted whose connection is still open (streaming, or about to): the --max-watches count. */
    private final java.util.concurrent.atomic.AtomicInteger admitted = new java.util.concurrent.atomic.AtomicInteger();
    /** Runs a task on the node's thread. */
    private final java.util.concurrent.Executor node;

    WatchHub(KvStateMachine kv, int nodeId, java.util.concurrent.Executor node) {
        this.kv = kv;
        this.nodeId = nodeId;
        this.node = node;
    }

    /** What a watch asks for: a key, or every key starting with it; events from {@code fromRevision} on (0: from now). */
    record Request(String key, boolean prefix, long fromRevision) {}

    /** One admitted watch's place in the count, given back once (when its connection closes, or it is refused). */
    final class Slot {
        private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

        void release() {
            if (released.compareAndSet(false, true)) admitted.decrementAndGet();
        }
    }

    /**
     * Admits a watch on {@code reply}'s connection unless {@code max} are admitted already (any
     * thread, so that the limit holds however fast watches come): its slot is given back when that
     * connection closes (a stream ends by closing it), or by {@link #open} if it refuses the watch.
     */
    Optional<Slot> reserve(int max, ResponseOrder.Reply reply) {
        for (int n = admitted.get(); ; n = admitted.get()) {
            if (n >= max) return Optional.empty();
            if (admitted.compareAndSet(n, n + 1)) break;
        }
        Slot slot = new Slot();
        reply.channel().closeFuture().addListener(f -> slot.release());
        return Optional.of(slot);
    }

    /**
     * Starts a watch on {@code reply} (node thread): 410 with the compacted revision when the
     * history no longer reaches {@code fromRevision}, else the stream.
     */
    void open(Request req, ResponseOrder.Reply reply, Slot slot) {
        long applied = kv.appliedIndex();
        long from = req.fromRevision() == 0 ? applied + 1 : req.fromRevision();
        long firstKept = kv.history().firstKeptRevision();
        if (from < firstKept) {
            slot.release(); // no stream: the connection stays for other requests
            reply.send(HttpApi.json(HttpResponseStatus.GONE, HttpApi.JSON.createObjectNode()
                    .put("error", "revision " + from + " is compacted: node " + nodeId + " keeps changes from revision "
                            + firstKept + " on. Read the current state (GET /range) and watch from its revision + 1")
                    .put("compactRevision", firstKept - 1)));
            return;
        }
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        // The request's turn comes on the connection's loop; the stream starts on the node's thread.
        reply.stream(head, ctx -> node.execute(() -> start(ctx, req, from)));
    }

    /** After the request's turn, on the node's thread: replays the history, then follows live. */
    private void start(ChannelHandlerContext ctx, Request req, long from) {
        Watcher w = new Watcher(ctx, req.key(), req.prefix(), from);
        long firstKept = kv.history().firstKeptRevision();
        if (from < firstKept) { // compacted between the check and this turn
            w.end("compacted", "revision " + from + " is compacted; the oldest kept is " + firstKept
                    + ". Read the current state and watch from its revision + 1", firstKept - 1);
            return;
        }
        ObjectNode created = HttpApi.JSON.createObjectNode().put("revision", kv.appliedIndex())
                .put(req.prefix() ? "prefix" : "key", req.key()).put("fromRevision", from).put("node", nodeId);
        w.send("created", null, created);
        w.deliver(kv.history().since(from, req.key(), req.prefix()));
        w.flush();
        if (!ctx.channel().isActive()) return; // closed before its turn: nothing to follow
        watchers.add(w);
        ctx.channel().closeFuture().addListener(f -> node.execute(() -> watchers.remove(w)));
    }

    /** The changes of one applied entry (node thread). */
    void onEvents(List<WatchEvent> events) {
        if (watchers.isEmpty()) return;
        for (Watcher w : List.copyOf(watchers)) {
            w.deliver(events);
            w.flush();
        }
    }

    /**
     * A snapshot from the leader replaced the state at {@code index}: the changes before it are not
     * known here, so a watch that had not reached it cannot go on without a gap.
     */
    void onSnapshotInstalled(long index) {
        for (Watcher w : List.copyOf(watchers)) {
            if (w.next <= index) {
                w.end("compacted", "node " + nodeId + " installed a snapshot at revision " + index
                        + " from the leader; the changes before it are not kept here. Read the current state and"
                        + " watch from its revision + 1 (or watch another node from revision " + w.next + ")", index);
            }
        }
    }

    /** A progress event to every watcher that sent nothing since the last round (node thread). */
    void progress() {
        long applied = kv.appliedIndex();
        for (Watcher w : List.copyOf(watchers)) {
            if (!w.sentSinceProgress) w.send("progress", null, HttpApi.JSON.createObjectNode().put("revision", applied));
            w.sentSinceProgress = false;
            w.flush();
        }
    }

    /** Watches admitted and not closed (any thread). */
    int size() {
        return admitted.get();
    }

    /** Ends every stream (the node stops). */
    void closeAll(String why) {
        for (Watcher w : List.copyOf(watchers)) w.end("closed", why, -1);
    }

    private final class Watcher {
        final ChannelHandlerContext ctx;
        final String key;
        final boolean prefix;
        /** The revision of the next event this watcher may get: every earlier one was sent or did not match. */
        long next;
        boolean sentSinceProgress;
        boolean ended;

        Watcher(ChannelHandlerContext ctx, String key, boolean prefix, long from) {
            this.ctx = ctx;
            this.key = key;
            this.prefix = prefix;
            this.next = from;
        }

        void deliver(List<WatchEvent> events) {
            for (WatchEvent e : events) {
                if (ended) return;
                if (e.revision() < next || !e.matches(key, prefix)) continue;
                ObjectNode o = HttpApi.JSON.createObjectNode().put("type", e.type().label()).put("key", e.key());
                if (e.value() != null) o.put("value", e.value());
                o.put("revision", e.revision());
                if (e.type() == WatchEvent.Type.PUT || e.type() == WatchEvent.Type.APPEND) o.put("createRevision", e.createRevision()).put("version", e.version());
                send(e.type().label(), e.revision(), o);
            }
            if (!events.isEmpty()) next = Math.max(next, events.getLast().revision() + 1);
            ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
            if (!ended && out != null && out.totalPendingWriteBytes() > MAX_PENDING_BYTES) {
                end("slow", "the watcher reads too slowly: more than " + MAX_PENDING_BYTES + " bytes of events wait"
                        + " unsent. Resume from revision " + next, -1);
            }
        }

        void send(String event, Long id, ObjectNode data) {
            if (ended) return;
            StringBuilder sb = new StringBuilder(128);
            if (id != null) sb.append("id: ").append(id).append('\n');
            sb.append("event: ").append(event).append('\n');
            try {
                sb.append("data: ").append(HttpApi.JSON.writeValueAsString(data)).append("\n\n");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            ByteBuf buf = Unpooled.copiedBuffer(sb, StandardCharsets.UTF_8);
            ctx.write(new DefaultHttpContent(buf), ctx.voidPromise());
            sentSinceProgress = true;
        }

        void flush() {
            if (!ended) ctx.flush();
        }

        /** The last event: why the stream ends ({@code compactRevision} for "compacted"), then the connection closes. */
        void end(String reason, String why, long compactRevision) {
            if (ended) return;
            ObjectNode o = HttpApi.JSON.createObjectNode().put("reason", reason).put("error", why);
            if (compactRevision >= 0) o.put("compactRevision", compactRevision);
            send("error", null, o);
            ended = true;
            watchers.remove(this);
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
            LOG.debug("node {}: watch of {}{} ended: {}", nodeId, key, prefix ? "*" : "", why);
        }
    }

    /** For tests: the revisions each watcher expects next. */
    List<Long> nextRevisions() {
        List<Long> out = new ArrayList<>();
        for (Watcher w : watchers) out.add(w.next);
        return out;
    }
}
