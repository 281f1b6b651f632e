package io.raftkv.kv;

import java.util.List;
import java.util.Objects;

/**
 * The operations of the KV API beyond put and append (etcd's model): delete, compare-and-swap and
 * transactions, and the operations a transaction is made of. A command carries one (see
 * {@link KvCommand#ext()}); every node applies it the same way at the same index.
 */
public sealed interface KvOp {
    /** Sets {@code key} to {@code value}, attached to {@code lease} (0: none); in a transaction, or with a lease. */
    record Put(String key, String value, long lease) implements KvOp {
        public Put {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            if (lease < 0) throw new IllegalArgumentException("negative lease id " + lease);
        }

        public Put(String key, String value) {
            this(key, value, 0);
        }
    }

    /** Appends {@code value} to {@code key}'s value (a missing key counts as empty), in a transaction. */
    record Append(String key, String value) implements KvOp {
        public Append {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
        }
    }

    /** Deletes {@code key}, or every key starting with it when {@code prefix}. */
    record Delete(String key, boolean prefix) implements KvOp {
        public Delete {
            Objects.requireNonNull(key, "key");
        }
    }

    /** Reads {@code key} inside a transaction, at the transaction's point in the log. */
    record Get(String key) implements KvOp {
        public Get {
            Objects.requireNonNull(key, "key");
        }
    }

    /** Sets {@code key} to {@code value} (attached to {@code lease}, 0: none) if {@code expect} holds; otherwise changes nothing. */
    record Cas(String key, String value, Expect expect, long lease) implements KvOp {
        public Cas {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            Objects.requireNonNull(expect, "expect");
            if (lease < 0) throw new IllegalArgumentException("negative lease id " + lease);
        }

        public Cas(String key, String value, Expect expect) {
            this(key, value, expect, 0);
        }
    }

    /** Grants a lease of {@code ttlMs}; its id is the entry's index. */
    record LeaseGrant(long ttlMs) implements KvOp {
        public LeaseGrant {
            if (ttlMs < 1) throw new IllegalArgumentException("a lease lasts at least 1 ms, not " + ttlMs);
        }
    }

    /** Renews lease {@code id} for its whole TTL from now (cluster time). */
    record LeaseKeepAlive(long id) implements KvOp {}

    /** Ends lease {@code id} now, deleting its keys. */
    record LeaseRevoke(long id) implements KvOp {}

    /**
     * Proposed by the leader when it sees leases expire on the cluster clock: each still expired
     * when this applies (no keep-alive came in between) ends, deleting its keys.
     */
    record LeaseExpire(List<Long> ids) implements KvOp {
        public LeaseExpire {
            ids = List.copyOf(ids);
            if (ids.isEmpty()) throw new IllegalArgumentException("no lease to expire");
        }
    }

    /**
     * etcd's transaction: if every comparison holds, the {@code success} operations run, else the
     * {@code failure} ones; all in one log entry, so at one revision and atomically. Operations are
     * {@link Put}, {@link Append}, {@link Delete} and {@link Get}.
     */
    record Txn(List<Compare> compare, List<KvOp> success, List<KvOp> failure) implements KvOp {
        public Txn {
            compare = List.copyOf(compare);
            success = List.copyOf(success);
            failure = List.copyOf(failure);
            for (KvOp op : success) checkTxnOp(op);
            for (KvOp op : failure) checkTxnOp(op);
        }

        private static void checkTxnOp(KvOp op) {
            if (!(op instanceof Put || op instanceof Append || op instanceof Delete || op instanceof Get)) {
                throw new IllegalArgumentException("a transaction holds put, append, delete and get, not " + op);
            }
        }
    }

    /** A change of the users, roles and grants or of whether authentication is on ({@link io.raftkv.auth.AuthStore}). */
    record Auth(io.raftkv.auth.AuthOp op) implements KvOp {
        public Auth {
            Objects.requireNonNull(op, "op");
        }
    }

    /** What a compare-and-swap expects of the key. */
    sealed interface Expect {
        /** The key exists with this value. */
        record Value(String value) implements Expect {
            public Value {
                Objects.requireNonNull(value, "value");
            }
        }

        /** The key exists and was last written at this revision. */
        record ModRevision(long revision) implements Expect {}

        /** The key does not exist. */
        record Absent() implements Expect {}
    }

    /** One comparison of a transaction: {@code target(key) op operand}. */
    record Compare(String key, Target target, CmpOp op, Object operand) {
        public enum Target { VALUE, MOD_REVISION, CREATE_REVISION, VERSION, EXISTS }

        public enum CmpOp {
            EQ("=="), NE("!="), LT("<"), GT(">");

            public final String symbol;

            CmpOp(String symbol) {
                this.symbol = symbol;
            }

            public static CmpOp of(String symbol) {
                for (CmpOp o : values()) if (o.symbol.equals(symbol)) return o;
                throw new IllegalArgumentException("unknown comparison '" + symbol + "': use ==, !=, < or >");
            }
        }

        public Compare {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(op, "op");
            Objects.requireNonNull(operand, "operand");
            switch (target) {
                case VALUE -> {
                    if (!(operand instanceof String)) throw new IllegalArgumentException("a value comparison takes a string operand");
                }
                case MOD_REVISION, CREATE_REVISION, VERSION -> {
                    if (!(operand instanceof Long)) throw new IllegalArgumentException(target + " takes an integer operand");
                }
                case EXISTS -> {
                    if (!(operand instanceof Boolean)) throw new IllegalArgumentException("exists takes true or false");
                    if (op != CmpOp.EQ && op != CmpOp.NE) throw new IllegalArgumentException("exists compares with == or != only");
                }
            }
        }

        /** Whether the comparison holds for {@code kv} (null: the key does not exist). */
        public boolean holds(KeyValue kv) {
            int c;
            switch (target) {
                case EXISTS -> {
                    boolean eq = (kv != null) == (Boolean) operand;
                    return op == CmpOp.EQ ? eq : !eq;
                }
                case VALUE -> {
                    // etcd: a missing key's value compares as absent; only != holds.
                    if (kv == null) return op == CmpOp.NE;
                    c = KeyOrder.compare(kv.value(), (String) operand);
                }
                default -> {
                    // A missing key has revision and version 0, as in etcd.
                    long actual = kv == null ? 0 : switch (target) {
                        case MOD_REVISION -> kv.modRevision();
                        case CREATE_REVISION -> kv.createRevision();
                        default -> kv.version();
                    };
                    c = Long.compare(actual, (Long) operand);
                }
            }
            return switch (op) {
                case EQ -> c == 0;
                case NE -> c != 0;
                case LT -> c < 0;
                case GT -> c > 0;
            };
        }
    }
}
