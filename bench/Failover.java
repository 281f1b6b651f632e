import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Failover time of a 3-node raftkv cluster of real processes (bench/failover.sh runs it): kill -9
 * the leader, send a put every --interval-ms through the surviving nodes in turn (each attempt on
 * its own, not waiting for the previous one) until one is acknowledged, restart the killed node,
 * wait until all three agree and are caught up, repeat. Reports each kill and the median / max of
 * "kill to first acknowledged put", and for each kill the survivors' role changes from their logs.
 *
 * <p>Run with the raftkv jar on the class path (Java's source launcher):
 * {@code java -cp target/raftkv.jar bench/Failover.java --kills 20 [--interval-ms 20]
 * [--base-port 19000] [--dir DIR] [-- node flags...]}.
 */
public class Failover {
    static final ObjectMapper JSON = new ObjectMapper();
    static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(500)).build();

    static int kills = 20;
    static int intervalMs = 20;
    static int basePort = 19000;
    static Path dir;
    static List<String> nodeArgs = new ArrayList<>();
    static Process[] procs = new Process[3];
    static Path root = Path.of(".").toAbsolutePath().normalize();

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--kills" -> kills = Integer.parseInt(args[++i]);
                case "--interval-ms" -> intervalMs = Integer.parseInt(args[++i]);
                case "--base-port" -> basePort = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--" -> {
                    nodeArgs.addAll(Arrays.asList(args).subList(i + 1, args.length));
                    i = args.length;
                }
                default -> {
                    System.err.println("failover: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (dir == null) dir = Files.createTempDirectory("raftkv-failover");
        Files.createDirectories(dir);
        Files.copy(root.resolve("target/raftkv.jar"), dir.resolve("raftkv.jar"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Process p : procs) if (p != null) p.destroyForcibly();
        }));
        for (int i = 0; i < 3; i++) start(i);
        System.out.printf("failover: 3 nodes on ports %d-%d, data and logs in %s; %d kills, a put every %d ms%n",
                basePort, basePort + 2, dir, kills, intervalMs);
        List<Long> results = new ArrayList<>();
        for (int k = 1; k <= kills; k++) {
            int leader = awaitStable(Duration.ofSeconds(60));
            long[] logLines = new long[3];
            for (int i = 0; i < 3; i++) logLines[i] = lines(log(i));
            int[] survivors = {(leader + 1) % 3, (leader + 2) % 3};
            String killClock = LocalTime.now().format(CLOCK);
            long killNs = System.nanoTime();
            procs[leader].destroyForcibly(); // SIGKILL
            Attempts a = putUntilAcknowledged(survivors, killNs, k);
            procs[leader].waitFor();
            if (a.ackNs < 0) {
                System.out.printf("kill %2d: node %d at %s: no put acknowledged within 10 s (%s)%n", k, leader, killClock, a.kinds);
            } else {
                long ms = (a.ackNs - killNs) / 1_000_000;
                results.add(ms);
                System.out.printf("kill %2d: node %d at %s: first put acknowledged after %4d ms by node %d"
                                + " (that attempt sent at +%d ms); %d attempts before it: %s%n",
                        k, leader, killClock, ms, a.ackedBy, (a.ackSentNs - killNs) / 1_000_000, a.before, a.kinds);
                for (int s : survivors) {
                    for (String line : newLines(log(s), logLines[s])) {
                        if (line.contains("->") || line.contains("WARN")) System.out.println("          node " + s + ": " + line);
                    }
                }
            }
            start(leader);
        }
        results.sort(null);
        if (results.isEmpty()) {
            System.out.println("failover: no kill ended with an acknowledged put");
            System.exit(1);
        }
        long median = results.size() % 2 == 1 ? results.get(results.size() / 2)
                : (results.get(results.size() / 2 - 1) + results.get(results.size() / 2)) / 2;
        System.out.printf("failover: %d kills: median %d ms, min %d ms, max %d ms (kill -9 of the leader to the first"
                + " acknowledged put through a survivor)%n", results.size(), median, results.getFirst(), results.getLast());
        System.out.println("failover: all " + results);
        for (Process p : procs) if (p != null) p.destroyForcibly();
    }

    record Attempts(long ackNs, long ackSentNs, int ackedBy, int before, Map<String, Integer> kinds) {}

    /** Sends a put every intervalMs to the survivors in turn until one is acknowledged (10 s at most). */
    static Attempts putUntilAcknowledged(int[] survivors, long killNs, int kill) throws InterruptedException {
        AtomicLong ackNs = new AtomicLong(-1);
        AtomicLong ackSentNs = new AtomicLong(-1);
        int[] ackedBy = {-1};
        Map<String, Integer> kinds = new ConcurrentHashMap<>();
        int sent = 0;
        while (ackNs.get() < 0 && System.nanoTime() - killNs < 10_000_000_000L) {
            int node = survivors[sent % 2];
            long sentNs = System.nanoTime();
            String body = "{\"key\":\"failover\",\"value\":\"kill" + kill + "-" + sent + "\"}";
            sent++;
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + (basePort + node) + "/put"))
                    .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            HTTP.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((res, err) -> {
                long now = System.nanoTime();
                String kind;
                if (err != null) {
                    kind = "error " + err.getClass().getSimpleName();
                } else if (res.statusCode() == 200) {
                    synchronized (ackNs) {
                        if (ackNs.get() < 0) {
                            ackNs.set(now);
                            ackSentNs.set(sentNs);
                            ackedBy[0] = node;
                        }
                    }
                    return;
                } else {
                    kind = res.statusCode() + (res.body().contains("noLeaderReachable") ? " noLeaderReachable"
                            : res.body().contains("outcome is unknown") ? " unknown" : "");
                }
                if (ackNs.get() < 0) kinds.merge(kind, 1, Integer::sum);
            });
            Thread.sleep(intervalMs); // the pace of the attempts: what is measured is when one succeeds
        }
        // Let the attempts in flight finish, so the counts are complete; the first ack is already set.
        long end = System.nanoTime() + 2_000_000_000L;
        while (ackNs.get() < 0 && System.nanoTime() < end) Thread.sleep(10);
        int before = kinds.values().stream().mapToInt(Integer::intValue).sum();
        return new Attempts(ackNs.get(), ackSentNs.get(), ackedBy[0], before, new TreeMap<>(kinds));
    }

    /** Waits until all 3 nodes follow one leader in one term, a put through it commits and every node applied it. */
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
                for (int i = 1; i < 3; i++) ok &= st[i].path("leader").path("id").asInt() == leader && st[i].path("term").asLong() == term;
                if (ok) {
                    JsonNode put = post(leader, "/put", "{\"key\":\"warm\",\"value\":\"up\"}");
                    if (put != null && put.path("ok").asBoolean()) {
                        long index = put.path("index").asLong();
                        boolean applied = true;
                        for (int i = 0; i < 3; i++) {
                            JsonNode s = status(i);
                            applied &= s != null && s.path("lastApplied").asLong() >= index;
                        }
                        if (applied) return leader;
                    }
                }
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
                    .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
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
        // The jar copied at the start, not ./raftkv: the launcher rebuilds when the sources change,
        // which would stall a restart and change the code under measurement mid-run.
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(JVM_DEFAULTS);
        cmd.addAll(List.of("-cp", dir.resolve("raftkv.jar").toString(), "io.raftkv.cli.Main", "-id", String.valueOf(id),
                "-host", "127.0.0.1", "-port", String.valueOf(basePort + id), "-peers", String.join(",", peers),
                "-data", dir.resolve("node-" + id).toString(), "--no-shell",
                "--exit-with-pid", String.valueOf(ProcessHandle.current().pid())));
        cmd.addAll(nodeArgs);
        procs[id] = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(id).toFile())).start();
    }

    /** As the launcher's (see ./raftkv and BENCHMARKS.md); RAFTKV_JVM_DEFAULTS replaces them. */
    static final List<String> JVM_DEFAULTS = System.getenv("RAFTKV_JVM_DEFAULTS") != null
            ? Arrays.asList(System.getenv("RAFTKV_JVM_DEFAULTS").trim().split("\\s+"))
            : List.of("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Xms16m", "-XX:G1PeriodicGCInterval=30000", "-Xss512k",
                    "-XX:+ExitOnOutOfMemoryError", "-XX:TrimNativeHeapInterval=1000");

    static Path log(int id) {
        return dir.resolve("node-" + id + ".log");
    }

    static long lines(Path p) throws IOException {
        if (!Files.exists(p)) return 0;
        try (var s = Files.lines(p, StandardCharsets.UTF_8)) {
            return s.count();
        }
    }

    static List<String> newLines(Path p, long skip) throws IOException {
        try (var s = Files.lines(p, StandardCharsets.UTF_8)) {
            return s.skip(skip).toList();
        }
    }
}
