package io.raftkv.node;

import java.util.OptionalInt;

/**
 * How a proposed write ended, as seen by the node that proposed it.
 *
 * @param <R> what the state machine's apply returns
 */
public sealed interface WriteOutcome<R> {
    /** Committed at {@code index}; {@code result} says what applying it did (which may be a refusal). */
    record Applied<R>(long index, long term, R result) implements WriteOutcome<R> {}

    /** Not proposed: this node is not the leader. Safe to retry elsewhere. */
    record NotLeader<R>(OptionalInt leaderHint) implements WriteOutcome<R> {}

    /**
     * Not proposed: this leader is handing its leadership to {@code target} (thesis §3.10) and
     * accepts no write until that ends, within an election timeout. Safe to retry: at the new
     * leader once it leads, or here if the transfer is abandoned.
     */
    record TransferInProgress<R>(int target) implements WriteOutcome<R> {}

    /** Proposed, but another entry was committed at its index: it will never apply. Safe to retry. */
    record Superseded<R>(long index) implements WriteOutcome<R> {}

    /** Proposed, and this node lost leadership (or its log) before it committed: it may or may not apply. */
    record Unknown<R>(String reason) implements WriteOutcome<R> {}
}
