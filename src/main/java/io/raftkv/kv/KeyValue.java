package io.raftkv.kv;

/**
 * A key's value and its history in revisions (etcd's mvccpb.KeyValue): a revision is the log index
 * of the entry that made a change. {@code createRevision}: when the key was last created (after
 * a delete it starts again); {@code modRevision}: its last write; {@code version}: writes since
 * it was created (1 after the first); {@code lease}: the lease the key is attached to (0: none),
 * which deletes it when it expires or is revoked.
 */
public record KeyValue(String value, long createRevision, long modRevision, long version, long lease) {
    /** A key attached to no lease. */
    public KeyValue(String value, long createRevision, long modRevision, long version) {
        this(value, createRevision, modRevision, version, 0);
    }
}
