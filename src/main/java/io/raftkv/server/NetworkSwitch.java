package io.raftkv.server;

import io.raftkv.node.RpcReply;
import io.raftkv.raft.Message;
import io.raftkv.transport.HostPort;
import io.raftkv.transport.Transport;

import java.util.Map;
import java.util.Optional;

/**
 * The peer transport of a node in {@code raftkv local}, whose network the web view can cut: while
 * cut, every request out is dropped, every request in is answered with nothing and every response
 * is lost, as a pulled cable does (the node itself and its client API go on). No root and no
 * packet filter: the node drops its own Raft messages. Only a node started with
 * {@code --local-control} has one.
 */
final class NetworkSwitch implements Transport {
    private final Transport inner;
    private volatile boolean cut;

    NetworkSwitch(Transport inner) {
        this.inner = inner;
    }

    boolean isCut() {
        return cut;
    }

    void setCut(boolean cut) {
        this.cut = cut;
    }

    @Override
    public void start(Inbound inbound) {
        inner.start(new Inbound() {
            @Override
            public void request(Message request, RpcReply reply) {
                if (cut) reply.send(Optional.empty());
                else inbound.request(request, reply);
            }

            @Override
            public void response(Message response) {
                if (!cut) inbound.response(response);
            }
        });
    }

    @Override
    public void updatePeers(Map<Integer, HostPort> peers) {
        inner.updatePeers(peers);
    }

    @Override
    public void send(Message m) {
        if (!cut) inner.send(m);
    }

    @Override
    public void close() {
        inner.close();
    }
}
