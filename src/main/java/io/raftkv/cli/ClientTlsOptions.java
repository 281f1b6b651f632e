package io.raftkv.cli;

import io.raftkv.security.TlsMaterial;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import javax.net.ssl.SSLContext;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * The TLS flags of every command that talks to a cluster as a client, named as etcdctl names
 * them: {@code --cacert} (the cluster's CA, which turns HTTPS on) and {@code --cert}/{@code --key}
 * (a client certificate, for nodes started with {@code --client-cert-auth}).
 */
final class ClientTlsOptions {
    @Option(names = "--cacert", paramLabel = "FILE", scope = CommandLine.ScopeType.INHERIT,
            description = "Talk HTTPS, trusting the CA certificate(s) in this PEM file (the nodes' --tls-ca).")
    Path cacert;

    @Option(names = "--cert", paramLabel = "FILE", scope = CommandLine.ScopeType.INHERIT,
            description = "Client certificate (PEM) to show, e.g. client-root.pem from 'raftkv certs'; needs --key and --cacert.")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", scope = CommandLine.ScopeType.INHERIT,
            description = "The client certificate's private key (PEM).")
    Path key;

    /** The TLS context the flags ask for, null for plain HTTP; a usage error says what is missing or wrong. */
    SSLContext context(CommandLine cl) {
        if (cacert == null) {
            if (cert != null || key != null) {
                throw new CommandLine.ParameterException(cl, "--cert and --key need --cacert (the CA that signed the"
                        + " nodes' certificates): TLS is on only with --cacert");
            }
            return null;
        }
        try {
            return TlsMaterial.load(Optional.ofNullable(cert), Optional.ofNullable(key), cacert, Instant.now()).jdk();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }
}
