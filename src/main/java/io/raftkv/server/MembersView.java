package io.raftkv.server;

import io.raftkv.raft.Configuration;
import io.raftkv.transport.HostPort;

import java.util.Map;
import java.util.OptionalInt;

/**
 * The membership as one node sees it, taken on its loop: the configuration in use from log index
 * {@code configIndex}, and when this node leads, how many entries each member is behind its log
 * ({@code lag}, for the members that acknowledged an entry; a learner within {@code maxLearnerLag}
 * can be promoted, thesis §4.2.1).
 */
public record MembersView(Configuration configuration, long configIndex, long commitIndex, boolean leader,
                          OptionalInt leaderId, Map<Integer, Long> lag, long maxLearnerLag,
                          Map<Integer, HostPort> addresses) {
    /** Whether the configuration in use is committed (no change is in flight). */
    public boolean committed() {
        return configIndex <= commitIndex;
    }

    /** A learner close enough to the leader's log to be promoted; only the leader knows. */
    public boolean caughtUp(int id) {
        Long l = lag.get(id);
        return l != null && l <= maxLearnerLag;
    }
}
