package io.raftkv.raft;

import java.util.Optional;

/**
 * A state machine snapshot covering the log up to {@code index} (whose entry had {@code term}),
 * Raft §7. {@code data} is opaque to the core, and held in chunks ({@link SnapshotData}). {@code configuration} is the membership in effect
 * at {@code index} (thesis §4.1: the log prefix the snapshot replaces may hold the newest
 * configuration entry); empty only for snapshots written before raftkv had membership changes,
 * whose cluster then still runs on its bootstrap configuration.
 */
public record Snapshot(long index, long term, Optional<Configuration> configuration, SnapshotData data) {
    public Snapshot {
        if (index < 0 || term < 0) throw new IllegalArgumentException("negative snapshot index or term");
        if (data == null) throw new IllegalArgumentException("snapshot without data");
        if (configuration == null) throw new IllegalArgumentException("snapshot without a configuration option");
    }

    /** A snapshot of the state at {@code index} in {@code configuration}. */
    public Snapshot(long index, long term, Configuration configuration, SnapshotData data) {
        this(index, term, Optional.of(configuration), data);
    }

    /** A snapshot of the state at {@code index} in {@code configuration}, its data in one array. */
    public Snapshot(long index, long term, Configuration configuration, byte[] data) {
        this(index, term, Optional.of(configuration), SnapshotData.of(data));
    }

    /** A snapshot that records no configuration (as files of earlier versions). */
    public Snapshot(long index, long term, SnapshotData data) {
        this(index, term, Optional.empty(), data);
    }

    /** A snapshot that records no configuration (as files of earlier versions), its data in one array. */
    public Snapshot(long index, long term, byte[] data) {
        this(index, term, Optional.empty(), SnapshotData.of(data));
    }

    /** This snapshot, with {@code fallback} as its configuration if it records none. */
    public Snapshot withConfigurationIfAbsent(Configuration fallback) {
        return configuration.isPresent() ? this : new Snapshot(index, term, Optional.of(fallback), data);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Snapshot s && s.index == index && s.term == term && s.configuration.equals(configuration)
                && s.data.equals(data);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + Long.hashCode(term);
    }

    @Override
    public String toString() {
        return "Snapshot[" + index + "@" + term + configuration.map(c -> ", " + c).orElse("") + ", " + data.length() + "B]";
    }
}
