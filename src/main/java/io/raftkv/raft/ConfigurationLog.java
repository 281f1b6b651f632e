package io.raftkv.raft;

import java.util.ArrayList;

/**
 * The configurations in a {@link RaftLog} (thesis §4.1): the one in effect at the log's base (a
 * snapshot's, or the bootstrap configuration at index 0) and one per configuration entry after
 * it. A server uses the newest, {@link #latest()}, whether committed or not; when a conflicting
 * suffix is truncated it falls back to the newest that remains.
 *
 * <p>Invariant: {@code indexes} ascend, all above {@code baseIndex}, each the index of a
 * {@link Entry.Type#CONFIG} entry of the log holding {@code configs} at the same position.
 */
final class ConfigurationLog {
    private long baseIndex;
    private Configuration base;
    private final ArrayList<Long> indexes = new ArrayList<>();
    private final ArrayList<Configuration> configs = new ArrayList<>();

    ConfigurationLog(long baseIndex, Configuration base) {
        this.baseIndex = baseIndex;
        this.base = base;
    }

    /** The configuration in use: the newest in the log, committed or not (thesis §4.1). */
    Configuration latest() {
        return configs.isEmpty() ? base : configs.getLast();
    }

    /** Index of the entry that set {@link #latest()}, or the base index if no entry after the base did. */
    long latestIndex() {
        return indexes.isEmpty() ? baseIndex : indexes.getLast();
    }

    /** The configuration in effect once the entries up to {@code index} (at least the base) are in the log. */
    Configuration at(long index) {
        if (index < baseIndex)
            throw new IllegalArgumentException("configuration at " + index + " is compacted (base " + baseIndex + ")");
        for (int i = indexes.size() - 1; i >= 0; i--) if (indexes.get(i) <= index) return configs.get(i);
        return base;
    }

    void appended(Entry e) {
        if (!e.isConfig()) return;
        Configuration c;
        try {
            c = e.configuration();
        } catch (IllegalArgumentException ex) {
            throw new IllegalStateException("configuration entry " + e.index() + "@" + e.term() + " does not decode: "
                    + ex.getMessage(), ex);
        }
        indexes.add(e.index());
        configs.add(c);
    }

    /** Entries from {@code index} on are gone: their configurations too (fall back, §4.1). Returns whether latest changed. */
    boolean truncatedFrom(long index) {
        boolean changed = false;
        while (!indexes.isEmpty() && indexes.getLast() >= index) {
            indexes.removeLast();
            configs.removeLast();
            changed = true;
        }
        return changed;
    }

    /** The log now starts after {@code index}: the configuration in effect there becomes the base. */
    void compactedTo(long index) {
        if (index <= baseIndex) return;
        base = at(index);
        baseIndex = index;
        while (!indexes.isEmpty() && indexes.getFirst() <= index) {
            indexes.removeFirst();
            configs.removeFirst();
        }
    }

    /** A snapshot replaced the whole log: its configuration is the only one (Raft §7, thesis §4.1). */
    void restored(long index, Configuration configuration) {
        indexes.clear();
        configs.clear();
        baseIndex = index;
        base = configuration;
    }
}
