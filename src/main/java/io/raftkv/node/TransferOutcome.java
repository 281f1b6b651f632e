package io.raftkv.node;

import java.util.OptionalInt;

/** How a leadership transfer asked of this node ended (thesis §3.10). */
public sealed interface TransferOutcome {
    /**
     * {@code leader} leads {@code term}, as this node learned: the transfer's target, or this node
     * when the transfer was to itself (nothing to do).
     */
    record Transferred(int leader, long term) implements TransferOutcome {}

    /** This node is not the leader: ask the leader ({@code leaderHint}, if known). Nothing started. */
    record NotLeader(OptionalInt leaderHint) implements TransferOutcome {}

    /** The leader refused to start it: nothing changed. */
    record Refused(Reason reason, String message) implements TransferOutcome {}

    /**
     * Started, but the target did not take over: it was down or cut off and the leader gave up
     * after an election timeout (it accepts writes again), or another node won the election.
     * Safe to ask again.
     */
    record Failed(String reason) implements TransferOutcome {}

    enum Reason {
        /** No member has the id. */
        UNKNOWN_NODE,
        /** The id is a member that does not vote (a learner): it cannot lead. */
        NOT_VOTER,
        /** A transfer to another node is under way. */
        IN_PROGRESS
    }
}
