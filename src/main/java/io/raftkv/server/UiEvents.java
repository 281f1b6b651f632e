package io.raftkv.server;

import java.util.ArrayList;
import java.util.List;

/**
 * The web view's timeline of one node: elections and role changes (with the core's reason),
 * snapshots, leader transfers, membership changes, network cuts. A small ring: written on the
 * node's thread when one of these (rare) things happens, read by {@code GET /ui/state} on any
 * thread, so the lock is never contended on the hot path.
 */
final class UiEvents {
    static final int CAPACITY = 64;

    /** One happening; {@code seq} counts from 1 per process, so (node, pid, seq) names it. */
    record Event(long seq, long timeMs, String kind, long term, String text) {}

    private final Event[] ring = new Event[CAPACITY];
    private long added;

    synchronized void add(String kind, long term, String text) {
        ring[(int) (added % CAPACITY)] = new Event(added + 1, System.currentTimeMillis(), kind, term, text);
        added++;
    }

    /** The newest {@code max} events (at most {@link #CAPACITY}), oldest first. */
    synchronized List<Event> recent(int max) {
        int n = (int) Math.min(Math.min(max, CAPACITY), added);
        List<Event> out = new ArrayList<>(n);
        for (long i = added - n; i < added; i++) out.add(ring[(int) (i % CAPACITY)]);
        return out;
    }
}
