package io.raftkv.cli;

import io.raftkv.security.DevCertificates;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The TLS flags of a node and of the client commands: each mistake is a usage error (exit 2) saying what to fix. */
class TlsFlagsTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        DevCertificates.Issued ca = DevCertificates.ca("test CA", Duration.ofDays(1));
        DevCertificates.write(dir, "ca", ca, false);
        DevCertificates.write(dir, "node-0", DevCertificates.node(ca, "node 0", List.of("localhost"), Duration.ofDays(1)), false);
        Instant past = Instant.now().minus(Duration.ofDays(3));
        DevCertificates.write(dir, "old", DevCertificates.node(ca, "node 0", List.of("localhost"), past, past.plus(Duration.ofDays(1))), false);
    }

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    private static String f(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void aNodeNeedsAllThreeFiles() {
        Run r = run("-id", "0", "-port", "1", "--tls-cert", f("node-0.pem"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("missing --tls-key, --tls-ca").doesNotContain("Exception");
        r = run("-id", "0", "-port", "1", "--client-cert-auth");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--client-cert-auth needs TLS");
    }

    @Test
    void aNodeRefusesAnExpiredCertificateSayingWhen() {
        Run r = run("-id", "0", "-port", "1", "--tls-cert", f("old.pem"), "--tls-key", f("old-key.pem"), "--tls-ca", f("ca.pem"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("old.pem").contains("expired at").doesNotContain("Exception");
    }

    @Test
    void aNodeRefusesAKeyOfAnotherCertificate() {
        Run r = run("-id", "0", "-port", "1", "--tls-cert", f("node-0.pem"), "--tls-key", f("old-key.pem"), "--tls-ca", f("ca.pem"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("does not belong to the certificate");
    }

    @Test
    void clientCommandsCheckTheirTlsFlags() {
        Run r = run("shell", "--cluster", "localhost:1", "--cert", f("node-0.pem"), "--key", f("node-0-key.pem"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--cert and --key need --cacert");
        r = run("transfer-leader", "--cluster", "localhost:1", "--cacert", f("missing.pem"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("missing.pem does not exist");
        r = run("member", "list", "--cluster", "localhost:1", "--cacert", f("ca.pem"), "--cert", f("node-0.pem"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("give both files or neither");
    }
}
