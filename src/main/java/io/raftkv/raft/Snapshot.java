package io.raftkv.raft;

/**
 * A state machine snapshot covering the log up to {@code index} (whose entry had {@code term}),
 * Raft §7. {@code data} is opaque to the core.
 */
public record Snapshot(long index, long term, byte[] data) {
    public Snapshot {
        if (index < 0 || term < 0) throw new IllegalArgumentException("negative snapshot index or term");
        if (data == null) throw new IllegalArgumentException("snapshot without data");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Snapshot s && s.index == index && s.term == term && java.util.Arrays.equals(s.data, data);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + Long.hashCode(term);
    }

    @Override
    public String toString() {
        return "Snapshot[" + index + "@" + term + ", " + data.length + "B]";
    }
}
