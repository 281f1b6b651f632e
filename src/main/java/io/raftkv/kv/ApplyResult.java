package io.raftkv.kv;

/** What applying one command did. */
public sealed interface ApplyResult {
    /** Applied now; {@code value} is the key's value afterwards. */
    record Applied(String value) implements ApplyResult {}

    /** A session was registered; its client id is the entry's index. */
    record Registered(long clientId) implements ApplyResult {}

    /** A retry of the client's last command, already applied at {@code index}: not applied again. */
    record Duplicate(long index) implements ApplyResult {}

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
