package io.raftkv.raft;

/**
 * One single-server membership change (thesis §4.1), proposed with
 * {@link RaftNode#proposeConfChange(ConfChange)}: a server joins as a learner, a learner that
 * has caught up becomes a voter, or a member leaves.
 */
public sealed interface ConfChange {
    /** Thesis §4.2.1: a new server joins without a vote and receives the log until it has caught up. */
    record AddLearner(int id, String address) implements ConfChange {
        public AddLearner {
            if (address == null) throw new IllegalArgumentException("address must not be null");
        }
    }

    /** A learner that has caught up becomes a voter (the single voter added by a §4.1 change). */
    record Promote(int id) implements ConfChange {}

    /** A voter or learner leaves; removing the leader is allowed (thesis §4.2.2). */
    record Remove(int id) implements ConfChange {}
}
