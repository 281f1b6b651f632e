package io.raftkv.transport;

import io.netty.channel.EventLoopGroup;
import io.raftkv.raft.Message;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import io.netty.handler.ssl.SslContext;

/**
 * The HTTP transport: requests go to peers over one pipelined connection each ({@link PeerClient}),
 * their answers come back on it; peers' requests arrive at the node's HTTP server, which hands them
 * to {@link #receive} with the completion that writes the HTTP answer.
 */
public final class PeerTransport implements Transport {
    private final Map<Integer, PeerClient> clients = new ConcurrentHashMap<>();
    private final Optional<String> localAddress;
    private final EventLoopGroup group;
    private final int maxResponseBytes;
    private final Consumer<Message> responses;
    /** TLS for connections to peers (the latest context: certificates reload), or null for plain HTTP. */
    private final Supplier<SslContext> tls;
    /** Messages to ids with no known address (a member whose address is not known yet). */
    private final AtomicLong unaddressed = new AtomicLong();
    private volatile Inbound inbound;
    private volatile RoundTripObserver roundTrips = RoundTripObserver.NONE;
    /** Hands each client's round trips to whichever observer is set now. */
    private final RoundTripObserver roundTripRelay = (peer, nanos) -> roundTrips.appendEntriesRoundTrip(peer, nanos);

    public PeerTransport(Map<Integer, HostPort> peers, EventLoopGroup group, int maxResponseBytes) {
        this(peers, Optional.empty(), group, maxResponseBytes);
    }

    /** {@code localAddress}: connect from this address (the node's own), else from the kernel's choice. */
    public PeerTransport(Map<Integer, HostPort> peers, Optional<String> localAddress, EventLoopGroup group,
                         int maxResponseBytes) {
        this(peers, localAddress, group, maxResponseBytes, null);
    }

    /** With {@code tls} not null, peers are reached over TLS with the context it supplies at each connection. */
    public PeerTransport(Map<Integer, HostPort> peers, Optional<String> localAddress, EventLoopGroup group,
                         int maxResponseBytes, Supplier<SslContext> tls) {
        this.tls = tls;
        this.localAddress = localAddress;
        this.group = group;
        this.maxResponseBytes = maxResponseBytes;
        this.responses = m -> {
            Inbound in = inbound;
            if (in != null) in.response(m);
        };
        peers.forEach((id, addr) -> clients.put(id, newClient(id, addr)));
    }

    private PeerClient newClient(int id, HostPort addr) {
        return new PeerClient(id, addr, localAddress, group, responses, 1024, 100_000_000L, maxResponseBytes,
                roundTripRelay, tls, clusterIdRelay);
    }

    /** Every request to a peer carries the cluster id {@code id} supplies (none while it supplies null). */
    public void sendClusterId(Supplier<String> id) {
        clusterId = id;
    }

    private volatile Supplier<String> clusterId = () -> null;
    /** Hands each client the cluster id of now. */
    private final Supplier<String> clusterIdRelay = () -> clusterId.get();

    /** Reports the round trip of every AppendEntries to a peer from now on. */
    public void observeRoundTrips(RoundTripObserver observer) {
        roundTrips = observer;
    }

    /**
     * The peers are now {@code peers} (the members of a new configuration, thesis §4.1): connects
     * lazily to the new ones and to those whose address changed, closes the connections to the
     * others (without waiting: this may run on an event loop).
     */
    @Override
    public void updatePeers(Map<Integer, HostPort> peers) {
        for (var e : peers.entrySet()) {
            PeerClient c = clients.get(e.getKey());
            if (c != null && c.address().equals(e.getValue())) continue;
            clients.put(e.getKey(), newClient(e.getKey(), e.getValue()));
            if (c != null) c.closeAsync();
        }
        for (var it = clients.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (peers.containsKey(e.getKey())) continue;
            it.remove();
            e.getValue().closeAsync();
        }
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
        if (c == null) unaddressed.incrementAndGet(); // lost, as on a network; Raft sends again
        else c.send(m);
    }

    public long droppedCount() {
        return unaddressed.get() + clients.values().stream().mapToLong(PeerClient::droppedCount).sum();
    }

    @Override
    public void close() {
        clients.values().forEach(PeerClient::close);
    }
}
