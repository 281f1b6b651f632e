package io.raftkv.server;

import java.util.OptionalInt;

/** How a proposed write ended, as seen by the node that proposed it. */
public sealed interface WriteOutcome {
    /** Committed at {@code index}; {@code result} says what applying it did (which may be a refusal). */
    record Applied(long index, long term, io.raftkv.kv.ApplyResult result) implements WriteOutcome {}

    /** Not proposed: this node is not the leader. Safe to retry elsewhere. */
    record NotLeader(OptionalInt leaderHint) implements WriteOutcome {}

    /** Proposed, but another entry was committed at its index: it will never apply. Safe to retry. */
    record Superseded(long index) implements WriteOutcome {}

    /** Proposed, and this node lost leadership before it committed: it may or may not apply. */
    record Unknown(String reason) implements WriteOutcome {}
}
