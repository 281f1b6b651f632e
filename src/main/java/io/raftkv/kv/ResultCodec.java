package io.raftkv.kv;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The answers a session keeps for a resend to repeat (Raft thesis §6.3), in snapshots: a delete's,
 * a compare-and-swap's or a transaction's.
 * <pre>
 * tag u8: 1 deleted count i64 | 2 cas succeeded u8, kv | 3 txn succeeded u8, n i32, n x (op, key, kv, deleted i64)
 *        | 4 lease id i64, ttlMs i64 | 5 lease ended id i64, deleted i64 | 6 no lease id i64
 * kv: present u8, then value, createRevision i64, modRevision i64, version i64; strings: length i32, UTF-8
 * </pre>
 */
final class ResultCodec {
    private ResultCodec() {}

    static byte[] encode(ApplyResult r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            switch (r) {
                case ApplyResult.Deleted d -> {
                    out.writeByte(1);
                    out.writeLong(d.count());
                }
                case ApplyResult.Cas c -> {
                    out.writeByte(2);
                    out.writeBoolean(c.succeeded());
                    writeKv(out, c.current());
                }
                case ApplyResult.Txn t -> {
                    out.writeByte(3);
                    out.writeBoolean(t.succeeded());
                    out.writeInt(t.results().size());
                    for (ApplyResult.OpResult o : t.results()) {
                        writeString(out, o.op());
                        writeString(out, o.key());
                        writeKv(out, o.kv());
                        out.writeLong(o.deleted());
                    }
                }
                case ApplyResult.Lease l -> {
                    out.writeByte(4);
                    out.writeLong(l.leaseId());
                    out.writeLong(l.ttlMs());
                }
                case ApplyResult.LeaseEnded l -> {
                    out.writeByte(5);
                    out.writeLong(l.leaseId());
                    out.writeLong(l.deleted());
                }
                case ApplyResult.LeaseNotFound l -> {
                    out.writeByte(6);
                    out.writeLong(l.leaseId());
                }
                default -> throw new IllegalArgumentException("a session keeps no " + r);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Whether a session keeps {@code r} for a resend to repeat (a put's or append's answer is not kept). */
    static boolean kept(ApplyResult r) {
        return r instanceof ApplyResult.Deleted || r instanceof ApplyResult.Cas || r instanceof ApplyResult.Txn
                || r instanceof ApplyResult.Lease || r instanceof ApplyResult.LeaseEnded || r instanceof ApplyResult.LeaseNotFound;
    }

    static ApplyResult decode(byte[] b) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            int tag = in.readUnsignedByte();
            ApplyResult r = switch (tag) {
                case 1 -> new ApplyResult.Deleted(in.readLong());
                case 2 -> new ApplyResult.Cas(readBool(in), readKv(in, b.length));
                case 3 -> {
                    boolean ok = readBool(in);
                    int n = in.readInt();
                    if (n < 0 || n > b.length) throw new IOException("impossible result count " + n);
                    List<ApplyResult.OpResult> results = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        results.add(new ApplyResult.OpResult(readString(in, b.length), readString(in, b.length),
                                readKv(in, b.length), in.readLong()));
                    }
                    yield new ApplyResult.Txn(ok, results);
                }
                case 4 -> new ApplyResult.Lease(in.readLong(), in.readLong());
                case 5 -> new ApplyResult.LeaseEnded(in.readLong(), in.readLong());
                case 6 -> new ApplyResult.LeaseNotFound(in.readLong());
                default -> throw new IOException("unknown kept answer " + tag);
            };
            if (in.read() != -1) throw new IOException("trailing bytes after a kept answer");
            return r;
        }
    }

    private static boolean readBool(DataInputStream in) throws IOException {
        int v = in.readUnsignedByte();
        if (v > 1) throw new IOException("boolean byte " + v);
        return v == 1;
    }

    private static void writeKv(DataOutputStream out, KeyValue kv) throws IOException {
        out.writeBoolean(kv != null);
        if (kv == null) return;
        writeString(out, kv.value());
        out.writeLong(kv.createRevision());
        out.writeLong(kv.modRevision());
        out.writeLong(kv.version());
        out.writeLong(kv.lease());
    }

    private static KeyValue readKv(DataInputStream in, int max) throws IOException {
        if (!readBool(in)) return null;
        return new KeyValue(readString(in, max), in.readLong(), in.readLong(), in.readLong(), in.readLong());
    }

    static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    static String readString(DataInputStream in, int max) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > max) throw new IOException("impossible string length " + len);
        byte[] b = in.readNBytes(len);
        if (b.length != len) throw new EOFException("string cut short");
        return new String(b, StandardCharsets.UTF_8);
    }
}
