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
 * +---------+-----------+-----------+-------------+-------------+
 * | version | op (byte) | keyLen    | key (UTF-8) | valueLen ... value (UTF-8)
 * | 1 byte  | 1=put     | int32 BE  |             | int32 BE
 * |   = 1   | 2=append  |           |             |
 * +---------+-----------+-----------+-------------+-------------+
 * </pre>
 */
public record KvCommand(Op op, String key, String value) {
    private static final byte VERSION = 1;

    public enum Op {
        PUT(1), APPEND(2);

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
    }

    public byte[] encode() {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(10 + k.length + v.length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeByte(op.code);
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
            if (version != VERSION) throw new IllegalArgumentException("unknown command version " + version);
            Op op = Op.of(in.readByte());
            String key = new String(in.readNBytes(in.readInt()), StandardCharsets.UTF_8);
            String value = new String(in.readNBytes(in.readInt()), StandardCharsets.UTF_8);
            return new KvCommand(op, key, value);
        } catch (IOException e) {
            throw new IllegalArgumentException("truncated command of " + data.length + " bytes", e);
        }
    }
}
