package io.raftkv.kv;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import io.raftkv.raft.SnapshotData;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The key-value map plus the client session table that makes writes exactly-once (Raft thesis
 * §6.3). Owned by the node's Raft loop thread: not thread-safe by design.
 *
 * <p>A client registers a session (its id is the index of the register entry) and numbers its
 * writes 1, 2, 3, ...; the table keeps, per client, the last applied seq and the index it was
 * applied at. A retry of that seq is answered from the table and not applied again. Sessions
 * expire by log time - the proposing leader's timestamp carried in each command, made monotonic
 * here - after {@code sessionTtlMs} without a command, and the least recently used go first when
 * there are more than {@code maxSessions}; every node applies the same commands, so every node
 * expires the same sessions at the same index. A command from an expired session is refused,
 * never applied blindly.
 *
 * <p>A write whose resulting value would be larger than {@code maxValueBytes} (UTF-8) is refused
 * here, at apply time, rather than at the HTTP layer: only here is the value an append extends
 * known for certain, and every node decides the same way at the same index. A refused write in a
 * session uses up its seq like an applied one, and its resend gets the same refusal, so it can
 * never be applied later. All nodes of a cluster must use the same three limits.
 *
 * <p>Invariant: entries are applied in strictly increasing index order, each once.
 */
public final class KvStateMachine implements io.raftkv.node.StateMachine<ApplyResult> {
    public static final long DEFAULT_SESSION_TTL_MS = 10 * 60 * 1000;
    public static final int DEFAULT_MAX_SESSIONS = 100_000;
    /** The value limit of the constructors without one: as large as a Java string gets. */
    public static final int NO_VALUE_LIMIT = Integer.MAX_VALUE;
    /**
     * Version 6 added users, roles and grants (auth); version 5 added each key's lease and the leases; version 4 each key's revisions and each
     * session's last answer; version 3 the refused
     * size per session and a checksum; versions 1 to 3 are still read.
     */
    private static final byte SNAPSHOT_VERSION = 6;
    /** The longs of one session in a snapshot: clientId, lastSeq, lastIndex, lastActiveMs, lastRefusedBytes. */
    private static final int SESSION_FIELDS = 5;

    /** Per-client state: last seq, where it was applied (or refused), and when (log time). */
    private static final class Session {
        long lastSeq;
        long lastIndex;
        long lastActiveMs;
        /** 0 if the last seq was applied; else the size its value would have had, for the answer to a resend. */
        long lastRefusedBytes;
        /** The answer to the last seq when a resend must repeat it (delete, cas, txn); else null. */
        ApplyResult lastResult;
    }

    /** A lease (etcd's): its TTL, when it expires on the cluster clock, and the keys attached to it. */
    private static final class Lease {
        final long ttlMs;
        long expiresAtMs;
        final java.util.TreeSet<String> keys = new java.util.TreeSet<>(KeyOrder.UTF8);

        Lease(long ttlMs, long expiresAtMs) {
            this.ttlMs = ttlMs;
            this.expiresAtMs = expiresAtMs;
        }
    }

    /** Leases by id (the index of the entry that granted them). */
    private final TreeMap<Long, Lease> leases = new TreeMap<>();
    /** Users, roles, grants and whether authentication is on (replicated like the keys). */
    private final io.raftkv.auth.AuthStore auth = new io.raftkv.auth.AuthStore();
    /**
     * The leader's own note of the expiries it proposed and when (cluster time), so it does not
     * propose them at every tick; not replicated, not in snapshots.
     */
    private final Map<Long, Long> expiryProposedAtMs = new HashMap<>();
    /** How long the leader waits for a proposed expiry to apply before proposing it again. */
    private static final long EXPIRY_RETRY_MS = 1000;

    /** Keys in UTF-8 byte order (etcd's), for ranges and prefixes; snapshots of it are taken in O(1). */
    private KeyTree data = new KeyTree();
    /** Sessions in order of last activity, oldest first (access-ordered). */
    private final LinkedHashMap<Long, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);
    private final long sessionTtlMs;
    private final int maxSessions;
    private final int maxValueBytes;
    private long appliedIndex;
    /** Recent changes for watches, and the events of the entry being applied. */
    private final WatchHistory history;
    private final List<WatchEvent> applying = new ArrayList<>();
    private java.util.function.Consumer<List<WatchEvent>> watchListener = events -> { };
    /** Monotonic log time: the largest command timestamp applied so far. */
    private long logTimeMs;
    /**
     * The snapshot {@link #validate} last accepted (by identity) and what it decoded to, kept for
     * its {@link #restore(SnapshotData)}; null when none. Never shared with the live state before
     * that restore, which hands it over and forgets it.
     */
    private SnapshotData validated;
    private Decoded validatedState;

    public KvStateMachine() {
        this(DEFAULT_SESSION_TTL_MS, DEFAULT_MAX_SESSIONS);
    }

    public KvStateMachine(long sessionTtlMs, int maxSessions) {
        this(sessionTtlMs, maxSessions, NO_VALUE_LIMIT);
    }

    /** {@code maxValueBytes}: the largest value (UTF-8 bytes) a write may leave; the same on every node. */
    public KvStateMachine(long sessionTtlMs, int maxSessions, int maxValueBytes) {
        this(sessionTtlMs, maxSessions, maxValueBytes, DEFAULT_WATCH_HISTORY);
    }

    /** The events a watch can start from, at most (etcd's compaction, by count). */
    public static final int DEFAULT_WATCH_HISTORY = 100_000;

    /** {@code watchHistory}: how many recent changes a watch can start from. */
    public KvStateMachine(long sessionTtlMs, int maxSessions, int maxValueBytes, int watchHistory) {
        this(sessionTtlMs, maxSessions, maxValueBytes, watchHistory, WatchHistory.DEFAULT_MAX_BYTES);
    }

    /** {@code watchHistoryBytes}: the most those changes may hold ({@link WatchHistory#sizeOf}). */
    public KvStateMachine(long sessionTtlMs, int maxSessions, int maxValueBytes, int watchHistory, long watchHistoryBytes) {
        this.history = new WatchHistory(watchHistory, watchHistoryBytes);
        if (sessionTtlMs < 1 || maxSessions < 1) throw new IllegalArgumentException("bad session limits");
        if (maxValueBytes < 0) throw new IllegalArgumentException("bad value limit " + maxValueBytes);
        this.sessionTtlMs = sessionTtlMs;
        this.maxSessions = maxSessions;
        this.maxValueBytes = maxValueBytes;
    }

    /** Stamps the cluster time on an encoded command, in place: the log time sessions expire by. */
    @Override
    public byte[] prepare(byte[] command, long clusterTimeMs) {
        return KvCommand.stampTimestamp(command, clusterTimeMs);
    }

    @Override
    public ApplyResult apply(long index, byte[] command) {
        return apply(index, KvCommand.decode(command));
    }

    /**
     * Hears the changes of every applied entry, right after it applied (on the applying thread),
     * in revision order: what live watches are fed from.
     */
    public void setWatchListener(java.util.function.Consumer<List<WatchEvent>> listener) {
        this.watchListener = listener;
    }

    /** The recent changes a watch can start from. */
    public WatchHistory history() {
        return history;
    }

    @Override
    public void applyNoop(long index) {
        skip(index);
    }

    @Override
    public long clusterTimeMs() {
        return logTimeMs;
    }

    /**
     * Decodes {@code snapshot} and keeps the result for {@link #restore(SnapshotData)} of the same
     * object: a snapshot received from the leader is then decoded once, not twice (each decode of 10
     * million keys is 3-8 s on the node's loop).
     */
    @Override
    public void validate(SnapshotData snapshot) {
        forgetValidated(); // the previous one's state can go before this one is decoded
        Decoded d = decode(snapshot);
        validated = snapshot;
        validatedState = d;
    }

    @Override
    public void forgetValidated() {
        validated = null;
        validatedState = null;
    }

    /** Applies the command committed at {@code index}. */
    public ApplyResult apply(long index, KvCommand cmd) {
        applying.clear();
        ApplyResult r = applyCommand(index, cmd);
        if (!applying.isEmpty()) {
            List<WatchEvent> events = List.copyOf(applying);
            history.add(events);
            watchListener.accept(events);
        }
        return r;
    }

    private ApplyResult applyCommand(long index, KvCommand cmd) {
        if (index <= appliedIndex)
            throw new IllegalStateException("apply of index " + index + " after " + appliedIndex);
        appliedIndex = index;
        logTimeMs = Math.max(logTimeMs, cmd.timestampMs());
        expireSessions();
        if (cmd.op() == KvCommand.Op.REGISTER) {
            Session s = new Session();
            s.lastActiveMs = logTimeMs;
            sessions.put(index, s);
            evictOverflow();
            return new ApplyResult.Registered(index);
        }
        Session session = null;
        if (cmd.hasSession()) {
            session = sessions.get(cmd.clientId());
            if (session == null) return new ApplyResult.SessionExpired(cmd.clientId());
            session.lastActiveMs = logTimeMs;
            if (cmd.seq() == session.lastSeq) {
                return session.lastRefusedBytes > 0 ? new ApplyResult.ValueTooLarge(session.lastRefusedBytes, maxValueBytes)
                        : new ApplyResult.Duplicate(session.lastIndex, session.lastResult);
            }
            if (cmd.seq() < session.lastSeq) return new ApplyResult.StaleSeq(cmd.clientId(), cmd.seq(), session.lastSeq);
        }
        if (cmd.ext() != null) {
            ApplyResult r = applyExt(index, cmd.ext());
            if (session != null) {
                session.lastSeq = cmd.seq();
                session.lastIndex = index;
                session.lastRefusedBytes = r instanceof ApplyResult.ValueTooLarge v ? v.resultingBytes() : 0;
                session.lastResult = ResultCodec.kept(r) ? r : null;
            }
            return r;
        }
        // A missing key counts as the empty string; an append keeps the key's lease, a put without
        // one detaches it (as in etcd). One read of the key.
        KeyValue old = cmd.op() == KvCommand.Op.APPEND ? data.get(cmd.key()) : null;
        String before = old == null ? "" : old.value();
        long resultingBytes = resultingBytesIfOverLimit(before, cmd.value());
        if (resultingBytes > 0) {
            if (session != null) {
                session.lastSeq = cmd.seq();
                session.lastIndex = index;
                session.lastRefusedBytes = resultingBytes;
            }
            return new ApplyResult.ValueTooLarge(resultingBytes, maxValueBytes);
        }
        String next = cmd.op() == KvCommand.Op.APPEND ? before + cmd.value() : cmd.value();
        long lease = old != null ? old.lease() : 0;
        write(cmd.key(), next, index, cmd.op() == KvCommand.Op.APPEND ? WatchEvent.Type.APPEND : WatchEvent.Type.PUT, lease);
        if (session != null) {
            session.lastSeq = cmd.seq();
            session.lastIndex = index;
            session.lastRefusedBytes = 0;
            session.lastResult = null;
        }
        return new ApplyResult.Applied(next);
    }

    /** Appends {@code added} to {@code key}'s value (a missing key counts as ""), keeping its lease. */
    private KeyValue append(String key, String added, long revision) {
        KeyValue cur = data.get(key);
        return cur == null ? write(key, added, revision, WatchEvent.Type.APPEND, 0)
                : write(key, cur.value() + added, revision, WatchEvent.Type.APPEND, cur.lease());
    }

    private String valueOf(String key) {
        KeyValue kv = data.get(key);
        return kv == null ? "" : kv.value();
    }

    private KeyValue write(String key, String value, long revision, WatchEvent.Type type, long lease) {
        KeyValue after = data.write(key, value, revision, lease);
        long leaseBefore = data.previousLease(); // -1: the key is new
        if (leaseBefore > 0 && leaseBefore != lease) detach(key, leaseBefore);
        if (lease != 0) leases.get(lease).keys.add(key);
        applying.add(WatchEvent.written(type, key, after));
        return after;
    }

    private void detach(String key, long lease) {
        Lease l = lease == 0 ? null : leases.get(lease);
        if (l != null) l.keys.remove(key);
    }

    /** Ends lease {@code id}: its keys are deleted ({@code type}: a revoke's delete or an expiry). */
    private long endLease(long id, long revision, WatchEvent.Type type) {
        Lease l = leases.remove(id);
        expiryProposedAtMs.remove(id);
        if (l == null) return 0;
        for (String k : l.keys) {
            data.remove(k);
            applying.add(type == WatchEvent.Type.EXPIRE ? WatchEvent.expired(k, revision) : WatchEvent.deleted(k, revision));
        }
        return l.keys.size();
    }

    /** Removes {@code key}, or every key starting with it, at {@code revision}; returns how many. */
    private long delete(String key, boolean prefix, long revision) {
        if (!prefix) {
            KeyValue gone = data.remove(key);
            if (gone == null) return 0;
            detach(key, gone.lease());
            applying.add(WatchEvent.deleted(key, revision));
            return 1;
        }
        List<String> keys = keysWithPrefix(key);
        for (String k : keys) {
            detach(k, data.remove(k).lease());
            applying.add(WatchEvent.deleted(k, revision));
        }
        return keys.size();
    }

    /** Delete, compare-and-swap, transaction: all of it at revision {@code index}, or nothing. */
    private ApplyResult applyExt(long index, KvOp op) {
        return switch (op) {
            case KvOp.Auth a -> {
                io.raftkv.auth.AuthStore.Outcome o = auth.apply(index, a.op());
                yield new ApplyResult.AuthChanged(o.status(), o.message());
            }
            case KvOp.Put p -> {
                // A put with a lease (one without is a version-2 command).
                if (!leases.containsKey(p.lease())) yield new ApplyResult.LeaseNotFound(p.lease());
                long tooLarge = resultingBytesIfOverLimit("", p.value());
                if (tooLarge > 0) yield new ApplyResult.ValueTooLarge(tooLarge, maxValueBytes);
                yield new ApplyResult.Applied(write(p.key(), p.value(), index, WatchEvent.Type.PUT, p.lease()).value());
            }
            case KvOp.LeaseGrant g -> {
                leases.put(index, new Lease(g.ttlMs(), logTimeMs + g.ttlMs()));
                yield new ApplyResult.Lease(index, g.ttlMs());
            }
            case KvOp.LeaseKeepAlive k -> {
                Lease l = leases.get(k.id());
                if (l == null) yield new ApplyResult.LeaseNotFound(k.id());
                l.expiresAtMs = logTimeMs + l.ttlMs;
                expiryProposedAtMs.remove(k.id());
                yield new ApplyResult.Lease(k.id(), l.ttlMs);
            }
            case KvOp.LeaseRevoke r -> {
                if (!leases.containsKey(r.id())) yield new ApplyResult.LeaseNotFound(r.id());
                yield new ApplyResult.LeaseEnded(r.id(), endLease(r.id(), index, WatchEvent.Type.DELETE));
            }
            case KvOp.LeaseExpire e -> {
                // Decided again here, on the log's time: a keep-alive applied since the leader's proposal wins.
                List<Long> ended = new ArrayList<>();
                long deleted = 0;
                for (long id : e.ids()) {
                    Lease l = leases.get(id);
                    if (l == null || l.expiresAtMs > logTimeMs) continue;
                    deleted += endLease(id, index, WatchEvent.Type.EXPIRE);
                    ended.add(id);
                }
                yield new ApplyResult.LeasesExpired(ended, deleted);
            }
            case KvOp.Delete d -> new ApplyResult.Deleted(delete(d.key(), d.prefix(), index));
            case KvOp.Cas c -> {
                KeyValue current = data.get(c.key());
                boolean holds = switch (c.expect()) {
                    case KvOp.Expect.Value v -> current != null && current.value().equals(v.value());
                    case KvOp.Expect.ModRevision r -> current != null && current.modRevision() == r.revision();
                    case KvOp.Expect.Absent a -> current == null;
                };
                if (!holds) yield new ApplyResult.Cas(false, current);
                if (c.lease() != 0 && !leases.containsKey(c.lease())) yield new ApplyResult.LeaseNotFound(c.lease());
                long tooLarge = resultingBytesIfOverLimit("", c.value());
                if (tooLarge > 0) yield new ApplyResult.ValueTooLarge(tooLarge, maxValueBytes);
                yield new ApplyResult.Cas(true, write(c.key(), c.value(), index, WatchEvent.Type.PUT, c.lease()));
            }
            case KvOp.Txn t -> {
                boolean succeeded = true;
                for (KvOp.Compare c : t.compare()) {
                    if (!c.holds(data.get(c.key()))) {
                        succeeded = false;
                        break;
                    }
                }
                List<KvOp> ops = succeeded ? t.success() : t.failure();
                for (KvOp o : ops) {
                    if (o instanceof KvOp.Put p && p.lease() != 0 && !leases.containsKey(p.lease())) {
                        yield new ApplyResult.LeaseNotFound(p.lease());
                    }
                }
                long tooLarge = txnValueTooLarge(ops);
                if (tooLarge > 0) yield new ApplyResult.ValueTooLarge(tooLarge, maxValueBytes);
                List<ApplyResult.OpResult> results = new ArrayList<>(ops.size());
                for (KvOp o : ops) {
                    results.add(switch (o) {
                        case KvOp.Put p -> new ApplyResult.OpResult("put", p.key(),
                                write(p.key(), p.value(), index, WatchEvent.Type.PUT, p.lease()), 0);
                        case KvOp.Append a -> new ApplyResult.OpResult("append", a.key(), append(a.key(), a.value(), index), 0);
                        case KvOp.Delete d -> new ApplyResult.OpResult("delete", d.key(), null,
                                delete(d.key(), d.prefix(), index));
                        case KvOp.Get g -> new ApplyResult.OpResult("get", g.key(), data.get(g.key()), 0);
                        default -> throw new IllegalStateException("not a transaction operation: " + o);
                    });
                }
                yield new ApplyResult.Txn(succeeded, results);
            }
            default -> throw new IllegalArgumentException("not a command of its own: " + op);
        };
    }

    /**
     * The size of the first value the operations would leave above the limit, else 0: checked
     * before any runs, so that a transaction is applied whole or not at all. Appends are followed
     * through the operations before them (a put, append or delete of the same key).
     */
    private long txnValueTooLarge(List<KvOp> ops) {
        Map<String, String> pending = new HashMap<>();
        for (KvOp o : ops) {
            switch (o) {
                case KvOp.Put p -> {
                    long b = resultingBytesIfOverLimit("", p.value());
                    if (b > 0) return b;
                    pending.put(p.key(), p.value());
                }
                case KvOp.Append a -> {
                    String before = pending.containsKey(a.key()) ? pending.get(a.key()) : valueOf(a.key());
                    long b = resultingBytesIfOverLimit(before, a.value());
                    if (b > 0) return b;
                    pending.put(a.key(), before + a.value());
                }
                case KvOp.Delete d -> {
                    if (!d.prefix()) {
                        pending.put(d.key(), "");
                    } else {
                        pending.replaceAll((k, v) -> k.startsWith(d.key()) ? "" : v);
                        for (String k : keysWithPrefix(d.key())) pending.putIfAbsent(k, "");
                    }
                }
                default -> { }
            }
        }
        return 0;
    }

    private List<String> keysWithPrefix(String prefix) {
        List<String> keys = new ArrayList<>();
        byte[] p = KeyTree.utf8(prefix);
        for (KeyTree.Cursor c = data.cursor(prefix, true); c.valid() && startsWith(c.key(), p); c.next()) {
            keys.add(c.keyString());
        }
        return keys;
    }

    /** Whether UTF-8 {@code key} starts with UTF-8 {@code prefix} (as their strings would: UTF-8 is prefix-free). */
    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    /**
     * The UTF-8 size of {@code before + added} if it is above the value limit, else 0. UTF-8 takes
     * at most 3 bytes per Java char, so short values are never measured: only one near the limit
     * costs a pass over its chars. (Sizes add up: values decoded from UTF-8 hold no lone
     * surrogate that the concatenation could pair.)
     */
    private long resultingBytesIfOverLimit(String before, String added) {
        if (3L * before.length() + 3L * added.length() <= maxValueBytes) return 0;
        long bytes = utf8Bytes(before) + utf8Bytes(added);
        return bytes > maxValueBytes ? bytes : 0;
    }

    /** The length of {@code s} in UTF-8 as {@code getBytes(UTF_8)} encodes it, without encoding it. */
    static long utf8Bytes(String s) {
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else if (Character.isSurrogate(c)) {
                bytes += 1; // a lone surrogate is encoded as '?'
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    private void expireSessions() {
        Iterator<Session> it = sessions.values().iterator();
        while (it.hasNext()) {
            if (it.next().lastActiveMs >= logTimeMs - sessionTtlMs) break; // the rest are more recent
            it.remove();
        }
    }

    private void evictOverflow() {
        Iterator<Long> it = sessions.keySet().iterator();
        while (sessions.size() > maxSessions && it.hasNext()) {
            it.next();
            it.remove();
        }
    }

    /** Marks a no-op entry as applied. */
    public void skip(long index) {
        if (index <= appliedIndex)
            throw new IllegalStateException("skip of index " + index + " after " + appliedIndex);
        appliedIndex = index;
    }

    public Optional<String> get(String key) {
        KeyValue kv = data.get(key);
        return kv == null ? Optional.empty() : Optional.of(kv.value());
    }

    /**
     * On the leader: a command expiring the leases whose time is up on the cluster clock, if any
     * not already proposed within {@link #EXPIRY_RETRY_MS}.
     */
    @Override
    public byte[] housekeeping(long clusterTimeMs) {
        List<Long> due = null;
        for (Map.Entry<Long, Lease> e : leases.entrySet()) {
            if (e.getValue().expiresAtMs > clusterTimeMs) continue;
            Long proposed = expiryProposedAtMs.get(e.getKey());
            if (proposed != null && clusterTimeMs - proposed < EXPIRY_RETRY_MS) continue;
            if (due == null) due = new ArrayList<>();
            due.add(e.getKey());
            expiryProposedAtMs.put(e.getKey(), clusterTimeMs);
        }
        return due == null ? null : KvCommand.of(new KvOp.LeaseExpire(due), 0, 0).encode();
    }

    /** A lease as a client sees it: its TTL, the cluster time it expires at and its keys. */
    public record LeaseInfo(long id, long ttlMs, long expiresAtMs, List<String> keys) {}

    public Optional<LeaseInfo> lease(long id) {
        Lease l = leases.get(id);
        return l == null ? Optional.empty() : Optional.of(new LeaseInfo(id, l.ttlMs, l.expiresAtMs, List.copyOf(l.keys)));
    }

    public int leaseCount() {
        return leases.size();
    }

    /** {@code key}'s value with its revisions. */
    public Optional<KeyValue> entry(String key) {
        return Optional.ofNullable(data.get(key));
    }

    /** One page of a range read: keys in UTF-8 byte order, and whether more follow. */
    public record Range(List<Map.Entry<String, KeyValue>> kvs, boolean more, long revision) {}

    /**
     * Keys from {@code from} (inclusive; null: the first) to {@code to} (exclusive; null: the last),
     * only those starting with {@code prefix} if not null, only those after {@code after}
     * (exclusive) if not null; at most {@code limit}. {@code revision} is the applied index the page
     * was read at.
     */
    public Range range(String from, String to, String prefix, String after, int limit) {
        if (limit < 1) throw new IllegalArgumentException("limit must be >= 1");
        String start = from;
        if (prefix != null && (start == null || KeyOrder.compare(prefix, start) > 0)) start = prefix;
        KeyTree.Cursor c = after != null && (start == null || KeyOrder.compare(after, start) >= 0)
                ? data.cursor(after, false) : data.cursor(start, true);
        byte[] end = to == null ? null : KeyTree.utf8(to);
        byte[] p = prefix == null ? null : KeyTree.utf8(prefix);
        List<Map.Entry<String, KeyValue>> out = new ArrayList<>(Math.min(limit, 64));
        boolean more = false;
        for (; c.valid(); c.next()) {
            if (end != null && java.util.Arrays.compareUnsigned(c.key(), end) >= 0) break;
            if (p != null && !startsWith(c.key(), p)) break;
            if (out.size() == limit) {
                more = true;
                break;
            }
            out.add(c.entry());
        }
        return new Range(out, more, appliedIndex);
    }

    @Override
    public long appliedIndex() {
        return appliedIndex;
    }

    public int size() {
        return data.size();
    }

    public int sessionCount() {
        return sessions.size();
    }

    /**
     * Encodes the whole state for a Raft snapshot (§7), sessions included.
     * <pre>
     * version byte (5) | appliedIndex int64 | logTimeMs int64
     * | count int32 | count x (keyLen int32, key, valueLen int32, value,
     *                          createRevision int64, modRevision int64, version int64, lease int64), in key order
     * | sessions int32 | sessions x (clientId int64, lastSeq int64, lastIndex int64, lastActiveMs int64,
     *                                lastRefusedBytes int64, answerLen int32, answer), oldest first
     * | leases int32 | leases x (id int64, ttlMs int64, expiresAtMs int64), by id
     * | authLen int32 | auth ({@link io.raftkv.auth.AuthStore#encode})
     * | crc32c int32 of everything before it
     * </pre>
     * The answer is the one a resend repeats ({@link ResultCodec}; length 0: none). The checksum
     * goes with the snapshot from the node that took it to every node that installs it. Version 3
     * had no revisions (read as created and last written at the snapshot's index, version 1) and
     * no answers; version 2 had no lastRefusedBytes (read as 0: the last seq was applied) and no
     * checksum; version 1 had neither logTimeMs nor sessions. In one array: for tests and small
     * states (the runtime encodes a {@link #capture()} into chunks).
     */
    public byte[] snapshot() {
        Image image = capture();
        try {
            return image.encode().toByteArray();
        } finally {
            image.release();
        }
    }

    /**
     * A copy of the whole state as of now, cheap next to encoding it (the keys are frozen in O(1),
     * see {@link KeyTree}; sessions and leases are copied): the runtime
     * takes it on the apply thread and encodes and writes it on another, so that a snapshot of a
     * large state does not stall the node.
     */
    @Override
    public Image capture() {
        long[] sessionFields = new long[sessions.size() * SESSION_FIELDS];
        ApplyResult[] answers = new ApplyResult[sessions.size()];
        int i = 0;
        for (Map.Entry<Long, Session> e : sessions.entrySet()) {
            answers[i / SESSION_FIELDS] = e.getValue().lastResult;
            sessionFields[i++] = e.getKey();
            sessionFields[i++] = e.getValue().lastSeq;
            sessionFields[i++] = e.getValue().lastIndex;
            sessionFields[i++] = e.getValue().lastActiveMs;
            sessionFields[i++] = e.getValue().lastRefusedBytes;
        }
        long[] leaseFields = new long[leases.size() * 3];
        int j = 0;
        for (Map.Entry<Long, Lease> e : leases.entrySet()) {
            leaseFields[j++] = e.getKey();
            leaseFields[j++] = e.getValue().ttlMs;
            leaseFields[j++] = e.getValue().expiresAtMs;
        }
        java.io.ByteArrayOutputStream authBytes = new java.io.ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(authBytes)) {
            auth.encode(out); // small: users and roles, copied here as bytes
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Image(appliedIndex, logTimeMs, data.freeze(), sessionFields, answers, leaseFields,
                authBytes.toByteArray());
    }

    /** The users, roles and grants (read on the node's loop, like every other part of the state). */
    public io.raftkv.auth.AuthStore auth() {
        return auth;
    }

    /** A point-in-time copy made by {@link #capture()}; immutable, encoded by {@link #encode()} on any thread. */
    public static final class Image implements io.raftkv.node.StateMachine.Image {
        private final long appliedIndex;
        private final long logTimeMs;
        private final KeyTree.Frozen data;
        /** (clientId, lastSeq, lastIndex, lastActiveMs, lastRefusedBytes) per session, oldest first. */
        private final long[] sessionFields;
        /** The answer each session keeps for a resend (null: none), in the same order. */
        private final ApplyResult[] answers;
        /** (id, ttlMs, expiresAtMs) per lease, by id. */
        private final long[] leaseFields;
        private final byte[] auth;

        private Image(long appliedIndex, long logTimeMs, KeyTree.Frozen data, long[] sessionFields,
                      ApplyResult[] answers, long[] leaseFields, byte[] auth) {
            this.auth = auth;
            this.appliedIndex = appliedIndex;
            this.logTimeMs = logTimeMs;
            this.data = data;
            this.sessionFields = sessionFields;
            this.answers = answers;
            this.leaseFields = leaseFields;
        }

        @Override
        public long appliedIndex() {
            return appliedIndex;
        }

        /**
         * The snapshot encoding described at {@link KvStateMachine#snapshot()}, written to
         * {@code sink} as the keys are visited: a snapshot of a large state is never whole on the
         * heap when {@code sink} is a file.
         */
        @Override
        public void encodeTo(java.io.OutputStream sink) throws IOException {
            BlockEncoder out = new BlockEncoder(sink);
            out.room(21).put(SNAPSHOT_VERSION).putLong(appliedIndex).putLong(logTimeMs).putInt(data.size());
            for (KeyTree.Cursor c = data.cursor(); c.valid(); c.next()) {
                out.bytes(c.key());
                out.bytes(c.value());
                out.room(32).putLong(c.meta(0)).putLong(c.meta(1)).putLong(c.meta(2)).putLong(c.meta(3)); // createRevision, modRevision, version, lease
            }
            out.raw(encodeRest());
            out.finish();
        }

        /** The keys' frozen view goes: the tree writes in place again once no view is left. */
        @Override
        public void release() {
            data.release();
        }

        /** Sessions, leases and auth: what follows the keys. */
        private byte[] encodeRest() {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + sessionFields.length * 8 + leaseFields.length * 8 + auth.length);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeInt(sessionFields.length / SESSION_FIELDS);
                for (int s = 0; s < answers.length; s++) {
                    for (int f = 0; f < SESSION_FIELDS; f++) out.writeLong(sessionFields[s * SESSION_FIELDS + f]);
                    byte[] answer = answers[s] == null ? new byte[0] : ResultCodec.encode(answers[s]);
                    out.writeInt(answer.length);
                    out.write(answer);
                }
                out.writeInt(leaseFields.length / 3);
                for (long f : leaseFields) out.writeLong(f);
                out.writeInt(auth.length);
                out.write(auth);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }
    }

    /** {@link #restore(SnapshotData)} of one array (tests, small states). */
    public void restore(byte[] snapshot) {
        restore(SnapshotData.of(snapshot));
    }

    /** Replaces the whole state with a snapshot made by {@link #snapshot()} (any version from 1); a bad one changes nothing. */
    @Override
    public void restore(SnapshotData snapshot) {
        Decoded d = snapshot == validated ? validatedState : null;
        forgetValidated(); // another snapshot's state can go before this one is decoded
        if (d == null) d = decode(snapshot);
        data = d.data;
        sessions.clear();
        sessions.putAll(d.sessions);
        leases.clear();
        leases.putAll(d.leases);
        auth.replaceWith(d.auth);
        expiryProposedAtMs.clear();
        appliedIndex = d.appliedIndex;
        logTimeMs = d.logTimeMs;
        // The changes before the snapshot are not known here: watches start after it.
        history.reset(appliedIndex);
    }

    private record Decoded(long appliedIndex, long logTimeMs, KeyTree data,
                           LinkedHashMap<Long, Session> sessions, TreeMap<Long, Lease> leases,
                           io.raftkv.auth.AuthStore auth) {}

    private static Decoded decode(SnapshotData snapshot) {
        long total = snapshot.length();
        if (total == 0) throw new IllegalArgumentException("corrupt state machine snapshot: empty");
        byte version = snapshot.read(0, 1)[0];
        long length = total;
        if (version >= 3) {
            if (total < 5) throw new IllegalArgumentException("corrupt state machine snapshot: " + total + " bytes");
            length -= 4;
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            snapshot.update(crc, length);
            int stored = java.nio.ByteBuffer.wrap(snapshot.read(length, 4)).getInt();
            if (stored != (int) crc.getValue())
                throw new IllegalArgumentException("corrupt state machine snapshot: checksum mismatch over " + length + " bytes");
        }
        if (version < 1 || version > SNAPSHOT_VERSION) {
            throw new IllegalArgumentException("corrupt state machine snapshot: unknown snapshot version " + version);
        }
        // The keys go from the stream into the tree as bytes, never as strings.
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(snapshot.stream(length), 1 << 16))) {
            in.readByte();
            long applied = in.readLong();
            long time = version >= 2 ? in.readLong() : 0;
            int count = in.readInt();
            if (count < 0 || count > length / 8) throw new IOException("impossible key count " + count);
            KeyTree restored = new KeyTree();
            List<Map.Entry<String, Long>> leased = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                byte[] key = bytes(in, length);
                byte[] value = bytes(in, length);
                long create = applied; // no revisions kept before version 4
                long mod = applied;
                long ver = 1;
                long lease = 0;
                if (version >= 4) {
                    create = in.readLong();
                    mod = in.readLong();
                    ver = in.readLong();
                    if (version >= 5) lease = in.readLong();
                }
                if (ver < 1 || create > mod || mod > applied) {
                    throw new IOException("impossible revisions of key " + new String(key, StandardCharsets.UTF_8)
                            + ": created " + create + ", modified " + mod + ", version " + ver + " (applied " + applied + ")");
                }
                restored.put(key, value, create, mod, ver, lease);
                if (lease != 0) leased.add(Map.entry(new String(key, StandardCharsets.UTF_8), lease));
            }
            LinkedHashMap<Long, Session> restoredSessions = new LinkedHashMap<>(16, 0.75f, true);
            if (version >= 2) {
                int n = in.readInt();
                if (n < 0 || n > length / 32) throw new IOException("impossible session count " + n);
                for (int i = 0; i < n; i++) {
                    long id = in.readLong();
                    Session s = new Session();
                    s.lastSeq = in.readLong();
                    s.lastIndex = in.readLong();
                    s.lastActiveMs = in.readLong();
                    s.lastRefusedBytes = version >= 3 ? in.readLong() : 0;
                    if (s.lastRefusedBytes < 0) throw new IOException("negative refused size in session " + id);
                    if (version >= 4) {
                        int len = in.readInt();
                        if (len < 0 || len > length) throw new IOException("impossible answer length " + len);
                        byte[] answer = in.readNBytes(len);
                        if (answer.length != len) throw new EOFException("answer cut short");
                        s.lastResult = len == 0 ? null : ResultCodec.decode(answer);
                    }
                    restoredSessions.put(id, s);
                }
            }
            TreeMap<Long, Lease> restoredLeases = new TreeMap<>();
            if (version >= 5) {
                int n = in.readInt();
                if (n < 0 || n > length / 24) throw new IOException("impossible lease count " + n);
                for (int i = 0; i < n; i++) {
                    long id = in.readLong();
                    long ttl = in.readLong();
                    long expires = in.readLong();
                    if (id < 1 || id > applied || ttl < 1) throw new IOException("impossible lease " + id + " of " + ttl + " ms");
                    restoredLeases.put(id, new Lease(ttl, expires));
                }
            }
            for (Map.Entry<String, Long> e : leased) {
                long lease = e.getValue();
                Lease l = restoredLeases.get(lease);
                if (l == null) throw new IOException("key " + e.getKey() + " is attached to lease " + lease + ", which is not there");
                l.keys.add(e.getKey());
            }
            io.raftkv.auth.AuthStore restoredAuth = new io.raftkv.auth.AuthStore();
            if (version >= 6) {
                int len = in.readInt();
                if (len < 0 || len > length) throw new IOException("impossible auth length " + len);
                byte[] a = in.readNBytes(len);
                if (a.length != len) throw new EOFException("auth cut short");
                try (DataInputStream ain = new DataInputStream(new ByteArrayInputStream(a))) {
                    restoredAuth = io.raftkv.auth.AuthStore.decode(ain, len);
                    if (ain.read() != -1) throw new IOException("trailing bytes in auth");
                }
            }
            if (in.read() != -1) throw new IOException("trailing bytes");
            return new Decoded(applied, time, restored, restoredSessions, restoredLeases, restoredAuth);
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt state machine snapshot: " + e.getMessage(), e);
        }
    }

    /** A length-prefixed byte string of a snapshot of {@code total} bytes. */
    private static byte[] bytes(DataInputStream in, long total) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > total) throw new IOException("impossible string length " + len);
        byte[] b = in.readNBytes(len);
        if (b.length != len) throw new EOFException("string cut short");
        return b;
    }

    /**
     * Writes a snapshot's bytes through one 64 KiB block, big-endian like {@link DataOutputStream}
     * (the format is the same), with the CRC-32C taken over whole blocks. Encoding 10 million keys
     * through a {@code DataOutputStream} over a {@code CheckedOutputStream} cost ~310 ns per key,
     * most of it per-call overhead (eight small writes per key, each a CRC update of 4-16 bytes).
     */
    private static final class BlockEncoder {
        private final java.io.OutputStream sink;
        private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        private final java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(1 << 16);

        BlockEncoder(java.io.OutputStream sink) {
            this.sink = sink;
        }

        /** The block, with at least {@code bytes} (at most its capacity) free. */
        java.nio.ByteBuffer room(int bytes) throws IOException {
            if (block.remaining() < bytes) flush();
            return block;
        }

        /** A length-prefixed byte string. */
        void bytes(byte[] b) throws IOException {
            room(4).putInt(b.length);
            raw(b);
        }

        /** Bytes as they are: copied into the block, or past it when larger than what is free. */
        void raw(byte[] b) throws IOException {
            if (b.length <= block.remaining()) {
                block.put(b);
                return;
            }
            flush();
            if (b.length <= block.capacity()) {
                block.put(b);
            } else {
                crc.update(b);
                sink.write(b);
            }
        }

        private void flush() throws IOException {
            crc.update(block.array(), 0, block.position());
            sink.write(block.array(), 0, block.position());
            block.clear();
        }

        /** Flushes what is left and writes the checksum of everything before it (not part of it). */
        void finish() throws IOException {
            flush();
            block.putInt((int) crc.getValue());
            sink.write(block.array(), 0, 4);
            block.clear();
            sink.flush();
        }
    }
}
