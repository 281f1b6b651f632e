/**
 * Wiring of one raftkv node, all on one thread, the node's Netty event loop: the Netty adapter of
 * the {@link io.raftkv.node.NodeRuntime} that feeds it inputs and runs its processing
 * ({@link io.raftkv.server.RaftServer}), the HTTP server with the client API and the
 * peer RPC endpoints ({@link io.raftkv.server.HttpApi}, answering each connection's pipelined
 * requests in their order: {@link io.raftkv.server.ResponseOrder}), and forwarding of client
 * requests from followers to the leader over pooled connections
 * ({@link io.raftkv.server.Forwarder}). The HTTP side sees the node through
 * {@link io.raftkv.server.LocalNode}, so its tests can stub the node. Metrics
 * ({@link io.raftkv.server.NodeMetrics}, {@code GET /metrics}) are recorded here, never in the Raft
 * core, and scraped on a thread of their own.
 */
package io.raftkv.server;
