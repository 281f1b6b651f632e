/**
 * The replicated state machine: a string key-value map with put, append and get. It sees only
 * committed entries, in log order, each exactly once; commands are encoded by {@link
 * io.raftkv.kv.KvCommand} into the opaque bytes the Raft log carries.
 */
package io.raftkv.kv;
