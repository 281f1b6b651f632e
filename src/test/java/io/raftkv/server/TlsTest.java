package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;
import io.raftkv.client.Watch;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.security.DevCertificates;
import io.raftkv.security.NodeTls;
import io.raftkv.security.TlsMaterial;
import io.raftkv.transport.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * TLS (issue 12): the client API over HTTPS, mutual TLS between peers, what is refused at the
 * handshake (plain HTTP, a certificate of another CA, an expired one; with --client-cert-auth, no
 * certificate) and what is refused before a Raft message is read (peer RPCs without a node
 * certificate), and certificates reloaded without a restart. Every refusal leaves the cluster's
 * leader, term and data as they were.
 */
class TlsTest {
    /** Generous: the first RPCs of each link also do a TLS handshake, slow with a cold JIT on a loaded machine. */
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);

    @TempDir
    static Path certs;
    private static DevCertificates.Issued ca;
    private static DevCertificates.Issued otherCa;

    private TestNodes nodes;

    @BeforeAll
    static void makeCertificates() throws IOException {
        Duration year = Duration.ofDays(365);
        ca = DevCertificates.ca("test CA", year);
        otherCa = DevCertificates.ca("another CA", year);
        DevCertificates.write(certs, "ca", ca, false);
        DevCertificates.write(certs, "other-ca", otherCa, false);
        List<String> hosts = DevCertificates.localHosts(List.of());
        for (int i = 0; i < 3; i++) DevCertificates.write(certs, "node-" + i, DevCertificates.node(ca, "node " + i, hosts, year), false);
        DevCertificates.write(certs, "client-root", DevCertificates.client(ca, "root", year), false);
        DevCertificates.write(certs, "client-nobody", DevCertificates.client(ca, "nobody", year), false);
        DevCertificates.write(certs, "other-node", DevCertificates.node(otherCa, "intruder", hosts, year), false);
        DevCertificates.write(certs, "other-client", DevCertificates.client(otherCa, "root", year), false);
        Instant past = Instant.now().minus(Duration.ofDays(10));
        DevCertificates.write(certs, "expired-node", DevCertificates.node(ca, "old node", hosts, past, past.plus(Duration.ofDays(1))), false);
        DevCertificates.write(certs, "expired-client", DevCertificates.client(ca, "root", past, past.plus(Duration.ofDays(1))), false);
    }

    @AfterEach
    void stop() {
        if (nodes != null) nodes.close();
    }

    private static NodeTls nodeTls(Path dir, int id, boolean clientCertAuth) {
        return NodeTls.load(dir.resolve("node-" + id + ".pem"), dir.resolve("node-" + id + "-key.pem"), dir.resolve("ca.pem"),
                clientCertAuth, "node " + id);
    }

    /** A client trusting {@code caFile}, showing {@code name}'s certificate when not null. */
    private static SSLContext client(String caFile, String name) {
        return TlsMaterial.load(Optional.ofNullable(name).map(n -> certs.resolve(n + ".pem")),
                Optional.ofNullable(name).map(n -> certs.resolve(n + "-key.pem")), certs.resolve(caFile), Instant.now()).jdk();
    }

    private TestNodes startCluster(boolean clientCertAuth, SSLContext clientTls) {
        nodes = new TestNodes(3).withTls(id -> nodeTls(certs, id, clientCertAuth), clientTls).startAll();
        nodes.awaitLeader(ALL, TIMEOUT);
        return nodes;
    }

    private static HttpResponse<String> get(SSLContext tls, String url) throws IOException, InterruptedException {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
        if (tls != null) b.sslContext(tls);
        try (HttpClient http = b.build()) {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    /** Leader, term and every node's last index: what a refused message must not change. */
    private record Picture(int leader, long term, long lastIndex) {}

    private Picture picture() {
        int leader = nodes.awaitLeader(ALL, TIMEOUT);
        StatusSnapshot s = nodes.node(leader).status();
        return new Picture(leader, s.term(), s.lastLogIndex());
    }

    /** One put through the event-loop client (raftkv bench's) trusting {@code caFile}. */
    private KvResult loopPut(String caFile, Duration timeout) {
        try (io.raftkv.client.ClientLoop loop = new io.raftkv.client.ClientLoop(1, timeout, timeout, true, client(caFile, null), null)) {
            io.raftkv.client.LoopClient c = loop.newClient(List.of(nodes.address(0), nodes.address(1), nodes.address(2)));
            java.util.concurrent.CompletableFuture<KvResult> put = new java.util.concurrent.CompletableFuture<>();
            c.put("loop-tls", "v", put::complete);
            return put.orTimeout(TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
        }
    }

    @Test
    void theEventLoopClientSpeaksHttpsAndTrustsOnlyTheClustersCa() {
        startCluster(false, client("ca.pem", null));
        KvResult ok = loopPut("ca.pem", TIMEOUT);
        assertThat(ok.status()).as("put: %s", ok.body()).isEqualTo(200);
        KvResult refused = loopPut("other-ca.pem", Duration.ofSeconds(2));
        assertThat(refused.status()).as("put trusting another CA: %s", refused.body()).isZero();
        // Nothing was sent before the handshake: a refused certificate is a connect failure, whose outcome is known,
        // and it is what the call reports at its deadline rather than a later attempt's timeout.
        assertThat(refused.error().orElseThrow()).contains("TLS handshake failed").doesNotContain("outcome is unknown");
    }

    @Test
    void anAttemptThatTimesOutInItsHandshakeClosesItsConnection() throws Exception {
        // A port that accepts connections and never answers the TLS handshake.
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            HostPort node = new HostPort("127.0.0.1", silent.getLocalPort());
            Duration timeout = Duration.ofMillis(500);
            try (io.raftkv.client.ClientLoop loop = new io.raftkv.client.ClientLoop(1, timeout, timeout, false, client("ca.pem", null), null)) {
                io.raftkv.client.LoopClient c = loop.newClient(List.of(node));
                java.util.concurrent.CompletableFuture<KvResult> get = new java.util.concurrent.CompletableFuture<>();
                c.get("k", get::complete);
                try (java.net.Socket accepted = silent.accept()) {
                    KvResult r = get.orTimeout(TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
                    assertThat(r.error().orElseThrow()).contains("connect timed out");
                    // The client closed the half-made connection with the attempt (Netty's own handshake
                    // timeout, 10 s, would close it much later): the server reads its end well before.
                    accepted.setSoTimeout(5_000);
                    java.io.InputStream in = accepted.getInputStream();
                    byte[] buf = new byte[4096];
                    int n;
                    do {
                        n = in.read(buf);
                    } while (n >= 0);
                }
            }
        }
    }

    @Test
    void theBlockingClientReportsARefusedCertificateAsAConnectFailure() {
        startCluster(false, client("ca.pem", null));
        List<HostPort> all = List.of(nodes.address(0), nodes.address(1), nodes.address(2));
        try (RaftKvClient c = new RaftKvClient(all, Duration.ofSeconds(2), true, Duration.ofSeconds(1), null,
                client("other-ca.pem", null))) {
            KvResult refused = c.put("blocking-tls", "v");
            assertThat(refused.status()).as("put trusting another CA: %s", refused.body()).isZero();
            assertThat(refused.error().orElseThrow()).contains("TLS handshake failed").doesNotContain("outcome is unknown");
        }
    }

    @Test
    void clusterServesHttpsAndPeersTalkMutualTls() throws Exception {
        startCluster(false, client("ca.pem", null));
        int leader = nodes.awaitLeader(ALL, TIMEOUT);
        int follower = (leader + 1) % 3;
        KvResult put;
        try (RaftKvClient viaFollower = nodes.client(TIMEOUT, follower)) {
            // A write sent to a follower is forwarded to the leader over TLS, and replicated over mutual TLS.
            put = viaFollower.put("k", "v1");
            assertThat(put.status()).as("put: %s", put.body()).isEqualTo(200);
            assertThat(viaFollower.get("k").body().path("value").asText()).isEqualTo("v1");
        }
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        // Plain curl-like access with the CA: the status names the https scheme's node.
        HttpResponse<String> status = get(client("ca.pem", null), "https://" + nodes.address(follower) + "/status");
        assertThat(status.statusCode()).isEqualTo(200);
        X509Certificate served = (X509Certificate) status.sslSession().orElseThrow().getPeerCertificates()[0];
        assertThat(served.getSubjectX500Principal().getName()).isEqualTo("CN=node " + follower);
        // A watch over HTTPS sees a put (from the revision after the first put: whenever its stream opens).
        List<String> seen = new CopyOnWriteArrayList<>();
        long after = put.body().path("revision").asLong() + 1;
        try (RaftKvClient c = nodes.client(TIMEOUT); Watch w = c.watch("k", false, after, ch -> seen.add(ch.type() + ":" + ch.value()))) {
            assertThat(c.put("k", "v2").status()).isEqualTo(200);
            awaitCondition(() -> seen.contains("put:v2"), TIMEOUT, () -> "the watch to see put:v2; saw " + seen);
        }
    }

    @Test
    void plainHttpAndForeignCertificatesAreRefusedAtTheHandshake() throws Exception {
        startCluster(false, client("ca.pem", null));
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.put("k", "v").status()).isEqualTo(200);
        }
        Picture before = picture();
        String url = "https://" + nodes.address(before.leader()) + "/get?key=k";
        // Plain HTTP to the TLS port: a plain 400 saying to use https, and nothing read or done.
        HttpResponse<String> plain = get(null, "http://" + nodes.address(before.leader()) + "/get?key=k");
        assertThat(plain.statusCode()).isEqualTo(400);
        assertThat(plain.body()).contains("use https://");
        // A client certificate of another CA, and an expired one of ours: refused at the handshake.
        SSLContext foreign = showing("other-client");
        assertThatThrownBy(() -> get(foreign, url)).isInstanceOf(IOException.class);
        SSLContext expired = expiredClientContext();
        assertThatThrownBy(() -> get(expired, url)).isInstanceOf(IOException.class);
        // A client that trusts only another CA does not trust the node either.
        assertThatThrownBy(() -> get(client("other-ca.pem", null), url)).isInstanceOf(SSLHandshakeException.class);
        // Ours, with or without a client certificate: served.
        assertThat(get(client("ca.pem", null), url).statusCode()).isEqualTo(200);
        assertThat(get(client("ca.pem", "client-root"), url).statusCode()).isEqualTo(200);
        assertThat(picture()).isEqualTo(before);
    }

    /** A client that trusts our CA and shows {@code name}'s certificate. */
    private static SSLContext expiredClientContext() throws Exception {
        return showing("expired-client");
    }

    /**
     * A client that trusts our CA and shows {@code name}'s certificate whatever the server asks
     * for: a JDK client otherwise shows none when its certificate is not of a CA the server names,
     * and the handshake would not be tested. Put together by hand: TlsMaterial refuses to load an
     * expired certificate.
     */
    private static SSLContext showing(String name) throws Exception {
        X509Certificate cert = certificate(certs.resolve(name + ".pem"));
        java.security.PrivateKey key = privateKey(certs.resolve(name + "-key.pem"));
        javax.net.ssl.X509ExtendedKeyManager km = new javax.net.ssl.X509ExtendedKeyManager() {
            @Override
            public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
                return new String[] {"k"};
            }

            @Override
            public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
                return "k";
            }

            @Override
            public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
                return "k";
            }

            @Override
            public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
                return null;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return new X509Certificate[] {cert};
            }

            @Override
            public java.security.PrivateKey getPrivateKey(String alias) {
                return key;
            }
        };
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("ca", ca.certificate());
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(new javax.net.ssl.KeyManager[] {km}, tmf.getTrustManagers(), null);
        return c;
    }

    private static X509Certificate certificate(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static java.security.PrivateKey privateKey(Path pem) throws Exception {
        String b64 = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return java.security.KeyFactory.getInstance("EC").generatePrivate(
                new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(b64)));
    }

    @Test
    void peerRpcsWithoutANodeCertificateAreRefusedBeforeTheyAreRead() throws Exception {
        startCluster(false, client("ca.pem", null));
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.put("k", "real").status()).isEqualTo(200);
        }
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        Picture before = picture();
        int follower = (before.leader() + 1) % 3;
        int other = (before.leader() + 2) % 3;
        // A forged leader of a much higher term, with a write of its own (the attack).
        byte[] forgedWrite = new io.raftkv.kv.KvCommand(io.raftkv.kv.KvCommand.Op.PUT, "k", "forged", 0, 0, 0).encode();
        List<Message> forged = List.of(
                new Message.AppendEntries(other, follower, 1000, before.lastIndex(), before.term(),
                        List.of(new Entry(before.lastIndex() + 1, 1000, forgedWrite)), before.lastIndex() + 1),
                new Message.RequestVote(other, follower, 1000, 1_000_000, 1000),
                new Message.InstallSnapshot(other, follower, 1000, 1_000_000, 1000,
                        io.raftkv.raft.Configuration.bootstrap(List.of(other)),
                        0, new byte[0], true));
        for (Message m : forged) {
            for (String who : new String[] {null, "client-root"}) {
                HttpResponse<String> r = post(client("ca.pem", who), "https://" + nodes.address(follower) + path(m),
                        MessageCodec.encode(m));
                assertThat(r.statusCode()).as("%s with %s", m.getClass().getSimpleName(), who).isEqualTo(403);
                assertThat(r.body()).contains(who == null ? "showed none" : "client certificate");
            }
            // A node certificate of another CA does not get through the handshake.
            SSLContext foreignNode = showing("other-node");
            assertThatThrownBy(() -> post(foreignNode, "https://" + nodes.address(follower) + path(m),
                    MessageCodec.encode(m))).isInstanceOf(IOException.class);
        }
        assertThat(picture()).isEqualTo(before);
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.get("k").body().path("value").asText()).isEqualTo("real");
        }
        assertThat(nodes.fatalErrors()).isEmpty();
    }

    private static String path(Message m) {
        return switch (m) {
            case Message.AppendEntries a -> "/appendEntries";
            case Message.RequestVote v -> "/requestVote";
            case Message.InstallSnapshot s -> "/installSnapshot";
            default -> throw new IllegalArgumentException(m.toString());
        };
    }

    private static HttpResponse<String> post(SSLContext tls, String url, byte[] body) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(2)).build()) {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                    .header("Content-Type", MessageCodec.CONTENT_TYPE)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void clientCertAuthRequiresAClientCertificateAtTheHandshake() throws Exception {
        startCluster(true, client("ca.pem", "client-root"));
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.put("k", "v").status()).isEqualTo(200); // with the client certificate
        }
        String url = "https://" + nodes.address(0) + "/status";
        assertThatThrownBy(() -> get(client("ca.pem", null), url)).isInstanceOf(IOException.class);
        assertThat(get(client("ca.pem", "client-root"), url).statusCode()).isEqualTo(200);
    }

    @Test
    void expiredOrMismatchedFilesAreRefusedWithWhatIsWrong() {
        assertThatThrownBy(() -> NodeTls.load(certs.resolve("expired-node.pem"), certs.resolve("expired-node-key.pem"),
                certs.resolve("ca.pem"), false, "node 0"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expired-node.pem")
                .hasMessageContaining("expired at");
        assertThatThrownBy(() -> NodeTls.load(certs.resolve("node-0.pem"), certs.resolve("node-1-key.pem"),
                certs.resolve("ca.pem"), false, "node 0"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not belong");
        assertThatThrownBy(() -> NodeTls.load(certs.resolve("node-0-key.pem"), certs.resolve("node-0-key.pem"),
                certs.resolve("ca.pem"), false, "node 0"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no PEM certificate");
        assertThatThrownBy(() -> NodeTls.load(certs.resolve("node-0.pem"), certs.resolve("node-0-key.pem"),
                certs.resolve("missing.pem"), false, "node 0"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not exist");
    }

    @Test
    void certificatesReloadWithoutARestart(@TempDir Path dir) throws Exception {
        for (String f : List.of("ca.pem", "node-0.pem", "node-0-key.pem", "node-1.pem", "node-1-key.pem", "node-2.pem",
                "node-2-key.pem")) {
            Files.copy(certs.resolve(f), dir.resolve(f));
        }
        NodeTls[] tls = new NodeTls[3];
        nodes = new TestNodes(3).withTls(id -> tls[id] = nodeTls(dir, id, false), client("ca.pem", null)).startAll();
        nodes.awaitLeader(ALL, TIMEOUT);
        String url = "https://" + nodes.address(0) + "/status";
        BigInteger first = servedSerial(url);
        assertThat(first).isEqualTo(tls[0].certificate().getSerialNumber());
        assertThat(tls[0].reloadIfChanged()).as("nothing changed").isFalse();

        // Rotation: a new certificate and key in place of the old; new connections get it, the cluster keeps going.
        DevCertificates.Issued renewed = DevCertificates.node(ca, "node 0", DevCertificates.localHosts(List.of()), Duration.ofDays(30));
        DevCertificates.write(dir, "node-0", renewed, true);
        assertThat(tls[0].reloadIfChanged()).isTrue();
        assertThat(servedSerial(url)).isEqualTo(renewed.certificate().getSerialNumber()).isNotEqualTo(first);

        // A broken rotation (an expired certificate) is refused: the node keeps serving the previous one.
        Files.copy(certs.resolve("expired-node.pem"), dir.resolve("node-0.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(certs.resolve("expired-node-key.pem"), dir.resolve("node-0-key.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThat(tls[0].reloadIfChanged()).isFalse();
        assertThat(servedSerial(url)).isEqualTo(renewed.certificate().getSerialNumber());
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.put("after-rotation", "ok").status()).isEqualTo(200);
        }
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
    }

    private static BigInteger servedSerial(String url) throws Exception {
        HttpResponse<String> r = get(client("ca.pem", null), url);
        assertThat(r.statusCode()).isEqualTo(200);
        return ((X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0]).getSerialNumber();
    }

    @Test
    void withClientCertAuthTheCertificateNamesTheUser() throws Exception {
        startCluster(true, client("ca.pem", "client-root"));
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.admin("/user/add", new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                    .put("name", "root").put("password", "pw")).status()).isEqualTo(200);
            assertThat(c.admin("/auth/enable", new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()).status())
                    .isEqualTo(200);
            ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
            // No token: the certificate's common name (root) is the user, on every node (forwarded too).
            assertThat(c.put("k", "by certificate").status()).isEqualTo(200);
        }
        for (int node = 0; node < 3; node++) {
            String url = "https://" + nodes.address(node) + "/get?key=k";
            assertThat(get(client("ca.pem", "client-root"), url).statusCode()).isEqualTo(200);
            HttpResponse<String> nobody = get(client("ca.pem", "client-nobody"), url);
            assertThat(nobody.statusCode()).isEqualTo(401);
            assertThat(nobody.body()).contains("names user 'nobody', who does not exist");
        }
    }
}
