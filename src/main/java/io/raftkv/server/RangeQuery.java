package io.raftkv.server;

import io.raftkv.kv.KvStateMachine;

/**
 * {@code GET /range}: keys from {@code from} (inclusive) to {@code to} (exclusive), or starting
 * with {@code prefix}, after {@code after} (exclusive: the last key of the previous page), at most
 * {@code limit}. Null fields are not given.
 */
public record RangeQuery(String from, String to, String prefix, String after, int limit) {
    public KvStateMachine.Range run(KvStateMachine kv) {
        return kv.range(from, to, prefix, after, limit);
    }
}
