package io.raftkv.raft;

/**
 * The state Raft requires on stable storage before answering any RPC (Raft Figure 2):
 * the current term and the vote cast in it. The commit index is kept with it so a restart
 * can re-apply committed entries without waiting for a leader.
 *
 * @param term     latest term this node has seen (starts at 0, only grows)
 * @param votedFor candidate voted for in {@code term}, or {@link RaftNode#NONE}
 * @param commit   highest log index known to be committed
 */
public record HardState(long term, int votedFor, long commit) {
    public static final HardState EMPTY = new HardState(0, RaftNode.NONE, 0);
}
