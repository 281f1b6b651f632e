package io.raftkv.kv;

/**
 * One change to one key, as watchers see it (etcd's mvccpb.Event): a put or append with the value
 * and revisions the key has afterwards, or a delete ({@code value} null). All the changes one log
 * entry made (a transaction, a prefix delete) share its revision.
 */
public record WatchEvent(Type type, String key, String value, long revision, long createRevision, long version) {
    public enum Type {
        PUT, APPEND, DELETE,
        /** A delete because the key's lease expired. */
        EXPIRE;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    static WatchEvent written(Type type, String key, KeyValue kv) {
        return new WatchEvent(type, key, kv.value(), kv.modRevision(), kv.createRevision(), kv.version());
    }

    static WatchEvent deleted(String key, long revision) {
        return new WatchEvent(Type.DELETE, key, null, revision, 0, 0);
    }

    static WatchEvent expired(String key, long revision) {
        return new WatchEvent(Type.EXPIRE, key, null, revision, 0, 0);
    }

    /** Whether a watch of {@code key} (or of every key starting with it, when {@code prefix}) sees this event. */
    public boolean matches(String key, boolean prefix) {
        return prefix ? this.key.startsWith(key) : this.key.equals(key);
    }
}
