package io.raftkv.sim;

import java.util.PriorityQueue;

/**
 * The simulated clock and its event queue. Events run in order of (time, scheduling order), so
 * two runs of one seed interleave identically. Time is in simulated milliseconds; {@link #nowNs()}
 * adds the position of the current event within its millisecond, so that timestamps of different
 * events are distinct and ordered as the events ran.
 */
final class Scheduler {
    private record Event(long timeMs, long seq, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(timeMs, o.timeMs);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** Far more than any healthy millisecond holds: a zero-delay loop. */
    private static final long MAX_EVENTS_PER_MS = 200_000;
    /** Some thousand times a normal run. */
    private static final long MAX_EVENTS = 20_000_000;

    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private long nowMs;
    private long seq;
    /** Events run so far within the current millisecond. */
    private long ranThisMs;
    private long eventsRun;

    long nowMs() {
        return nowMs;
    }

    /** Distinct, increasing timestamps for history records: one millisecond holds up to 10^6 events. */
    long nowNs() {
        return nowMs * 1_000_000L + Math.min(ranThisMs, 999_999L);
    }

    long eventsRun() {
        return eventsRun;
    }

    void at(long timeMs, Runnable action) {
        if (timeMs < nowMs) throw new IllegalArgumentException("event at " + timeMs + " ms scheduled at " + nowMs + " ms");
        queue.add(new Event(timeMs, seq++, action));
    }

    void after(long delayMs, Runnable action) {
        at(nowMs + Math.max(0, delayMs), action);
    }

    /** Runs the next event if there is one due at or before {@code untilMs}; false otherwise. */
    boolean runNext(long untilMs) {
        Event e = queue.peek();
        if (e == null || e.timeMs > untilMs) {
            if (untilMs > nowMs && untilMs != Long.MAX_VALUE) advanceTo(untilMs);
            return false;
        }
        queue.poll();
        advanceTo(e.timeMs);
        if (++ranThisMs > MAX_EVENTS_PER_MS)
            throw new AssertionError("livelock: more than " + MAX_EVENTS_PER_MS + " events at " + nowMs
                    + " ms simulated, time no longer advances");
        if (++eventsRun > MAX_EVENTS)
            throw new AssertionError("runaway: more than " + MAX_EVENTS + " events by " + nowMs + " ms simulated");
        e.action.run();
        return true;
    }

    private void advanceTo(long t) {
        if (t > nowMs) {
            nowMs = t;
            ranThisMs = 0;
        }
    }
}
