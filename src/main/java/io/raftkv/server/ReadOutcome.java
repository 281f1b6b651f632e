package io.raftkv.server;

import java.util.Optional;
import java.util.OptionalInt;

/** How a read ended on the node that served it. */
public sealed interface ReadOutcome {
    record Value(Optional<String> value, long appliedIndex) implements ReadOutcome {}

    record NotLeader(OptionalInt leaderHint) implements ReadOutcome {}
}
