package io.raftkv.cli;

import io.raftkv.security.DevCertificates;
import io.raftkv.security.TlsMaterial;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The development certificates of a local cluster ({@code raftkv local --tls}, {@code raftkv
 * chaos --tls}) in {@code <dir>/certs}: made on the first run (a CA, a certificate per node, a
 * client certificate for {@code root}), found again by later runs, and a node certificate made
 * with the same CA for a node added later.
 */
final class LocalTls {
    private static final Duration VALIDITY = Duration.ofDays(365);
    private final Path dir;
    private final List<String> hosts;

    private LocalTls(Path dir, List<String> hosts) {
        this.dir = dir;
        this.hosts = hosts;
    }

    /** The certificates in {@code dir}, made if missing, valid for {@code extraHosts} too. */
    static LocalTls in(Path dir, List<String> extraHosts) {
        LocalTls t = new LocalTls(dir, DevCertificates.localHosts(extraHosts));
        try {
            Files.createDirectories(dir);
            if (!Files.exists(t.ca())) {
                DevCertificates.Issued ca = DevCertificates.ca("raftkv local development CA", VALIDITY);
                DevCertificates.write(dir, "ca", ca, true);
                DevCertificates.write(dir, "client-root", DevCertificates.client(ca, "root", VALIDITY), true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write certificates in " + dir, e);
        }
        return t;
    }

    Path ca() {
        return dir.resolve("ca.pem");
    }

    /** The flags that start node {@code id} with TLS; its certificate is made now if it has none. */
    synchronized List<String> nodeArgs(int id) {
        Path cert = dir.resolve("node-" + id + ".pem");
        Path key = dir.resolve("node-" + id + "-key.pem");
        if (!Files.exists(cert) || !Files.exists(key)) {
            TlsMaterial caFiles = TlsMaterial.load(Optional.of(ca()), Optional.of(dir.resolve("ca-key.pem")), ca(), Instant.now());
            DevCertificates.Issued ca = new DevCertificates.Issued(caFiles.certificate().orElseThrow(),
                    new KeyPair(caFiles.certificate().orElseThrow().getPublicKey(), caFiles.key().orElseThrow()));
            try {
                DevCertificates.write(dir, "node-" + id, DevCertificates.node(ca, "raftkv node " + id, hosts, VALIDITY), true);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the certificate of node " + id + " in " + dir, e);
            }
        }
        return List.of("--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca", ca().toString());
    }

    /** What this process's clients use: the CA, and root's client certificate. */
    SSLContext clientContext() {
        return TlsMaterial.load(Optional.of(dir.resolve("client-root.pem")), Optional.of(dir.resolve("client-root-key.pem")),
                ca(), Instant.now()).jdk();
    }
}
