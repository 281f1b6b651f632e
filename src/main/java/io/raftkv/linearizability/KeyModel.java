package io.raftkv.linearizability;

/**
 * The sequential specification of one key: its state is the key's value, or null while the key has
 * never been written (there is no delete, so a key never becomes absent again).
 * <ul>
 *   <li>{@code put(v)}: the state becomes {@code v}; the reply carries nothing to check;</li>
 *   <li>{@code append(v)}: the state becomes old + {@code v}, an absent key counting as "" (as
 *       {@link io.raftkv.kv.KvStateMachine} does); a reported new value must equal that;</li>
 *   <li>{@code get}: the state is unchanged and must equal what was read (not found = absent).</li>
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
        };
    }

    /**
     * Whether a write could have contributed to {@code output}, a value read or reported by an
     * append: until the next put, every state after a put of {@code v} starts with {@code v}, and
     * every state after an append of {@code v} contains it.
     */
    static boolean couldShow(String output, Operation write) {
        String v = write.value().orElseThrow();
        return write.kind() == Operation.Kind.PUT ? output.startsWith(v) : output.contains(v);
    }

    /** The output of {@code op} that a write could show up in, or null: a known get or append result. */
    static String knownOutput(Operation op) {
        return op.ok() && op.kind() != Operation.Kind.PUT ? op.output().orElse(null) : null;
    }

    /** For people: the value, or "absent". */
    static String describe(String state) {
        return state == null ? "absent" : Operation.quote(state);
    }
}
