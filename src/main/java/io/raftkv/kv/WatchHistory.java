package io.raftkv.kv;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The recent changes a watch can start from (etcd keeps every revision until compaction, on disk;
 * raftkv keeps the last {@code maxEvents} changes in memory, holding at most {@code maxBytes}: with
 * 16 KiB values 100,000 events would be 1.6 GB of heap). Every event of a revision at or above
 * {@link #firstKeptRevision()} is here; a watch from an older revision gets "compacted" (HTTP
 * 410, as etcd answers "required revision has been compacted"). Revisions leave whole: a
 * revision's events are all kept or all gone. A snapshot restored from the leader starts the
 * history again after its index. Confined to the state machine's thread.
 */
public final class WatchHistory {
    /** The default of {@code maxBytes}: 64 MiB (about 4,000 events of 16 KiB values; 100,000 of small ones). */
    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    /** What an event costs beyond its key's and value's characters: the record, two strings, their arrays. */
    public static final int EVENT_OVERHEAD_BYTES = 96;

    private final int maxEvents;
    private final long maxBytes;
    private final ArrayDeque<WatchEvent> events = new ArrayDeque<>();
    private long bytes;
    private long firstKeptRevision = 1;

    public WatchHistory(int maxEvents) {
        this(maxEvents, DEFAULT_MAX_BYTES);
    }

    public WatchHistory(int maxEvents, long maxBytes) {
        if (maxEvents < 1) throw new IllegalArgumentException("the watch history keeps at least one event, not " + maxEvents);
        if (maxBytes < 1) throw new IllegalArgumentException("the watch history holds at least one byte, not " + maxBytes);
        this.maxEvents = maxEvents;
        this.maxBytes = maxBytes;
    }

    /** What {@code e} counts for against {@code maxBytes}. */
    static long sizeOf(WatchEvent e) {
        return EVENT_OVERHEAD_BYTES + e.key().length() + (e.value() == null ? 0 : e.value().length());
    }

    /** Records the events of one revision (all the same), dropping the oldest revisions beyond the bounds. */
    void add(List<WatchEvent> revisionEvents) {
        if (revisionEvents.isEmpty()) return;
        for (WatchEvent e : revisionEvents) {
            events.addLast(e);
            bytes += sizeOf(e);
        }
        long newest = revisionEvents.getLast().revision();
        // The byte bound never drops the newest revision (a watch from now must find it), the count bound may.
        while (events.size() > maxEvents || bytes > maxBytes && events.peekFirst().revision() != newest) {
            long oldest = events.peekFirst().revision();
            while (!events.isEmpty() && events.peekFirst().revision() == oldest) bytes -= sizeOf(events.pollFirst());
            firstKeptRevision = oldest + 1;
        }
    }

    /** Forgets everything: the state now is as of {@code revision} (a snapshot's index). */
    void reset(long revision) {
        events.clear();
        bytes = 0;
        firstKeptRevision = revision + 1;
    }

    /** What the kept events count for against {@code maxBytes}. */
    public long bytes() {
        return bytes;
    }

    /** The oldest revision a watch can start from; events of every revision from here on are kept. */
    public long firstKeptRevision() {
        return firstKeptRevision;
    }

    /** The kept events at or after {@code fromRevision} that a watch of {@code key} (or prefix) sees, in order. */
    public List<WatchEvent> since(long fromRevision, String key, boolean prefix) {
        if (fromRevision < firstKeptRevision) {
            throw new IllegalArgumentException("revision " + fromRevision + " is compacted; the oldest kept is " + firstKeptRevision);
        }
        List<WatchEvent> out = new ArrayList<>();
        for (Iterator<WatchEvent> it = events.descendingIterator(); it.hasNext(); ) {
            WatchEvent e = it.next();
            if (e.revision() < fromRevision) break;
            if (e.matches(key, prefix)) out.add(e);
        }
        return out.reversed();
    }

    public int size() {
        return events.size();
    }
}
