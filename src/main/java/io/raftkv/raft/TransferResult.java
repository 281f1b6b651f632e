package io.raftkv.raft;

import java.util.OptionalInt;

/** Outcome of {@link RaftNode#transferLeadership(int)} (thesis §3.10): expected outcomes are values. */
public sealed interface TransferResult {
    /**
     * The transfer started (or one to the same target was already under way): the leader accepts
     * no proposals, brings the target's log up to date and then sends it TimeoutNow. It ends when
     * the target's election deposes this leader, or after an election timeout when the leader gives
     * up and accepts proposals again ({@link RaftNode#transferTarget()} is then empty).
     */
    record Started(int target) implements TransferResult {}

    /** The target is this leader: nothing to do. */
    record AlreadyLeader() implements TransferResult {}

    /** This node is not the leader; {@code leaderHint} is the leader it knows of, if any. */
    record NotLeader(OptionalInt leaderHint) implements TransferResult {}

    /** No member has this id. */
    record UnknownNode(int id) implements TransferResult {}

    /** A member that does not vote (a learner) cannot be elected, so it cannot take over. */
    record NotVoter(int id) implements TransferResult {}

    /** A transfer to another node is under way; one at a time. */
    record OtherTransferInProgress(int target) implements TransferResult {}
}
