package io.raftkv.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.locks.LockSupport;

/**
 * A blocking client for a raftkv cluster. Thread-safe.
 *
 * <p>Requests go to the last leader seen, else to the nodes in turn. A node that cannot be
 * reached, or that answers 503 with {@code "retryable":true} (the write was certainly not
 * applied), is skipped for the next one until the timeout. A node that says no leader is
 * reachable from it ({@code "noLeaderReachable":true}) or that a request reached the forwarding
 * limit (508) names a node to try: it is tried next, once per round. An answer whose outcome is unknown
 * (503 without {@code retryable}, or a connection lost after sending) is returned as is: a
 * write without a session must not be blindly resent.
 *
 * <p>With sessions (the default) the client registers a session on its first write and numbers
 * its writes; a write whose outcome is unknown is then resent with the same number until a
 * definite answer or the timeout, and the cluster applies it at most once (Raft thesis §6.3).
 * Writes of one client go one at a time; use one client per thread for parallel writes.
 */
public final class RaftKvClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(1);

    private final List<HostPort> nodes;
    private final Duration timeout;
    /** Longest wait for one node's answer to a request that may be resent (a read, a session write). */
    private final long attemptTimeoutNs;
    private final HttpClient http;
    private final boolean ownsHttp;
    /** TLS (trusting the cluster's CA, showing a client certificate if given), or null for plain HTTP. */
    private final javax.net.ssl.SSLContext tls;
    private final String scheme;
    /** The token sent as {@code Authorization: Bearer} (null: none), and the user and password that get a new one. */
    private volatile String token;
    private volatile String[] credentials;
    private volatile HostPort preferred;
    private final boolean sessions;
    private final Object writeLock = new Object();
    /** Guarded by writeLock: the session (0 = none yet) and the last seq used in it. */
    private long clientId;
    private long seq;

    public RaftKvClient(List<HostPort> nodes, Duration timeout) {
        this(nodes, timeout, true);
    }

    /** {@code sessions=false}: plain writes without clientId/seq (an unknown outcome is returned, not retried). */
    public RaftKvClient(List<HostPort> nodes, Duration timeout, boolean sessions) {
        this(nodes, timeout, sessions, timeout);
    }

    /**
     * {@code attemptTimeout}: how long to wait for one node before trying the next, for requests
     * that may be resent (reads, and writes in a session). A node that is paused (SIGSTOP) or
     * overloaded accepts connections but never answers; without this bound the whole timeout is
     * spent on it. Make it longer than the nodes' own request timeout, so a node that is merely
     * waiting for a commit answers first.
     */
    public RaftKvClient(List<HostPort> nodes, Duration timeout, boolean sessions, Duration attemptTimeout) {
        this(nodes, timeout, sessions, attemptTimeout, null);
    }

    /**
     * With {@code shared} not null, requests go through that HTTP client (its connection pool and
     * threads), which {@link #close()} leaves open: many clients in one process (a benchmark's)
     * then share one selector thread instead of starting one each.
     */
    public RaftKvClient(List<HostPort> nodes, Duration timeout, boolean sessions, Duration attemptTimeout,
                        HttpClient shared) {
        this(nodes, timeout, sessions, attemptTimeout, shared, null);
    }

    /**
     * With {@code tls} not null the nodes are reached over HTTPS with it (see {@code
     * TlsMaterial.jdk()}); a {@code shared} HTTP client must then have been made with the same
     * context ({@link #newHttpClient(Duration, javax.net.ssl.SSLContext)}).
     */
    public RaftKvClient(List<HostPort> nodes, Duration timeout, boolean sessions, Duration attemptTimeout,
                        HttpClient shared, javax.net.ssl.SSLContext tls) {
        this.tls = tls;
        this.scheme = tls == null ? "http://" : "https://";
        if (attemptTimeout.isNegative() || attemptTimeout.isZero()) throw new IllegalArgumentException("attempt timeout must be positive");
        this.attemptTimeoutNs = attemptTimeout.toNanos();
        this.sessions = sessions;
        if (nodes.isEmpty()) throw new IllegalArgumentException("no cluster addresses given");
        this.nodes = List.copyOf(nodes);
        this.timeout = timeout;
        this.ownsHttp = shared == null;
        this.http = shared != null ? shared : newHttpClient(timeout, tls);
        this.preferred = nodes.getFirst();
    }

    public KvResult put(String key, String value) {
        return write("/put", key, value);
    }

    public KvResult append(String key, String value) {
        return write("/append", key, value);
    }

    public KvResult get(String key) {
        return call("/get?key=" + URLEncoder.encode(key, StandardCharsets.UTF_8), null, true);
    }

    /**
     * A stale read ({@code GET /get?key=K&consistency=stale}): the contacted node answers from its
     * own applied state, which may lag behind the leader. It goes to the node this client uses
     * (the last leader seen, else the first of its list), and to the others if that one fails.
     */
    public KvResult getStale(String key) {
        return call("/get?key=" + URLEncoder.encode(key, StandardCharsets.UTF_8) + "&consistency=stale", null, true);
    }

    /**
     * Registers the session now instead of on the first write (a benchmark keeps the registration
     * out of its measurements). Returns the registration's answer; with a session already open, an
     * answer with its {@code clientId} at once. Only for a client with sessions.
     */
    public KvResult openSession() {
        if (!sessions) throw new IllegalStateException("this client writes without sessions");
        synchronized (writeLock) {
            if (clientId != 0) return new KvResult(200, JSON.createObjectNode().put("clientId", clientId), preferred, 0);
            return register();
        }
    }

    /** Whether writes go in an exactly-once session. */
    public boolean sessions() {
        return sessions;
    }

    /** The session's client id, or 0 if none is registered yet. */
    public long clientId() {
        synchronized (writeLock) {
            return clientId;
        }
    }

    /**
     * Moves the leadership to node {@code target}, or to the most caught-up voter when empty
     * ({@code POST /transfer-leader}, Raft thesis §3.10); any node forwards it to the leader. The
     * answer (200 naming the new leader and term once it leads; 404 unknown id; 409 not a voter or
     * another transfer in progress; 503 did not complete) comes back as it is: only a node that
     * could not be reached or that reaches no leader is passed over for the next, because a
     * transfer without a target, sent twice, could move the leadership twice.
     */
    public KvResult transferLeader(OptionalInt target) {
        ObjectNode body = JSON.createObjectNode();
        target.ifPresent(id -> body.put("id", id));
        return admin("/transfer-leader", body, "the transfer");
    }

    /**
     * {@code GET /members}: the configuration in use (voters and learners with their addresses,
     * learners with {@code caughtUp} as the leader sees them), the leader and the configuration's
     * log index. Any node forwards it to the leader.
     */
    public KvResult members() {
        return admin("/members", null, "the request");
    }

    /**
     * {@code POST /members/add}: adds node {@code id} at {@code address} as a learner (thesis
     * §4.2.1). 200 with the new membership once the change is committed; 400 bad id or address,
     * 409 already a member, address in use or another change in flight. Adding a member again at
     * the same address answers 200.
     */
    public KvResult addMember(int id, String address) {
        ObjectNode body = JSON.createObjectNode().put("id", id).put("address", address);
        return admin("/members/add", body, "the change");
    }

    /** {@code POST /members/promote}: makes learner {@code id} a voter; 409 while it lags the leader. */
    public KvResult promoteMember(int id) {
        return admin("/members/promote", JSON.createObjectNode().put("id", id), "the change");
    }

    /** {@code POST /members/remove}: removes voter or learner {@code id}, the leader included (§4.2.2). */
    public KvResult removeMember(int id) {
        return admin("/members/remove", JSON.createObjectNode().put("id", id), "the change");
    }

    /**
     * An administrative request any node forwards to the leader: the first node that reaches a
     * leader answers; one that cannot be reached, or reaches no leader, is passed over for the
     * next. Not sent twice once a node may have acted on it ({@code what} may or may not have happened).
     */
    private KvResult admin(String path, ObjectNode body, String what) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        List<HostPort> order = new ArrayList<>(nodes);
        order.remove(preferred);
        order.addFirst(preferred);
        KvResult last = null;
        for (int i = 0; System.nanoTime() < deadline; i++) {
            HostPort node = order.get(i % order.size());
            try {
                KvResult r = send(node, path, body == null ? null : json(body), start,
                        Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                if (r.ok()) r.leaderAddress().ifPresent(this::preferLeader);
                if (!r.noLeaderReachable()) return r;
                last = r;
            } catch (ConnectException | HttpConnectTimeoutException e) {
                last = new KvResult(0, error("cannot connect to " + node + ": " + describe(e)), node,
                        System.nanoTime() - start);
            } catch (IOException e) {
                return new KvResult(0, error("connection to " + node + " failed (" + describe(e)
                        + (body == null ? ")" : "); " + what + " may or may not have happened")), node,
                        System.nanoTime() - start);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new KvResult(0, error("interrupted"), node, System.nanoTime() - start);
            }
            if ((i + 1) % order.size() == 0) LockSupport.parkNanos(50_000_000L);
        }
        return last != null ? last : new KvResult(0, error("timed out"), preferred, System.nanoTime() - start);
    }

    /**
     * Logs in ({@code POST /auth/login}) and sends the token with every request from now on; when
     * a node answers 401 (the token expired, say) the client logs in again once and resends.
     */
    public KvResult login(String user, String password) {
        credentials = new String[] {user, password};
        return refreshToken();
    }

    /** Uses {@code other}'s login (its token, and its credentials for the next one): many clients, one login. */
    public void shareLogin(RaftKvClient other) {
        credentials = other.credentials;
        token = other.token;
    }

    /** Whether {@link #login} was called: the client can log in again when its token expires. */
    boolean hasCredentials() {
        return credentials != null;
    }

    /** Logs in again with the credentials given to {@link #login} (a {@link LoopClient} whose token expired asks). */
    KvResult relogin() {
        return refreshToken();
    }

    private KvResult refreshToken() {
        String[] c = credentials;
        ObjectNode body = JSON.createObjectNode().put("user", c[0]).put("password", c[1]);
        KvResult r = call("/auth/login", body.toString().getBytes(StandardCharsets.UTF_8), true, new boolean[1], false);
        if (r.ok()) token = r.body().path("token").asText();
        return r;
    }

    /**
     * An auth administration request ({@code /auth/enable}, {@code /user/add}, {@code /role/grant},
     * ... with its JSON body; a GET such as {@code /user/list} with a null body). Not resent after an
     * unknown outcome.
     */
    public KvResult admin(String path, ObjectNode body) {
        return call(path, body == null ? null : body.toString().getBytes(StandardCharsets.UTF_8), body == null);
    }

    /** The {@code Authorization} header value this client sends now, or null. */
    String authorization() {
        String t = token;
        return t == null ? null : "Bearer " + t;
    }

    /** {@code GET /status} of one node, or empty body with status 0 if it is unreachable. */
    public KvResult status(HostPort node) {
        long start = System.nanoTime();
        try {
            // A node answers /status from memory at once; one that doesn't is paused or overloaded.
            return send(node, "/status", null, start, STATUS_TIMEOUT.compareTo(timeout) < 0 ? STATUS_TIMEOUT : timeout);
        } catch (IOException e) {
            return new KvResult(0, error("unreachable: " + describe(e)), node, System.nanoTime() - start);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new KvResult(0, error("interrupted"), node, System.nanoTime() - start);
        }
    }

    public List<HostPort> nodes() {
        return nodes;
    }

    /** {@code POST /delete} of {@code key}: 200 {@code {"deleted":0|1,"revision":R}}. */
    public KvResult delete(String key) {
        return write("/delete", JSON.createObjectNode().put("key", key));
    }

    /** {@code POST /delete} of every key starting with {@code prefix}: 200 {@code {"deleted":N,"revision":R}}. */
    public KvResult deletePrefix(String prefix) {
        return write("/delete", JSON.createObjectNode().put("prefix", prefix));
    }

    /**
     * {@code POST /cas}: sets {@code key} to {@code value} if its value is {@code expectedValue}
     * (empty: if the key is absent). 200 with {@code succeeded} true or false, and {@code current}.
     */
    public KvResult cas(String key, Optional<String> expectedValue, String value) {
        ObjectNode body = JSON.createObjectNode().put("key", key).put("value", value);
        expectedValue.ifPresentOrElse(v -> body.put("expectedValue", v), () -> body.put("expectAbsent", true));
        return write("/cas", body);
    }

    /** {@code POST /cas} on the key's last write: sets it only if its modRevision is still {@code modRevision}. */
    public KvResult casRevision(String key, long modRevision, String value) {
        return write("/cas", JSON.createObjectNode().put("key", key).put("value", value).put("expectedModRevision", modRevision));
    }

    /**
     * {@code POST /txn} with a body in the API's form ({@code compare}, {@code success},
     * {@code failure}); the session fields are added here.
     */
    public KvResult txn(ObjectNode txn) {
        return write("/txn", txn.deepCopy());
    }

    /**
     * {@code GET /range?prefix=P&limit=N[&after=K]}: one page of keys starting with {@code prefix}
     * in UTF-8 byte order; {@code after} is the last key of the previous page (null for the first).
     */
    public KvResult range(String prefix, int limit, String after) {
        StringBuilder q = new StringBuilder("/range?prefix=").append(URLEncoder.encode(prefix, StandardCharsets.UTF_8))
                .append("&limit=").append(limit);
        if (after != null) q.append("&after=").append(URLEncoder.encode(after, StandardCharsets.UTF_8));
        return call(q.toString(), null, true);
    }

    /**
     * Watches {@code key} (or every key starting with it, when {@code prefix}) from
     * {@code fromRevision} (0: from now on), calling {@code onChange} on the watch's own thread for
     * each change in revision order, across node failures (see {@link Watch}). Close it to stop.
     */
    public Watch watch(String key, boolean prefix, long fromRevision, java.util.function.Consumer<Watch.Change> onChange) {
        List<HostPort> order = new ArrayList<>(nodes);
        order.remove(preferred);
        order.addFirst(preferred);
        return new Watch(order, key, prefix, fromRevision, onChange, Duration.ofMillis(Math.min(1000, timeout.toMillis())),
                tls, this::authorization);
    }

    /** {@code POST /lease/grant}: a lease of {@code ttlMs}; the answer's {@code leaseId} names it. */
    public KvResult grantLease(long ttlMs) {
        return write("/lease/grant", JSON.createObjectNode().put("ttlMs", ttlMs));
    }

    /** {@code POST /lease/keepalive}: renews the lease for its whole TTL; 404 if it is gone. */
    public KvResult keepAlive(long leaseId) {
        return write("/lease/keepalive", JSON.createObjectNode().put("leaseId", leaseId));
    }

    /** {@code GET /lease?id=N}: the lease's TTL, the time it has left and its keys; 404 if it is gone. */
    public KvResult lease(long leaseId) {
        return call("/lease?id=" + leaseId, null, true);
    }

    /** {@code POST /lease/revoke}: ends the lease now and deletes its keys. */
    public KvResult revokeLease(long leaseId) {
        return write("/lease/revoke", JSON.createObjectNode().put("leaseId", leaseId));
    }

    /** {@code POST /put} of a key attached to {@code leaseId}: deleted when the lease ends. */
    public KvResult put(String key, String value, long leaseId) {
        return write("/put", JSON.createObjectNode().put("key", key).put("value", value).put("lease", leaseId));
    }

    /** {@code POST /cas} expecting {@code key} absent, attached to {@code leaseId}: a lock or an election's claim. */
    public KvResult createWithLease(String key, String value, long leaseId) {
        return write("/cas", JSON.createObjectNode().put("key", key).put("value", value).put("expectAbsent", true)
                .put("lease", leaseId));
    }

    /**
     * Keeps lease {@code leaseId} alive until closed: a keep-alive every third of {@code ttlMs} on a
     * thread of its own. {@code lost} hears once if the lease is gone (it expired: the keep-alives
     * did not get through in time) and the keeper stops.
     */
    public AutoCloseable keepAliveUntilClosed(long leaseId, long ttlMs, Runnable lost) {
        Thread t = Thread.ofVirtual().name("raftkv-lease-" + leaseId).start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                KvResult r = keepAlive(leaseId);
                if (r.status() == 404) {
                    lost.run();
                    return;
                }
                try {
                    Thread.sleep(Math.max(1, ttlMs / 3)); // the keep-alive period, not a wait for a condition
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        return t::interrupt;
    }

    private KvResult write(String path, String key, String value) {
        return write(path, JSON.createObjectNode().put("key", key).put("value", value));
    }

    /** A write in the client's session (when it has one): {@code body} gets its clientId and seq. */
    private KvResult write(String path, ObjectNode body) {
        if (!sessions) return call(path, json(body), false);
        synchronized (writeLock) {
            for (int attempt = 0; ; attempt++) {
                if (clientId == 0) {
                    KvResult reg = register();
                    if (clientId == 0) return reg;
                }
                long s = ++seq;
                boolean[] maybeApplied = {false};
                KvResult r = call(path, json(body.deepCopy().put("clientId", clientId).put("seq", s)), true, maybeApplied);
                if (r.status() == 409 && r.body().path("sessionExpired").asBoolean()) {
                    if (maybeApplied[0]) {
                        // An earlier send of this seq may have been applied before the session went:
                        // sending it again under a new session could apply it twice.
                        clientId = 0;
                        return new KvResult(0, error("the session expired while this write was being resent;"
                                + " the outcome is unknown (it may have been applied once)"), r.servedBy(), r.latencyNs());
                    }
                    if (attempt == 0) {
                        clientId = 0; // expired while idle: nothing was applied, start a new session
                        continue;
                    }
                }
                return r;
            }
        }
    }

    /** Guarded by writeLock: registers a session; on success sets clientId and resets seq. */
    private KvResult register() {
        // A lost registration leaves an unused session behind, which simply expires: safe to retry.
        KvResult reg = call("/session", new byte[0], true);
        if (reg.ok() && reg.body().has("clientId")) {
            clientId = reg.body().get("clientId").asLong();
            seq = 0;
        }
        return reg;
    }

    /** The JSON bytes of a request body (shared with {@link LoopClient}). */
    static byte[] json(ObjectNode o) {
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Sends {@code path} to the preferred node, then the others, until a definite answer or the
     * timeout. {@code idempotent}: a read, or a write carrying a session seq, may be resent after
     * an unknown outcome; anything else is returned at the first unknown outcome.
     */
    private KvResult call(String path, byte[] body, boolean idempotent) {
        return call(path, body, idempotent, new boolean[1]);
    }

    /** As above; sets {@code maybeApplied[0]} if some attempt ended with an unknown outcome. */
    private KvResult call(String path, byte[] body, boolean idempotent, boolean[] maybeApplied) {
        return call(path, body, idempotent, maybeApplied, credentials != null);
    }

    /** {@code relogin}: on a 401, log in again once and resend (not for the login itself). */
    private KvResult call(String path, byte[] body, boolean idempotent, boolean[] maybeApplied, boolean relogin) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        List<HostPort> order = new ArrayList<>(nodes);
        order.remove(preferred);
        order.addFirst(preferred);
        KvResult last = null;
        int i = 0;
        // A node another one suggested (the last leader it knew), tried before the next in order;
        // each at most once per round, so two cut-off nodes naming each other cannot ping-pong.
        HostPort suggested = null;
        java.util.Set<HostPort> triedThisRound = new java.util.HashSet<>();
        KvResult tlsFailure = null;
        while (System.nanoTime() < deadline) {
            HostPort node = suggested != null ? suggested : order.get(i++ % order.size());
            suggested = null;
            triedThisRound.add(node);
            try {
                long left = Math.max(1, deadline - System.nanoTime());
                KvResult r = send(node, path, body, start, Duration.ofNanos(idempotent ? Math.min(left, attemptTimeoutNs) : left));
                if (r.status() == 401 && relogin) {
                    // Nothing was done (a 401 comes before anything is): safe to resend with a new token.
                    relogin = false;
                    KvResult l = refreshToken();
                    if (!l.ok()) return l;
                    r = send(node, path, body, start, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                }
                r.leaderAddress().ifPresent(this::preferLeader);
                boolean elsewhere = r.status() == 503 || r.status() == 508 && r.retryable();
                if (!elsewhere || !(r.retryable() || idempotent)) return r;
                if (!r.retryable()) maybeApplied[0] = true;
                suggested = r.suggestedNode().flatMap(this::member).filter(n -> !triedThisRound.contains(n)).orElse(null);
                last = r;
            } catch (ConnectException | HttpConnectTimeoutException e) {
                last = new KvResult(0, error("cannot connect to " + node + ": " + describe(e)), node,
                        System.nanoTime() - start);
            } catch (javax.net.ssl.SSLHandshakeException e) {
                // Nothing is sent before the handshake: a refused certificate is a connect failure, and what
                // the call reports at its deadline (a later attempt's timeout would hide what to fix).
                last = tlsFailure = tlsRefused(node, describe(e), System.nanoTime() - start);
            } catch (IOException e) {
                // Sent, and the connection failed: a read may be retried, a write's outcome is unknown.
                KvResult r = new KvResult(0, error("connection to " + node + " failed (" + describe(e)
                        + ")" + (body != null ? "; the outcome is unknown" : "")), node, System.nanoTime() - start);
                if (!idempotent) return r;
                maybeApplied[0] = true;
                last = r;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new KvResult(0, error("interrupted"), node, System.nanoTime() - start);
            }
            if (suggested == null && i % order.size() == 0) {
                LockSupport.parkNanos(50_000_000L);
                triedThisRound.clear();
            }
        }
        KvResult end = atDeadline(last, tlsFailure, body != null, maybeApplied[0]);
        return end != null ? end : new KvResult(0, error("timed out"), preferred, System.nanoTime() - start);
    }

    /** An attempt's TLS handshake failed: nothing was sent, so a connect failure saying what to fix. */
    static KvResult tlsRefused(HostPort node, String why, long latencyNs) {
        return new KvResult(0, error("cannot connect to " + node + ": TLS handshake failed (" + why
                + "); check that the CA file is the cluster's"), node, latencyNs);
    }

    /**
     * What a call that reached its deadline answers (null: no attempt ended at all): a refused
     * certificate, which a later attempt's timeout would hide, unless an earlier attempt of a write
     * was sent and lost: then its unknown outcome is what counts.
     */
    static KvResult atDeadline(KvResult last, KvResult tlsFailure, boolean write, boolean maybeApplied) {
        if (tlsFailure != null && !maybeApplied) return tlsFailure;
        return last != null && write && maybeApplied ? withUnknownOutcome(last) : last;
    }

    /** {@code r} (no answer) said of a write an earlier attempt of which was sent and lost. */
    static KvResult withUnknownOutcome(KvResult r) {
        String why = r.error().orElse("no answer");
        if (r.status() != 0 || why.contains("outcome is unknown")) return r;
        return new KvResult(0, error(why + "; an earlier attempt was sent and lost: the outcome is unknown"), r.servedBy(),
                r.latencyNs());
    }

    private KvResult send(HostPort node, String path, byte[] body, long start, Duration attemptTimeout)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(scheme + node + path)).timeout(attemptTimeout);
        String auth = authorization();
        if (auth != null && !path.equals("/auth/login")) b.header("Authorization", auth);
        if (body == null) {
            b.GET();
        } else {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body));
        }
        HttpResponse<byte[]> res = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        JsonNode json;
        try {
            json = res.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(res.body());
        } catch (IOException e) {
            json = error("node answered with non-JSON (HTTP " + res.statusCode() + ")");
        }
        return new KvResult(res.statusCode(), json, node, System.nanoTime() - start);
    }

    private void preferLeader(String address) {
        member(address).ifPresent(n -> preferred = n);
    }

    /** The node of this client's list at {@code address}, if it is one. */
    private java.util.Optional<HostPort> member(String address) {
        for (HostPort n : nodes) {
            if (n.toString().equals(address)) return java.util.Optional.of(n);
        }
        return java.util.Optional.empty();
    }

    /** The body of a result made on the client's side: {@code {"error": message}}. */
    static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static String describe(Exception e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    @Override
    public void close() {
        if (ownsHttp) http.shutdownNow();
    }

    /** The HTTP client a RaftKvClient makes for itself; also usable as a shared one. */
    public static HttpClient newHttpClient(Duration timeout) {
        return newHttpClient(timeout, null);
    }

    /** As {@link #newHttpClient(Duration)}, speaking TLS with {@code tls} when it is not null. */
    public static HttpClient newHttpClient(Duration timeout, javax.net.ssl.SSLContext tls) {
        HttpClient.Builder b = HttpClient.newBuilder();
        if (tls != null) b.sslContext(tls);
        return b.version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofMillis(Math.min(1000, timeout.toMillis()))).build();
    }
}
