/**
 * Wiring of one raftkv node, all on one thread, the node's Netty event loop: the Netty adapter of
 * the {@link io.raftkv.node.NodeRuntime} that feeds it inputs and runs its processing
 * ({@link io.raftkv.server.RaftServer}), the HTTP server with the client API and the
 * peer RPC endpoints ({@link io.raftkv.server.HttpApi}), and forwarding of client requests from
 * followers to the leader over pooled connections ({@link io.raftkv.server.Forwarder}).
 */
package io.raftkv.server;
