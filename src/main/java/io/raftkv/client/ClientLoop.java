package io.raftkv.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.handler.ssl.SslHandler;
import io.raftkv.transport.HostPort;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The event loop that many {@link LoopClient}s share: one Netty event loop group (one thread is enough
 * for thousands of requests a second), the connection settings (TLS, the login whose token goes
 * with every request) and the timeouts. Each client is pinned to one of the group's threads, on
 * which all its work and all its callbacks run: no thread per client, no locks.
 *
 * <p>Made for load generators ({@code raftkv bench}), where a thread per simulated client and
 * the JDK HTTP client's hand-offs between threads cost more CPU than the cluster under test.
 */
public final class ClientLoop implements AutoCloseable {
    final EventLoopGroup group;
    final Bootstrap bootstrap;
    final long timeoutNs;
    final long attemptTimeoutNs;
    final boolean sessions;
    /** TLS towards the nodes, or null for plain HTTP. */
    private final SSLContext tls;
    /** The logged-in client whose token is sent (and which logs in again on a 401), or null. */
    final RaftKvClient login;

    /**
     * @param threads        event loop threads shared by every client made here
     * @param timeout        longest time of one operation, its resends included
     * @param attemptTimeout longest wait for one node's answer to a request that may be resent
     * @param sessions       writes in an exactly-once session per client (as {@link RaftKvClient})
     * @param tls            HTTPS with this context (null: plain HTTP)
     * @param login          a client that has logged in: its token goes with every request (null: none)
     */
    public ClientLoop(int threads, Duration timeout, Duration attemptTimeout, boolean sessions, SSLContext tls,
                      RaftKvClient login) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (attemptTimeout.isNegative() || attemptTimeout.isZero()) throw new IllegalArgumentException("attempt timeout must be positive");
        this.timeoutNs = timeout.toNanos();
        this.attemptTimeoutNs = attemptTimeout.toNanos();
        this.sessions = sessions;
        this.tls = tls;
        this.login = login;
        this.group = new MultiThreadIoEventLoopGroup(threads,
                new io.netty.util.concurrent.DefaultThreadFactory("raftkv-client-loop", true), io.raftkv.transport.NettyIo.ioHandlerFactory());
        this.bootstrap = new Bootstrap().channel(io.raftkv.transport.NettyIo.socketChannel(group))
                .option(ChannelOption.TCP_NODELAY, true)
                // As RaftKvClient: a node that does not accept within a second is as good as down.
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(1000, timeout.toMillis()));
    }

    /** A client with one connection, trying {@code nodes} in this order until it learns the leader. */
    public LoopClient newClient(List<HostPort> nodes) {
        return new LoopClient(this, group.next(), nodes);
    }

    /** The TLS handler for a connection to {@code node}, checking its certificate names it (as HTTPS does); null without TLS. */
    SslHandler sslHandler(HostPort node) {
        if (tls == null) return null;
        SSLEngine engine = tls.createSSLEngine(node.host(), node.port());
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(p);
        return new SslHandler(engine);
    }

    /** The {@code Authorization} header to send, or null. */
    String authorization() {
        return login == null ? null : login.authorization();
    }

    /** Closes every client's connection and stops the loop's threads. */
    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
