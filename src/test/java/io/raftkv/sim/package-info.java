/**
 * Seeded, deterministic simulation of whole raftkv clusters (the Kafka RaftEventSimulationTest
 * design): the real {@link io.raftkv.raft.RaftNode}, {@link io.raftkv.kv.KvStateMachine} and a
 * driver that follows {@link io.raftkv.server.RaftServer}'s rules (persist, send, apply, advance;
 * pending writes by index; ReadIndex reads; snapshots), with simulated storage, network, clock and
 * clients, all driven by one seed from one priority queue of events.
 *
 * <p>Storage: the in-memory {@link io.raftkv.sim.SimStorage}, or on one seed in five the
 * production {@link io.raftkv.storage.FileStorage} on a simulated disk that loses unforced writes
 * at a crash ({@link io.raftkv.sim.fs}, {@link io.raftkv.sim.SimDisk}); then the SimStorage is a
 * mirror of what the runtime was told is durable, and every restart checks what FileStorage
 * recovers against it.
 *
 * <p>No threads, sleeps or wall-clock time: a seed replays exactly. Safety invariants are checked
 * after every event; the client history is checked for linearizability at the end.
 */
package io.raftkv.sim;
