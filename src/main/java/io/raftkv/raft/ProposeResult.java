package io.raftkv.raft;

import java.util.OptionalInt;

/** Outcome of {@link RaftNode#propose(byte[])}: expected outcomes are values, not exceptions. */
public sealed interface ProposeResult {
    /** The command was appended to the leader's log at {@code index} in {@code term}. */
    record Accepted(long index, long term) implements ProposeResult {}

    /** This node is not the leader; {@code leaderHint} is the leader it knows of, if any. */
    record NotLeader(OptionalInt leaderHint) implements ProposeResult {}
}
