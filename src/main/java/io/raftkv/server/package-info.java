/**
 * Wiring of one raftkv node: the Raft loop thread that owns the core and runs
 * persist -&gt; send -&gt; apply -&gt; advance ({@link io.raftkv.server.RaftServer}), the Netty HTTP
 * server with the client API and the peer RPC endpoints ({@link io.raftkv.server.HttpApi}), and
 * forwarding of client requests from followers to the leader.
 */
package io.raftkv.server;
