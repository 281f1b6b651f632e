/**
 * The node runtime: one Raft node without threads or I/O ({@link io.raftkv.node.NodeRuntime}),
 * shared by the Netty server and the simulation. It owns the core, the state machine (behind
 * {@link io.raftkv.node.StateMachine}) and the client operations waiting on them, and handles the
 * core's Readies; its effects go through {@link io.raftkv.node.Persister} (asynchronous, completion
 * fed back as an input), {@link io.raftkv.node.Outbox}, the {@link io.raftkv.node.RpcReply} of each
 * inbound request and a monotonic clock. Adapters own the threads: they feed inputs and call
 * {@code process()} on one thread.
 */
package io.raftkv.node;
