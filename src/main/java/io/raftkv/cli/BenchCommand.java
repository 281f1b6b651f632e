package io.raftkv.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code raftkv bench}: closed-loop load from N clients (one connection each), like etcd's
 * benchmark tool. Latencies go into an HdrHistogram; a progress line prints every second.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Drives a running cluster with concurrent clients and reports throughput and latency.", "",
                "Example: raftkv bench --cluster localhost:8000,localhost:8001,localhost:8002 --clients 64 --duration 10s --mix put=1"})
final class BenchCommand implements Callable<Integer> {
    @Option(names = {"--cluster", "-c"}, required = true, paramLabel = "LIST", description = "Node addresses, comma-separated.")
    String cluster;

    @Option(names = "--clients", defaultValue = "16", description = "Concurrent clients, one connection each (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--duration", defaultValue = "10s", description = "How long to run, e.g. 30s or 2m (default: ${DEFAULT-VALUE}).")
    String duration;

    @Option(names = "--count", defaultValue = "0", description = "Stop after this many operations (0: run for --duration).")
    long count;

    @Option(names = "--mix", defaultValue = "put=1",
            description = "Operation weights, e.g. put=1 or put=50,get=50 or append=1 (default: ${DEFAULT-VALUE}).")
    String mix;

    @Option(names = "--keys", defaultValue = "10000", description = "Key space size (default: ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--key-bytes", defaultValue = "16", description = "Key size (default: ${DEFAULT-VALUE}).")
    int keyBytes;

    @Option(names = "--value-bytes", defaultValue = "64", description = "Value size (default: ${DEFAULT-VALUE}).")
    int valueBytes;

    @Option(names = "--rate", defaultValue = "0", description = "Total operations per second, 0 for as fast as possible (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private enum Op { PUT, APPEND, GET }

    @Override
    public Integer call() throws Exception {
        List<HostPort> nodes = ShellCommand.parseCluster(cluster, spec);
        if (clients < 1 || keys < 1 || keyBytes < 1 || valueBytes < 0 || rate < 0 || count < 0) {
            throw new ParameterException(spec.commandLine(), "--clients, --keys and --key-bytes must be >= 1; --value-bytes, --rate, --count >= 0");
        }
        Duration runFor = parseDuration(duration, "--duration", spec);
        Op[] table = parseMix(mix);
        String value = "v".repeat(valueBytes);
        Recorder recorder = new Recorder(3);
        Histogram total = new Histogram(3);
        LongAdder ops = new LongAdder();
        Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        AtomicLong issued = new AtomicLong();
        long startNs = System.nanoTime();
        long endNs = startNs + runFor.toNanos();
        long intervalNs = rate > 0 ? (long) (1e9 * clients / rate) : 0;

        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < clients; w++) {
            final int id = w;
            workers.add(Thread.ofVirtual().name("bench-" + w).start(() -> {
                SplittableRandom rnd = new SplittableRandom(id * 7919L + 1);
                long next = System.nanoTime();
                try (RaftKvClient client = new RaftKvClient(rotate(nodes, id), Duration.ofSeconds(10))) {
                    while (System.nanoTime() < endNs && (count == 0 || issued.incrementAndGet() <= count)) {
                        if (intervalNs > 0) {
                            next += intervalNs;
                            long wait = next - System.nanoTime();
                            if (wait > 0) LockSupport.parkNanos(wait);
                        }
                        String key = key(rnd.nextInt(keys));
                        Op op = table[rnd.nextInt(table.length)];
                        long t0 = System.nanoTime();
                        KvResult r = switch (op) {
                            case PUT -> client.put(key, value);
                            case APPEND -> client.append(key, value);
                            case GET -> client.get(key);
                        };
                        long latency = System.nanoTime() - t0;
                        if (r.ok() || r.notFound()) {
                            recorder.recordValue(Math.max(1, latency / 1000));
                            ops.increment();
                        } else {
                            errors.computeIfAbsent(r.status() == 0 ? "no answer" : "HTTP " + r.status(), k -> new LongAdder()).increment();
                        }
                    }
                }
            }));
        }
        Histogram interval = null;
        long lastOps = 0;
        long lastNs = startNs;
        while (workers.stream().anyMatch(Thread::isAlive)) {
            for (Thread t : workers) t.join(Duration.ofMillis(Math.max(1, 1000 / workers.size())));
            long now = System.nanoTime();
            if (now - lastNs >= 1_000_000_000L) {
                interval = recorder.getIntervalHistogram(interval);
                total.add(interval);
                long n = ops.sum();
                if (!json) {
                    System.err.printf("%5.1fs  %8.0f ops/s  p50 %6.2f ms  p99 %7.2f ms  errors %d%n", (now - startNs) / 1e9,
                            (n - lastOps) * 1e9 / (now - lastNs), interval.getValueAtPercentile(50) / 1000.0,
                            interval.getValueAtPercentile(99) / 1000.0, errors.values().stream().mapToLong(LongAdder::sum).sum());
                }
                lastOps = n;
                lastNs = now;
            }
        }
        total.add(recorder.getIntervalHistogram());
        double seconds = (System.nanoTime() - startNs) / 1e9;
        report(total, ops.sum(), seconds, errors);
        return 0;
    }

    private void report(Histogram h, long n, double seconds, Map<String, LongAdder> errors) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode o = m.createObjectNode().put("clients", clients).put("mix", mix).put("valueBytes", valueBytes)
                .put("keys", keys).put("operations", n).put("seconds", Math.round(seconds * 100) / 100.0)
                .put("throughput", Math.round(n / seconds));
        ObjectNode lat = o.putObject("latencyMs");
        for (double p : new double[] {50, 90, 99, 99.9}) lat.put("p" + (p == 99.9 ? "99.9" : String.valueOf((int) p)), h.getValueAtPercentile(p) / 1000.0);
        lat.put("max", h.getMaxValue() / 1000.0);
        ObjectNode err = o.putObject("errors");
        errors.forEach((k, v) -> err.put(k, v.sum()));
        if (json) {
            System.out.println(o);
        } else {
            System.out.printf("%d operations in %.1f s: %.0f ops/s with %d clients (%s, %d-byte values, %d keys)%n", n, seconds,
                    n / seconds, clients, mix, valueBytes, keys);
            System.out.printf("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f%n", h.getValueAtPercentile(50) / 1000.0,
                    h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
                    h.getValueAtPercentile(99.9) / 1000.0, h.getMaxValue() / 1000.0);
            System.out.println("errors: " + (errors.isEmpty() ? "none" : err.toString()));
        }
    }

    private String key(int i) {
        String base = "k" + i;
        return base.length() >= keyBytes ? base : base + "_".repeat(keyBytes - base.length());
    }

    private static List<HostPort> rotate(List<HostPort> nodes, int by) {
        List<HostPort> r = new ArrayList<>(nodes);
        java.util.Collections.rotate(r, -(by % nodes.size()));
        return r;
    }

    /** {@code 500ms}, {@code 10s}, {@code 2.5s}, {@code 2m} or plain seconds; a usage error otherwise. */
    static Duration parseDuration(String s, String flag, CommandLine.Model.CommandSpec spec) {
        try {
            String t = s.trim().toLowerCase(java.util.Locale.ROOT);
            if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            if (t.endsWith("s")) return Duration.ofMillis((long) (Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
            if (t.endsWith("m")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)) * 60);
            return Duration.ofSeconds(Long.parseLong(t));
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), flag + " '" + s + "' is not like 10s, 500ms or 2m");
        }
    }

    private Op[] parseMix(String s) {
        List<Op> table = new ArrayList<>();
        for (String part : s.split(",")) {
            String[] kv = part.split("=", 2);
            Op op;
            int weight;
            try {
                op = Op.valueOf(kv[0].trim().toUpperCase(java.util.Locale.ROOT));
                weight = kv.length == 2 ? Integer.parseInt(kv[1].trim()) : 1;
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--mix '" + s + "': use put=W,append=W,get=W with whole weights");
            }
            if (weight < 0 || weight > 1000) throw new ParameterException(spec.commandLine(), "--mix weights must be 0..1000");
            for (int i = 0; i < weight; i++) table.add(op);
        }
        if (table.isEmpty()) throw new ParameterException(spec.commandLine(), "--mix needs at least one positive weight");
        return table.toArray(Op[]::new);
    }
}
