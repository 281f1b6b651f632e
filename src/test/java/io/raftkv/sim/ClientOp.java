package io.raftkv.sim;

import java.util.Optional;

/**
 * One completed client operation for the linearizability check, in the shape of
 * {@code io.raftkv.linearizability.Operation}: {@code op} is "put", "append" or "get";
 * {@code value} the input of a write; {@code output} what came back (the value read, or an
 * append's new value when the reply carried it); {@code ok == false} when the outcome is unknown.
 * Times are simulated nanoseconds.
 */
record ClientOp(int client, String op, String key, Optional<String> value, Optional<String> output, long callNs,
                long returnNs, boolean ok) {
    @Override
    public String toString() {
        return "c" + client + " " + op + "(" + key + value.map(v -> ", " + v).orElse("") + ") -> "
                + (ok ? output.orElse(op.equals("get") ? "not found" : "ok") : "?") + " [" + callNs / 1000 + "us, "
                + returnNs / 1000 + "us]";
    }
}
