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

    /** A lease was granted (its id is the entry's index) or kept alive, for {@code ttlMs} from now. */
    record Lease(long leaseId, long ttlMs) implements ApplyResult {}

    /** A lease was revoked, or expired, and its {@code deleted} keys with it. */
    record LeaseEnded(long leaseId, long deleted) implements ApplyResult {}

    /** The leases that expired (their keys deleted); those kept alive meanwhile are not among them. */
    record LeasesExpired(List<Long> leaseIds, long deleted) implements ApplyResult {}

    /** No lease {@code leaseId} (never granted, expired or revoked): nothing applied. */
    record LeaseNotFound(long leaseId) implements ApplyResult {}

    /** An auth change: done ({@code status} 200) or refused with an HTTP status and why (nothing changed). */
    record AuthChanged(int status, String message) implements ApplyResult {}

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
