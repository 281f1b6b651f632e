package io.raftkv.transport;

import io.netty.channel.EventLoopGroup;
import io.raftkv.raft.Message;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The HTTP transport: requests go to peers over one pipelined connection each ({@link PeerClient}),
 * their answers come back on it; peers' requests arrive at the node's HTTP server, which hands them
 * to {@link #receive} with the completion that writes the HTTP answer.
 */
public final class PeerTransport implements Transport {
    private final Map<Integer, PeerClient> clients = new HashMap<>();
    private volatile Inbound inbound;

    public PeerTransport(Map<Integer, HostPort> peers, EventLoopGroup group, int maxResponseBytes) {
        this(peers, Optional.empty(), group, maxResponseBytes);
    }

    /** {@code localAddress}: connect from this address (the node's own), else from the kernel's choice. */
    public PeerTransport(Map<Integer, HostPort> peers, Optional<String> localAddress, EventLoopGroup group,
                         int maxResponseBytes) {
        Consumer<Message> responses = m -> {
            Inbound in = inbound;
            if (in != null) in.response(m);
        };
        peers.forEach((id, addr) -> clients.put(id, new PeerClient(id, addr, localAddress, group, responses, 1024,
                100_000_000L, maxResponseBytes)));
    }

    @Override
    public void start(Inbound inbound) {
        if (this.inbound != null) throw new IllegalStateException("transport already started");
        this.inbound = inbound;
    }

    /**
     * A peer's request read by the node's HTTP server; {@code reply} writes the answer. Answered
     * empty at once if the transport is not started yet.
     */
    public void receive(Message request, io.raftkv.node.RpcReply reply) {
        Inbound in = inbound;
        if (in == null) reply.send(Optional.empty());
        else in.request(request, reply);
    }

    /** Sends a request message; never blocks. Responses are not sent here (they answer an HTTP request). */
    @Override
    public void send(Message m) {
        PeerClient c = clients.get(m.to());
        if (c == null) throw new IllegalArgumentException("no peer with id " + m.to());
        c.send(m);
    }

    public long droppedCount() {
        return clients.values().stream().mapToLong(PeerClient::droppedCount).sum();
    }

    @Override
    public void close() {
        clients.values().forEach(PeerClient::close);
    }
}
