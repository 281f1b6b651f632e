package io.raftkv.server;

import io.raftkv.client.RaftKvClient;
import io.raftkv.raft.Message;
import io.raftkv.transport.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Raft does not depend on the client loops: a node's peers talk to its own loop (a peer's
 * connection moves there at its first RPC), so whatever clients make the client loops do, even
 * stop them dead, heartbeats and replication keep their pace.
 */
class ClientLoopsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);

    private TestNodes nodes;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void start() {
        nodes = new TestNodes(3).startAll();
    }

    @AfterEach
    void stop() {
        release.countDown();
        nodes.close();
    }

    /** Stops every client loop of {@code id} until the test ends (bounded, should it never end). */
    private void stallClientLoops(int id) throws InterruptedException {
        CountDownLatch stalled = new CountDownLatch(1);
        for (io.netty.util.concurrent.EventExecutor e : nodes.node(id).clientLoops()) {
            e.execute(() -> {
                stalled.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        assertThat(stalled.await(5, TimeUnit.SECONDS)).as("node %d's client loop stalled", id).isTrue();
    }

    @Test
    void writesCommitAndNoElectionWhileTheFollowersClientLoopsAreStopped() throws Exception {
        int leader = nodes.awaitLeader(ALL, TIMEOUT);
        try (RaftKvClient c = nodes.client(TIMEOUT, leader)) {
            // Every peer connection has carried an RPC by now (the writes' AppendEntries), so all have moved.
            for (int i = 0; i < 5; i++) assertThat(c.put("warm" + i, "x").status()).isEqualTo(200);
        }
        long term = nodes.node(leader).status().term();
        List<Integer> followers = new ArrayList<>();
        for (int id : ALL) if (id != leader) followers.add(id);
        for (int id : followers) stallClientLoops(id);

        // Three election timeouts of the longest kind with no client loop running on either follower:
        // a follower whose Raft depended on it would campaign, and nothing could commit.
        long electionMaxMs = nodes.node(leader).config().electionMaxMs();
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * electionMaxMs);
        int written = 0;
        try (RaftKvClient c = nodes.client(TIMEOUT, leader)) {
            while (System.nanoTime() < until || written < 10) {
                assertThat(c.put("k" + written, "v" + written).status()).isEqualTo(200);
                written++;
            }
        }
        long lastIndex = nodes.node(leader).status().commitIndex();
        for (int id : followers) {
            int f = id;
            TestNodes.awaitCondition(() -> nodes.node(f).status().commitIndex() >= lastIndex, TIMEOUT,
                    () -> "follower " + f + " commit index " + nodes.node(f).status().commitIndex() + " reaches " + lastIndex);
            assertThat(nodes.node(id).status().term()).as("node %d's term", id).isEqualTo(term);
        }
        assertThat(nodes.node(leader).status().term()).isEqualTo(term);
        assertThat(nodes.node(leader).status().role()).isEqualTo("leader");
        release.countDown();
        // And the followers' clients are served again once their loops run.
        try (RaftKvClient c = nodes.client(TIMEOUT, followers.get(0))) {
            assertThat(c.get("k0").body().path("value").asText()).isEqualTo("v0");
        }
    }

    @Test
    void aConnectionThatCarriedAPeerRpcServesNothingElse() throws IOException {
        int leader = nodes.awaitLeader(ALL, TIMEOUT);
        int other = leader == 0 ? 1 : 0;
        // A vote request of an old term from a member: refused, nothing changes, but it is a peer RPC.
        Message rv = new Message.RequestVote(other, leader, 0, 0, 0);
        byte[] body = MessageCodec.encode(rv);
        String clusterId = nodes.node(leader).identity().id().orElseThrow();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(nodes.address(leader).host(), nodes.address(leader).port()), 2000);
            s.setSoTimeout((int) TIMEOUT.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(("POST /requestVote HTTP/1.1\r\nHost: x\r\nContent-Type: " + MessageCodec.CONTENT_TYPE + "\r\n"
                    + ClusterIdentity.HEADER + ": " + clusterId + "\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.write("GET /status HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answers = readUntilClosed(s.getInputStream());
            assertThat(answers).startsWith("HTTP/1.1 20"); // 200 with the refusal, or 204
            assertThat(answers).contains("HTTP/1.1 400").contains("this connection carries peer RPCs");
        }
        assertThat(nodes.awaitLeader(ALL, TIMEOUT)).isEqualTo(leader);
    }

    private static String readUntilClosed(InputStream in) throws IOException {
        StringBuilder out = new StringBuilder();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) >= 0; ) out.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
        return out.toString();
    }
}
