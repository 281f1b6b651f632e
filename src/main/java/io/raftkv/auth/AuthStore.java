package io.raftkv.auth;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The users, roles and grants, and whether authentication is on: part of the replicated state
 * machine, changed only by {@link #apply} (deterministic: the same changes give the same state on
 * every node) and carried in snapshots ({@link #encode}). Role {@code root} always exists and may
 * do everything; user {@code root} must exist before authentication can be turned on, and gets role
 * {@code root} then.
 *
 * <p>Changed on the node's loop only; other threads (the HTTP handlers, on their own event loops)
 * read {@link #view()}: an unchanging copy published at the end of every change, so a reader that
 * learned an entry was applied (a ReadIndex read completing after it) also sees its effect.
 */
public final class AuthStore {
    public static final String ROOT = "root";

    /** A user: its password hash, roles, and the index of its last password change (tokens name it). */
    public record User(String passwordHash, java.util.SortedSet<String> roles, long generation) {}

    private boolean enabled;
    private byte[] signingKey = new byte[0];
    private long tokenTtlMs;
    private final TreeMap<String, User> users = new TreeMap<>();
    /** Role to its grants: prefix to permission. */
    private final TreeMap<String, TreeMap<String, AuthOp.Permission>> roles = new TreeMap<>();
    /** The copy other threads read (this store itself for a view, which never changes). */
    private volatile AuthStore view;

    public AuthStore() {
        this.view = new AuthStore(this);
    }

    /** A view: a copy of {@code of}, never changed. */
    private AuthStore(AuthStore of) {
        this.view = this;
        if (of.view != null) copy(of);
    }

    /**
     * The state as of the last change, for any thread: never changed afterwards (changes publish a
     * new view). Do not {@link #apply} to it.
     */
    public AuthStore view() {
        return view;
    }

    private void publish() {
        view = new AuthStore(this);
    }

    /** What applying a change did: done, or refused with an HTTP status and why (nothing changed). */
    public record Outcome(int status, String message) {
        public boolean ok() {
            return status == 200;
        }

        static Outcome done(String message) {
            return new Outcome(200, message);
        }
    }

    public Outcome apply(long index, AuthOp op) {
        if (view == this) throw new IllegalStateException("a view of the auth state does not change");
        Outcome o = change(index, op);
        publish();
        return o;
    }

    private Outcome change(long index, AuthOp op) {
        return switch (op) {
            case AuthOp.UserAdd a -> {
                if (users.containsKey(a.name())) yield new Outcome(409, "user " + a.name() + " already exists");
                users.put(a.name(), new User(a.passwordHash(), Collections.unmodifiableSortedSet(new TreeSet<>()), index));
                yield Outcome.done("user " + a.name() + " added");
            }
            case AuthOp.UserDelete d -> {
                if (!users.containsKey(d.name())) yield notFound("user", d.name());
                if (enabled && d.name().equals(ROOT)) yield new Outcome(409, "user root cannot be deleted while authentication is on");
                users.remove(d.name());
                yield Outcome.done("user " + d.name() + " deleted");
            }
            case AuthOp.UserPasswd p -> {
                User u = users.get(p.name());
                if (u == null) yield notFound("user", p.name());
                users.put(p.name(), new User(p.passwordHash(), u.roles(), index));
                yield Outcome.done("password of user " + p.name() + " changed; its tokens no longer work");
            }
            case AuthOp.UserGrantRole g -> {
                User u = users.get(g.name());
                if (u == null) yield notFound("user", g.name());
                if (!g.role().equals(ROOT) && !roles.containsKey(g.role())) yield notFound("role", g.role());
                TreeSet<String> r = new TreeSet<>(u.roles());
                r.add(g.role());
                users.put(g.name(), new User(u.passwordHash(), Collections.unmodifiableSortedSet(r), u.generation()));
                yield Outcome.done("user " + g.name() + " has role " + g.role());
            }
            case AuthOp.UserRevokeRole g -> {
                User u = users.get(g.name());
                if (u == null) yield notFound("user", g.name());
                if (!u.roles().contains(g.role())) yield new Outcome(404, "user " + g.name() + " does not have role " + g.role());
                if (enabled && g.name().equals(ROOT) && g.role().equals(ROOT))
                    yield new Outcome(409, "user root keeps role root while authentication is on");
                TreeSet<String> r = new TreeSet<>(u.roles());
                r.remove(g.role());
                users.put(g.name(), new User(u.passwordHash(), Collections.unmodifiableSortedSet(r), u.generation()));
                yield Outcome.done("user " + g.name() + " no longer has role " + g.role());
            }
            case AuthOp.RoleAdd a -> {
                if (a.name().equals(ROOT) || roles.containsKey(a.name())) yield new Outcome(409, "role " + a.name() + " already exists");
                roles.put(a.name(), new TreeMap<>());
                yield Outcome.done("role " + a.name() + " added");
            }
            case AuthOp.RoleDelete d -> {
                if (d.name().equals(ROOT)) yield new Outcome(409, "role root cannot be deleted");
                if (roles.remove(d.name()) == null) yield notFound("role", d.name());
                // Users lose it too, so that a role added again later starts with nobody.
                for (var e : users.entrySet()) {
                    if (!e.getValue().roles().contains(d.name())) continue;
                    TreeSet<String> r = new TreeSet<>(e.getValue().roles());
                    r.remove(d.name());
                    e.setValue(new User(e.getValue().passwordHash(), Collections.unmodifiableSortedSet(r), e.getValue().generation()));
                }
                yield Outcome.done("role " + d.name() + " deleted");
            }
            case AuthOp.RoleGrant g -> {
                if (g.role().equals(ROOT)) yield new Outcome(409, "role root may do everything already");
                TreeMap<String, AuthOp.Permission> grants = roles.get(g.role());
                if (grants == null) yield notFound("role", g.role());
                grants.put(g.prefix(), g.permission());
                yield Outcome.done("role " + g.role() + " may " + (g.permission() == AuthOp.Permission.READ ? "read" : "read and write")
                        + " keys starting with '" + g.prefix() + "'");
            }
            case AuthOp.RoleRevoke r -> {
                TreeMap<String, AuthOp.Permission> grants = roles.get(r.role());
                if (grants == null) yield notFound("role", r.role());
                if (grants.remove(r.prefix()) == null) yield new Outcome(404, "role " + r.role() + " has no grant on prefix '" + r.prefix() + "'");
                yield Outcome.done("role " + r.role() + " lost its grant on prefix '" + r.prefix() + "'");
            }
            case AuthOp.Enable e -> {
                User root = users.get(ROOT);
                if (root == null) yield new Outcome(409, "add user root first (raftkv user add root): it is the only one who can turn authentication off again");
                TreeSet<String> r = new TreeSet<>(root.roles());
                r.add(ROOT);
                users.put(ROOT, new User(root.passwordHash(), Collections.unmodifiableSortedSet(r), root.generation()));
                boolean was = enabled;
                enabled = true;
                signingKey = e.signingKey().clone();
                tokenTtlMs = e.tokenTtlMs();
                yield Outcome.done(was ? "authentication was on already; tokens issued before no longer work" : "authentication is on");
            }
            case AuthOp.Disable d -> {
                boolean was = enabled;
                enabled = false;
                signingKey = new byte[0];
                yield Outcome.done(was ? "authentication is off" : "authentication was off already");
            }
        };
    }

    private static Outcome notFound(String what, String name) {
        return new Outcome(404, what + " " + name + " does not exist");
    }

    public boolean enabled() {
        return enabled;
    }

    /** The key tokens are signed with (empty while authentication is off). */
    public byte[] signingKey() {
        return signingKey.clone();
    }

    public long tokenTtlMs() {
        return tokenTtlMs;
    }

    public Optional<User> user(String name) {
        return Optional.ofNullable(users.get(name));
    }

    public List<String> userNames() {
        return List.copyOf(users.keySet());
    }

    public SortedMap<String, SortedMap<String, AuthOp.Permission>> roles() {
        TreeMap<String, SortedMap<String, AuthOp.Permission>> out = new TreeMap<>();
        roles.forEach((k, v) -> out.put(k, Collections.unmodifiableSortedMap(new TreeMap<>(v))));
        return Collections.unmodifiableSortedMap(out);
    }

    /** Whether {@code user} holds role root. */
    public boolean isRoot(String user) {
        User u = users.get(user);
        return u != null && u.roles().contains(ROOT);
    }

    /**
     * Whether {@code user} may {@code wanted} every key of the range: a single key ({@code end}
     * null), or a prefix ({@code prefix} true), or [key, end) ({@code end} "" meaning to the last key).
     */
    public boolean allows(String user, AuthOp.Permission wanted, String key, boolean prefix, String end) {
        User u = users.get(user);
        if (u == null) return false;
        if (u.roles().contains(ROOT)) return true;
        for (String role : u.roles()) {
            Map<String, AuthOp.Permission> grants = roles.get(role);
            if (grants == null) continue;
            for (var g : grants.entrySet()) {
                if (!g.getValue().allows(wanted)) continue;
                if (covers(g.getKey(), key, prefix, end)) return true;
            }
        }
        return false;
    }

    /** Whether every key starting with {@code grant} includes the whole requested range. */
    static boolean covers(String grant, String key, boolean prefix, String end) {
        if (grant.isEmpty()) return true;
        if (!key.startsWith(grant)) return false;
        if (end == null || prefix) return true;
        // [key, end): end must not pass the last key with the prefix, i.e. be at most prefixEnd(grant).
        if (end.isEmpty()) return false;
        String limit = prefixEnd(grant);
        return limit == null || io.raftkv.kv.KeyOrder.compare(end, limit) <= 0;
    }

    /** The smallest key after every key starting with {@code p} (null: none, p is all U+10FFFF). */
    static String prefixEnd(String p) {
        int[] cps = p.codePoints().toArray();
        for (int i = cps.length - 1; i >= 0; i--) {
            if (cps[i] < Character.MAX_CODE_POINT) {
                int next = cps[i] + 1;
                if (next >= Character.MIN_SURROGATE && next <= Character.MAX_SURROGATE) next = Character.MAX_SURROGATE + 1;
                cps[i] = next;
                return new String(cps, 0, i + 1);
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- snapshots

    /** Everything, for a snapshot: enabled, key, ttl, users (name, hash, generation, roles), roles (name, grants). */
    public void encode(DataOutputStream out) throws IOException {
        out.writeBoolean(enabled);
        out.writeInt(signingKey.length);
        out.write(signingKey);
        out.writeLong(tokenTtlMs);
        out.writeInt(users.size());
        for (var e : users.entrySet()) {
            writeString(out, e.getKey());
            writeString(out, e.getValue().passwordHash());
            out.writeLong(e.getValue().generation());
            out.writeInt(e.getValue().roles().size());
            for (String r : e.getValue().roles()) writeString(out, r);
        }
        out.writeInt(roles.size());
        for (var e : roles.entrySet()) {
            writeString(out, e.getKey());
            out.writeInt(e.getValue().size());
            for (var g : e.getValue().entrySet()) {
                writeString(out, g.getKey());
                out.writeByte(g.getValue().ordinal());
            }
        }
    }

    /** The state {@link #encode} wrote; throws IOException on anything impossible. */
    public static AuthStore decode(DataInputStream in, int maxBytes) throws IOException {
        AuthStore s = new AuthStore();
        s.enabled = in.readBoolean();
        int keyLen = in.readInt();
        if (keyLen < 0 || keyLen > 1024) throw new IOException("impossible signing key length " + keyLen);
        s.signingKey = in.readNBytes(keyLen);
        s.tokenTtlMs = in.readLong();
        int n = in.readInt();
        if (n < 0 || n > maxBytes / 8) throw new IOException("impossible user count " + n);
        for (int i = 0; i < n; i++) {
            String name = readString(in, maxBytes);
            String hash = readString(in, maxBytes);
            long generation = in.readLong();
            int r = in.readInt();
            if (r < 0 || r > maxBytes / 4) throw new IOException("impossible role count " + r);
            TreeSet<String> rs = new TreeSet<>();
            for (int j = 0; j < r; j++) rs.add(readString(in, maxBytes));
            s.users.put(name, new User(hash, Collections.unmodifiableSortedSet(rs), generation));
        }
        int m = in.readInt();
        if (m < 0 || m > maxBytes / 8) throw new IOException("impossible role count " + m);
        for (int i = 0; i < m; i++) {
            String name = readString(in, maxBytes);
            int g = in.readInt();
            if (g < 0 || g > maxBytes / 5) throw new IOException("impossible grant count " + g);
            TreeMap<String, AuthOp.Permission> grants = new TreeMap<>();
            for (int j = 0; j < g; j++) {
                String prefix = readString(in, maxBytes);
                int p = in.readUnsignedByte();
                if (p >= AuthOp.Permission.values().length) throw new IOException("unknown permission " + p);
                grants.put(prefix, AuthOp.Permission.values()[p]);
            }
            s.roles.put(name, grants);
        }
        s.publish();
        return s;
    }

    /** Replaces this state with {@code other}'s (a snapshot's). */
    public void replaceWith(AuthStore other) {
        if (view == this) throw new IllegalStateException("a view of the auth state does not change");
        copy(other);
        publish();
    }

    private void copy(AuthStore other) {
        enabled = other.enabled;
        signingKey = other.signingKey.clone();
        tokenTtlMs = other.tokenTtlMs;
        users.clear();
        users.putAll(other.users);
        roles.clear();
        other.roles.forEach((k, v) -> roles.put(k, new TreeMap<>(v)));
    }

    static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    static String readString(DataInputStream in, int maxBytes) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > maxBytes) throw new IOException("impossible string length " + len);
        byte[] b = in.readNBytes(len);
        if (b.length != len) throw new java.io.EOFException("string cut short");
        return new String(b, StandardCharsets.UTF_8);
    }
}
