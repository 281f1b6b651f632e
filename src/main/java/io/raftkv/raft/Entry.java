package io.raftkv.raft;

import java.util.Arrays;

/**
 * One log entry. A {@link Type#NORMAL} entry carries an opaque state machine command, or nothing:
 * the empty NORMAL entry is the no-op a new leader appends (Raft §8). A {@link Type#CONFIG} entry
 * carries a {@link Configuration} ({@link Configuration#encode()}): the membership the cluster
 * moves to, in effect on every server as soon as the entry is in its log (thesis §4.1). The state
 * machine sees neither no-ops nor configuration entries as commands.
 */
public record Entry(long index, long term, Type type, byte[] data) {
    private static final byte[] EMPTY = new byte[0];

    /** What an entry's data is. */
    public enum Type {
        /** A state machine command, or the leader's no-op when empty. */
        NORMAL,
        /** An encoded {@link Configuration} (thesis §4.1). */
        CONFIG
    }

    public Entry {
        if (index < 1) throw new IllegalArgumentException("entry index must be >= 1, got " + index);
        if (term < 1) throw new IllegalArgumentException("entry term must be >= 1, got " + term);
        if (type == null) throw new IllegalArgumentException("entry without a type");
        data = data == null ? EMPTY : data;
    }

    /** A {@link Type#NORMAL} entry: a command, or a no-op when {@code data} is empty. */
    public Entry(long index, long term, byte[] data) {
        this(index, term, Type.NORMAL, data);
    }

    public static Entry noop(long index, long term) {
        return new Entry(index, term, Type.NORMAL, EMPTY);
    }

    /** The entry that moves the cluster to {@code configuration} (thesis §4.1). */
    public static Entry config(long index, long term, Configuration configuration) {
        return new Entry(index, term, Type.CONFIG, configuration.encode());
    }

    public boolean isNoop() {
        return type == Type.NORMAL && data.length == 0;
    }

    public boolean isConfig() {
        return type == Type.CONFIG;
    }

    /** Whether this entry is a state machine command (neither a no-op nor a configuration). */
    public boolean isCommand() {
        return type == Type.NORMAL && data.length > 0;
    }

    /** The configuration a {@link Type#CONFIG} entry carries. */
    public Configuration configuration() {
        if (!isConfig()) throw new IllegalStateException(this + " is not a configuration entry");
        return Configuration.decode(data);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Entry e && e.index == index && e.term == term && e.type == type && Arrays.equals(e.data, data);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + Long.hashCode(term) * 17 + type.hashCode() * 7 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        String what = isNoop() ? " noop" : isConfig() ? " config " + Configuration.describe(data) : " " + data.length + "B";
        return "Entry[" + index + "@" + term + what + "]";
    }
}
