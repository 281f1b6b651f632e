import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Membership changes on real processes, as an operator and a client see them (issue 10's numbers;
 * bench/membership.sh runs it):
 * <ol>
 *   <li>a learner joining a 3-node cluster that holds {@code --keys} keys: the time from its start
 *       with {@code -join} to "caught up" in GET /members, and to having applied the leader's
 *       commit index;</li>
 *   <li>removing the leader while one client writes (puts back to back, in a session): the longest
 *       gap between two acknowledged writes, and the failed writes; each round first adds a fresh
 *       node and promotes it, so the cluster keeps 3 voters.</li>
 * </ol>
 * {@code java -cp target/raftkv.jar bench/Membership.java [--keys 100000] [--rounds 3] [--base-port 19300] [--dir DIR]}
 */
public class Membership {
    static final ObjectMapper JSON = new ObjectMapper();
    static int keys = 100_000;
    static int rounds = 3;
    static int basePort = 19300;
    static Path dir;
    static final Map<Integer, Process> procs = new TreeMap<>();
    static Path root = Path.of(".").toAbsolutePath().normalize();
    static final ConcurrentLinkedQueue<Long> acks = new ConcurrentLinkedQueue<>();
    static final ConcurrentLinkedQueue<String> writeErrors = new ConcurrentLinkedQueue<>();

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--keys" -> keys = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--base-port" -> basePort = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                default -> {
                    System.err.println("membership: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (dir == null) dir = Files.createTempDirectory("raftkv-membership");
        Files.createDirectories(dir);
        Files.copy(root.resolve("target/raftkv.jar"), dir.resolve("raftkv.jar"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> procs.values().forEach(Process::destroyForcibly)));
        for (int i = 0; i < 3; i++) start(i, false);
        List<HostPort> seeds = List.of(addr(0), addr(1), addr(2));
        try (RaftKvClient admin = new RaftKvClient(seeds, Duration.ofSeconds(30))) {
            awaitMembers(admin, 3);
            System.out.printf("membership: 3 nodes on ports %d-%d, logs in %s; loading %,d keys%n", basePort, basePort + 2, dir, keys);
            long loadStart = System.nanoTime();
            load(seeds);
            System.out.printf("membership: loaded %,d keys in %.1f s%n", keys, (System.nanoTime() - loadStart) / 1e9);

            // 1. A learner catches up with the data set.
            long t0 = System.nanoTime();
            start(3, true);
            long caughtUpMs = -1;
            long appliedMs = -1;
            long deadline = t0 + 600_000_000_000L;
            while (System.nanoTime() < deadline && (caughtUpMs < 0 || appliedMs < 0)) {
                KvResult m = admin.members();
                if (caughtUpMs < 0 && m.ok()) {
                    for (JsonNode member : m.body().path("members")) {
                        if (member.path("id").asInt() == 3 && member.path("caughtUp").asBoolean()) {
                            caughtUpMs = (System.nanoTime() - t0) / 1_000_000;
                        }
                    }
                }
                KvResult s3 = admin.status(addr(3));
                KvResult sl = m.ok() ? admin.status(HostPort.parse(m.body().path("leader").path("address").asText())) : null;
                if (appliedMs < 0 && s3.ok() && sl != null && sl.ok()
                        && s3.body().path("lastApplied").asLong() >= sl.body().path("commitIndex").asLong()
                        && s3.body().path("keys").asLong() >= keys) {
                    appliedMs = (System.nanoTime() - t0) / 1_000_000;
                }
                Thread.sleep(20); // polling a condition with a deadline
            }
            System.out.printf("membership: a learner joining %,d keys: caught up (GET /members) after %d ms, applied everything after %d ms%n",
                    keys, caughtUpMs, appliedMs);
            must(admin.promoteMember(3));

            // 2. Leader removals under load.
            AtomicBoolean stop = new AtomicBoolean();
            Thread writer = Thread.ofPlatform().start(() -> {
                List<HostPort> all = new ArrayList<>();
                for (int i = 0; i < 3 + 2 * rounds + 2; i++) all.add(addr(i));
                try (RaftKvClient c = new RaftKvClient(all, Duration.ofSeconds(10))) {
                    for (long i = 0; !stop.get(); i++) {
                        KvResult r = c.put("w" + (i % 100), "v" + i);
                        if (r.ok()) acks.add(System.nanoTime());
                        else writeErrors.add(r.status() + " " + r.body());
                    }
                }
            });
            List<Long> gaps = new ArrayList<>();
            int next = 4;
            for (int k = 1; k <= rounds; k++) {
                // Keep 4 voters before each removal: a fresh node joins and is promoted.
                int id = next++;
                start(id, true);
                awaitCaughtUp(admin, id);
                must(admin.promoteMember(id));
                Thread.sleep(500); // a steady writer before the event (a pace, not a wait for a condition)
                JsonNode m = admin.members().body();
                int leader = m.path("leader").path("id").asInt();
                long eventNs = System.nanoTime();
                KvResult removed = admin.removeMember(leader);
                long answerMs = (System.nanoTime() - eventNs) / 1_000_000;
                Thread.sleep(3000); // the window the gap is measured in
                long gap = longestGapMs(eventNs, eventNs + 3_000_000_000L);
                gaps.add(gap);
                System.out.printf("round %d: removed leader %d (answered %d ms, HTTP %d): longest write gap %d ms%n", k, leader,
                        answerMs, removed.status(), gap);
                Process p = procs.remove(leader);
                if (p != null) p.destroy();
            }
            stop.set(true);
            writer.join(15_000);
            gaps.sort(null);
            System.out.printf("membership: %d leader removals: write gap median %d ms, max %d ms; failed writes: %d%s%n",
                    gaps.size(), gaps.get(gaps.size() / 2), gaps.getLast(), writeErrors.size(),
                    writeErrors.isEmpty() ? "" : " e.g. " + writeErrors.peek());
        } finally {
            procs.values().forEach(Process::destroyForcibly);
        }
    }

    /** Puts {@code keys} keys with transactions of 100 puts each, from 8 clients. */
    static void load(List<HostPort> seeds) throws InterruptedException {
        int perTxn = 100;
        int txns = (keys + perTxn - 1) / perTxn;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int me = t;
            threads.add(Thread.ofPlatform().start(() -> {
                try (RaftKvClient c = new RaftKvClient(seeds, Duration.ofSeconds(30))) {
                    for (int x = me; x < txns; x += 8) {
                        ObjectNode txn = JSON.createObjectNode();
                        var ops = txn.putArray("success");
                        for (int k = x * perTxn; k < Math.min(keys, (x + 1) * perTxn); k++) {
                            ops.addObject().put("op", "put").put("key", String.format("key%012d", k)).put("value", "v".repeat(64));
                        }
                        must(c.txn(txn));
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
    }

    static void must(KvResult r) {
        if (!r.ok()) throw new IllegalStateException("HTTP " + r.status() + ": " + r.body());
    }

    static void awaitMembers(RaftKvClient admin, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            KvResult m = admin.members();
            if (m.ok() && m.body().path("members").size() == n) return;
            Thread.sleep(50); // polling a condition with a deadline
        }
        throw new IllegalStateException("no cluster of " + n + " within a minute; logs in " + dir);
    }

    static void awaitCaughtUp(RaftKvClient admin, int id) throws InterruptedException {
        long deadline = System.nanoTime() + 300_000_000_000L;
        while (System.nanoTime() < deadline) {
            KvResult m = admin.members();
            if (m.ok()) {
                for (JsonNode member : m.body().path("members")) {
                    if (member.path("id").asInt() == id && member.path("caughtUp").asBoolean()) return;
                }
            }
            Thread.sleep(50); // polling a condition with a deadline
        }
        throw new IllegalStateException("node " + id + " did not catch up; logs in " + dir);
    }

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
        if (prev >= 0) longest = Math.max(longest, to - prev);
        return longest / 1_000_000;
    }

    static HostPort addr(int i) {
        return new HostPort("127.0.0.1", basePort + i);
    }

    static void start(int id, boolean join) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Xms16m", "-Xss512k", "-XX:+ExitOnOutOfMemoryError"));
        cmd.addAll(List.of("-cp", dir.resolve("raftkv.jar").toString(), "io.raftkv.cli.Main", "-id", String.valueOf(id),
                "-host", "127.0.0.1", "-port", String.valueOf(basePort + id), "-data", dir.resolve("node-" + id).toString(),
                "--no-shell", "--exit-with-pid", String.valueOf(ProcessHandle.current().pid())));
        if (join) {
            cmd.addAll(List.of("-join", addr(0) + "," + addr(1) + "," + addr(2)));
        } else {
            List<String> peers = new ArrayList<>();
            for (int i = 0; i < 3; i++) if (i != id) peers.add(addr(i).toString());
            cmd.addAll(List.of("-peers", String.join(",", peers)));
        }
        procs.put(id, new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node-" + id + ".log").toFile())).start());
    }
}
