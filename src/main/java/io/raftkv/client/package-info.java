/**
 * The Java client of raftkv: talks to any node, learns the leader from responses, moves on to
 * the next node when one is down, and retries only what is safe to retry. {@link
 * io.raftkv.client.RaftKvClient} blocks; {@link io.raftkv.client.LoopClient} does the same
 * requests with callbacks on a shared Netty event loop ({@link io.raftkv.client.ClientLoop}), one
 * connection and one request in flight per client, for load generators.
 */
package io.raftkv.client;
