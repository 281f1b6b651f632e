package io.raftkv.kv;

import java.util.List;

/** What applying one command did. Every write's revision is the index of its entry. */
public sealed interface ApplyResult {
    /** Applied now; {@code value} is the key's value afterwards. */
    record Applied(String value) implements ApplyResult {}

    /** A session was registered; its client id is the entry's index. */
    record Registered(long clientId) implements ApplyResult {}

    /**
     * A retry of the client's last command, already applied at {@code index}: not applied again.
     * {@code original} is what it did then, for a delete, compare-and-swap or transaction (whose
     * answer a retry must repeat); null for put and append.
     */
    record Duplicate(long index, ApplyResult original) implements ApplyResult {
        public Duplicate(long index) {
            this(index, null);
        }
    }

    /** A delete removed {@code count} keys (0 if there were none). */
    record Deleted(long count) implements ApplyResult {}

    /**
     * A compare-and-swap: whether the expectation held (and the value was set), and the key
     * afterwards ({@code current} null if it does not exist).
     */
    record Cas(boolean succeeded, KeyValue current) implements ApplyResult {}

    /** A transaction: whether every comparison held, and the result of each operation that ran, in order. */
    record Txn(boolean succeeded, List<OpResult> results) implements ApplyResult {
        public Txn {
            results = List.copyOf(results);
        }
    }

    /**
     * One operation of a transaction: the key after a put or append ({@code kv}), the keys a delete
     * removed ({@code deleted}), or what a get found ({@code kv}, null if absent).
     */
    record OpResult(String op, String key, KeyValue kv, long deleted) {}

    /** The client's session is unknown: it expired (or was never registered). Nothing applied. */
    record SessionExpired(long clientId) implements ApplyResult {}

    /** A seq older than the client's last applied one: the client already moved on. Nothing applied. */
    record StaleSeq(long clientId, long seq, long lastSeq) implements ApplyResult {}

    /**
     * The write would leave a value of {@code resultingBytes} (UTF-8), more than the state
     * machine's {@code limitBytes}: nothing applied. In a session it still uses up its seq, and a
     * resend gets this same answer.
     */
    record ValueTooLarge(long resultingBytes, int limitBytes) implements ApplyResult {}
}
