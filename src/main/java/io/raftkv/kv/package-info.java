/**
 * The replicated state machine: an ordered string key-value map with revisions (put, append,
 * get, delete, compare-and-swap, transactions, ranges), leases and a bounded watch history. It sees only
 * committed entries, in log order, each exactly once; commands are encoded by {@link
 * io.raftkv.kv.KvCommand} into the opaque bytes the Raft log carries.
 */
package io.raftkv.kv;
