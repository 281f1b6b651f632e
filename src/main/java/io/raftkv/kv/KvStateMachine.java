package io.raftkv.kv;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The key-value map. Owned by the node's Raft loop thread: not thread-safe by design.
 * Invariant: entries are applied in strictly increasing index order, each once.
 */
public final class KvStateMachine {
    private final Map<String, String> data = new HashMap<>();
    private long appliedIndex;

    /** Applies the command committed at {@code index} and returns the key's new value. */
    public String apply(long index, KvCommand cmd) {
        if (index <= appliedIndex)
            throw new IllegalStateException("apply of index " + index + " after " + appliedIndex);
        appliedIndex = index;
        String next = switch (cmd.op()) {
            case PUT -> cmd.value();
            // A missing key counts as the empty string.
            case APPEND -> data.getOrDefault(cmd.key(), "") + cmd.value();
        };
        data.put(cmd.key(), next);
        return next;
    }

    /** Marks a no-op entry as applied. */
    public void skip(long index) {
        if (index <= appliedIndex)
            throw new IllegalStateException("skip of index " + index + " after " + appliedIndex);
        appliedIndex = index;
    }

    /**
     * Encodes the whole state for a Raft snapshot (§7).
     * <pre>
     * version byte (1) | appliedIndex int64 | count int32 | count x (keyLen int32, key, valueLen int32, value)
     * </pre>
     */
    public byte[] snapshot() {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(64 + data.size() * 32);
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
            out.writeByte(1);
            out.writeLong(appliedIndex);
            out.writeInt(data.size());
            for (Map.Entry<String, String> e : data.entrySet()) {
                writeString(out, e.getKey());
                writeString(out, e.getValue());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Replaces the whole state with a snapshot made by {@link #snapshot()}. */
    public void restore(byte[] snapshot) {
        try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.ByteArrayInputStream(snapshot))) {
            byte version = in.readByte();
            if (version != 1) throw new IllegalArgumentException("unknown snapshot version " + version);
            long applied = in.readLong();
            int count = in.readInt();
            Map<String, String> restored = new HashMap<>(Math.max(16, count * 4 / 3 + 1));
            for (int i = 0; i < count; i++) restored.put(readString(in), readString(in));
            data.clear();
            data.putAll(restored);
            appliedIndex = applied;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("corrupt state machine snapshot: " + e.getMessage(), e);
        }
    }

    private static void writeString(java.io.DataOutputStream out, String s) throws java.io.IOException {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(java.io.DataInputStream in) throws java.io.IOException {
        int len = in.readInt();
        if (len < 0) throw new java.io.IOException("negative length");
        byte[] b = in.readNBytes(len);
        if (b.length != len) throw new java.io.EOFException("string cut short");
        return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(data.get(key));
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    public int size() {
        return data.size();
    }
}
