/**
 * The Raft consensus core: pure and deterministic.
 *
 * <p>{@link io.raftkv.raft.RaftNode} has no threads, sockets, files, wall clock or unseeded randomness.
 * Its inputs are {@code tick()}, {@code step(Message)} and {@code propose(byte[])}; its output is a
 * {@link io.raftkv.raft.Ready} that the caller must handle in order - persist the hard state and
 * entries, then send the messages, then apply the committed entries - and acknowledge with
 * {@code advance(ready)}. Section numbers in comments refer to the Raft paper (Ongaro and
 * Ousterhout, 2014) and, where they say "thesis", to Ongaro's dissertation.
 */
package io.raftkv.raft;
