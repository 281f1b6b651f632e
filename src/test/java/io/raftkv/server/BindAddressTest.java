package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.MemoryStorage;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code NodeConfig.bindAddress}: nodes on their own loopback addresses share one port, and a
 * node's connections to its peers leave from its own address (what lets iptables rules between
 * node addresses partition them).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class BindAddressTest {
    private final List<RaftServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(RaftServer::close);
    }

    /**
     * The server's bind error is recognised from either transport: NIO's {@link java.net.BindException}
     * (also wrapped) and epoll's native exception of {@code bind(..)}; any other failure is not one.
     */
    @Test
    void aBindFailureIsRecognisedFromEitherTransport() {
        var nio = new java.net.BindException("Address already in use");
        assertThat(HttpApi.bindFailure(nio)).isSameAs(nio);
        assertThat(HttpApi.bindFailure(new io.netty.channel.ChannelException("bind", nio))).isSameAs(nio);
        assertThat(HttpApi.bindFailure(new IOException("connection reset"))).isNull();
        org.junit.jupiter.api.Assumptions.assumeTrue(io.netty.channel.epoll.Epoll.isAvailable(), "no native epoll here");
        var epoll = new io.netty.channel.unix.Errors.NativeIoException("bind", -98);
        assertThat(HttpApi.bindFailure(epoll)).isSameAs(epoll);
        assertThat(epoll.getMessage()).startsWith("bind(");
        assertThat(HttpApi.bindFailure(new io.netty.channel.unix.Errors.NativeIoException("connect", -111))).isNull();
    }

    /** A port free on each of {@code hosts}. */
    private static int portFreeOn(String... hosts) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName(hosts[0]))) {
                port = s.getLocalPort();
            }
            boolean free = true;
            for (String h : hosts) {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new InetSocketAddress(h, port));
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) return port;
        }
        throw new IllegalStateException("no port free on all of " + List.of(hosts));
    }

    private RaftServer start(int id, Map<Integer, HostPort> members) throws InterruptedException {
        Map<Integer, HostPort> peers = new HashMap<>(members);
        HostPort self = peers.remove(id);
        RaftServer s = RaftServer.start(NodeConfig.of(id, self, peers).withBindAddress(self.host()), new MemoryStorage(),
                e -> { });
        servers.add(s);
        return s;
    }

    @Test
    void threeNodesOnOnePortOnTheirOwnAddressesFormACluster() throws Exception {
        int port = portFreeOn("127.0.0.2", "127.0.0.3", "127.0.0.4");
        Map<Integer, HostPort> members = Map.of(0, new HostPort("127.0.0.2", port), 1, new HostPort("127.0.0.3", port),
                2, new HostPort("127.0.0.4", port));
        for (int id = 0; id < 3; id++) start(id, members);
        try (RaftKvClient client = new RaftKvClient(List.of(members.get(0), members.get(1), members.get(2)),
                Duration.ofSeconds(20))) {
            KvResult put = client.put("k", "v");
            assertThat(put.status()).as("put: %s", put).isEqualTo(200);
            for (HostPort node : members.values()) {
                try (RaftKvClient one = new RaftKvClient(List.of(node), Duration.ofSeconds(20))) {
                    assertThat(one.get("k").value()).as("get via %s", node).contains("v");
                }
            }
        }
    }

    @Test
    void peerConnectionsLeaveFromTheBindAddress() throws Exception {
        int port = portFreeOn("127.0.0.2", "127.0.0.3");
        try (ServerSocket peer = new ServerSocket()) {
            peer.bind(new InetSocketAddress("127.0.0.3", port));
            peer.setSoTimeout(30_000);
            // A lone node with one silent peer: it soon asks that peer for a (pre-)vote.
            start(0, Map.of(0, new HostPort("127.0.0.2", port), 1, new HostPort("127.0.0.3", port)));
            try (Socket s = peer.accept()) {
                assertThat(s.getInetAddress().getHostAddress()).isEqualTo("127.0.0.2");
            }
        }
    }

    @Test
    void aBindAddressThatIsNotOursIsRefusedWithAMessage() {
        // 203.0.113.0/24 is TEST-NET-3: never an address of this machine.
        assertThatThrownBy(() -> RaftServer.start(NodeConfig.of(0, new HostPort("203.0.113.7", 9), Map.of())
                .withBindAddress("203.0.113.7"), new MemoryStorage(), e -> { }))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not an address of this machine");
    }
}
