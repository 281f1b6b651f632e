package io.raftkv.server;

import io.raftkv.node.RpcReply;
import io.raftkv.raft.Message;
import io.raftkv.transport.Transport;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntPredicate;

/**
 * A node's transport with links that a test can cut (Kafka's {@code MessageRouter} filter): to and
 * from the peers for which {@link #reachable} says no, requests are dropped, inbound requests are
 * answered with nothing and responses are lost, as a real partition does to every message.
 */
final class CuttableTransport implements Transport {
    private final Transport inner;
    private volatile IntPredicate reachable = id -> true;
    /** Vote and pre-vote requests this node sent (whether a cut link lost them or not). */
    private final AtomicLong voteRequestsSent = new AtomicLong();

    CuttableTransport(Transport inner) {
        this.inner = inner;
    }

    long voteRequestsSent() {
        return voteRequestsSent.get();
    }

    void setReachable(IntPredicate reachable) {
        this.reachable = reachable;
    }

    @Override
    public void start(Inbound inbound) {
        inner.start(new Inbound() {
            @Override
            public void request(Message request, RpcReply reply) {
                if (reachable.test(request.from())) inbound.request(request, reply);
                else reply.send(Optional.empty());
            }

            @Override
            public void response(Message response) {
                if (reachable.test(response.from())) inbound.response(response);
            }
        });
    }

    @Override
    public void updatePeers(java.util.Map<Integer, io.raftkv.transport.HostPort> peers) {
        inner.updatePeers(peers);
    }

    @Override
    public void send(Message m) {
        if (m instanceof Message.RequestVote) voteRequestsSent.incrementAndGet();
        if (reachable.test(m.to())) inner.send(m);
    }

    @Override
    public void close() {
        inner.close();
    }
}
