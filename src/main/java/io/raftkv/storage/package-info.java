/**
 * Stable storage for the Raft hard state and log. The runtime persists every {@link
 * io.raftkv.raft.Ready} through {@link io.raftkv.storage.RaftStorage} before sending the
 * messages that depend on it.
 */
package io.raftkv.storage;
