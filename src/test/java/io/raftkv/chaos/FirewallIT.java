package io.raftkv.chaos;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The iptables partitions on real sockets: a cut drops traffic between two loopback addresses on
 * the cluster's port both ways and nothing else, healing restores it, and closing leaves the
 * firewall exactly as it was. Needs root and iptables; otherwise skipped, saying why.
 */
class FirewallIT {
    private static final int CONNECT_TIMEOUT_MS = 700;

    private int port;
    private Firewall firewall;

    @BeforeEach
    void needsIptablesAndAddsASentinel() throws Exception {
        Optional<String> why = Firewall.unusableReason();
        assumeTrue(why.isEmpty(), () -> "FirewallIT skipped: " + why.orElse(""));
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.3", 0));
            port = s.getLocalPort();
        }
        iptables("-N", sentinel());
        iptables("-A", sentinel(), "-s", "127.0.0.2", "-d", "127.0.0.3", "-p", "tcp", "--dport", String.valueOf(port), "-j", "RETURN");
    }

    @AfterEach
    void close() throws Exception {
        if (firewall != null) firewall.close();
        if (port != 0) {
            Firewall.removeLeftovers(port);
            iptables("-F", sentinel());
            iptables("-X", sentinel());
        }
    }

    /** Whether {@code from} can open a connection to {@code to:port} within the timeout. */
    private static boolean connects(String from, String to, int port) throws IOException {
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(to, port));
            try (Socket s = new Socket()) {
                s.bind(new InetSocketAddress(from, 0));
                s.connect(new InetSocketAddress(to, port), CONNECT_TIMEOUT_MS);
                return true;
            } catch (SocketTimeoutException e) {
                return false;
            }
        }
    }

    private static String iptables(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("iptables", "-w", "5"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", cmd, out).isZero();
        return out;
    }

    /**
     * Our lines in {@code iptables -S}, plus the sentinel: a chain of someone else's that must
     * survive. (Other rules may change meanwhile: other programs share this firewall.)
     */
    private String rules() throws IOException, InterruptedException {
        return iptables("-S").lines().filter(l -> l.contains(Firewall.chainName(port)) || l.contains(sentinel()))
                .reduce("", (a, b) -> a + b + "\n");
    }

    private String sentinel() {
        return "raftkv-sentinel-" + port;
    }


    @Test
    void aCutDropsBothWaysOnTheClusterPortOnlyAndHealingRestoresIt() throws Exception {
        String before = rules();
        assertThat(before).contains(sentinel()).doesNotContain(Firewall.chainName(port));
        firewall = Firewall.open(port);
        assertThat(connects("127.0.0.2", "127.0.0.3", port)).as("before the cut").isTrue();

        firewall.cut(List.of("127.0.0.2"), List.of("127.0.0.3", "127.0.0.4"));
        assertThat(firewall.anyCut()).isTrue();
        assertThat(connects("127.0.0.2", "127.0.0.3", port)).as("2 -> 3 cut").isFalse();
        assertThat(connects("127.0.0.3", "127.0.0.2", port)).as("3 -> 2 cut").isFalse();
        assertThat(connects("127.0.0.4", "127.0.0.2", port)).as("4 -> 2 cut").isFalse();
        assertThat(connects("127.0.0.3", "127.0.0.4", port)).as("3 -> 4, same side").isTrue();
        assertThat(connects("127.0.0.1", "127.0.0.2", port)).as("a client at 127.0.0.1").isTrue();
        int otherPort = port == 65535 ? port - 1 : port + 1;
        assertThat(connects("127.0.0.2", "127.0.0.3", otherPort)).as("another port between the same addresses").isTrue();

        firewall.healAll();
        assertThat(firewall.anyCut()).isFalse();
        assertThat(connects("127.0.0.2", "127.0.0.3", port)).as("after healing").isTrue();

        firewall.cut(List.of("127.0.0.2"), List.of("127.0.0.3"));
        firewall.close();
        assertThat(connects("127.0.0.2", "127.0.0.3", port)).as("after closing with a cut in place").isTrue();
        assertThat(rules()).as("iptables rules after closing").isEqualTo(before);
    }

    @Test
    void aChainLeftByAKilledRunIsRemoved() throws Exception {
        String before = rules();
        Firewall leftover = Firewall.open(port);
        leftover.cut(List.of("127.0.0.2"), List.of("127.0.0.3"));
        // The run dies without closing: the next one on the port starts clean...
        firewall = Firewall.open(port);
        assertThat(connects("127.0.0.2", "127.0.0.3", port)).isTrue();
        firewall.close();
        assertThat(rules()).isEqualTo(before);
        // ... and a test removes what a killed run left.
        Firewall.open(port).cut(List.of("127.0.0.2"), List.of("127.0.0.3"));
        assertThat(Firewall.removeLeftovers(port)).isTrue();
        assertThat(rules()).isEqualTo(before);
    }
}
