package io.raftkv.cli;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code raftkv certs}: the files it writes are a CA and certificates that verify against it, with
 * the names and uses a node and a client need, and they work for mutual TLS: a node's certificate
 * and a client's complete a handshake in which each requires the other's, and a client of another
 * CA is refused at the handshake.
 */
class CertsCommandTest {
    private record Result(int exitCode, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    private static X509Certificate cert(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    @Test
    void writesACaAndCertificatesThatVerifyAgainstIt(@TempDir Path dir) throws Exception {
        Result r = run("certs", "--out", dir.toString(), "--nodes", "2", "--host", "10.1.2.3,raft.example",
                "--client", "root,alice");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("wrote 10 files", "10.1.2.3", "raft.example");

        X509Certificate ca = cert(dir.resolve("ca.pem"));
        assertThat(ca.getBasicConstraints()).as("a CA").isGreaterThanOrEqualTo(0);
        ca.verify(ca.getPublicKey());
        for (String node : List.of("node-0", "node-1")) {
            X509Certificate c = cert(dir.resolve(node + ".pem"));
            c.verify(ca.getPublicKey()); // throws if another key signed it
            c.checkValidity();
            assertThat(c.getBasicConstraints()).as("not a CA").isEqualTo(-1);
            assertThat(c.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"); // server and client auth
            assertThat(c.getSubjectAlternativeNames()).extracting(n -> n.get(1).toString())
                    .contains("localhost", "127.0.0.1", "10.1.2.3", "raft.example");
            assertThat(Files.getPosixFilePermissions(dir.resolve(node + "-key.pem")))
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        }
        X509Certificate alice = cert(dir.resolve("client-alice.pem"));
        alice.verify(ca.getPublicKey());
        assertThat(alice.getSubjectX500Principal().getName()).isEqualTo("CN=alice");
        assertThat(alice.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(dir.resolve("client-root.pem")).exists();
    }

    @Test
    void theyWorkForMutualTlsAndAnotherCaIsRefused(@TempDir Path dir, @TempDir Path other) throws Exception {
        assertThat(run("certs", "--out", dir.toString(), "--nodes", "1", "--client", "alice").exitCode()).isZero();
        assertThat(run("certs", "--out", other.toString(), "--nodes", "1", "--client", "mallory").exitCode()).isZero();

        SslContext server = SslContextBuilder.forServer(dir.resolve("node-0.pem").toFile(), dir.resolve("node-0-key.pem").toFile())
                .trustManager(dir.resolve("ca.pem").toFile()).clientAuth(ClientAuth.REQUIRE).sslProvider(SslProvider.JDK).build();
        SslContext alice = clientContext(dir, "alice", dir);
        SSLEngine serverEngine = server.newEngine(ByteBufAllocator.DEFAULT);
        handshake(alice.newEngine(ByteBufAllocator.DEFAULT, "localhost", 8000), serverEngine);
        assertThat(serverEngine.getSession().getPeerPrincipal().getName()).isEqualTo("CN=alice");

        // a client certificate of another CA: the node refuses it at the handshake
        SslContext mallory = clientContext(other, "mallory", dir);
        assertThatThrownBy(() -> handshake(mallory.newEngine(ByteBufAllocator.DEFAULT, "localhost", 8000),
                server.newEngine(ByteBufAllocator.DEFAULT))).isInstanceOf(SSLException.class);
        // and a client that trusts only the other CA refuses the node
        SslContext stranger = clientContext(other, "mallory", other);
        assertThatThrownBy(() -> handshake(stranger.newEngine(ByteBufAllocator.DEFAULT, "localhost", 8000),
                server.newEngine(ByteBufAllocator.DEFAULT))).isInstanceOf(SSLException.class);
    }

    @Test
    void refusesToOverwriteWithoutForceAndSaysWhy(@TempDir Path dir) throws Exception {
        assertThat(run("certs", "--out", dir.toString(), "--nodes", "1").exitCode()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("ca.pem"));
        Result again = run("certs", "--out", dir.toString(), "--nodes", "1");
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).contains("ca.pem already exists", "--force").doesNotContain("Exception");
        assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isEqualTo(before);
        assertThat(run("certs", "--out", dir.toString(), "--nodes", "1", "--force").exitCode()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isNotEqualTo(before);

        for (List<String> bad : List.of(List.of("--nodes", "0"), List.of("--days", "0"), List.of("--client", "a b"),
                List.of("--host", " "))) {
            List<String> args = new java.util.ArrayList<>(List.of("certs", "--out", dir.resolve("x").toString()));
            args.addAll(bad);
            Result r = run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as("%s: %s", bad, r.err()).isEqualTo(2);
            assertThat(r.err()).startsWith("raftkv").contains(bad.getFirst()).doesNotContain("Exception");
        }
    }

    private static SslContext clientContext(Path certs, String user, Path trusted) throws SSLException {
        return SslContextBuilder.forClient().keyManager(certs.resolve("client-" + user + ".pem").toFile(),
                        certs.resolve("client-" + user + "-key.pem").toFile())
                .trustManager(trusted.resolve("ca.pem").toFile()).sslProvider(SslProvider.JDK).build();
    }

    /** Runs a TLS handshake between two engines in memory; an SSLException if either refuses the other. */
    private static void handshake(SSLEngine client, SSLEngine server) throws Exception {
        int size = Math.max(client.getSession().getPacketBufferSize(), server.getSession().getPacketBufferSize());
        ByteBuffer toServer = ByteBuffer.allocate(4 * size);
        ByteBuffer toClient = ByteBuffer.allocate(4 * size);
        ByteBuffer app = ByteBuffer.allocate(4 * size);
        ByteBuffer none = ByteBuffer.allocate(0);
        client.beginHandshake();
        server.beginHandshake();
        for (int round = 0; round < 100; round++) {
            if (idle(client) && idle(server)) return;
            client.wrap(none, toServer);
            tasks(client);
            toServer.flip();
            server.unwrap(toServer, app);
            toServer.compact();
            tasks(server);
            server.wrap(none, toClient);
            tasks(server);
            toClient.flip();
            client.unwrap(toClient, app);
            toClient.compact();
            tasks(client);
        }
        throw new AssertionError("the handshake did not finish in 100 rounds");
    }

    private static boolean idle(SSLEngine e) {
        SSLEngineResult.HandshakeStatus s = e.getHandshakeStatus();
        return s == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || s == SSLEngineResult.HandshakeStatus.FINISHED;
    }

    private static void tasks(SSLEngine e) {
        for (Runnable t; (t = e.getDelegatedTask()) != null; ) t.run();
    }
}
