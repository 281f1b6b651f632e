package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HTTP/1.1 pipelining (RFC 9112 §9.3): a client may send several requests on one connection
 * without waiting, and the server must answer them in the order they came. A real pipelining
 * client: one socket, all requests in one write, answers read back one after another and paired
 * with the requests by position only.
 */
class PipeliningTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static TestNodes nodes;

    @BeforeAll
    static void startCluster() {
        nodes = new TestNodes(3).startAll();
        nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
    }

    @AfterAll
    static void stopCluster() {
        if (nodes != null) {
            nodes.close();
            assertThat(nodes.fatalErrors()).as("fatal errors in the nodes").isEmpty();
        }
    }

    @Test
    void pipelinedPutsAndGetsAreAnsweredInRequestOrderByTheLeader() throws IOException {
        int leader = stableLeader();
        checkPipeline(leader, "leader");
    }

    /** Through a follower each request is forwarded on a connection of its own: the answers must still line up. */
    @Test
    void pipelinedPutsAndGetsAreAnsweredInRequestOrderByAFollower() throws IOException {
        int leader = stableLeader();
        checkPipeline((leader + 1) % 3, "follower");
    }

    /** Five puts and five gets alternately, several rounds, each round in one write. */
    private static void checkPipeline(int node, String role) throws IOException {
        for (int round = 0; round < 5; round++) {
            String tag = role + "-r" + round;
            // The gets read keys written before, so each answer's value is known in advance.
            for (int i = 0; i < 5; i++) putBlocking(node, "pre-" + tag + "-" + i, "old-" + i);
            List<String> expected = new ArrayList<>();
            StringBuilder requests = new StringBuilder();
            for (int i = 0; i < 5; i++) {
                String putBody = JSON.createObjectNode().put("key", "p-" + tag + "-" + i).put("value", "v-" + i).toString();
                requests.append("POST /put HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ")
                        .append(putBody.getBytes(StandardCharsets.UTF_8).length).append("\r\n\r\n").append(putBody);
                expected.add("200 put p-" + tag + "-" + i + "=v-" + i);
                requests.append("GET /get?key=pre-").append(tag).append('-').append(i).append(" HTTP/1.1\r\nHost: t\r\n\r\n");
                expected.add("200 get pre-" + tag + "-" + i + "=old-" + i);
            }
            List<String> got = new ArrayList<>();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(nodes.address(node).host(), nodes.address(node).port()), 2000);
                s.setSoTimeout(15_000);
                s.getOutputStream().write(requests.toString().getBytes(StandardCharsets.UTF_8));
                s.getOutputStream().flush();
                InputStream in = s.getInputStream();
                for (int i = 0; i < expected.size(); i++) got.add(describe(readResponse(in)));
            }
            assertThat(got).as("answers of node %d (%s), round %d, in the order of the requests", node, role, round)
                    .containsExactlyElementsOf(expected);
        }
    }

    /** "status op key=value", or the raw body for anything else. */
    private static String describe(Response r) throws IOException {
        JsonNode j = JSON.readTree(r.body());
        if (j.has("op")) return r.status() + " " + j.path("op").asText() + " " + j.path("key").asText() + "=" + j.path("value").asText();
        if (j.has("key") && j.has("value")) return r.status() + " get " + j.path("key").asText() + "=" + j.path("value").asText();
        return r.status() + " " + r.body();
    }

    private record Response(int status, String body) {}

    /** Reads one HTTP/1.1 response with a Content-Length body. */
    static Response readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) throw new IOException("connection closed in the middle of a response: " + head);
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') break;
        }
        String headText = head.toString(StandardCharsets.ISO_8859_1);
        int status = Integer.parseInt(headText.substring(9, 12));
        int length = headText.lines().filter(l -> l.toLowerCase(Locale.ROOT).startsWith("content-length:"))
                .mapToInt(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).trim())).findFirst().orElse(0);
        return new Response(status, new String(in.readNBytes(length), StandardCharsets.UTF_8));
    }

    private static void putBlocking(int node, String key, String value) throws IOException {
        String body = JSON.createObjectNode().put("key", key).put("value", value).toString();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(nodes.address(node).host(), nodes.address(node).port()), 2000);
            s.setSoTimeout(15_000);
            s.getOutputStream().write(("POST /put HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            Response r = readResponse(s.getInputStream());
            assertThat(r.status()).as("put %s: %s", key, r.body()).isEqualTo(200);
        }
    }

    /** A leader all nodes follow in one term, with its first entry committed. */
    private static int stableLeader() {
        Set<Integer> all = Set.of(0, 1, 2);
        int[] leader = {-1};
        TestNodes.awaitCondition(() -> {
            leader[0] = nodes.leader(all).orElse(-1);
            if (leader[0] < 0) return false;
            StatusSnapshot ls = nodes.node(leader[0]).status();
            return ls.commitIndex() > 0 && all.stream().map(n -> nodes.node(n).status())
                    .allMatch(st -> st.leaderId() == leader[0] && st.term() == ls.term());
        }, WAIT, "all nodes to follow one leader");
        return leader[0];
    }
}
