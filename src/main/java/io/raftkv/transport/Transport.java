package io.raftkv.transport;

import io.raftkv.node.Outbox;
import io.raftkv.node.RpcReply;
import io.raftkv.raft.Message;

/**
 * Peer RPC in both directions (Kafka's {@code NetworkChannel}): requests out through
 * {@link #send}, and in through {@link Inbound}, each inbound request with the completion that
 * answers it and each response to one of ours as a message. Tests wrap a transport to cut links
 * or lose messages; the node never knows.
 */
public interface Transport extends Outbox, AutoCloseable {
    /** Where a transport hands what arrives; called on the node's thread or handed to it. */
    interface Inbound {
        /** A peer's request; answer it through {@code reply} (exactly once). */
        void request(Message request, RpcReply reply);

        /** A peer's response to a request of ours. */
        void response(Message response);
    }

    /** Starts delivering to {@code inbound}; called once, before the first {@link #send}. */
    void start(Inbound inbound);

    /**
     * The peers are now {@code peers}, id to address (a membership change, thesis §4.1): messages
     * to the others are lost from now on. Called on the node's thread.
     */
    void updatePeers(java.util.Map<Integer, HostPort> peers);

    /** Sends a request to {@code m.to()}; never blocks, may lose it. */
    @Override
    void send(Message m);

    @Override
    void close();
}
