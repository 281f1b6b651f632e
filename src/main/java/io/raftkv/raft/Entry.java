package io.raftkv.raft;

import java.util.Arrays;

/**
 * One log entry. An entry with empty {@code data} is the no-op a new leader appends (Raft §8);
 * every other entry carries an opaque state machine command.
 */
public record Entry(long index, long term, byte[] data) {
    private static final byte[] EMPTY = new byte[0];

    public Entry {
        if (index < 1) throw new IllegalArgumentException("entry index must be >= 1, got " + index);
        if (term < 1) throw new IllegalArgumentException("entry term must be >= 1, got " + term);
        data = data == null ? EMPTY : data;
    }

    public static Entry noop(long index, long term) {
        return new Entry(index, term, EMPTY);
    }

    public boolean isNoop() {
        return data.length == 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Entry e && e.index == index && e.term == term && Arrays.equals(e.data, data);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + Long.hashCode(term) * 17 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Entry[" + index + "@" + term + (isNoop() ? " noop" : " " + data.length + "B") + "]";
    }
}
