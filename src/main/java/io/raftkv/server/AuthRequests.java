package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.raftkv.auth.AuthOp;
import io.raftkv.auth.AuthStore;
import io.raftkv.auth.Passwords;
import io.raftkv.auth.Tokens;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvOp;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The auth API (etcd's model): {@code POST /auth/login} gives a token; {@code /auth/enable},
 * {@code /auth/disable}, {@code /user/*} and {@code /role/*} change users, roles and grants through
 * the log (role root once auth is on); {@code GET /auth/status} says whether it is on. Password
 * hashing and checking (bcrypt, tens of milliseconds) run on virtual threads, never on the node's
 * loop; failed logins are limited per user and address.
 */
final class AuthRequests implements AutoCloseable {
    /** Tokens last this long unless {@code /auth/enable} says otherwise. */
    static final long DEFAULT_TOKEN_TTL_SECONDS = 600;
    private static final int MAX_FAILURES = 5;
    private static final long FAILURE_WINDOW_NS = 60_000_000_000L;
    private static final SecureRandom RANDOM = new SecureRandom();
    /** A hash to check unknown users' passwords against, so that a login takes as long either way. */
    private static final String DUMMY_HASH = Passwords.hash("raftkv-no-such-user");

    private final LocalNode server;
    private final ClientRequests requests;
    private final ExecutorService hashing = Executors.newVirtualThreadPerTaskExecutor();
    /** Failed logins per user and address: count and start of the window. */
    private final Map<String, long[]> failures = new ConcurrentHashMap<>();

    AuthRequests(LocalNode server, ClientRequests requests) {
        this.server = server;
        this.requests = requests;
    }

    @Override
    public void close() {
        hashing.shutdownNow();
    }

    /** Handles {@code path} (one of the auth routes); on the connection's client loop. */
    void handle(ResponseOrder.Reply reply, String path, byte[] body, HttpHeaders headers) {
        try {
            switch (path) {
                case "/auth/status" -> requests.authRead(reply, path, headers, () -> HttpApi.json(HttpResponseStatus.OK,
                        HttpApi.JSON.createObjectNode().put("enabled", server.authStore().enabled())));
                case "/auth/login" -> login(reply, body, headers);
                // Checked on the leader once its state is confirmed current (not on a follower that may lag).
                case "/user/list" -> requests.authRead(reply, path, headers,
                        () -> Authorizer.check(server.authStore(), headers, Authorizer.ROOT)
                                .orElseGet(() -> HttpApi.json(HttpResponseStatus.OK, users(server.authStore()))));
                case "/role/list" -> requests.authRead(reply, path, headers,
                        () -> Authorizer.check(server.authStore(), headers, Authorizer.ROOT)
                                .orElseGet(() -> HttpApi.json(HttpResponseStatus.OK, roles(server.authStore()))));
                default -> change(reply, path, body, headers);
            }
        } catch (KvApiJson.Bad e) {
            reply.send(HttpApi.error(e.status, e.getMessage()));
        }
    }

    private boolean denied(ResponseOrder.Reply reply, HttpHeaders headers) {
        Optional<FullHttpResponse> refusal = Authorizer.check(server.authStore(), headers, Authorizer.ROOT);
        refusal.ifPresent(reply::send);
        return refusal.isPresent();
    }

    private static ObjectNode users(AuthStore store) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        ArrayNode list = o.putArray("users");
        for (String name : store.userNames()) {
            ObjectNode u = list.addObject().put("name", name);
            ArrayNode roles = u.putArray("roles");
            store.user(name).orElseThrow().roles().forEach(roles::add);
        }
        return o;
    }

    private static ObjectNode roles(AuthStore store) {
        ObjectNode o = HttpApi.JSON.createObjectNode();
        ObjectNode roles = o.putObject("roles");
        roles.putObject(AuthStore.ROOT).put("", "readwrite (and administration)");
        store.roles().forEach((name, grants) -> {
            ObjectNode g = roles.putObject(name);
            grants.forEach((prefix, p) -> g.put(prefix, p.label));
        });
        return o;
    }

    private static String text(ObjectNode o, String field, String usage) throws KvApiJson.Bad {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual()) throw new KvApiJson.Bad("'" + field + "' must be a string" + usage);
        return v.asText();
    }

    /** A change: parsed and checked here, hashed off the loop if it carries a password, then proposed. */
    private void change(ResponseOrder.Reply reply, String path, byte[] body, HttpHeaders headers) throws KvApiJson.Bad {
        String usage = switch (path) {
            case "/auth/enable" -> "; use POST /auth/enable {} or {\"tokenTtlSeconds\":N}";
            case "/auth/disable" -> "; use POST /auth/disable {}";
            case "/user/add", "/user/passwd" -> "; use POST " + path + " {\"name\":\"alice\",\"password\":\"...\"}";
            case "/user/delete", "/role/add", "/role/delete" -> "; use POST " + path + " {\"name\":\"...\"}";
            case "/user/grant-role", "/user/revoke-role" -> "; use POST " + path + " {\"name\":\"alice\",\"role\":\"app\"}";
            case "/role/grant" -> "; use POST /role/grant {\"name\":\"app\",\"prefix\":\"app/\",\"permission\":\"read|readwrite\"}";
            case "/role/revoke" -> "; use POST /role/revoke {\"name\":\"app\",\"prefix\":\"app/\"}";
            default -> throw new IllegalStateException("not an auth route: " + path);
        };
        ObjectNode o = body.length == 0 && (path.equals("/auth/enable") || path.equals("/auth/disable"))
                ? HttpApi.JSON.createObjectNode() : KvApiJson.readObject(body, usage);
        if (denied(reply, headers)) return;
        String passwordToHash = null;
        AuthOp op;
        try {
            switch (path) {
                case "/auth/enable" -> {
                    KvApiJson.only(o, Set.of("tokenTtlSeconds"), usage);
                    long ttl = DEFAULT_TOKEN_TTL_SECONDS;
                    if (o.has("tokenTtlSeconds")) {
                        JsonNode t = o.get("tokenTtlSeconds");
                        if (!t.canConvertToLong() || t.asLong() < 1 || t.asLong() > 86_400 * 30) {
                            throw new KvApiJson.Bad("'tokenTtlSeconds' must be 1 to 2592000 (30 days)" + usage);
                        }
                        ttl = t.asLong();
                    }
                    byte[] key = new byte[32];
                    RANDOM.nextBytes(key);
                    op = new AuthOp.Enable(key, ttl * 1000);
                }
                case "/auth/disable" -> {
                    KvApiJson.only(o, Set.of(), usage);
                    op = new AuthOp.Disable();
                }
                case "/user/add", "/user/passwd" -> {
                    KvApiJson.only(o, Set.of("name", "password"), usage);
                    String name = text(o, "name", usage);
                    passwordToHash = text(o, "password", usage);
                    Passwords.check(passwordToHash);
                    op = path.equals("/user/add") ? new AuthOp.UserAdd(name, "") : new AuthOp.UserPasswd(name, "");
                }
                case "/user/delete" -> {
                    KvApiJson.only(o, Set.of("name"), usage);
                    op = new AuthOp.UserDelete(text(o, "name", usage));
                }
                case "/user/grant-role", "/user/revoke-role" -> {
                    KvApiJson.only(o, Set.of("name", "role"), usage);
                    op = path.equals("/user/grant-role") ? new AuthOp.UserGrantRole(text(o, "name", usage), text(o, "role", usage))
                            : new AuthOp.UserRevokeRole(text(o, "name", usage), text(o, "role", usage));
                }
                case "/role/add" -> {
                    KvApiJson.only(o, Set.of("name"), usage);
                    op = new AuthOp.RoleAdd(text(o, "name", usage));
                }
                case "/role/delete" -> {
                    KvApiJson.only(o, Set.of("name"), usage);
                    op = new AuthOp.RoleDelete(text(o, "name", usage));
                }
                case "/role/grant" -> {
                    KvApiJson.only(o, Set.of("name", "prefix", "permission"), usage);
                    op = new AuthOp.RoleGrant(text(o, "name", usage), text(o, "prefix", usage),
                            AuthOp.Permission.of(text(o, "permission", usage)));
                }
                case "/role/revoke" -> {
                    KvApiJson.only(o, Set.of("name", "prefix"), usage);
                    op = new AuthOp.RoleRevoke(text(o, "name", usage), text(o, "prefix", usage));
                }
                default -> throw new IllegalStateException(path);
            }
        } catch (IllegalArgumentException e) {
            throw new KvApiJson.Bad(e.getMessage() + usage);
        }
        if (passwordToHash == null) {
            requests.proposeAuth(reply, path, body, headers, KvCommand.of(new KvOp.Auth(op), 0, 0));
            return;
        }
        String password = passwordToHash;
        AuthOp unhashed = op;
        hashing.execute(() -> {
            String hash = Passwords.hash(password);
            AuthOp hashed = switch (unhashed) {
                case AuthOp.UserAdd a -> new AuthOp.UserAdd(a.name(), hash);
                case AuthOp.UserPasswd p -> new AuthOp.UserPasswd(p.name(), hash);
                default -> throw new IllegalStateException(unhashed.toString());
            };
            reply.executor().execute(() -> requests.proposeAuth(reply, path, body, headers,
                    KvCommand.of(new KvOp.Auth(hashed), 0, 0)));
        });
    }

    /** {@code POST /auth/login}: checks the password on a virtual thread, then signs a token on the client loop. */
    private void login(ResponseOrder.Reply reply, byte[] body, HttpHeaders headers) throws KvApiJson.Bad {
        String usage = "; use POST /auth/login {\"user\":\"alice\",\"password\":\"...\"}";
        ObjectNode o = KvApiJson.readObject(body, usage);
        KvApiJson.only(o, Set.of("user", "password"), usage);
        String user = text(o, "user", usage);
        String password = text(o, "password", usage);
        // On the leader, with its state confirmed current: a user added or a password changed through
        // any node is known here, whatever node the login came to.
        requests.atLeader(reply, "/auth/login", body, headers, () -> checkLogin(reply, user, password));
    }

    private void checkLogin(ResponseOrder.Reply reply, String user, String password) {
        AuthStore store = server.authStore();
        if (!store.enabled()) {
            reply.send(HttpApi.error(HttpResponseStatus.CONFLICT, "authentication is off: requests need no token"
                    + " (turn it on with POST /auth/enable once user root exists)"));
            return;
        }
        String limitKey = user + "|" + reply.remoteHost();
        long[] f = failures.get(limitKey);
        long now = System.nanoTime();
        if (f != null && now - f[1] < FAILURE_WINDOW_NS && f[0] >= MAX_FAILURES) {
            long waitS = Math.max(1, (f[1] + FAILURE_WINDOW_NS - now) / 1_000_000_000L);
            FullHttpResponse res = HttpApi.error(HttpResponseStatus.TOO_MANY_REQUESTS, MAX_FAILURES
                    + " failed logins for user " + user + " from this address within a minute; try again in " + waitS + " s");
            res.headers().set("Retry-After", waitS);
            reply.send(res);
            return;
        }
        String hash = store.user(user).map(AuthStore.User::passwordHash).orElse(DUMMY_HASH);
        boolean known = store.user(user).isPresent();
        hashing.execute(() -> {
            boolean ok = Passwords.matches(hash, password) && known;
            reply.executor().execute(() -> {
                if (!ok) {
                    failures.compute(limitKey, (k, v) -> v == null || System.nanoTime() - v[1] >= FAILURE_WINDOW_NS
                            ? new long[] {1, System.nanoTime()} : new long[] {v[0] + 1, v[1]});
                    reply.send(HttpApi.error(HttpResponseStatus.UNAUTHORIZED, "wrong user name or password"));
                    return;
                }
                failures.remove(limitKey);
                AuthStore s = server.authStore();
                if (!s.enabled() || s.user(user).isEmpty()) {
                    reply.send(HttpApi.error(HttpResponseStatus.UNAUTHORIZED, "user " + user + " no longer exists"));
                    return;
                }
                Instant at = Instant.now();
                reply.send(HttpApi.json(HttpResponseStatus.OK, HttpApi.JSON.createObjectNode()
                        .put("token", Tokens.issue(s, user, at))
                        .put("expiresAt", at.plusMillis(s.tokenTtlMs()).toString())));
            });
        });
    }
}
