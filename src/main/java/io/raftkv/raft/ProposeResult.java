package io.raftkv.raft;

import java.util.OptionalInt;

/** Outcome of {@link RaftNode#propose(byte[])}: expected outcomes are values, not exceptions. */
public sealed interface ProposeResult {
    /** The command was appended to the leader's log at {@code index} in {@code term}. */
    record Accepted(long index, long term) implements ProposeResult {}

    /** This node is not the leader; {@code leaderHint} is the leader it knows of, if any. */
    record NotLeader(OptionalInt leaderHint) implements ProposeResult {}

    /**
     * This leader is handing its leadership to {@code target} (thesis §3.10) and accepts no command
     * until the transfer ends: at the new leader once it leads, or here again if the transfer is
     * abandoned after an election timeout. Nothing was appended, so trying again is safe.
     */
    record TransferInProgress(int target) implements ProposeResult {}
}
