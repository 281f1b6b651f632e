package io.raftkv.kv;

/**
 * A key's value and its history in revisions (etcd's mvccpb.KeyValue): a revision is the log index
 * of the entry that made a change. {@code createRevision}: when the key was last created (after
 * a delete it starts again); {@code modRevision}: its last write; {@code version}: writes since
 * it was created (1 after the first).
 */
public record KeyValue(String value, long createRevision, long modRevision, long version) {
    KeyValue written(String newValue, long revision) {
        return new KeyValue(newValue, createRevision, revision, version + 1);
    }

    static KeyValue created(String value, long revision) {
        return new KeyValue(value, revision, revision, 1);
    }
}
