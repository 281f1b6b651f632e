package io.raftkv.kv;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The binary form of a {@link KvOp} inside a version-3 {@link KvCommand}:
 * <pre>
 * tag u8, then by tag:
 *   1 put     key, value                 2 append key, value       8 put with lease: key, value, lease i64
 *   9 cas with lease: as 5, then lease i64
 *  10 lease grant ttlMs i64   11 keep-alive id i64   12 revoke id i64   13 expire count i32, ids i64
 *   4 delete  key, prefix u8 (0|1)       7 get    key
 *   5 cas     key, value, expect: u8 1 value string | 2 modRevision i64 | 3 absent
 *   6 txn     compareCount i32, compares, successCount i32, ops, failureCount i32, ops
 *             compare: key, target u8 (1 value, 2 modRevision, 3 createRevision, 4 version,
 *             5 exists), op u8 (1 ==, 2 !=, 3 <, 4 >), operand: string | i64 | u8 by target
 * strings: length i32, UTF-8 bytes
 * </pre>
 * Reading is total: anything else is an {@link IllegalArgumentException}, and counts and lengths
 * are checked against the bytes there are before anything is allocated.
 */
final class KvOpCodec {
    private KvOpCodec() {}

    static void write(DataOutputStream out, KvOp op) throws IOException {
        switch (op) {
            case KvOp.Auth a -> {
                out.writeByte(14);
                io.raftkv.auth.AuthOpCodec.write(out, a.op());
            }
            case KvOp.Put p -> {
                out.writeByte(p.lease() == 0 ? 1 : 8);
                writeString(out, p.key());
                writeString(out, p.value());
                if (p.lease() != 0) out.writeLong(p.lease());
            }
            case KvOp.LeaseGrant g -> {
                out.writeByte(10);
                out.writeLong(g.ttlMs());
            }
            case KvOp.LeaseKeepAlive k -> {
                out.writeByte(11);
                out.writeLong(k.id());
            }
            case KvOp.LeaseRevoke r -> {
                out.writeByte(12);
                out.writeLong(r.id());
            }
            case KvOp.LeaseExpire e -> {
                out.writeByte(13);
                out.writeInt(e.ids().size());
                for (long id : e.ids()) out.writeLong(id);
            }
            case KvOp.Append a -> {
                out.writeByte(2);
                writeString(out, a.key());
                writeString(out, a.value());
            }
            case KvOp.Delete d -> {
                out.writeByte(4);
                writeString(out, d.key());
                out.writeByte(d.prefix() ? 1 : 0);
            }
            case KvOp.Get g -> {
                out.writeByte(7);
                writeString(out, g.key());
            }
            case KvOp.Cas c -> {
                out.writeByte(c.lease() == 0 ? 5 : 9);
                writeString(out, c.key());
                writeString(out, c.value());
                switch (c.expect()) {
                    case KvOp.Expect.Value v -> {
                        out.writeByte(1);
                        writeString(out, v.value());
                    }
                    case KvOp.Expect.ModRevision r -> {
                        out.writeByte(2);
                        out.writeLong(r.revision());
                    }
                    case KvOp.Expect.Absent a -> out.writeByte(3);
                }
                if (c.lease() != 0) out.writeLong(c.lease());
            }
            case KvOp.Txn t -> {
                out.writeByte(6);
                out.writeInt(t.compare().size());
                for (KvOp.Compare c : t.compare()) {
                    writeString(out, c.key());
                    out.writeByte(c.target().ordinal() + 1);
                    out.writeByte(c.op().ordinal() + 1);
                    switch (c.target()) {
                        case VALUE -> writeString(out, (String) c.operand());
                        case EXISTS -> out.writeByte((Boolean) c.operand() ? 1 : 0);
                        default -> out.writeLong((Long) c.operand());
                    }
                }
                writeOps(out, t.success());
                writeOps(out, t.failure());
            }
        }
    }

    private static void writeOps(DataOutputStream out, List<KvOp> ops) throws IOException {
        out.writeInt(ops.size());
        for (KvOp op : ops) write(out, op);
    }

    static KvOp read(DataInputStream in, int totalBytes) throws IOException {
        try {
            return readOp(in, totalBytes, true);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("bad KV operation: " + e.getMessage(), e);
        }
    }

    private static KvOp readOp(DataInputStream in, int totalBytes, boolean topLevel) throws IOException {
        int tag = in.readUnsignedByte();
        return switch (tag) {
            case 14 -> {
                if (!topLevel) throw new IllegalArgumentException("an auth change inside a transaction");
                yield new KvOp.Auth(io.raftkv.auth.AuthOpCodec.read(in, totalBytes));
            }
            case 1 -> new KvOp.Put(readString(in, totalBytes), readString(in, totalBytes));
            case 8 -> new KvOp.Put(readString(in, totalBytes), readString(in, totalBytes), positive(in.readLong()));
            case 10 -> new KvOp.LeaseGrant(in.readLong());
            case 11 -> new KvOp.LeaseKeepAlive(in.readLong());
            case 12 -> new KvOp.LeaseRevoke(in.readLong());
            case 13 -> {
                int n = in.readInt();
                if (n < 1 || n > totalBytes / 8) throw new IllegalArgumentException("impossible lease count " + n);
                List<Long> ids = new ArrayList<>(n);
                for (int i = 0; i < n; i++) ids.add(in.readLong());
                yield new KvOp.LeaseExpire(ids);
            }
            case 2 -> new KvOp.Append(readString(in, totalBytes), readString(in, totalBytes));
            case 4 -> new KvOp.Delete(readString(in, totalBytes), readBool(in));
            case 7 -> new KvOp.Get(readString(in, totalBytes));
            case 5, 9 -> {
                String key = readString(in, totalBytes);
                String value = readString(in, totalBytes);
                int e = in.readUnsignedByte();
                KvOp.Expect expect = switch (e) {
                    case 1 -> new KvOp.Expect.Value(readString(in, totalBytes));
                    case 2 -> new KvOp.Expect.ModRevision(in.readLong());
                    case 3 -> new KvOp.Expect.Absent();
                    default -> throw new IllegalArgumentException("unknown cas expectation " + e);
                };
                yield new KvOp.Cas(key, value, expect, tag == 9 ? positive(in.readLong()) : 0);
            }
            case 6 -> {
                if (!topLevel) throw new IllegalArgumentException("a transaction inside a transaction");
                int n = count(in, totalBytes);
                List<KvOp.Compare> compares = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    String key = readString(in, totalBytes);
                    int t = in.readUnsignedByte();
                    int o = in.readUnsignedByte();
                    KvOp.Compare.Target[] targets = KvOp.Compare.Target.values();
                    KvOp.Compare.CmpOp[] ops = KvOp.Compare.CmpOp.values();
                    if (t < 1 || t > targets.length) throw new IllegalArgumentException("unknown compare target " + t);
                    if (o < 1 || o > ops.length) throw new IllegalArgumentException("unknown compare op " + o);
                    KvOp.Compare.Target target = targets[t - 1];
                    Object operand = switch (target) {
                        case VALUE -> readString(in, totalBytes);
                        case EXISTS -> readBool(in);
                        default -> in.readLong();
                    };
                    compares.add(new KvOp.Compare(key, target, ops[o - 1], operand));
                }
                List<KvOp> success = readOps(in, totalBytes);
                List<KvOp> failure = readOps(in, totalBytes);
                yield new KvOp.Txn(compares, success, failure);
            }
            default -> throw new IllegalArgumentException("unknown operation tag " + tag);
        };
    }

    /** A lease id written with a tag that says there is one: never 0. */
    private static long positive(long id) {
        if (id < 1) throw new IllegalArgumentException("lease id " + id);
        return id;
    }

    private static List<KvOp> readOps(DataInputStream in, int totalBytes) throws IOException {
        int n = count(in, totalBytes);
        List<KvOp> ops = new ArrayList<>(n);
        for (int i = 0; i < n; i++) ops.add(readOp(in, totalBytes, false));
        return ops;
    }

    /** A count of items of at least one byte each: no more than there are bytes. */
    private static int count(DataInputStream in, int totalBytes) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > totalBytes) throw new IllegalArgumentException("impossible count " + n);
        return n;
    }

    private static boolean readBool(DataInputStream in) throws IOException {
        int b = in.readUnsignedByte();
        if (b > 1) throw new IllegalArgumentException("boolean byte " + b);
        return b == 1;
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in, int totalBytes) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > totalBytes) throw new IllegalArgumentException("impossible string length " + len);
        byte[] b = in.readNBytes(len);
        if (b.length != len) throw new EOFException("string cut short");
        return new String(b, StandardCharsets.UTF_8);
    }
}
