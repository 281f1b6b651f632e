package io.raftkv.kv;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The recent changes a watch can start from (etcd keeps every revision until compaction; raftkv
 * keeps the last {@code maxEvents} changes). Every event of a revision at or above
 * {@link #firstKeptRevision()} is here; a watch from an older revision gets "compacted" (HTTP
 * 410, as etcd answers "required revision has been compacted"). Revisions leave whole: a
 * revision's events are all kept or all gone. A snapshot restored from the leader starts the
 * history again after its index. Confined to the state machine's thread.
 */
public final class WatchHistory {
    private final int maxEvents;
    private final ArrayDeque<WatchEvent> events = new ArrayDeque<>();
    private long firstKeptRevision = 1;

    public WatchHistory(int maxEvents) {
        if (maxEvents < 1) throw new IllegalArgumentException("the watch history keeps at least one event, not " + maxEvents);
        this.maxEvents = maxEvents;
    }

    /** Records the events of one revision (all the same), dropping the oldest revisions beyond the bound. */
    void add(List<WatchEvent> revisionEvents) {
        if (revisionEvents.isEmpty()) return;
        events.addAll(revisionEvents);
        while (events.size() > maxEvents) {
            long oldest = events.peekFirst().revision();
            while (!events.isEmpty() && events.peekFirst().revision() == oldest) events.pollFirst();
            firstKeptRevision = oldest + 1;
        }
    }

    /** Forgets everything: the state now is as of {@code revision} (a snapshot's index). */
    void reset(long revision) {
        events.clear();
        firstKeptRevision = revision + 1;
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
