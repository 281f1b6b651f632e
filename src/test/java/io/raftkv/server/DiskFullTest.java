package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.storage.FileStorage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.raftkv.server.TestNodes.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12's disk full, on a real full disk: node 2's data folder is a 2 MiB tmpfs that a filler
 * file fills up. The node stays up, refuses writes with a 503 that says its disk is full (nothing
 * applied), serves stale reads, and catches up by itself once the filler is removed; nothing
 * acknowledged is lost. Needs root (mount); skipped with the reason otherwise.
 */
class DiskFullTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    Path root;
    private TestNodes nodes;
    private Path mounted;

    @AfterEach
    void cleanUp() throws Exception {
        if (nodes != null) nodes.close();
        if (mounted != null) run("umount", mounted.toString());
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    /** Writes zeros into {@code file} until the disk is full; returns the bytes written. */
    private static long fill(Path file) throws IOException {
        long written = 0;
        byte[] chunk = new byte[4096];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(chunk);
                written += chunk.length;
            }
        } catch (IOException e) {
            if (!e.getMessage().contains("No space left")) throw e;
        }
        return written;
    }

    @Test
    void aNodeWithAFullDiskStaysUpRefusesWritesServesStaleReadsAndResumes() throws Exception {
        Path dir2 = root.resolve("node-2");
        Files.createDirectories(dir2);
        boolean isRoot = "root".equals(System.getProperty("user.name"));
        Assumptions.assumeTrue(isRoot && run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir2.toString()) == 0,
                "needs root to mount a small tmpfs as node 2's data folder");
        mounted = dir2;
        nodes = TestNodes.onDisk(3, this.root, new FileStorage.Options(64 * 1024, true), c -> c.withRequestTimeoutMs(2000))
                .startAll();
        Set<Integer> all = Set.of(0, 1, 2);
        nodes.awaitLeader(all, TIMEOUT);
        Map<String, String> acknowledged = new LinkedHashMap<>();
        try (RaftKvClient c = nodes.client(TIMEOUT, 0, 1)) {
            assertThat(c.put("before", "full").status()).isEqualTo(200);
            acknowledged.put("before", "full");
        }
        ClusterChecks.awaitConverged(nodes, all, TIMEOUT);

        Path filler = root.resolve("node-2").resolve("filler");
        fill(filler);
        // Writes through nodes 0 and 1 go on (2 of 3 is a quorum); node 2 cannot append them.
        String value = "v".repeat(512);
        try (RaftKvClient c = nodes.client(TIMEOUT, 0, 1)) {
            for (int i = 0; i < 50 && nodes.node(2).diskFull().isEmpty(); i++) {
                KvResult r = c.put("k" + i, value + i);
                assertThat(r.status()).as("put k%d: %s", i, r.body()).isEqualTo(200);
                acknowledged.put("k" + i, value + i);
            }
        }
        awaitCondition(() -> nodes.node(2).diskFull().isPresent(), TIMEOUT, "node 2 to find its disk full");
        assertThat(nodes.node(2).isRunning()).isTrue();

        try (RaftKvClient viaTwo = nodes.client(TIMEOUT, 2);
             java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            // A write to node 2 is refused at once, saying why (one request: a client would move on to
            // another node); a stale read is served from what it applied.
            var refused = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + nodes.address(2) + "/put"))
                    .timeout(TIMEOUT).POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"key\":\"refused\",\"value\":\"x\"}"))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(503);
            var body = new com.fasterxml.jackson.databind.ObjectMapper().readTree(refused.body());
            assertThat(body.path("diskFull").asBoolean()).isTrue();
            assertThat(body.path("retryable").asBoolean()).isTrue();
            assertThat(body.path("error").asText()).contains("disk is full").contains("consistency=stale");
            KvResult stale = viaTwo.getStale("before");
            assertThat(stale.status()).isEqualTo(200);
            assertThat(stale.body().path("value").asText()).isEqualTo("full");
        }
        try (RaftKvClient c = nodes.client(TIMEOUT, 0, 1)) {
            assertThat(c.get("refused").status()).as("the refused write was not applied").isEqualTo(404);
            assertThat(c.put("while-full", "ok").status()).isEqualTo(200);
            acknowledged.put("while-full", "ok");
        }

        // Room again: node 2 resumes by itself and holds every acknowledged write.
        Files.delete(filler);
        awaitCondition(() -> nodes.node(2).diskFull().isEmpty(), TIMEOUT, "node 2 to find room again");
        ClusterChecks.awaitConverged(nodes, all, TIMEOUT);
        try (RaftKvClient c = nodes.client(TIMEOUT, 2)) {
            for (var e : acknowledged.entrySet()) {
                assertThat(c.getStale(e.getKey()).body().path("value").asText()).as(e.getKey()).isEqualTo(e.getValue());
            }
            assertThat(c.put("after", "room").status()).isEqualTo(200);
        }
        assertThat(nodes.fatalErrors()).isEmpty();
    }
}
