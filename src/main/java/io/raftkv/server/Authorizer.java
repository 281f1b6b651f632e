package io.raftkv.server;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.raftkv.auth.AuthOp.Permission;
import io.raftkv.auth.AuthStore;
import io.raftkv.auth.Tokens;
import io.raftkv.kv.KvOp;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Who may do what, once authentication is on (etcd's model): every client request names its user
 * by a bearer token ({@code Authorization: Bearer <token>}, from {@code POST /auth/login}) or, on a
 * node started with {@code --client-cert-auth}, by its certificate's common name; no user or a
 * token that is not valid is 401, a user whose roles do not cover the request is 403, and nothing
 * is done. Checked on the connection's client loop against the view of the node's applied auth state, without a round trip.
 */
final class Authorizer {
    /** Set by {@link HttpApi} from a verified client certificate (a client's own value is removed first). */
    static final String CERT_USER_HEADER = "X-Raftkv-Cert-User";

    private Authorizer() {}

    /** What a request needs. */
    sealed interface Need {
        /** Any known user (sessions, leases, the membership list). */
        record AnyUser() implements Need {}

        /** Role root (membership changes, leadership transfer, users and roles, auth on and off). */
        record Root() implements Need {}

        /** The keys of a request: each a key, a prefix, or a range [key, end) ("" end: to the last key). */
        record Keys(List<KeyNeed> keys) implements Need {}
    }

    record KeyNeed(Permission permission, String key, boolean prefix, String end) {
        static KeyNeed key(Permission p, String key) {
            return new KeyNeed(p, key, false, null);
        }
    }

    static final Need ANY_USER = new Need.AnyUser();
    static final Need ROOT = new Need.Root();

    static Need keys(KeyNeed... k) {
        return new Need.Keys(List.of(k));
    }

    /** What a KV operation reads and writes. */
    static Need of(KvOp op) {
        List<KeyNeed> out = new ArrayList<>();
        add(op, out);
        return out.isEmpty() ? ANY_USER : new Need.Keys(out);
    }

    private static void add(KvOp op, List<KeyNeed> out) {
        switch (op) {
            case KvOp.Put p -> out.add(KeyNeed.key(Permission.READWRITE, p.key()));
            case KvOp.Append a -> out.add(KeyNeed.key(Permission.READWRITE, a.key()));
            case KvOp.Delete d -> out.add(new KeyNeed(Permission.READWRITE, d.key(), d.prefix(), null));
            case KvOp.Get g -> out.add(KeyNeed.key(Permission.READ, g.key()));
            case KvOp.Cas c -> out.add(KeyNeed.key(Permission.READWRITE, c.key()));
            case KvOp.Txn t -> {
                for (KvOp.Compare c : t.compare()) out.add(KeyNeed.key(Permission.READ, c.key()));
                for (KvOp s : t.success()) add(s, out);
                for (KvOp f : t.failure()) add(f, out);
            }
            case KvOp.LeaseGrant g -> { }
            case KvOp.LeaseKeepAlive k -> { }
            case KvOp.LeaseRevoke r -> { }
            case KvOp.LeaseExpire e -> throw new IllegalArgumentException("lease expiry is the leader's own");
            case KvOp.Auth a -> throw new IllegalArgumentException("auth changes are checked as root");
        }
    }

    /** The user a request speaks for, if it names one validly; else why not (for a 401). */
    static Optional<String> user(AuthStore store, HttpHeaders headers, Instant now, String[] why) {
        String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null) {
            if (!auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
                why[0] = "the Authorization header must be 'Bearer <token>' (the token from POST /auth/login)";
                return Optional.empty();
            }
            return switch (Tokens.check(store, auth.substring(7).trim(), now)) {
                case Tokens.Check.Valid v -> Optional.of(v.user());
                case Tokens.Check.Invalid i -> {
                    why[0] = i.why();
                    yield Optional.empty();
                }
            };
        }
        String certUser = headers.get(CERT_USER_HEADER);
        if (certUser != null) {
            if (store.user(certUser).isPresent()) return Optional.of(certUser);
            why[0] = "the client certificate names user '" + certUser + "', who does not exist";
            return Optional.empty();
        }
        why[0] = "authentication is on: log in with POST /auth/login {\"user\":...,\"password\":...} and send"
                + " 'Authorization: Bearer <token>'";
        return Optional.empty();
    }

    /** Empty when the request may go on; otherwise its 401 or 403 answer. */
    static Optional<FullHttpResponse> check(AuthStore store, HttpHeaders headers, Need need) {
        if (!store.enabled()) return Optional.empty();
        String[] why = new String[1];
        Optional<String> user = user(store, headers, Instant.now(), why);
        if (user.isEmpty()) {
            FullHttpResponse res = HttpApi.error(HttpResponseStatus.UNAUTHORIZED, why[0] + "; nothing was done");
            res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"raftkv\"");
            return Optional.of(res);
        }
        String u = user.get();
        String refused = switch (need) {
            case Need.AnyUser a -> null;
            case Need.Root r -> store.isRoot(u) ? null : "user " + u + " does not have role root, which this needs";
            case Need.Keys k -> {
                for (KeyNeed n : k.keys()) {
                    if (store.allows(u, n.permission(), n.key(), n.prefix(), n.end())) continue;
                    String what = n.prefix() ? "keys starting with '" + n.key() + "'"
                            : n.end() != null ? "keys from '" + n.key() + "' to " + (n.end().isEmpty() ? "the last" : "'" + n.end() + "'")
                            : "key '" + n.key() + "'";
                    yield "user " + u + " may not " + (n.permission() == Permission.READ ? "read " : "write ") + what
                            + " (no role of it grants " + n.permission().label + " on a prefix covering them)";
                }
                yield null;
            }
        };
        if (refused == null) return Optional.empty();
        return Optional.of(HttpApi.error(HttpResponseStatus.FORBIDDEN, refused + "; nothing was done"));
    }
}
