package io.raftkv.node;

import io.raftkv.raft.Message;

/** Where the runtime's requests to peers go; responses travel back on the request they answer. */
@FunctionalInterface
public interface Outbox {
    /** Sends a request message to {@code m.to()}; never blocks, may lose it. */
    void send(Message m);
}
