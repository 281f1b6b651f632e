package io.raftkv.raft;

/**
 * The answer to {@link RaftNode#readIndex(long)} (ReadIndex, thesis §6.4): once the state
 * machine has applied {@code index}, the read {@code requestId} may be served and is
 * linearizable. {@code ok == false}: this node is not (or no longer) a leader that could confirm
 * it; the read must go elsewhere.
 */
public record ReadState(long requestId, long index, boolean ok) {}
