package io.raftkv.transport;

import io.netty.channel.EventLoopGroup;
import io.raftkv.raft.Message;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** Sends Raft requests to peers and hands their answers to {@code inbound}. */
public final class PeerTransport implements AutoCloseable {
    private final Map<Integer, PeerClient> clients = new HashMap<>();

    public PeerTransport(Map<Integer, HostPort> peers, EventLoopGroup group, Consumer<Message> inbound,
                         int maxResponseBytes) {
        this(peers, Optional.empty(), group, inbound, maxResponseBytes);
    }

    /** {@code localAddress}: connect from this address (the node's own), else from the kernel's choice. */
    public PeerTransport(Map<Integer, HostPort> peers, Optional<String> localAddress, EventLoopGroup group,
                         Consumer<Message> inbound, int maxResponseBytes) {
        peers.forEach((id, addr) -> clients.put(id, new PeerClient(id, addr, localAddress, group, inbound, 1024,
                100_000_000L, maxResponseBytes)));
    }

    /** Sends a request message; never blocks. Responses are not sent here (they answer an HTTP request). */
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
