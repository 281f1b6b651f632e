package io.raftkv.server;

import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * When this node last heard from a leader, and which: what a request needs to know to tell "a
 * leader will answer soon" from "no leader is reachable from here".
 *
 * @param leaderId the last leader this node knew (itself while it leads); empty if none yet
 * @param atNanos  {@link System#nanoTime()} of the last message from that leader (now while this
 *                 node leads; the node's start if it never heard from one)
 */
public record LeaderContact(OptionalInt leaderId, long atNanos) {
    /** Milliseconds without a word from a leader, as of {@code nowNanos}. */
    public long silentMs(long nowNanos) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(nowNanos - atNanos));
    }
}
