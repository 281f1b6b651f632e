package io.raftkv.node;

import java.util.OptionalInt;

/**
 * How a linearizable read ended on the node that served it.
 *
 * @param <V> what the read's query returned
 */
public sealed interface ReadOutcome<V> {
    /** The query ran on the state machine at {@code appliedIndex}, at or past the read's ReadIndex. */
    record Value<V>(V value, long appliedIndex) implements ReadOutcome<V> {}

    /** This node cannot confirm it leads: ask the leader (if known). */
    record NotLeader<V>(OptionalInt leaderHint) implements ReadOutcome<V> {}
}
