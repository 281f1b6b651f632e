package io.raftkv.node;

import io.raftkv.raft.ConfChangeResult;
import io.raftkv.raft.Configuration;

import java.util.OptionalInt;

/** How a membership change asked of this node ended (thesis ch. 4). */
public sealed interface MembershipOutcome {
    /**
     * The change is committed: {@code configuration} is the membership from log index {@code index}
     * on. Also the answer to adding a learner that is already a member at the same address, with no
     * change in flight (a joining node asks again after a restart): nothing to do.
     */
    record Committed(Configuration configuration, long index) implements MembershipOutcome {}

    /** This node is not the leader: ask the leader ({@code leaderHint}, if known). Nothing changed. */
    record NotLeader(OptionalInt leaderHint) implements MembershipOutcome {}

    /** The leader refused the change: nothing changed. */
    record Refused(ConfChangeResult.Reason reason, String message) implements MembershipOutcome {}

    /**
     * The change was appended but this node lost leadership before it committed: a new leader may
     * still commit it or drop it. {@code GET /members} tells which.
     */
    record Unknown(String reason) implements MembershipOutcome {}

    /** Another leader's entry took the change's place in the log: the change was not made. */
    record Failed(String reason) implements MembershipOutcome {}
}
