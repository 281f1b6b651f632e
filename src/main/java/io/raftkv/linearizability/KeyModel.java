package io.raftkv.linearizability;

import java.util.Objects;

/**
 * The sequential specification of one key: its state is the key's value, or null while the key is
 * absent (never written, or deleted).
 * <ul>
 *   <li>{@code put(v)}: the state becomes {@code v}; the reply carries nothing to check;</li>
 *   <li>{@code append(v)}: the state becomes old + {@code v}, an absent key counting as "" (as
 *       {@link io.raftkv.kv.KvStateMachine} does); a reported new value must equal that;</li>
 *   <li>{@code get}: the state is unchanged and must equal what was read (not found = absent).</li>
 *   <li>{@code delete}: the state becomes absent; a reported count must be 1 if the key was there,
 *       else 0;</li>
 *   <li>{@code cas} and {@code txn}: if the state equals {@code expected} (both absent counts) it
 *       becomes the written value (absent for a txn that deletes) and the operation must report
 *       success; otherwise the state is unchanged, and the operation must report failure with the
 *       state as its value. The outcome follows from the state, so even an unknown-outcome one
 *       has exactly one effect if it takes effect at all.</li>
 * </ul>
 * Outputs of operations with an unknown outcome are not checked.
 */
final class KeyModel {
    /** Returned by {@link #apply} when the operation's output contradicts the state; compare by identity. */
    static final String REJECTED = new String("<rejected>");

    private KeyModel() {}

    /** The state after {@code op} runs on {@code state} (null: absent), or {@link #REJECTED}. */
    static String apply(String state, Operation op) {
        return switch (op.kind()) {
            case PUT -> op.value().orElseThrow();
            case APPEND -> {
                String after = (state == null ? "" : state) + op.value().orElseThrow();
                yield !op.ok() || op.output().isEmpty() || op.output().get().equals(after) ? after : REJECTED;
            }
            case GET -> op.output().isEmpty()
                    ? (state == null ? null : REJECTED)
                    : (op.output().get().equals(state) ? state : REJECTED);
            case DELETE -> !op.ok() || op.output().isEmpty() || op.output().get().equals(state == null ? "0" : "1")
                    ? null : REJECTED;
            case CAS, TXN -> {
                boolean matches = Objects.equals(state, op.expected().orElse(null));
                if (op.ok() && op.succeeded().orElseThrow() != matches) yield REJECTED;
                if (matches) yield op.value().orElse(null);
                yield !op.ok() || Objects.equals(op.output().orElse(null), state) ? state : REJECTED;
            }
        };
    }

    /**
     * Whether a write could have contributed to {@code output}, a value read or reported by an
     * append: until the next put, every state after a put of {@code v} starts with {@code v}, and
     * every state after an append of {@code v} contains it.
     */
    static boolean couldShow(String output, Operation write) {
        return switch (write.kind()) {
            case PUT -> output.startsWith(write.value().orElseThrow());
            case APPEND -> output.contains(write.value().orElseThrow());
            // a comparison's effect, if any, is its value; a delete's is not tied to a value: any
            case CAS, TXN -> write.value().map(output::startsWith).orElse(true);
            case GET, DELETE -> true;
        };
    }

    /**
     * On a key with deletes or conditional writes: whether {@code o} could depend on the effect of
     * the unknown-outcome write {@code w} (o != w). Once every such {@code o} is placed, placing
     * {@code w} is never needed: until the next put, delete or successful compare, the states
     * after a write of {@code v} start with {@code v} (contain it, for an append), and after a
     * delete they are absent or built by appends from nothing. An operation placed in that stretch
     * either shows such a state (its known output, a compare's expected value, a delete that found
     * the key) or does not depend on it, so the order without {@code w} explains the same outputs.
     * Unknown-outcome compares count too: whether one wrote depends on the state. {@code
     * afterAppends} tells whether a value could be built by appends of this key from nothing.
     */
    static boolean mayObserve(Operation o, Operation w, java.util.function.Predicate<String> afterAppends) {
        boolean compare = o.kind() == Operation.Kind.CAS || o.kind() == Operation.Kind.TXN;
        if (w.value().isEmpty()) { // a delete, or a txn that deletes: absent, or appends on nothing
            if (compare) return o.expected().map(afterAppends::test).orElse(true) // what it compares with
                    || (o.ok() && !o.succeeded().orElseThrow() && o.output().map(afterAppends::test).orElse(true));
            if (!o.ok()) return false;
            return switch (o.kind()) {
                case PUT -> false;
                case APPEND, GET -> o.output().map(afterAppends::test).orElse(o.kind() == Operation.Kind.GET);
                case DELETE -> o.output().map(n -> n.equals("0") || afterAppends.test("")).orElse(false);
                case CAS, TXN -> throw new AssertionError("handled above");
            };
        }
        if (compare && o.expected().isPresent() && couldShow(o.expected().get(), w)) return true;
        if (o.ok() && o.kind() == Operation.Kind.DELETE && o.output().equals(java.util.Optional.of("1"))) return true;
        String out = knownOutput(o);
        return out != null && couldShow(out, w);
    }

    /**
     * The value that {@code op}'s known outcome says the key had, or null: a get's read, an
     * append's reported result, the current value a failed cas or txn reported, the value a
     * successful one compared with.
     */
    static String knownOutput(Operation op) {
        if (!op.ok()) return null;
        return switch (op.kind()) {
            case PUT, DELETE -> null;
            case GET, APPEND -> op.output().orElse(null);
            case CAS, TXN -> op.succeeded().orElseThrow() ? op.expected().orElse(null) : op.output().orElse(null);
        };
    }

    /** For people: the value, or "absent". */
    static String describe(String state) {
        return state == null ? "absent" : Operation.quote(state);
    }
}
