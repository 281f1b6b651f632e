package io.raftkv.raft;

import java.util.OptionalInt;

/** Outcome of {@link RaftNode#proposeConfChange(ConfChange)}: expected outcomes are values, not exceptions. */
public sealed interface ConfChangeResult {
    /** The change was appended at {@code index} in {@code term}; once that commits, it is done. */
    record Accepted(long index, long term, Configuration configuration) implements ConfChangeResult {}

    /** This node is not the leader; {@code leaderHint} is the leader it knows of, if any. */
    record NotLeader(OptionalInt leaderHint) implements ConfChangeResult {}

    /** The leader refuses the change, nothing was appended. */
    record Refused(Reason reason, String message) implements ConfChangeResult {}

    /** Why a change is refused, for the caller to map onto its answers (e.g. HTTP 400/404/409). */
    enum Reason {
        /** Thesis §4.1: one change at a time; the previous one is not committed yet. */
        CHANGE_IN_PROGRESS,
        /** Thesis §3.10: a leadership transfer is in progress and the log must not grow. */
        TRANSFER_IN_PROGRESS,
        /** Thesis §4.1 (the 2015 fix): a new leader first commits an entry of its own term. */
        NO_COMMIT_IN_TERM,
        /** Removing the only voter would leave nobody to elect a leader or commit. */
        LAST_VOTER,
        /** Adding an id that is already a voter or learner. */
        ALREADY_MEMBER,
        /** Adding a member at an address another member has. */
        ADDRESS_IN_USE,
        /** Promoting a voter. */
        NOT_A_LEARNER,
        /** Promoting or removing an id that is no member. */
        UNKNOWN_MEMBER,
        /** Thesis §4.2.1: the learner is further behind the leader's log than the configured lag. */
        LEARNER_LAGGING,
        /** The change itself is malformed (e.g. no address). */
        INVALID
    }
}
