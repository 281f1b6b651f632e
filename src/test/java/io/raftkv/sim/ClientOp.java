package io.raftkv.sim;

import java.util.Optional;

/**
 * One completed client operation for the linearizability check, in the shape of
 * {@code io.raftkv.linearizability.Operation}: {@code op} is "put", "append" or "get";
 * {@code value} the input of a write; {@code output} what came back (the value read, or an
 * append's new value when the reply carried it); {@code ok == false} when the outcome is unknown.
 * Times are simulated nanoseconds. "delete", "cas" and "txn" as {@code Operation} describes them:
 * {@code expected} and {@code succeeded} are used by cas and txn only.
 */
record ClientOp(int client, String op, String key, Optional<String> value, Optional<String> output, long callNs,
                long returnNs, boolean ok, Optional<String> expected, Optional<Boolean> succeeded) {
    ClientOp(int client, String op, String key, Optional<String> value, Optional<String> output, long callNs,
             long returnNs, boolean ok) {
        this(client, op, key, value, output, callNs, returnNs, ok, Optional.empty(), Optional.empty());
    }

    @Override
    public String toString() {
        String input = op.equals("cas") || op.equals("txn")
                ? ", if " + expected.orElse("absent") + " then " + value.orElse("delete") : value.map(v -> ", " + v).orElse("");
        String result = !ok ? "?" : succeeded.isPresent()
                ? (succeeded.get() ? "succeeded" : "failed, value " + output.orElse("absent"))
                : output.orElse(op.equals("get") ? "not found" : "ok");
        return "c" + client + " " + op + "(" + key + input + ") -> " + result + " [" + callNs / 1000 + "us, "
                + returnNs / 1000 + "us]";
    }
}
