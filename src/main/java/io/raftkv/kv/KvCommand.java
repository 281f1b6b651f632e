package io.raftkv.kv;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A state machine command as stored in the log.
 *
 * <pre>
 * version 2 (written now):
 * +---------+---------+----------+----------+-------------+-------------------+---------------------+
 * | version | op      | clientId | seq      | timestampMs | keyLen int32, key | valueLen int32, value |
 * | 1 byte  | 1 byte  | int64    | int64    | int64       | (UTF-8)           | (UTF-8)               |
 * +---------+---------+----------+----------+-------------+-------------------+---------------------+
 * op: 1 put, 2 append, 3 register a client session
 * clientId/seq: 0 when the client sent none (no de-duplication)
 * timestampMs: the proposing leader's clock, the "log time" sessions expire by
 * version 1 (read only): version, op, keyLen, key, valueLen, value
 *
 * version 3 (ops 4 delete, 5 cas, 6 txn, 7-10 lease grant, keep-alive, revoke, expire, and 1 put with
 * a lease): version, op, clientId, seq, timestampMs as above, then
 * the operation ({@link #ext()}) as encoded by {@link KvOpCodec}
 * </pre>
 * Put, append and register are still written as version 2, so logs and snapshots written before
 * the KV API grew read the same, and their entries stay as small as they were.
 */
public record KvCommand(Op op, String key, String value, long clientId, long seq, long timestampMs, KvOp ext) {
    private static final byte VERSION = 2;
    private static final byte VERSION_EXT = 3;
    /** Where the timestamp sits in an encoded command: after version, op, clientId and seq. */
    private static final int TIMESTAMP_OFFSET = 1 + 1 + 8 + 8;

    public enum Op {
        PUT(1), APPEND(2), REGISTER(3), DELETE(4), CAS(5), TXN(6), LEASE_GRANT(7), LEASE_KEEPALIVE(8),
        LEASE_REVOKE(9), LEASE_EXPIRE(10), AUTH(11);

        final byte code;

        Op(int code) {
            this.code = (byte) code;
        }

        static Op of(byte code) {
            for (Op op : values()) if (op.code == code) return op;
            throw new IllegalArgumentException("unknown command op " + code);
        }

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public KvCommand {
        if (op == null || key == null || value == null) throw new IllegalArgumentException("null field in command");
        if (clientId < 0 || seq < 0) throw new IllegalArgumentException("negative clientId or seq");
        boolean simple = op == Op.PUT || op == Op.APPEND || op == Op.REGISTER;
        if (!simple && ext == null) throw new IllegalArgumentException(op + " needs its operation");
        if (ext != null && !switch (op) {
            case PUT -> ext instanceof KvOp.Put p && p.lease() != 0; // a put with a lease
            case DELETE -> ext instanceof KvOp.Delete;
            case CAS -> ext instanceof KvOp.Cas;
            case TXN -> ext instanceof KvOp.Txn;
            case LEASE_GRANT -> ext instanceof KvOp.LeaseGrant;
            case LEASE_KEEPALIVE -> ext instanceof KvOp.LeaseKeepAlive;
            case LEASE_REVOKE -> ext instanceof KvOp.LeaseRevoke;
            case LEASE_EXPIRE -> ext instanceof KvOp.LeaseExpire;
            case AUTH -> ext instanceof KvOp.Auth;
            default -> false;
        }) throw new IllegalArgumentException(op + " with operation " + ext);
    }

    /** A put, append or register (no extended operation). */
    public KvCommand(Op op, String key, String value, long clientId, long seq, long timestampMs) {
        this(op, key, value, clientId, seq, timestampMs, null);
    }

    /** A delete, compare-and-swap or transaction, in a session when {@code clientId} is not 0. */
    public static KvCommand of(KvOp ext, long clientId, long seq) {
        return switch (ext) {
            case KvOp.Put p when p.lease() != 0 -> new KvCommand(Op.PUT, p.key(), p.value(), clientId, seq, 0, p);
            case KvOp.Delete d -> new KvCommand(Op.DELETE, d.key(), "", clientId, seq, 0, d);
            case KvOp.Cas c -> new KvCommand(Op.CAS, c.key(), c.value(), clientId, seq, 0, c);
            case KvOp.Txn t -> new KvCommand(Op.TXN, "", "", clientId, seq, 0, t);
            case KvOp.LeaseGrant g -> new KvCommand(Op.LEASE_GRANT, "", "", clientId, seq, 0, g);
            case KvOp.LeaseKeepAlive k -> new KvCommand(Op.LEASE_KEEPALIVE, "", "", clientId, seq, 0, k);
            case KvOp.LeaseRevoke r -> new KvCommand(Op.LEASE_REVOKE, "", "", clientId, seq, 0, r);
            case KvOp.LeaseExpire e -> new KvCommand(Op.LEASE_EXPIRE, "", "", clientId, seq, 0, e);
            case KvOp.Auth a -> new KvCommand(Op.AUTH, "", "", clientId, seq, 0, a);
            default -> throw new IllegalArgumentException("not a command of its own: " + ext);
        };
    }

    /** A command without a client session. */
    public KvCommand(Op op, String key, String value) {
        this(op, key, value, 0, 0, 0);
    }

    /** Registers a new client session; its id will be the index of this entry. */
    public static KvCommand register() {
        return new KvCommand(Op.REGISTER, "", "", 0, 0, 0);
    }

    public KvCommand withTimestamp(long ms) {
        return new KvCommand(op, key, value, clientId, seq, ms, ext);
    }

    /**
     * Sets the timestamp of an encoded command in place (it sits at a fixed offset), so the leader
     * stamps its cluster time without decoding and re-encoding what the client sent.
     */
    public static byte[] stampTimestamp(byte[] encoded, long ms) {
        if (encoded.length < TIMESTAMP_OFFSET + 8 || encoded[0] != VERSION && encoded[0] != VERSION_EXT)
            throw new IllegalArgumentException("not an encoded version-" + VERSION + " command");
        for (int i = 0; i < 8; i++) encoded[TIMESTAMP_OFFSET + i] = (byte) (ms >>> (56 - 8 * i));
        return encoded;
    }

    public boolean hasSession() {
        return clientId != 0;
    }

    public byte[] encode() {
        if (ext != null) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeByte(VERSION_EXT);
                out.writeByte(op.code);
                out.writeLong(clientId);
                out.writeLong(seq);
                out.writeLong(timestampMs);
                KvOpCodec.write(out, ext);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(34 + k.length + v.length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeByte(op.code);
            out.writeLong(clientId);
            out.writeLong(seq);
            out.writeLong(timestampMs);
            out.writeInt(k.length);
            out.write(k);
            out.writeInt(v.length);
            out.write(v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    public static KvCommand decode(byte[] data) {
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(data))) {
            byte version = in.readByte();
            if (version != 1 && version != VERSION && version != VERSION_EXT)
                throw new IllegalArgumentException("unknown command version " + version);
            Op op = Op.of(in.readByte());
            if (version == VERSION_EXT) {
                long clientId = in.readLong();
                long seq = in.readLong();
                long ts = in.readLong();
                KvOp ext = KvOpCodec.read(in, data.length);
                if (in.read() != -1) throw new IllegalArgumentException("trailing bytes after a " + op + " command");
                KvCommand c = of(ext, clientId, seq).withTimestamp(ts);
                if (c.op() != op) throw new IllegalArgumentException("command op " + op + " carries " + ext);
                return c;
            }
            if (op != Op.PUT && op != Op.APPEND && op != Op.REGISTER)
                throw new IllegalArgumentException("op " + op + " in a version " + version + " command");
            long clientId = 0, seq = 0, ts = 0;
            if (version >= 2) {
                clientId = in.readLong();
                seq = in.readLong();
                ts = in.readLong();
            }
            String key = readString(in);
            String value = readString(in);
            return new KvCommand(op, key, value, clientId, seq, ts);
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated command of " + data.length + " bytes", e);
        }
    }

    private static String readString(DataInputStream in) throws IOException {
        int len = in.readInt();
        if (len < 0) throw new IOException("negative length");
        byte[] b = in.readNBytes(len);
        if (b.length != len) throw new java.io.EOFException("cut short");
        return new String(b, StandardCharsets.UTF_8);
    }
}
