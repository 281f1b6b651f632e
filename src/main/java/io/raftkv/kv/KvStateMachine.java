package io.raftkv.kv;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

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
    /** Version 3 added the refused size per session and a checksum; versions 1 and 2 are still read. */
    private static final byte SNAPSHOT_VERSION = 3;
    /** The longs of one session in a snapshot: clientId, lastSeq, lastIndex, lastActiveMs, lastRefusedBytes. */
    private static final int SESSION_FIELDS = 5;

    /** Per-client state: last seq, where it was applied (or refused), and when (log time). */
    private static final class Session {
        long lastSeq;
        long lastIndex;
        long lastActiveMs;
        /** 0 if the last seq was applied; else the size its value would have had, for the answer to a resend. */
        long lastRefusedBytes;
    }

    private final Map<String, String> data = new HashMap<>();
    /** Sessions in order of last activity, oldest first (access-ordered). */
    private final LinkedHashMap<Long, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);
    private final long sessionTtlMs;
    private final int maxSessions;
    private final int maxValueBytes;
    private long appliedIndex;
    /** Monotonic log time: the largest command timestamp applied so far. */
    private long logTimeMs;

    public KvStateMachine() {
        this(DEFAULT_SESSION_TTL_MS, DEFAULT_MAX_SESSIONS);
    }

    public KvStateMachine(long sessionTtlMs, int maxSessions) {
        this(sessionTtlMs, maxSessions, NO_VALUE_LIMIT);
    }

    /** {@code maxValueBytes}: the largest value (UTF-8 bytes) a write may leave; the same on every node. */
    public KvStateMachine(long sessionTtlMs, int maxSessions, int maxValueBytes) {
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

    @Override
    public void applyNoop(long index) {
        skip(index);
    }

    @Override
    public long clusterTimeMs() {
        return logTimeMs;
    }

    @Override
    public void validate(byte[] snapshot) {
        decode(snapshot);
    }

    /** Applies the command committed at {@code index}. */
    public ApplyResult apply(long index, KvCommand cmd) {
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
                        : new ApplyResult.Duplicate(session.lastIndex);
            }
            if (cmd.seq() < session.lastSeq) return new ApplyResult.StaleSeq(cmd.clientId(), cmd.seq(), session.lastSeq);
        }
        // A missing key counts as the empty string.
        String before = cmd.op() == KvCommand.Op.APPEND ? data.getOrDefault(cmd.key(), "") : "";
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
        data.put(cmd.key(), next);
        if (session != null) {
            session.lastSeq = cmd.seq();
            session.lastIndex = index;
            session.lastRefusedBytes = 0;
        }
        return new ApplyResult.Applied(next);
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
        return Optional.ofNullable(data.get(key));
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
     * version byte (3) | appliedIndex int64 | logTimeMs int64
     * | count int32 | count x (keyLen int32, key, valueLen int32, value)
     * | sessions int32 | sessions x (clientId int64, lastSeq int64, lastIndex int64, lastActiveMs int64,
     *                                lastRefusedBytes int64), oldest first
     * | crc32c int32 of everything before it
     * </pre>
     * The checksum goes with the snapshot from the node that took it to every node that installs
     * it. Version 2 had no lastRefusedBytes (read as 0: the last seq was applied) and no checksum;
     * version 1 had neither logTimeMs nor sessions.
     */
    public byte[] snapshot() {
        return capture().encode();
    }

    /**
     * A copy of the whole state as of now, cheap next to encoding it (one map copy): the runtime
     * takes it on the apply thread and encodes and writes it on another, so that a snapshot of a
     * large state does not stall the node.
     */
    @Override
    public Image capture() {
        long[] sessionFields = new long[sessions.size() * SESSION_FIELDS];
        int i = 0;
        for (Map.Entry<Long, Session> e : sessions.entrySet()) {
            sessionFields[i++] = e.getKey();
            sessionFields[i++] = e.getValue().lastSeq;
            sessionFields[i++] = e.getValue().lastIndex;
            sessionFields[i++] = e.getValue().lastActiveMs;
            sessionFields[i++] = e.getValue().lastRefusedBytes;
        }
        return new Image(appliedIndex, logTimeMs, new HashMap<>(data), sessionFields);
    }

    /** A point-in-time copy made by {@link #capture()}; immutable, encoded by {@link #encode()} on any thread. */
    public static final class Image implements io.raftkv.node.StateMachine.Image {
        private final long appliedIndex;
        private final long logTimeMs;
        private final Map<String, String> data;
        /** (clientId, lastSeq, lastIndex, lastActiveMs, lastRefusedBytes) per session, oldest first. */
        private final long[] sessionFields;

        private Image(long appliedIndex, long logTimeMs, Map<String, String> data, long[] sessionFields) {
            this.appliedIndex = appliedIndex;
            this.logTimeMs = logTimeMs;
            this.data = data;
            this.sessionFields = sessionFields;
        }

        @Override
        public long appliedIndex() {
            return appliedIndex;
        }

        /** The snapshot encoding described at {@link KvStateMachine#snapshot()}. */
        @Override
        public byte[] encode() {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + data.size() * 32 + sessionFields.length * 8);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeByte(SNAPSHOT_VERSION);
                out.writeLong(appliedIndex);
                out.writeLong(logTimeMs);
                out.writeInt(data.size());
                for (Map.Entry<String, String> e : data.entrySet()) {
                    writeString(out, e.getKey());
                    writeString(out, e.getValue());
                }
                out.writeInt(sessionFields.length / SESSION_FIELDS);
                for (long f : sessionFields) out.writeLong(f);
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(bytes.toByteArray());
                out.writeInt((int) crc.getValue());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }
    }

    /** Replaces the whole state with a snapshot made by {@link #snapshot()} (version 1, 2 or 3); a bad one changes nothing. */
    @Override
    public void restore(byte[] snapshot) {
        Decoded d = decode(snapshot);
        data.clear();
        data.putAll(d.data);
        sessions.clear();
        sessions.putAll(d.sessions);
        appliedIndex = d.appliedIndex;
        logTimeMs = d.logTimeMs;
    }

    private record Decoded(long appliedIndex, long logTimeMs, Map<String, String> data,
                           LinkedHashMap<Long, Session> sessions) {}

    private static Decoded decode(byte[] snapshot) {
        if (snapshot.length == 0) throw new IllegalArgumentException("corrupt state machine snapshot: empty");
        byte version = snapshot[0];
        int length = snapshot.length;
        if (version == SNAPSHOT_VERSION) {
            if (length < 5) throw new IllegalArgumentException("corrupt state machine snapshot: " + length + " bytes");
            length -= 4;
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(snapshot, 0, length);
            int stored = java.nio.ByteBuffer.wrap(snapshot, length, 4).getInt();
            if (stored != (int) crc.getValue())
                throw new IllegalArgumentException("corrupt state machine snapshot: checksum mismatch over " + length + " bytes");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(snapshot, 0, length))) {
            in.readByte();
            if (version < 1 || version > SNAPSHOT_VERSION) throw new IOException("unknown snapshot version " + version);
            long applied = in.readLong();
            long time = version >= 2 ? in.readLong() : 0;
            int count = in.readInt();
            if (count < 0 || count > length / 8) throw new IOException("impossible key count " + count);
            Map<String, String> restored = new HashMap<>(Math.max(16, count * 4 / 3 + 1));
            for (int i = 0; i < count; i++) restored.put(readString(in), readString(in));
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
                    restoredSessions.put(id, s);
                }
            }
            if (in.read() != -1) throw new IOException("trailing bytes");
            return new Decoded(applied, time, restored, restoredSessions);
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt state machine snapshot: " + e.getMessage(), e);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        int len = in.readInt();
        if (len < 0) throw new IOException("negative length");
        byte[] b = in.readNBytes(len);
        if (b.length != len) throw new EOFException("string cut short");
        return new String(b, StandardCharsets.UTF_8);
    }
}
