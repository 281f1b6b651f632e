package io.raftkv.node;

import io.raftkv.raft.Message;

import java.util.Optional;

/**
 * The completion an inbound peer request carries: it is answered with the core's response
 * message, or empty if the core had none (a stale or ignored request). Called exactly once, on
 * the runtime's thread, after whatever the response promises is durable.
 */
@FunctionalInterface
public interface RpcReply {
    void send(Optional<Message> response);
}
