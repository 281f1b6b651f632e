package io.raftkv.kv;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The key-value map. Owned by the node's Raft loop thread: not thread-safe by design.
 * Invariant: entries are applied in strictly increasing index order, each once.
 */
public final class KvStateMachine {
    private final Map<String, String> data = new HashMap<>();
    private long appliedIndex;

    /** Applies the command committed at {@code index} and returns the key's new value. */
    public String apply(long index, KvCommand cmd) {
        if (index <= appliedIndex)
            throw new IllegalStateException("apply of index " + index + " after " + appliedIndex);
        appliedIndex = index;
        String next = switch (cmd.op()) {
            case PUT -> cmd.value();
            // A missing key counts as the empty string.
            case APPEND -> data.getOrDefault(cmd.key(), "") + cmd.value();
        };
        data.put(cmd.key(), next);
        return next;
    }

    /** Marks a no-op entry as applied. */
    public void skip(long index) {
        if (index <= appliedIndex)
            throw new IllegalStateException("skip of index " + index + " after " + appliedIndex);
        appliedIndex = index;
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(data.get(key));
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    public int size() {
        return data.size();
    }
}
