package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.EventExecutor;
import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.node.ReadOutcome;
import io.raftkv.node.TransferOutcome;
import io.raftkv.node.WriteOutcome;
import io.raftkv.transport.Failures;
import io.raftkv.transport.HostPort;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Client requests: validation, then execution on this node if it leads, else forwarding to the
 * leader. A request answers within its deadline, and sooner when waiting cannot help:
 * <ul>
 *   <li>a request that finds no leader waits for one (retrying every {@link #RETRY_MS}) only while
 *       this node has heard from a leader within an election timeout; after that no leader is
 *       reachable from here (this node is cut off, or an election is not converging), and it
 *       answers 503 {@code "noLeaderReachable":true} at once, naming the last leader it knew, so
 *       the client tries another node instead of waiting out its timeout;</li>
 *   <li>a forward that cannot connect to the leader (within an election timeout) answers the same;</li>
 *   <li>a forwarded request whose leader goes silent for an election timeout while it waits is
 *       given up the same way (a write's outcome is then unknown);</li>
 *   <li>a request that reached the forwarding limit ({@link #MAX_HOPS}) at a node that is not the
 *       leader either answers 508 at once.</li>
 * </ul>
 * Every answer says whether a write may still commit ({@code "retryable"}).
 */
final class ClientRequests implements AutoCloseable {
    /** Number of times a request was forwarded; bounded so a stale leader hint cannot loop. */
    static final String HOPS_HEADER = "X-Raftkv-Hops";
    static final int MAX_HOPS = 2;
    /** A request waiting for a leader asks again this often: one tick, as often as the core can change its mind. */
    private static final long RETRY_MS = 10;

    private final LocalNode server;
    private final NodeMetrics metrics;
    private final Forwarder forwarder;
    /** How long without a word from a leader before this node says none is reachable from it. */
    private final long leaderSilenceLimitMs;

    ClientRequests(LocalNode server, EventLoopGroup group) {
        this.server = server;
        this.metrics = server.metrics();
        // One election timeout: by then a follower that still hears nothing starts an election itself.
        this.leaderSilenceLimitMs = server.config().electionMinMs();
        // Forwarded requests leave from the node's own address, like its peer RPCs: a partition
        // between two node addresses then cuts forwarding too.
        this.forwarder = new Forwarder(group, server.config().bindAddress(), 64 * 1024 * 1024,
                (int) leaderSilenceLimitMs, server.tls().<java.util.function.Supplier<io.netty.handler.ssl.SslContext>>map(
                        t -> t::client).orElse(null));
    }

    /** Who a request speaks for, passed on when it is forwarded: the leader checks it again. */
    record Credentials(String authorization, String certUser) {
        static Credentials of(HttpHeaders headers) {
            return new Credentials(headers.get(io.netty.handler.codec.http.HttpHeaderNames.AUTHORIZATION),
                    headers.get(Authorizer.CERT_USER_HEADER));
        }

        Map<String, String> asHeaders() {
            Map<String, String> h = new java.util.HashMap<>();
            if (authorization != null) h.put(io.netty.handler.codec.http.HttpHeaderNames.AUTHORIZATION.toString(), authorization);
            if (certUser != null) h.put(Authorizer.CERT_USER_HEADER, certUser);
            return h;
        }
    }

    /**
     * Proposes an auth change ({@link AuthRequests}) as a write of its own, forwarded to the leader
     * like any other (with the request's body and credentials, so the leader checks them again).
     */
    void proposeAuth(ResponseOrder.Reply reply, String path, byte[] body, HttpHeaders headers, KvCommand cmd) {
        Call call = callOrRefuse(reply, path, body, headers, Kind.WRITE);
        if (call != null) runWrite(call, cmd);
    }

    /**
     * The call of a request whose only input to check here is the forwarding header: null once
     * answered 400 when that header is bad.
     */
    private Call callOrRefuse(ResponseOrder.Reply reply, String path, byte[] body, HttpHeaders headers, Kind kind) {
        try {
            return new Call(reply, path, body, deadline(), hops(headers), kind, Credentials.of(headers));
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return null;
        }
    }

    /**
     * A read of the auth state ({@code /auth/status}, {@code /user/list}, {@code /role/list}) at
     * least as new as the last change any client saw acknowledged: answered by the leader after a
     * ReadIndex round (a follower forwards it), so that {@code auth enable} then {@code auth status}
     * through another node does not read "off".
     */
    void authRead(ResponseOrder.Reply reply, String path, HttpHeaders headers,
                  java.util.function.Supplier<FullHttpResponse> answer) {
        atLeader(reply, path, null, headers, () -> reply.send(answer.get()));
    }

    /**
     * Runs {@code whenCurrent} on the leader once a ReadIndex round confirmed its state is current
     * (a follower forwards the request, {@code body} and credentials included, to the leader).
     */
    void atLeader(ResponseOrder.Reply reply, String path, byte[] body, HttpHeaders headers, Runnable whenCurrent) {
        Call call = callOrRefuse(reply, path, body, headers, Kind.READ);
        if (call != null) runAtLeader(call, whenCurrent);
    }

    private void runAtLeader(Call call, Runnable whenCurrent) {
        if (refusedForFullDisk(call)) return;
        call.withDeadline(server.read(""))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(HttpApi.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "no leader could serve the read within "
                                + server.config().requestTimeoutMs() + " ms (no quorum?)"));
                        return;
                    }
                    switch (outcome) {
                        case ReadOutcome.Value<Optional<io.raftkv.kv.KeyValue>> v -> whenCurrent.run();
                        case ReadOutcome.NotLeader<Optional<io.raftkv.kv.KeyValue>> n -> forwardOrWait(call, n.leaderHint(),
                                () -> runAtLeader(call, whenCurrent));
                    }
                }, call.executor());
    }

    /** Session registrations per client address in the current minute: count and the minute's start. */
    private final Map<String, long[]> registrations = new java.util.HashMap<>();

    /** Synchronized: one client loop today, but the count must stay right with several. */
    private synchronized boolean sessionRegistrationAllowed(String address) {
        long now = System.nanoTime();
        if (registrations.size() > 100_000) registrations.values().removeIf(w -> now - w[1] >= 60_000_000_000L);
        long[] w = registrations.computeIfAbsent(address, a -> new long[] {0, now});
        if (now - w[1] >= 60_000_000_000L) {
            w[0] = 0;
            w[1] = now;
        }
        if (w[0] >= server.config().limits().maxSessionsPerAddress()) return false;
        w[0]++;
        return true;
    }

    /** Answers 401 or 403 and returns true when the request's user may not do it (auth on only). */
    private boolean denied(ResponseOrder.Reply reply, HttpHeaders headers, Authorizer.Need need) {
        Optional<FullHttpResponse> refusal = Authorizer.check(server.authStore(), headers, need);
        if (refusal.isEmpty()) return false;
        reply.send(refusal.get());
        return true;
    }

    /** What a request does, which decides what a failure may have done. */
    private enum Kind { READ, WRITE, TRANSFER, MEMBERSHIP }

    /** A validated request: what to run locally and how to forward it. */
    private record Call(ResponseOrder.Reply reply, String path, byte[] body, long deadlineNs, int hops, Kind kind,
                        Credentials credentials) {
        boolean isWrite() {
            return kind == Kind.WRITE;
        }

        long remainingMs() {
            return TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
        }

        EventExecutor executor() {
            return reply.executor();
        }

        /**
         * {@code f}, failed with a TimeoutException at the deadline: checked by the connection's
         * client loop in its periodic sweep ({@link RequestDeadlines}), no timer per request.
         */
        <T> CompletableFuture<T> withDeadline(CompletableFuture<T> f) {
            return RequestDeadlines.failAt(executor(), deadlineNs, f);
        }

        void reply(FullHttpResponse res) {
            reply.send(res);
        }
    }

    // ---------------------------------------------------------------- writes

    void write(ResponseOrder.Reply reply, KvCommand.Op op, byte[] body, HttpHeaders headers) {
        KvCommand cmd;
        int hops;
        try {
            cmd = parseWrite(op, body);
            hops = hops(headers);
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        if (denied(reply, headers, Authorizer.keys(Authorizer.KeyNeed.key(io.raftkv.auth.AuthOp.Permission.READWRITE,
                cmd.key())))) return;
        Call call = new Call(reply, "/" + op.label(), body, deadline(), hops, Kind.WRITE, Credentials.of(headers));
        checkLeaseThenWrite(call, cmd);
    }

    /** {@code POST /delete}, {@code /cas}, {@code /txn} ({@code op} is the path's name): one command each. */
    void writeExt(ResponseOrder.Reply reply, String op, byte[] body, HttpHeaders headers) {
        KvCommand cmd;
        int hops;
        try {
            cmd = KvApiJson.parse(op, body, new KvApiJson.Limits(server.config().maxKeyBytes(), server.config().maxValueBytes()));
            hops = hops(headers);
        } catch (KvApiJson.Bad e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        if (denied(reply, headers, Authorizer.of(cmd.ext()))) return;
        checkLeaseThenWrite(new Call(reply, "/" + op, body, deadline(), hops, Kind.WRITE, Credentials.of(headers)), cmd);
    }

    /** {@code POST /session}: registers a client session for exactly-once writes (thesis §6.3). */
    void register(ResponseOrder.Reply reply, HttpHeaders headers) {
        Call call = callOrRefuse(reply, "/session", new byte[0], headers, Kind.WRITE);
        if (call == null || denied(reply, headers, Authorizer.ANY_USER)) return;
        if (call.hops() == 0 && !sessionRegistrationAllowed(reply.remoteHost())) {
            int max = server.config().limits().maxSessionsPerAddress();
            FullHttpResponse res = HttpApi.error(HttpResponseStatus.TOO_MANY_REQUESTS, "address " + reply.remoteHost()
                    + " registered " + max + " sessions in the last minute, the limit (--max-sessions-per-address):"
                    + " reuse a session for all of a client's writes");
            res.headers().set("Retry-After", 60);
            reply.send(res);
            return;
        }
        runWrite(call, KvCommand.register());
    }

    /**
     * A write outside a session that names a lease (a put or cas with one, a keep-alive, a revoke)
     * is proposed only if the lease exists, read linearizably on the leader: a mistyped or expired
     * lease id is then refused without writing a log entry, so it uses no revision. The state
     * machine checks again when the entry applies, for a lease that ends in between. A write in a
     * session is not checked here: its resend must get the answer of its first attempt (thesis
     * §6.3), which only the state machine's session table knows. On a follower the read finds no
     * leader and the write is forwarded as it is: the leader checks it.
     */
    private void checkLeaseThenWrite(Call call, KvCommand cmd) {
        long lease = switch (cmd.ext()) {
            case io.raftkv.kv.KvOp.Put p -> p.lease();
            case io.raftkv.kv.KvOp.Cas c -> c.lease();
            case io.raftkv.kv.KvOp.LeaseKeepAlive k -> k.id();
            case io.raftkv.kv.KvOp.LeaseRevoke r -> r.id();
            case null, default -> 0;
        };
        if (lease == 0 || cmd.hasSession()) {
            runWrite(call, cmd);
            return;
        }
        call.withDeadline(server.lease(lease))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                                .put("error", "lease " + lease + " could not be checked within "
                                        + server.config().requestTimeoutMs() + " ms (no quorum?); the write was not applied")
                                .put("retryable", true)));
                        return;
                    }
                    switch (outcome) {
                        case ReadOutcome.Value<Optional<ObjectNode>> v when v.value().isEmpty() -> call.reply(
                                HttpApi.json(HttpResponseStatus.NOT_FOUND, leaseNotFound(lease)));
                        case ReadOutcome.Value<Optional<ObjectNode>> v -> runWrite(call, cmd);
                        case ReadOutcome.NotLeader<Optional<ObjectNode>> n -> runWrite(call, cmd);
                    }
                }, call.executor());
    }

    /** The answer to a write naming a lease that does not exist: the same whether refused before proposing or when applied. */
    private ObjectNode leaseNotFound(long lease) {
        ObjectNode o = HttpApi.JSON.createObjectNode()
                .put("error", "lease " + lease + " does not exist (never granted, expired or revoked); nothing"
                        + " was applied. Grant a new one with POST /lease/grant").put("leaseNotFound", true);
        o.set("leader", StatusJson.leader(server.config().id(), server.config().self().toString()));
        return o;
    }

    /**
     * While this node's disk is full it proposes nothing and answers no linearizable read (both
     * wait on its log, which cannot grow): a 503 that says so at once, nothing applied, instead of a
     * timeout with an unknown outcome. Reads with {@code consistency=stale} go on.
     */
    private boolean refusedForFullDisk(Call call) {
        Optional<String> full = server.diskFull();
        if (full.isEmpty()) return false;
        call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                .put("error", "node " + server.config().id() + " cannot write: " + full.get() + "; nothing was applied."
                        + " Free space there (writes resume by themselves), or use another node; reads with"
                        + " consistency=stale still work here")
                .put("retryable", true).put("diskFull", true)));
        return true;
    }

    private void runWrite(Call call, KvCommand cmd) {
        if (refusedForFullDisk(call)) return;
        // Answers are built on the connection's client loop, not on the node's loop that completes the future.
        call.withDeadline(server.propose(cmd))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(unknownOutcome(err instanceof TimeoutException
                                ? "the write was not committed within " + server.config().requestTimeoutMs() + " ms"
                                : "the write failed on node " + server.config().id() + ": " + Failures.rootMessage(err)));
                        return;
                    }
                    switch (outcome) {
                        case WriteOutcome.Applied<ApplyResult> a -> call.reply(applied(cmd, a));
                        // Another entry took its index: it will never apply, so trying again is safe.
                        case WriteOutcome.Superseded<ApplyResult> s -> retryLater(call, () -> runWrite(call, cmd));
                        case WriteOutcome.Unknown<ApplyResult> u -> call.reply(unknownOutcome(u.reason()));
                        case WriteOutcome.NotLeader<ApplyResult> n -> forwardOrWait(call, n.leaderHint(),
                                () -> runWrite(call, cmd));
                        // Thesis §3.10: held here until the target leads (then forwarded to it) or the
                        // leader gives up the transfer (then proposed here): within an election timeout,
                        // far less than a client's retry after a 503 would cost.
                        case WriteOutcome.TransferInProgress<ApplyResult> t -> retryLater(call, () -> runWrite(call, cmd),
                                "leadership transfer to node " + t.target() + " in progress");
                    }
                }, call.executor());
    }

    private FullHttpResponse applied(KvCommand cmd, WriteOutcome.Applied<ApplyResult> a) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        HttpResponseStatus status = HttpResponseStatus.OK;
        switch (a.result()) {
            case ApplyResult.Applied r -> o.put("ok", true).put("op", cmd.op().label()).put("key", cmd.key())
                    .put("value", r.value()).put("index", a.index()).put("term", a.term()).put("revision", a.index());
            case ApplyResult.Deleted r -> o.setAll(KvApiJson.result(r, a.index()).put("op", cmd.op().label()));
            case ApplyResult.Cas r -> o.setAll(KvApiJson.result(r, a.index()).put("op", cmd.op().label()));
            case ApplyResult.Txn r -> o.setAll(KvApiJson.result(r, a.index()).put("op", cmd.op().label()));
            case ApplyResult.Lease r -> o.setAll(KvApiJson.result(r, a.index()));
            case ApplyResult.LeaseEnded r -> o.setAll(KvApiJson.result(r, a.index()));
            case ApplyResult.LeaseNotFound r -> {
                status = HttpResponseStatus.NOT_FOUND;
                o.setAll(leaseNotFound(r.leaseId()));
            }
            case ApplyResult.LeasesExpired r -> o.put("ok", true).put("expired", r.leaseIds().size()).put("deleted", r.deleted());
            case ApplyResult.AuthChanged r -> {
                status = HttpResponseStatus.valueOf(r.status());
                if (r.status() == 200) o.put("ok", true).put("message", r.message()).put("index", a.index());
                else o.put("error", r.message() + "; nothing was changed");
            }
            case ApplyResult.Duplicate d when d.original() instanceof ApplyResult.LeaseNotFound r -> {
                status = HttpResponseStatus.NOT_FOUND;
                o.put("error", "lease " + r.leaseId() + " does not exist; nothing was applied").put("duplicate", true);
            }
            // A resend of a delete, cas or txn repeats what it did the first time (thesis §6.3).
            case ApplyResult.Duplicate d when d.original() != null -> o.setAll(KvApiJson.result(d.original(), d.index())
                    .put("op", cmd.op().label()).put("duplicate", true));
            case ApplyResult.Registered r -> o.put("ok", true).put("clientId", r.clientId()).put("index", a.index());
            // A retry of a write that was already applied: answered from the session table, not applied again,
            // with the revision it was applied at (a client that resent after a failover builds on it too).
            case ApplyResult.Duplicate d -> o.put("ok", true).put("op", cmd.op().label()).put("key", cmd.key())
                    .put("duplicate", true).put("index", d.index()).put("revision", d.index());
            case ApplyResult.SessionExpired e -> {
                status = HttpResponseStatus.CONFLICT;
                o.put("error", "client session " + e.clientId() + " is unknown or expired; nothing was applied."
                        + " Register a new session with POST /session").put("sessionExpired", true);
            }
            case ApplyResult.StaleSeq e -> {
                status = HttpResponseStatus.CONFLICT;
                o.put("error", "seq " + e.seq() + " of client " + e.clientId() + " is older than its last applied seq "
                        + e.lastSeq() + "; nothing was applied. Number each new write with a higher seq");
            }
            // Decided at apply time, the same on every node: only there is the value an append extends certain.
            case ApplyResult.ValueTooLarge e -> {
                status = HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
                o.put("error", "this " + cmd.op().label() + " would make the value " + e.resultingBytes()
                        + " bytes; the limit is " + e.limitBytes() + " bytes (--max-value-bytes); nothing was applied");
            }
        }
        o.set("leader", StatusJson.leader(server.config().id(), server.config().self().toString()));
        return HttpApi.json(status, o);
    }

    // ---------------------------------------------------------------- reads

    void get(ResponseOrder.Reply reply, Map<String, List<String>> params, HttpHeaders headers) {
        String key;
        String mode;
        int hops;
        try {
            onlyParameters(params, Set.of("key", "consistency"), GET_USAGE);
            key = param(params, "key");
            if (key == null) throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "missing query parameter 'key'" + GET_USAGE);
            mode = param(params, "consistency");
            checkKey(key);
            hops = hops(headers);
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        if (mode == null) mode = "linearizable";
        if (denied(reply, headers, Authorizer.keys(Authorizer.KeyNeed.key(io.raftkv.auth.AuthOp.Permission.READ, key)))) return;
        switch (mode) {
            case "linearizable" -> {
                String path = "/get?key=" + URLEncoder.encode(key, StandardCharsets.UTF_8);
                runRead(new Call(reply, path, null, deadline(), hops, Kind.READ, Credentials.of(headers)), key);
            }
            case "stale" -> runStaleRead(new Call(reply, null, null, deadline(), hops, Kind.READ, Credentials.of(headers)), key);
            default -> reply.send(HttpApi.error(HttpResponseStatus.BAD_REQUEST,
                    "consistency must be 'linearizable' (the default) or 'stale', not '" + mode + "'"));
        }
    }

    private static final String GET_USAGE = ": use GET /get?key=K, with optional consistency=stale";

    private void runRead(Call call, String key) {
        if (refusedForFullDisk(call)) return;
        call.withDeadline(server.read(key))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(HttpApi.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "no leader could serve the read within "
                                + server.config().requestTimeoutMs() + " ms (no quorum?)"));
                        return;
                    }
                    switch (outcome) {
                        case ReadOutcome.Value<Optional<io.raftkv.kv.KeyValue>> v -> {
                            ObjectNode o = HttpApi.JSON.createObjectNode().put("key", key);
                            v.value().ifPresentOrElse(kv -> o.setAll(KvApiJson.kv(null, kv)), () -> o.put("found", false));
                            o.set("leader", StatusJson.leader(server.config().id(), server.config().self().toString()));
                            call.reply(HttpApi.json(v.value().isPresent() ? HttpResponseStatus.OK
                                    : HttpResponseStatus.NOT_FOUND, o));
                        }
                        case ReadOutcome.NotLeader<Optional<io.raftkv.kv.KeyValue>> n -> forwardOrWait(call, n.leaderHint(),
                                () -> runRead(call, key));
                    }
                }, call.executor());
    }

    /** {@code consistency=stale}: this node's own applied state, with the same deadline as any request. */
    private void runStaleRead(Call call, String key) {
        call.withDeadline(server.readStale(key))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null || !(outcome instanceof ReadOutcome.Value<Optional<io.raftkv.kv.KeyValue>> v)) {
                        String why = err instanceof TimeoutException
                                ? "node " + server.config().id() + " did not read its own state within "
                                        + server.config().requestTimeoutMs() + " ms (overloaded or stopping?)"
                                : "the stale read failed on node " + server.config().id() + ": "
                                        + (err != null ? Failures.rootMessage(err) : "unexpected outcome " + outcome);
                        call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                                .put("error", why + "; try another node").put("retryable", true)));
                        return;
                    }
                    ObjectNode o = HttpApi.JSON.createObjectNode().put("key", key);
                    v.value().ifPresentOrElse(kv -> o.setAll(KvApiJson.kv(null, kv)), () -> o.put("found", false));
                    // This node's own applied state: it may lag behind the leader and says so.
                    o.put("consistency", "stale").put("servedBy", server.config().id()).put("appliedIndex", v.appliedIndex());
                    call.reply(HttpApi.json(v.value().isPresent() ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND, o));
                }, call.executor());
    }

    // ---------------------------------------------------------------- ranges

    /** Largest page of {@code GET /range}, and the default one. */
    static final int MAX_RANGE_LIMIT = 10_000;
    static final int DEFAULT_RANGE_LIMIT = 1_000;
    private static final String RANGE_USAGE = "; use GET /range?prefix=P or ?from=A&to=B, with optional limit=N (1.."
            + MAX_RANGE_LIMIT + ", default " + DEFAULT_RANGE_LIMIT + "), after=K (the last key of the previous page)"
            + " and consistency=stale";

    /** {@code GET /range}: keys in UTF-8 byte order with their revisions, one page at a time. */
    void range(ResponseOrder.Reply reply, String uri, Map<String, List<String>> params, HttpHeaders headers) {
        RangeQuery q;
        boolean linearizable;
        int hops;
        try {
            onlyParameters(params, Set.of("prefix", "from", "to", "after", "limit", "consistency"), RANGE_USAGE);
            String prefix = param(params, "prefix");
            String from = param(params, "from");
            String to = param(params, "to");
            if (prefix == null && from == null && to == null) {
                throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "give 'prefix' (empty for every key) or 'from' and/or 'to'"
                        + RANGE_USAGE);
            }
            // Most likely swapped: an empty answer would look like "no such keys".
            if (from != null && to != null && io.raftkv.kv.KeyOrder.compare(from, to) > 0) {
                throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "'from' must not sort after 'to' (keys are ordered by"
                        + " their UTF-8 bytes): swap them" + RANGE_USAGE);
            }
            String limitText = param(params, "limit");
            int limit = DEFAULT_RANGE_LIMIT;
            if (limitText != null) {
                try {
                    limit = Integer.parseInt(limitText);
                } catch (NumberFormatException e) {
                    limit = -1;
                }
                if (limit < 1 || limit > MAX_RANGE_LIMIT) {
                    throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "'limit' must be 1.." + MAX_RANGE_LIMIT
                            + ", not '" + limitText + "'" + RANGE_USAGE);
                }
            }
            String mode = param(params, "consistency");
            if (mode != null && !mode.equals("linearizable") && !mode.equals("stale")) {
                throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "consistency must be 'linearizable' (the default) or"
                        + " 'stale', not '" + mode + "'");
            }
            linearizable = mode == null || mode.equals("linearizable");
            q = new RangeQuery(from, to, prefix, param(params, "after"), limit);
            hops = hops(headers);
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        if (denied(reply, headers, Authorizer.keys(q.prefix() != null
                ? new Authorizer.KeyNeed(io.raftkv.auth.AuthOp.Permission.READ, q.prefix(), true, null)
                : new Authorizer.KeyNeed(io.raftkv.auth.AuthOp.Permission.READ, q.from() == null ? "" : q.from(), false,
                        q.to() == null ? "" : q.to())))) return;
        runRange(new Call(reply, uri, null, deadline(), hops, Kind.READ, Credentials.of(headers)), q, linearizable);
    }

    private static String param(Map<String, List<String>> params, String name) throws BadRequest {
        List<String> v = params.get(name);
        if (v == null || v.isEmpty()) return null;
        if (v.size() > 1) throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "parameter '" + name + "' given twice");
        return v.getFirst();
    }

    /** A misspelt parameter is refused, not ignored: {@code usage} says what the endpoint takes. */
    private static void onlyParameters(Map<String, List<String>> params, Set<String> allowed, String usage) throws BadRequest {
        for (String name : params.keySet()) {
            if (!allowed.contains(name)) {
                throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "unknown parameter '" + name + "'" + usage);
            }
        }
    }

    private void runRange(Call call, RangeQuery q, boolean linearizable) {
        if (linearizable && refusedForFullDisk(call)) return;
        call.withDeadline(server.range(q, linearizable))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                                .put("error", "the range could not be read within " + server.config().requestTimeoutMs()
                                        + " ms (no quorum?)").put("retryable", true)));
                        return;
                    }
                    switch (outcome) {
                        case ReadOutcome.Value<io.raftkv.kv.KvStateMachine.Range> v -> {
                            ObjectNode o = KvApiJson.range(v.value());
                            if (linearizable) o.set("leader", StatusJson.leader(server.config().id(), server.config().self().toString()));
                            else o.put("consistency", "stale").put("servedBy", server.config().id());
                            call.reply(HttpApi.json(HttpResponseStatus.OK, o));
                        }
                        case ReadOutcome.NotLeader<io.raftkv.kv.KvStateMachine.Range> n -> forwardOrWait(call, n.leaderHint(),
                                () -> runRange(call, q, linearizable));
                    }
                }, call.executor());
    }

    // ---------------------------------------------------------------- leases

    /** {@code GET /lease?id=N}: the lease's TTL, the time it has left on the cluster clock and its keys. */
    void lease(ResponseOrder.Reply reply, String uri, Map<String, List<String>> params, HttpHeaders headers) {
        long id;
        int hops;
        try {
            String usage = "; use GET /lease?id=N (N from POST /lease/grant)";
            onlyParameters(params, Set.of("id"), usage);
            String text = param(params, "id");
            if (text == null) throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "missing query parameter 'id'" + usage);
            try {
                id = Long.parseLong(text);
            } catch (NumberFormatException e) {
                id = -1;
            }
            if (id < 1) throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "'id' must be a lease id (a positive integer), not '"
                    + text + "'");
            hops = hops(headers);
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        if (denied(reply, headers, Authorizer.ANY_USER)) return;
        runLease(new Call(reply, uri, null, deadline(), hops, Kind.READ, Credentials.of(headers)), id);
    }

    private void runLease(Call call, long id) {
        call.withDeadline(server.lease(id))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                                .put("error", "the lease could not be read within " + server.config().requestTimeoutMs()
                                        + " ms (no quorum?)").put("retryable", true)));
                        return;
                    }
                    switch (outcome) {
                        case ReadOutcome.Value<Optional<ObjectNode>> v -> call.reply(v.value().isPresent()
                                ? HttpApi.json(HttpResponseStatus.OK, v.value().get())
                                : HttpApi.json(HttpResponseStatus.NOT_FOUND, HttpApi.JSON.createObjectNode()
                                        .put("error", "lease " + id + " does not exist (never granted, expired or revoked)")
                                        .put("leaseNotFound", true)));
                        case ReadOutcome.NotLeader<Optional<ObjectNode>> n -> forwardOrWait(call, n.leaderHint(),
                                () -> runLease(call, id));
                    }
                }, call.executor());
    }

    // ---------------------------------------------------------------- watches

    private static final String WATCH_USAGE = "; use GET /watch?key=K or ?prefix=P, with optional fromRevision=R"
            + " (the revision after the last event seen)";

    /** {@code GET /watch}: a Server-Sent Events stream of changes, served by this node (no forwarding). */
    void watch(ResponseOrder.Reply reply, Map<String, List<String>> params, HttpHeaders headers) {
        WatchHub.Request req;
        try {
            onlyParameters(params, Set.of("key", "prefix", "fromRevision"), WATCH_USAGE);
            String key = param(params, "key");
            String prefix = param(params, "prefix");
            if ((key == null) == (prefix == null)) {
                throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "give exactly one of 'key' and 'prefix'" + WATCH_USAGE);
            }
            if (key != null) checkKey(key);
            String fromText = param(params, "fromRevision");
            long from = 0;
            if (fromText != null) {
                try {
                    from = Long.parseLong(fromText);
                } catch (NumberFormatException e) {
                    from = -1;
                }
                if (from < 1) {
                    throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "'fromRevision' must be an integer >= 1, not '"
                            + fromText + "'" + WATCH_USAGE);
                }
            }
            req = new WatchHub.Request(key != null ? key : prefix, key == null, from);
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        // Checked when the stream opens: a watch keeps running if its user loses the role later (as in etcd).
        if (denied(reply, headers, Authorizer.keys(new Authorizer.KeyNeed(io.raftkv.auth.AuthOp.Permission.READ, req.key(),
                req.prefix(), null)))) return;
        int maxWatches = server.config().limits().maxWatches();
        if (!server.watch(req, reply, maxWatches)) {
            reply.send(HttpApi.retryable(HttpResponseStatus.SERVICE_UNAVAILABLE, "node " + server.config().id() + " has "
                    + maxWatches + " watches open, its limit (--max-watches); try another node or later"));
        }
    }

    // ---------------------------------------------------------------- leadership transfer

    /**
     * {@code POST /transfer-leader} {@code {"id":N}} or {@code {}} (thesis §3.10): answered once
     * this node sees the target lead, so the answer names the new leader and its term.
     */
    void transferLeader(ResponseOrder.Reply reply, byte[] body, HttpHeaders headers) {
        OptionalInt target;
        int hops;
        try {
            target = TransferJson.parse(body);
            hops = hops(headers);
        } catch (TransferJson.BadTransfer e) {
            reply.send(HttpApi.error(HttpResponseStatus.BAD_REQUEST, e.getMessage()));
            return;
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        if (denied(reply, headers, Authorizer.ROOT)) return;
        runTransfer(new Call(reply, "/transfer-leader", body, deadline(), hops, Kind.TRANSFER, Credentials.of(headers)), target);
    }

    private void runTransfer(Call call, OptionalInt target) {
        call.withDeadline(server.transferLeader(target))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(TransferJson.failed(err instanceof TimeoutException
                                ? "the leadership transfer did not complete within " + server.config().requestTimeoutMs() + " ms"
                                : "the leadership transfer failed on node " + server.config().id() + ": "
                                        + Failures.rootMessage(err)));
                        return;
                    }
                    switch (outcome) {
                        case TransferOutcome.NotLeader n -> forwardOrWait(call, n.leaderHint(), () -> runTransfer(call, target));
                        default -> call.reply(TransferJson.answer(outcome, id -> server.addressOf(id).map(HostPort::toString)
                                .orElse(null)));
                    }
                }, call.executor());
    }

    // ---------------------------------------------------------------- membership (thesis ch. 4)

    /** {@code GET /members}: answered by the leader (only it knows how far each learner is behind). */
    void members(ResponseOrder.Reply reply, HttpHeaders headers) {
        Call call = callOrRefuse(reply, "/members", null, headers, Kind.READ);
        if (call == null || denied(reply, headers, Authorizer.ANY_USER)) return;
        runMembers(call);
    }

    private void runMembers(Call call) {
        call.withDeadline(server.members())
                .whenCompleteAsync((view, err) -> {
                    if (err != null) {
                        call.reply(MembersJson.retryable(err instanceof TimeoutException
                                ? "no answer from the leader within " + server.config().requestTimeoutMs() + " ms"
                                : "node " + server.config().id() + " failed: " + Failures.rootMessage(err)));
                    } else if (!view.leader()) {
                        forwardOrWait(call, view.leaderId(), () -> runMembers(call));
                    } else {
                        call.reply(HttpApi.json(HttpResponseStatus.OK,
                                MembersJson.view(view.configuration(), view.configIndex(), view)));
                    }
                }, call.executor());
    }

    /** {@code POST /members/add|promote|remove}: answered once the change is committed. */
    void changeMembership(ResponseOrder.Reply reply, String op, byte[] body, HttpHeaders headers) {
        io.raftkv.raft.ConfChange change;
        int hops;
        try {
            change = MembersJson.parse(op, body);
            hops = hops(headers);
        } catch (MembersJson.BadChange e) {
            reply.send(HttpApi.error(HttpResponseStatus.BAD_REQUEST, e.getMessage()));
            return;
        } catch (BadRequest e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
            return;
        }
        if (denied(reply, headers, Authorizer.ROOT)) return;
        runChange(new Call(reply, "/members/" + op, body, deadline(), hops, Kind.MEMBERSHIP, Credentials.of(headers)), change);
    }

    private void runChange(Call call, io.raftkv.raft.ConfChange change) {
        if (refusedForFullDisk(call)) return;
        call.withDeadline(server.changeMembership(change))
                .whenCompleteAsync((outcome, err) -> {
                    if (err != null) {
                        call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                                .put("error", (err instanceof TimeoutException
                                        ? "the membership change did not commit within " + server.config().requestTimeoutMs() + " ms"
                                        : "the membership change failed on node " + server.config().id() + ": "
                                                + Failures.rootMessage(err))
                                        + "; it may or may not be made: GET /members tells")
                                .put("retryable", false)));
                        return;
                    }
                    if (outcome instanceof io.raftkv.node.MembershipOutcome.NotLeader n) {
                        forwardOrWait(call, n.leaderHint(), () -> runChange(call, change));
                        return;
                    }
                    // The answer shows the membership as the leader sees it right after.
                    server.members().whenCompleteAsync((view, e2) -> call.reply(e2 != null
                            ? MembersJson.retryable("node " + server.config().id() + " failed: " + Failures.rootMessage(e2))
                            : MembersJson.answer(outcome, view)), call.executor());
                }, call.executor());
    }

    // ---------------------------------------------------------------- forwarding

    private void forwardOrWait(Call call, OptionalInt hint, Runnable retry) {
        int self = server.config().id();
        if (hint.isPresent() && hint.getAsInt() != self) {
            if (call.hops() >= MAX_HOPS) {
                call.reply(hopLimitReached(call, hint.getAsInt()));
                return;
            }
            forward(call, hint.getAsInt(), retry);
            return;
        }
        retryLater(call, retry);
    }

    private void retryLater(Call call, Runnable retry) {
        retryLater(call, retry, null);
    }

    /** {@code waitingFor}: what the retries wait out, for the answer if the deadline comes first (null: a leader). */
    private void retryLater(Call call, Runnable retry, String waitingFor) {
        LeaderContact contact = server.leaderContact();
        long silentMs = contact.silentMs(System.nanoTime());
        if (silentMs >= leaderSilenceLimitMs) {
            call.reply(noLeaderReachable(call, contact, "it has not heard from a leader for " + silentMs
                    + " ms (election timeout " + leaderSilenceLimitMs + " ms)", true));
            return;
        }
        // The retry needs time for the loop to answer it too: one started with ~0 ms left times out
        // as "outcome unknown" although nothing was proposed.
        if (call.remainingMs() <= 2 * RETRY_MS) {
            String why = waitingFor != null ? waitingFor + " for " + server.config().requestTimeoutMs() + " ms"
                    : "no leader available within " + server.config().requestTimeoutMs() + " ms (is a majority of nodes up?)";
            call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                    .put("error", why + (call.isWrite() ? "; the write was not applied" : ""))
                    .put("retryable", true)));
            return;
        }
        call.executor().schedule(retry, RETRY_MS, TimeUnit.MILLISECONDS);
    }

    private void forward(Call call, int leaderId, Runnable retry) {
        Optional<HostPort> known = server.addressOf(leaderId);
        if (known.isEmpty()) { // a member whose address this node has not learned yet
            retryLater(call, retry);
            return;
        }
        HostPort leader = known.get();
        HttpMethod method = call.body() != null ? HttpMethod.POST : HttpMethod.GET;
        // Answered once: by the leader's answer, or by the watch below when the leader goes silent.
        AtomicBoolean answered = new AtomicBoolean();
        CompletableFuture<Forwarder.Result> sent = forwarder.send(leader, method, call.path(), call.body(),
                call.hops() + 1, Math.max(1, call.remainingMs()), call.credentials().asHeaders());
        watchLeader(call, leaderId, sent, answered, retry);
        sent.thenAccept(result -> {
            metrics.forwarded(result);
            if (!answered.compareAndSet(false, true)) return;
            switch (result) {
                case Forwarder.Result.Answered a -> call.reply(HttpApi.bytes(HttpResponseStatus.valueOf(a.status()),
                        a.body(), "application/json"));
                // The request never reached the leader: nothing was applied, and the client is better
                // served by another node than by waiting here.
                case Forwarder.Result.NotSent n -> call.reply(noLeaderReachable(call, server.leaderContact(),
                        "it cannot connect to leader node " + leaderId + " at " + leader + " ("
                                + Failures.rootMessage(n.cause()) + ")", true));
                case Forwarder.Result.TimedOut t -> failedAfterSending(call, retry, "the leader did not answer within "
                        + server.config().requestTimeoutMs() + " ms");
                case Forwarder.Result.Lost l -> failedAfterSending(call, retry, "the connection to leader " + leader
                        + " failed: " + Failures.rootMessage(l.cause()));
            }
        });
    }

    /**
     * While a forwarded request waits for the leader's answer, checks that this node still hears
     * from that leader. Once it has heard from no leader for an election timeout (a partition cut
     * it off, the leader died), or a newer leader took over (the old one is cut off from the
     * majority, and a request on a connection into a partition gets no answer at all), the answer
     * is unlikely to come: a read is run again (on the new leader), a write is answered at once
     * with its outcome unknown (a client with a session resends it). A deadline per waiting request,
     * checked when the silence would reach the limit; heartbeats keep pushing it back.
     */
    private void watchLeader(Call call, int target, CompletableFuture<Forwarder.Result> sent, AtomicBoolean answered,
                             Runnable retry) {
        if (sent.isDone()) return;
        LeaderContact contact = server.leaderContact();
        long silentMs = contact.silentMs(System.nanoTime());
        // A transfer replaces the leader on purpose, and its answer (the new leader, once the old one
        // hears from it) is on its way: run again here (on the new leader, maybe this node) it would
        // move the leadership a second time.
        boolean replaced = call.kind() != Kind.TRANSFER && contact.leaderId().isPresent()
                && contact.leaderId().getAsInt() != target;
        if (silentMs < leaderSilenceLimitMs && !replaced) {
            RequestDeadlines.watch(call.executor(), System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(leaderSilenceLimitMs - silentMs),
                    sent, () -> watchLeader(call, target, sent, answered, retry));
            return;
        }
        if (!answered.compareAndSet(false, true)) return;
        if (replaced) {
            // A read runs again, a write's outcome is unknown, a membership change may or may not be made.
            failedAfterSending(call, retry, "leader node " + target + ", to which node " + server.config().id()
                    + " forwarded the " + (call.isWrite() ? "write" : "request") + ", was replaced by node "
                    + contact.leaderId().getAsInt() + " before it answered");
            return;
        }
        String why = "it has not heard from a leader for " + silentMs + " ms (election timeout " + leaderSilenceLimitMs
                + " ms) while waiting for the leader's answer";
        if (call.kind() == Kind.TRANSFER || call.kind() == Kind.MEMBERSHIP) {
            failedAfterSending(call, retry, why); // not "try another node": it may have been done
            return;
        }
        call.reply(noLeaderReachable(call, contact, why, !call.isWrite()));
    }

    /**
     * The request may have reached the leader: a read is simply tried again, a write may have been
     * applied, a transfer may have started (asked again without a target it could move the
     * leadership twice, so the client decides).
     */
    private void failedAfterSending(Call call, Runnable retry, String why) {
        switch (call.kind()) {
            case READ -> retryLater(call, retry);
            case WRITE -> call.reply(unknownOutcome(why));
            case TRANSFER -> call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                    .put("error", why + "; the transfer may or may not have happened: GET /status names the leader")
                    .put("retryable", false)));
            case MEMBERSHIP -> call.reply(HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                    .put("error", why + "; the membership change may or may not be made: GET /members tells")
                    .put("retryable", false)));
        }
    }

    private static FullHttpResponse unknownOutcome(String why) {
        return HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, HttpApi.JSON.createObjectNode()
                .put("error", why + "; the outcome is unknown: the write may still commit")
                .put("retryable", false));
    }

    /**
     * 503 {@code "noLeaderReachable":true}: this node cannot get the request to a leader, so the
     * client should try another node at once. {@code notApplied}: the request certainly did not
     * reach a leader ({@code "retryable":true}); false for a write given up while its forward waited.
     */
    private FullHttpResponse noLeaderReachable(Call call, LeaderContact contact, String why, boolean notApplied) {
        int self = server.config().id();
        String last = contact.leaderId().isPresent()
                ? "the last leader it knew was node " + contact.leaderId().getAsInt() + " at "
                        + server.addressOf(contact.leaderId().getAsInt()).map(HostPort::toString).orElse("?")
                : "it has not known a leader since it started";
        String outcome = !call.isWrite() ? "" : notApplied ? "; the write was not applied"
                : "; the outcome is unknown: the write may still commit";
        ObjectNode o = HttpApi.JSON.createObjectNode()
                .put("error", "no leader is reachable from node " + self + ": " + why + "; " + last
                        + ". Try another node" + outcome)
                .put("noLeaderReachable", true)
                .put("retryable", notApplied);
        if (contact.leaderId().isPresent()) {
            int id = contact.leaderId().getAsInt();
            o.set("lastLeader", StatusJson.leader(id, server.addressOf(id).map(HostPort::toString).orElse(null)));
        }
        return HttpApi.json(HttpResponseStatus.SERVICE_UNAVAILABLE, o);
    }

    /**
     * 508: the request was forwarded {@link #MAX_HOPS} times and reached a node that is not the
     * leader either: the nodes disagree about who leads (an election just happened) or something
     * loops. Nothing was applied; the client may resend it, best to the hinted leader.
     */
    private FullHttpResponse hopLimitReached(Call call, int hint) {
        String hintAddress = server.addressOf(hint).map(HostPort::toString).orElse("?");
        ObjectNode o = HttpApi.JSON.createObjectNode()
                .put("error", "the request was forwarded " + call.hops() + " times (" + HOPS_HEADER + ": " + call.hops()
                        + ", limit " + MAX_HOPS + ") and node " + server.config().id()
                        + " is not the leader either; its leader hint is node " + hint + " at " + hintAddress
                        + ". The nodes disagree about the leader (an election just happened?): send the request again,"
                        + " to node " + hint + " directly" + (call.isWrite() ? "; the write was not applied" : ""))
                .put("hopLimit", MAX_HOPS)
                .put("retryable", true);
        o.set("leaderHint", StatusJson.leader(hint, hintAddress));
        return HttpApi.json(HttpResponseStatus.valueOf(508), o);
    }

    // ---------------------------------------------------------------- validation

    private static final class BadRequest extends Exception {
        final HttpResponseStatus status;

        BadRequest(HttpResponseStatus status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private KvCommand parseWrite(KvCommand.Op op, byte[] body) throws BadRequest {
        String usage = "; send {\"key\":\"k\",\"value\":\"v\"}";
        JsonNode o;
        try {
            o = KvApiJson.readObject(body, usage);
        } catch (KvApiJson.Bad e) {
            throw new BadRequest(e.status, e.getMessage());
        }
        // As every other body: a misspelt field ("vaule", "ttl") is refused, not ignored.
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!PUT_FIELDS.contains(f)) {
                throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "unknown field '" + f + "'" + usage);
            }
        }
        String key = stringField(o, "key", usage);
        String value = stringField(o, "value", usage);
        checkKey(key);
        int valueBytes = value.getBytes(StandardCharsets.UTF_8).length;
        if (valueBytes > server.config().maxValueBytes()) {
            throw new BadRequest(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "value is " + valueBytes
                    + " bytes; the limit is " + server.config().maxValueBytes() + " bytes");
        }
        long clientId = optionalPositive(o, "clientId");
        long seq = optionalPositive(o, "seq");
        if ((clientId == 0) != (seq == 0)) {
            throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "send 'clientId' and 'seq' together (or neither);"
                    + " get a clientId from POST /session and number writes 1, 2, 3, ...");
        }
        if (o.has("lease") && !o.get("lease").isNull()) {
            if (op != KvCommand.Op.PUT) {
                throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "an append keeps the key's lease; only put and cas take"
                        + " 'lease'");
            }
            long lease;
            try {
                lease = KvApiJson.leaseId(o.get("lease"), usage);
            } catch (KvApiJson.Bad e) {
                throw new BadRequest(e.status, e.getMessage());
            }
            return KvCommand.of(new io.raftkv.kv.KvOp.Put(key, value, lease), clientId, seq);
        }
        return new KvCommand(op, key, value, clientId, seq, 0);
    }

    /** The fields of a put or append ({@code lease}: put only, refused with its own message on an append). */
    private static final Set<String> PUT_FIELDS = Set.of("key", "value", "clientId", "seq", "lease");

    private static long optionalPositive(JsonNode o, String name) throws BadRequest {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) return 0;
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 1) {
            throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "field '" + name + "' must be a positive integer");
        }
        return n.asLong();
    }

    private void checkKey(String key) throws BadRequest {
        if (key.isEmpty()) throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "key must not be empty");
        int keyBytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (keyBytes > server.config().maxKeyBytes()) {
            throw new BadRequest(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "key is " + keyBytes
                    + " bytes; the limit is " + server.config().maxKeyBytes() + " bytes");
        }
    }

    private static String stringField(JsonNode o, String name, String usage) throws BadRequest {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "missing field '" + name + "'" + usage);
        if (!n.isTextual()) throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "field '" + name + "' must be a string" + usage);
        String text = n.asText();
        // Stored as UTF-8, a lone surrogate would silently become '?'.
        OptionalInt bad = ValidText.loneSurrogateIndex(text);
        if (bad.isPresent()) {
            throw new BadRequest(HttpResponseStatus.BAD_REQUEST, "field '" + name + "' is not valid Unicode: a lone surrogate \\u"
                    + Integer.toHexString(text.charAt(bad.getAsInt())) + " at char " + bad.getAsInt()
                    + " (half of a pair without the other); send Unicode text");
        }
        return text;
    }

    private long deadline() {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(server.config().requestTimeoutMs());
    }

    /** The {@code X-Raftkv-Hops} header: how many times the request was forwarded already (0 if absent). */
    private static int hops(HttpHeaders headers) throws BadRequest {
        String h = headers.get(HOPS_HEADER);
        if (h == null) return 0;
        try {
            int hops = Integer.parseInt(h.trim());
            if (hops >= 0) return hops;
        } catch (NumberFormatException e) {
            // answered below
        }
        throw new BadRequest(HttpResponseStatus.BAD_REQUEST, HOPS_HEADER + " must be a number of hops >= 0, not '" + h
                + "'; nodes set it when they forward a request, clients leave it out");
    }

    @Override
    public void close() {
        forwarder.close();
    }
}
