package io.raftkv.security;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A node's TLS ({@code --tls-cert}, {@code --tls-key}, {@code --tls-ca}): the contexts its server,
 * its peer connections and its forwarding use, reloaded without a restart when the files change
 * ({@link #startWatching}) or on {@code SIGHUP} ({@link #reloadAll}), so certificates rotate
 * without downtime. A reload that fails (a file half written, an expired certificate, a key of
 * another certificate) keeps the contexts in use and says why in the log; new connections use the
 * new contexts, open ones keep theirs.
 *
 * <p>The server asks every client for a certificate of the CA (and, with {@code
 * --client-cert-auth}, requires one): a certificate of another CA, or expired, fails the
 * handshake. Peer RPCs further need a <em>node</em> certificate ({@link #isNodeCertificate}).
 */
public final class NodeTls {
    private static final Logger LOG = LoggerFactory.getLogger(NodeTls.class);
    /** Every node's TLS in this process, for {@code SIGHUP}. */
    private static final List<NodeTls> ALL = new CopyOnWriteArrayList<>();
    /** serverAuth: what a node certificate is for, and a client-only certificate is not. */
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

    private record State(TlsMaterial material, SslContext server, SslContext client, SSLContext jdk, byte[] digest) {}

    private final Path cert;
    private final Path key;
    private final Path ca;
    private final boolean clientCertAuth;
    private final String name;
    private volatile State state;
    private volatile Thread watcher;

    private NodeTls(Path cert, Path key, Path ca, boolean clientCertAuth, String name) {
        this.cert = cert;
        this.key = key;
        this.ca = ca;
        this.clientCertAuth = clientCertAuth;
        this.name = name;
    }

    /**
     * Loads the files; throws {@link IllegalArgumentException} saying which file is wrong and how
     * (for a start-up error: the node does not start with a certificate it cannot use).
     */
    public static NodeTls load(Path cert, Path key, Path ca, boolean clientCertAuth, String name) {
        NodeTls t = new NodeTls(cert, key, ca, clientCertAuth, name);
        t.state = t.read();
        ALL.add(t);
        return t;
    }

    private State read() {
        byte[] digest = digest();
        TlsMaterial m = TlsMaterial.load(Optional.of(cert), Optional.of(key), ca, Instant.now());
        return new State(m, m.nettyServer(clientCertAuth ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL), m.nettyClient(),
                m.jdk(), digest);
    }

    private byte[] digest() {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (Path p : List.of(cert, key, ca)) {
                try {
                    d.update(Files.readAllBytes(p));
                } catch (IOException e) {
                    d.update(("missing " + p).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            return d.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** For the node's HTTP server. */
    public SslContext server() {
        return state.server;
    }

    /** For the node's connections to peers and to the leader. */
    public SslContext client() {
        return state.client;
    }

    /** For the node's own {@code java.net.http} client (joining a cluster). */
    public SSLContext jdkClient() {
        return state.jdk;
    }

    public boolean clientCertAuth() {
        return clientCertAuth;
    }

    /** The node's certificate in use now. */
    public X509Certificate certificate() {
        return state.material.certificate().orElseThrow();
    }

    /**
     * Reloads if a file changed; returns whether new contexts are in use. A failed reload keeps
     * the old ones and logs why (and is tried again at the next change).
     */
    public synchronized boolean reloadIfChanged() {
        byte[] now = digest();
        if (Arrays.equals(now, state.digest)) return false;
        return reload("the files changed");
    }

    /** Reloads whether or not the files changed ({@code SIGHUP}). */
    public synchronized boolean reload(String why) {
        try {
            State next = read();
            state = next;
            X509Certificate c = next.material.certificate().orElseThrow();
            LOG.info("{}: TLS certificate reloaded ({}): {} serial {} valid until {}", name, why,
                    c.getSubjectX500Principal().getName(), c.getSerialNumber().toString(16), c.getNotAfter().toInstant());
            return true;
        } catch (IllegalArgumentException e) {
            // Remember the files as seen, so a broken state is reported once, not at every check.
            State old = state;
            state = new State(old.material, old.server, old.client, old.jdk, digest());
            LOG.error("{}: TLS certificate NOT reloaded ({}), still using the previous one: {}", name, why, e.getMessage());
            return false;
        }
    }

    /** Checks the files every {@code period} on a daemon thread of its own. */
    public synchronized void startWatching(Duration period) {
        if (watcher != null) return;
        watcher = Thread.ofPlatform().daemon().name("tls-reload-" + name).start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(period);
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    reloadIfChanged();
                } catch (RuntimeException e) {
                    LOG.error("{}: TLS reload check failed: {}", name, e.toString());
                }
            }
        });
    }

    /** Stops watching the files and forgets this node for {@code SIGHUP}. */
    public synchronized void close() {
        ALL.remove(this);
        if (watcher != null) watcher.interrupt();
        watcher = null;
    }

    /** {@code SIGHUP}: every node of this process reloads its files. */
    public static void reloadAll(String why) {
        for (NodeTls t : ALL) t.reload(why);
    }

    /**
     * Makes {@code SIGHUP} reload the certificates instead of stopping the process (the JVM's
     * default). Where the JVM does not allow it, says so and carries on.
     */
    public static void reloadOnSighup() {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> reloadAll("SIGHUP"));
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            LOG.warn("SIGHUP cannot be caught here ({}); certificates reload when their files change", e.getMessage());
        }
    }

    /**
     * Whether {@code c} may speak for a node: its extended key usage allows TLS servers (node
     * certificates are for both ends; one from {@code raftkv certs --client} is for clients only)
     * or it states no extended key usage at all.
     */
    public static boolean isNodeCertificate(X509Certificate c) {
        try {
            List<String> eku = c.getExtendedKeyUsage();
            return eku == null || eku.contains(SERVER_AUTH);
        } catch (CertificateParsingException e) {
            return false;
        }
    }
}
