package io.raftkv.server;

import io.raftkv.client.RaftKvClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bounded resources (issue 12): a slowloris request, an idle connection, a connection flood, a
 * client that never reads its answers and too many watches each hit a limit with a clear answer,
 * while the node keeps serving other clients and Raft keeps its leader (no election).
 */
class ResourceLimitsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private static final NodeConfig.Limits TIGHT = new NodeConfig.Limits(20, 500, 2000, 1 << 20, 2, 4 << 20, 3);

    private TestNodes nodes;
    private final List<Socket> sockets = new ArrayList<>();
    private long termBefore;
    private int leader;

    @BeforeEach
    void start() {
        nodes = new TestNodes(3, c -> c.withClientLimits(TIGHT)).startAll();
        leader = nodes.awaitLeader(ALL, TIMEOUT);
        termBefore = nodes.node(leader).status().term();
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) s.close();
        nodes.close();
    }

    /** The leader and term of the start: abusive clients caused no election. */
    private void noElectionAndStillServing() {
        assertThat(nodes.awaitLeader(ALL, TIMEOUT)).isEqualTo(leader);
        assertThat(nodes.node(leader).status().term()).isEqualTo(termBefore);
        // Without a session: the per-address session limit is one of the limits under test.
        List<io.raftkv.transport.HostPort> all = ALL.stream().sorted().map(nodes::address).toList();
        try (RaftKvClient c = new RaftKvClient(all, TIMEOUT, false)) {
            assertThat(c.put("still", "serving").status()).isEqualTo(200);
            assertThat(c.get("still").body().path("value").asText()).isEqualTo("serving");
        }
    }

    private Socket connect(int node) throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.connect(new InetSocketAddress(nodes.address(node).host(), nodes.address(node).port()), 2000);
        s.setSoTimeout((int) TIMEOUT.toMillis());
        sockets.add(s);
        return s;
    }

    /** Everything the server sends until it closes the connection (bounded by the socket's timeout). */
    private static String readUntilClosed(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        StringBuilder out = new StringBuilder();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) >= 0; ) out.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
        return out.toString();
    }

    @Test
    void aRequestThatDoesNotArriveWholeIs408AndClosed() throws IOException {
        Socket s = connect(leader);
        OutputStream out = s.getOutputStream();
        // Headers promising 100 bytes, then one byte: it used to keep the connection and its buffer forever.
        out.write("POST /put HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String answer = readUntilClosed(s);
        assertThat(answer).startsWith("HTTP/1.1 408").contains("--request-read-timeout-ms");
        noElectionAndStillServing();
    }

    @Test
    void headersThatNeverEndAre408Too() throws IOException {
        Socket s = connect(leader);
        // Half a header line: the HTTP codec says nothing until the headers end, so the clock starts at the first byte.
        s.getOutputStream().write("GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: a".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        String answer = readUntilClosed(s);
        assertThat(answer).startsWith("HTTP/1.1 408").contains("--request-read-timeout-ms");
        noElectionAndStillServing();
    }

    @Test
    void anIdleConnectionIsClosed() throws IOException {
        Socket s = connect(leader);
        assertThat(readUntilClosed(s)).as("closed without a word after --idle-timeout-ms").isEmpty();
        noElectionAndStillServing();
    }

    @Test
    void aConnectionFloodIsRefusedButPeersAndOtherNodesGoOn() throws IOException {
        int flooded = (leader + 1) % 3;
        for (int i = 0; i < 25; i++) connect(flooded);
        Socket late = connect(flooded);
        late.getOutputStream().write("GET /status HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String answer = readUntilClosed(late);
        assertThat(answer).startsWith("HTTP/1.1 503").contains("--max-connections");
        // The follower still takes its leader's AppendEntries (peers are not capped), and clients use other nodes.
        noElectionAndStillServing();
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        for (Socket s : sockets) s.close();
        sockets.clear();
        TestNodes.awaitCondition(() -> {
            try (RaftKvClient c = nodes.client(Duration.ofSeconds(2), flooded)) {
                return c.getStale("still").status() == 200;
            }
        }, TIMEOUT, "node " + flooded + " to serve again once the flood is gone");
    }

    @Test
    void aClientThatNeverReadsItsAnswersIsCutOff() throws IOException {
        String big = "v".repeat(512 * 1024);
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.put("big", big).status()).isEqualTo(200);
        }
        Socket s = connect(leader);
        OutputStream out = s.getOutputStream();
        byte[] get = "GET /get?key=big&consistency=stale HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        // Pipelines gets of a 512 KiB value and reads nothing: the node stops reading, then closes it.
        boolean closed = false;
        try {
            for (int i = 0; i < 200; i++) out.write(get);
            out.flush();
        } catch (IOException e) {
            closed = true; // the node closed the connection while we were still writing
        }
        if (!closed) {
            // Draining now: what arrives is bounded, then the end of the stream.
            long total = 0;
            InputStream in = s.getInputStream();
            byte[] buf = new byte[65536];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) total += n;
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the node kept the connection of a client that did not read (" + total + " bytes)");
            } catch (IOException e) {
                // reset: closed
            }
            assertThat(total).as("answers sent before the cut").isLessThan(200L * big.length());
        }
        noElectionAndStillServing();
    }

    @Test
    void manyLargeBodiesAtOnceArePastTheMemoryCap() throws IOException {
        // Three connections each start a 3 MiB body (each alone is fine: 64 MiB is the per-request limit);
        // together they pass the 4 MiB cap: at least one is refused with 503 and closed (the others end
        // with 408 once --request-read-timeout-ms passes, as their bodies never complete).
        List<Socket> senders = new ArrayList<>();
        byte[] chunk = new byte[256 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'a');
        int refused = 0;
        for (int i = 0; i < 3; i++) {
            Socket s = connect(leader);
            senders.add(s);
            OutputStream out = s.getOutputStream();
            out.write(("POST /put HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + (3 << 20) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            try {
                for (int k = 0; k < 10; k++) out.write(chunk); // 2.5 MiB of the 3: the request stays open
                out.flush();
            } catch (IOException e) {
                // closed by the node while sending: its answer is read below
            }
        }
        for (Socket s : senders) {
            s.setSoTimeout(2000);
            try {
                byte[] head = new byte[200];
                int n = s.getInputStream().read(head);
                if (n > 0 && new String(head, 0, n, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 503")) refused++;
            } catch (IOException e) {
                // still receiving (no answer yet) or reset
            }
        }
        assertThat(refused).as("requests refused past --max-receiving-bytes").isGreaterThanOrEqualTo(1);
        noElectionAndStillServing();
    }

    @Test
    void oneAddressRegisteringSessionsPastTheLimitIs429() {
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            java.util.List<Integer> statuses = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + nodes.address(leader) + "/session"))
                        .timeout(TIMEOUT).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build();
                statuses.add(http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
            }
            assertThat(statuses).containsExactly(200, 200, 200, 429, 429);
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
        noElectionAndStillServing();
    }

    @Test
    void watchesPastTheLimitAre503() throws IOException {
        for (int i = 0; i < 2; i++) {
            Socket w = connect(leader);
            w.getOutputStream().write("GET /watch?prefix=a HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] head = new byte[12];
            assertThat(w.getInputStream().readNBytes(head, 0, 12)).isEqualTo(12);
            assertThat(new String(head, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
        }
        Socket third = connect(leader);
        third.getOutputStream().write("GET /watch?prefix=a HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        byte[] head = new byte[300];
        int n = third.getInputStream().read(head);
        assertThat(new String(head, 0, n, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 503").contains("--max-watches");
        noElectionAndStillServing();
    }
}
