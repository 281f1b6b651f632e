package io.raftkv.server;

import io.raftkv.client.RaftKvClient;
import io.raftkv.kv.KvCommand;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.storage.MemoryStorage;
import io.raftkv.transport.HostPort;
import io.raftkv.transport.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Cluster identity (issue 12): a peer message of another cluster, or with no cluster id, is refused
 * before it is read and counted, and changes nothing; a node of another cluster pointed at this one
 * gets nothing accepted; the id is derived alike on every node of a static start and kept in the
 * data folder.
 */
class ClusterIdentityTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);
    private TestNodes nodes;

    @AfterEach
    void stop() {
        if (nodes != null) nodes.close();
    }

    private record Picture(int leader, long term, long lastIndex) {}

    private Picture picture() {
        int leader = nodes.awaitLeader(ALL, TIMEOUT);
        StatusSnapshot s = nodes.node(leader).status();
        return new Picture(leader, s.term(), s.lastLogIndex());
    }

    private static int post(HostPort to, String path, byte[] body, String cluster) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + to + path)).timeout(Duration.ofSeconds(5))
                    .header("Content-Type", MessageCodec.CONTENT_TYPE).POST(HttpRequest.BodyPublishers.ofByteArray(body));
            if (cluster != null) b.header(ClusterIdentity.HEADER, cluster);
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
        }
    }

    @Test
    void messagesOfAnotherClusterOrWithoutAnIdAreRefusedAndChangeNothing() throws Exception {
        nodes = new TestNodes(3).startAll();
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.put("k", "real").status()).isEqualTo(200);
        }
        ClusterChecks.awaitConverged(nodes, ALL, TIMEOUT);
        Picture before = picture();
        String ours = nodes.node(0).identity().id().orElseThrow();
        assertThat(nodes.node(1).identity().id()).contains(ours);
        assertThat(nodes.node(2).identity().id()).contains(ours);
        int follower = (before.leader() + 1) % 3;
        int other = (before.leader() + 2) % 3;
        byte[] forgedWrite = new KvCommand(KvCommand.Op.PUT, "k", "forged", 0, 0, 0).encode();
        List<Message> forged = List.of(
                new Message.AppendEntries(other, follower, 1000, before.lastIndex(), before.term(),
                        List.of(new Entry(before.lastIndex() + 1, 1000, forgedWrite)), before.lastIndex() + 1),
                new Message.RequestVote(other, follower, 1000, 1_000_000, 1000),
                new Message.InstallSnapshot(other, follower, 1000, 1_000_000, 1000, Configuration.bootstrap(List.of(other)),
                        0, new byte[0], true));
        String[] paths = {"/appendEntries", "/requestVote", "/installSnapshot"};
        long refusedBefore = nodes.node(follower).peerRefusals();
        for (int i = 0; i < forged.size(); i++) {
            byte[] body = MessageCodec.encode(forged.get(i));
            assertThat(post(nodes.address(follower), paths[i], body, null)).as("%s without an id", paths[i]).isEqualTo(403);
            assertThat(post(nodes.address(follower), paths[i], body, "0123456789abcdef")).as("%s of another cluster", paths[i])
                    .isEqualTo(403);
        }
        assertThat(nodes.node(follower).peerRefusals() - refusedBefore).isEqualTo(6);
        assertThat(picture()).isEqualTo(before);
        try (RaftKvClient c = nodes.client(TIMEOUT)) {
            assertThat(c.get("k").body().path("value").asText()).isEqualTo("real");
        }
        assertThat(nodes.fatalErrors()).isEmpty();
    }

    @Test
    void aNodeOfAnotherClusterPointedAtThisOneGetsNothingAccepted() throws Exception {
        nodes = new TestNodes(3).startAll();
        Picture before = picture();
        // Node 7 thinks it is in a cluster with these three (its own members make another id) and campaigns.
        Map<Integer, HostPort> peers = new HashMap<>();
        for (int i = 0; i < 3; i++) peers.put(i, nodes.address(i));
        HostPort self = new HostPort("127.0.0.1", freePort());
        NodeConfig cfg = NodeConfig.of(7, self, peers);
        String theirs = ClusterIdentity.derive(cfg.members(), ClusterIdentity.DEFAULT_TOKEN);
        assertThat(theirs).isNotEqualTo(nodes.node(0).identity().id().orElseThrow());
        long refused = ALL.stream().mapToLong(i -> nodes.node(i).peerRefusals()).sum();
        try (RaftServer intruder = RaftServer.start(cfg, new MemoryStorage(), t -> { })) {
            awaitCondition(() -> ALL.stream().mapToLong(i -> nodes.node(i).peerRefusals()).sum() > refused + 3, TIMEOUT,
                    "the intruder to campaign and be refused");
            assertThat(intruder.status().role()).isNotEqualTo("leader");
        }
        assertThat(picture()).as("leader, term and log of the cluster unchanged").isEqualTo(before);
    }

    private static int freePort() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void theIdIsKeptInTheDataFolderAndAJoiningNodeLearnsIt(@TempDir Path dir) {
        String id = ClusterIdentity.derive(Map.of(0, new HostPort("a", 1), 1, new HostPort("b", 2)), "t");
        assertThat(id).matches("[0-9a-f]{16}")
                .isEqualTo(ClusterIdentity.derive(Map.of(1, new HostPort("b", 2), 0, new HostPort("a", 1)), "t"))
                .isNotEqualTo(ClusterIdentity.derive(Map.of(0, new HostPort("a", 1), 1, new HostPort("b", 2)), "u"));
        ClusterIdentity kept = ClusterIdentity.inFolder(dir, java.util.Optional.of(id));
        assertThat(ClusterIdentity.read(dir)).contains(id);
        assertThat(kept.check(id)).isEmpty();
        assertThat(kept.check("0123456789abcdef")).get().asString().contains("from cluster 0123456789abcdef");
        Path joining = dir.resolve("joining");
        try {
            Files.createDirectories(joining);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ClusterIdentity learner = ClusterIdentity.inFolder(joining, java.util.Optional.empty());
        assertThat(learner.id()).isEmpty();
        assertThat(learner.check(null)).isPresent();
        assertThat(learner.check(id)).isEmpty();
        assertThat(learner.id()).contains(id);
        assertThat(ClusterIdentity.read(joining)).contains(id);
        assertThat(learner.check("0123456789abcdef")).isPresent();
        assertThatThrownBy(() -> {
            Files.writeString(dir.resolve(ClusterIdentity.FILE), "garbage");
            ClusterIdentity.read(dir);
        }).hasMessageContaining("does not hold a cluster id");
    }
}
