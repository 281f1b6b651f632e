import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a client sees of a leadership transfer, next to a leader kill, on a 3-node cluster of real
 * processes (bench/transfer.sh runs it). One writer (a RaftKvClient with a session, as the shell
 * and bench use: it retries what it may) sends puts back to back for the whole run. Each round
 * waits until the cluster is stable, then either asks for a transfer to the next node
 * (POST /transfer-leader through a follower) or kill -9s the leader (and restarts it afterwards).
 * A round's unavailability is the longest gap between two consecutive acknowledged puts from the
 * event to 3 s after it, counting from the last acknowledgement before it: the time the client
 * could not write. Prints each round and the median / max per kind.
 *
 * <p>{@code java -cp target/raftkv.jar bench/Transfer.java [--rounds 10] [--base-port 19100] [--dir DIR] [-- node flags]}.
 */
public class Transfer {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(500)).build();
    static int rounds = 10;
    static int basePort = 19100;
    static Path dir;
    static List<String> nodeArgs = new ArrayList<>();
    static Process[] procs = new Process[3];
    static Path root = Path.of(".").toAbsolutePath().normalize();
    /** Completion times (nanoTime) of acknowledged puts, in order. */
    static final ConcurrentLinkedQueue<Long> acks = new ConcurrentLinkedQueue<>();
    static final ConcurrentLinkedQueue<String> writeErrors = new ConcurrentLinkedQueue<>();

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--base-port" -> basePort = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--" -> {
                    nodeArgs.addAll(Arrays.asList(args).subList(i + 1, args.length));
                    i = args.length;
                }
                default -> {
                    System.err.println("transfer: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (dir == null) dir = Files.createTempDirectory("raftkv-transfer");
        Files.createDirectories(dir);
        Files.copy(root.resolve("target/raftkv.jar"), dir.resolve("raftkv.jar"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Process p : procs) if (p != null) p.destroyForcibly();
        }));
        for (int i = 0; i < 3; i++) start(i);
        System.out.printf("transfer: 3 nodes on ports %d-%d, logs in %s; %d transfers and %d leader kills, one writer%n",
                basePort, basePort + 2, dir, rounds, rounds);
        awaitStable(Duration.ofSeconds(60));
        List<HostPort> all = List.of(addr(0), addr(1), addr(2));
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = Thread.ofPlatform().start(() -> {
            try (RaftKvClient c = new RaftKvClient(all, Duration.ofSeconds(10))) {
                for (long i = 0; !stop.get(); i++) {
                    KvResult r = c.put("k" + (i % 100), "v" + i);
                    if (r.ok()) acks.add(System.nanoTime());
                    else writeErrors.add(r.status() + " " + r.body());
                }
            }
        });
        List<Long> transferGaps = new ArrayList<>();
        List<Long> transferAnswers = new ArrayList<>();
        List<Long> killGaps = new ArrayList<>();
        for (int k = 1; k <= rounds; k++) {
            for (String kind : List.of("transfer", "kill")) {
                int leader = awaitStable(Duration.ofSeconds(60));
                Thread.sleep(300); // let the writer run steadily before the event (a pace, not a wait for a condition)
                long eventNs = System.nanoTime();
                String what;
                if (kind.equals("transfer")) {
                    int target = (leader + 1) % 3;
                    int via = (leader + 2) % 3;
                    JsonNode answer = post(via, "/transfer-leader", "{\"id\":" + target + "}");
                    long answerMs = (System.nanoTime() - eventNs) / 1_000_000;
                    transferAnswers.add(answerMs);
                    what = "transfer " + leader + " -> " + target + " (asked via node " + via + ", answered in " + answerMs
                            + " ms: " + answer + ")";
                } else {
                    procs[leader].destroyForcibly();
                    procs[leader].waitFor();
                    what = "kill -9 leader " + leader;
                }
                Thread.sleep(3000); // the window the gap is measured in
                long gapMs = longestGapMs(eventNs, eventNs + 3_000_000_000L);
                (kind.equals("transfer") ? transferGaps : killGaps).add(gapMs);
                System.out.printf("round %2d %-8s: longest write gap %4d ms   %s%n", k, kind, gapMs, what);
                if (kind.equals("kill")) start(leader);
            }
        }
        stop.set(true);
        writer.join(15_000);
        System.out.printf("transfer: %d transfers: write gap median %d ms, max %d ms; transfer answered in median %d ms%n",
                transferGaps.size(), median(transferGaps), max(transferGaps), median(transferAnswers));
        System.out.printf("transfer: %d leader kills: write gap median %d ms, max %d ms%n", killGaps.size(), median(killGaps),
                max(killGaps));
        System.out.println("transfer: gaps " + transferGaps + ", kills " + killGaps + "; failed writes: " + writeErrors.size()
                + (writeErrors.isEmpty() ? "" : " e.g. " + writeErrors.peek()));
        for (Process p : procs) if (p != null) p.destroyForcibly();
    }

    /** The longest gap between consecutive acks in [from, to], starting at the last ack before {@code from}. */
    static long longestGapMs(long from, long to) {
        List<Long> times = new ArrayList<>(acks);
        long prev = -1;
        long longest = 0;
        for (long t : times) {
            if (t < from) {
                prev = t;
                continue;
            }
            if (t > to) break;
            if (prev >= 0) longest = Math.max(longest, t - prev);
            prev = t;
        }
        if (prev >= 0) longest = Math.max(longest, to - prev); // no ack since prev: the client is still waiting
        return longest / 1_000_000;
    }

    static long median(List<Long> xs) {
        List<Long> s = new ArrayList<>(xs);
        s.sort(null);
        return s.isEmpty() ? -1 : s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
    }

    static long max(List<Long> xs) {
        return xs.stream().mapToLong(Long::longValue).max().orElse(-1);
    }

    static HostPort addr(int i) {
        return new HostPort("127.0.0.1", basePort + i);
    }

    /** Waits until all 3 nodes follow one leader in one term and have applied what it committed. */
    static int awaitStable(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode[] st = new JsonNode[3];
            boolean ok = true;
            for (int i = 0; i < 3 && ok; i++) {
                st[i] = status(i);
                ok = st[i] != null && st[i].path("leader").has("id");
            }
            if (ok) {
                int leader = st[0].path("leader").path("id").asInt();
                long term = st[0].path("term").asLong();
                long commit = st[leader].path("commitIndex").asLong();
                for (int i = 0; i < 3; i++) {
                    ok &= st[i].path("leader").path("id").asInt() == leader && st[i].path("term").asLong() == term
                            && st[i].path("lastApplied").asLong() >= commit - 200;
                }
                if (ok && st[leader].path("role").asText().equals("leader")) return leader;
            }
            Thread.sleep(50); // polling a condition with a deadline
        }
        throw new IllegalStateException("the cluster did not settle within " + timeout + "; logs in " + dir);
    }

    static JsonNode status(int node) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + (basePort + node) + "/status"))
                    .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static JsonNode post(int node, String path, String body) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + (basePort + node) + path))
                    .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static void start(int id) throws IOException {
        List<String> peers = new ArrayList<>();
        for (int i = 0; i < 3; i++) if (i != id) peers.add("127.0.0.1:" + (basePort + i));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Xms16m", "-Xss512k", "-XX:+ExitOnOutOfMemoryError"));
        cmd.addAll(List.of("-cp", dir.resolve("raftkv.jar").toString(), "io.raftkv.cli.Main", "-id", String.valueOf(id),
                "-host", "127.0.0.1", "-port", String.valueOf(basePort + id), "-peers", String.join(",", peers),
                "-data", dir.resolve("node-" + id).toString(), "--no-shell",
                "--exit-with-pid", String.valueOf(ProcessHandle.current().pid())));
        cmd.addAll(nodeArgs);
        procs[id] = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node-" + id + ".log").toFile())).start();
    }
}
