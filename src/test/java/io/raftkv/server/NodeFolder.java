package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.RaftStorage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Looks into one node's data folder (the {@link FileStorage} layout: {@code wal/} segments,
 * {@code snap/snapshot_<index>_<term>}). The listing helpers work while the node runs (files
 * may come and go under them); {@link #replay} needs the node stopped.
 */
public final class NodeFolder {
    private static final Pattern SNAPSHOT = Pattern.compile("snapshot_(\\d{20})_(\\d{20})");
    private static final Pattern SEGMENT = Pattern.compile("log_(inprogress_)?\\d{20}(-\\d{20})?");

    private NodeFolder() {}

    /**
     * What a node restarting from {@code dir} would hold once it re-applied its committed log:
     * the snapshot restored into a state machine, then every committed entry after it applied.
     */
    public record Replayed(long snapshotIndex, long commitIndex, long lastIndex, KvStateMachine state) {
        /** The log entries after the snapshot, i.e. what a restart re-applies (or keeps uncommitted). */
        public long tailEntries() {
            return lastIndex - snapshotIndex;
        }

        /** Keys of {@code expected} that are missing or differ here, and a key-count mismatch; empty if equal. */
        public List<String> differencesFrom(Map<String, String> expected) {
            List<String> diffs = new ArrayList<>();
            expected.forEach((k, v) -> {
                String found = state.get(k).orElse(null);
                if (!v.equals(found)) diffs.add(k + ": expected " + abbreviate(v) + ", found " + abbreviate(found));
            });
            if (state.size() != expected.size()) diffs.add("holds " + state.size() + " keys, expected " + expected.size());
            return diffs;
        }
    }

    /** Opens the stopped node's folder as a restart would (recovery included) and replays it. */
    public static Replayed replay(Path dir) {
        try (FileStorage storage = FileStorage.open(dir, new FileStorage.Options(64L * 1024 * 1024, false))) {
            RaftStorage.Stored stored = storage.load();
            KvStateMachine kv = new KvStateMachine();
            long snapshotIndex = stored.snapshot().map(s -> s.index()).orElse(0L);
            stored.snapshot().ifPresent(s -> kv.restore(s.data()));
            long commit = stored.hardState().commit();
            long last = stored.entries().isEmpty() ? snapshotIndex : stored.entries().getLast().index();
            for (Entry e : stored.entries()) {
                if (e.index() > commit) break;
                if (e.isNoop()) {
                    kv.skip(e.index());
                } else {
                    kv.apply(e.index(), KvCommand.decode(e.data()));
                }
            }
            return new Replayed(snapshotIndex, commit, last, kv);
        }
    }

    /** Index of the newest snapshot file in the folder, 0 if none. */
    public static long snapshotIndex(Path dir) {
        long newest = 0;
        for (Path p : list(dir.resolve("snap"))) {
            Matcher m = SNAPSHOT.matcher(p.getFileName().toString());
            if (m.matches()) newest = Math.max(newest, Long.parseLong(m.group(1)));
        }
        return newest;
    }

    /** Size of the newest snapshot file, 0 if none. */
    public static long snapshotFileBytes(Path dir) {
        long index = snapshotIndex(dir);
        for (Path p : list(dir.resolve("snap"))) {
            Matcher m = SNAPSHOT.matcher(p.getFileName().toString());
            if (m.matches() && Long.parseLong(m.group(1)) == index) return sizeOrZero(p);
        }
        return 0;
    }

    /** Number of WAL segment files, open and closed. */
    public static int walSegments(Path dir) {
        return (int) list(dir.resolve("wal")).stream()
                .filter(p -> SEGMENT.matcher(p.getFileName().toString()).matches()).count();
    }

    /** Bytes of every file under {@code dir}; a file deleted while walking counts as 0. */
    public static long sizeBytes(Path dir) {
        long total = 0;
        for (String sub : List.of("wal", "snap")) {
            for (Path p : list(dir.resolve(sub))) total += sizeOrZero(p);
        }
        for (Path p : list(dir)) {
            if (Files.isRegularFile(p)) total += sizeOrZero(p);
        }
        return total;
    }

    /** The folder's files with their sizes on one line, for failure messages. */
    public static String describe(Path dir) {
        StringBuilder sb = new StringBuilder(dir.toString()).append(":");
        for (String sub : List.of("wal", "snap")) {
            for (Path p : list(dir.resolve(sub))) {
                sb.append(' ').append(sub).append('/').append(p.getFileName()).append('=').append(sizeOrZero(p));
            }
        }
        return sb.toString();
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long sizeOrZero(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0; // deleted since listed (a compacted segment, a replaced snapshot)
        }
    }

    private static String abbreviate(String s) {
        if (s == null) return "nothing";
        return s.length() <= 60 ? s : s.substring(0, 60) + "...(" + s.length() + " chars)";
    }
}
