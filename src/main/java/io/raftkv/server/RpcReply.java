package io.raftkv.server;

import io.raftkv.raft.Message;

import java.util.Optional;

/** Answers one inbound peer RPC: with the core's response message, or empty if it had none. */
@FunctionalInterface
public interface RpcReply {
    void send(Optional<Message> response);
}
