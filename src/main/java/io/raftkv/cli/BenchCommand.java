package io.raftkv.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.client.ClientLoop;
import io.raftkv.client.KvResult;
import io.raftkv.client.LoopClient;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@code raftkv bench}: closed-loop load from N clients (one connection each, one request at a
 * time), like etcd's benchmark tool and wrk. The clients are {@link LoopClient}s on one shared
 * event loop ({@code --loop-threads}): each starts its next request from the previous one's
 * callback, so the bench costs a few microseconds of one thread per request instead of a thread
 * per client and the JDK HTTP client's hand-offs. Latencies go into HdrHistograms; a progress
 * line prints every second.
 *
 * <p>Phases: a check that some node answers; a warm-up request per client (connection, leader,
 * session: kept out of the measurements); the optional preload; the measured run. The check,
 * the preload and the watchers use the blocking {@link RaftKvClient}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Drives a running cluster with concurrent clients and reports throughput, latency (p50, p90, p99,"
                + " p99.9, max) and errors by kind. While it runs, a progress line every second on stderr.", ""},
        footer = {"", "Operations (--mix): put and append write a --value-bytes value to a random",
                "key; get is a linearizable read; staleget reads the contacted node's own",
                "state (?consistency=stale, like etcd's 'benchmark range --consistency s');",
                "delete deletes the key; cas sets it to the value if it holds the value already;",
                "txn compares the key's existence, then puts it and gets another key (one entry).",
                "Stale gets go to the node the client uses: the leader once it has written.", "",
                "Exit code: 0 the run finished (errors, if any, are in the report); 1 no node",
                "answered, the warm-up or the preload failed, or nothing succeeded for a while;",
                "2 bad flags.", "",
                "Examples:",
                "  raftkv bench -c localhost:8000,localhost:8001,localhost:8002 --clients 64",
                "  raftkv bench -c localhost:8000 --mix put=20,get=70,staleget=10 --keys 1000 \\",
                "      --preload --count 100000",
                "  raftkv bench -c localhost:8000 --mix append=1 --rate 500 --json"})
final class BenchCommand implements Callable<Integer> {
    @Option(names = {"--cluster", "-c"}, required = true, paramLabel = "LIST", description = "Node addresses, comma-separated.")
    String cluster;

    @Option(names = "--clients", defaultValue = "16", paramLabel = "N",
            description = "Concurrent clients, each with its own connection, one request at a time (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--loop-threads", defaultValue = "1", paramLabel = "N",
            description = "Event loop threads that all clients share (default: ${DEFAULT-VALUE}; one does tens of thousands of requests a second).")
    int loopThreads;

    @Option(names = "--duration", paramLabel = "TIME",
            description = "How long to run, e.g. 30s or 2m (default: 10s; with --count: no limit unless given).")
    String duration;

    @Option(names = "--count", defaultValue = "0", paramLabel = "N",
            description = "Stop after this many operations (default: run for --duration).")
    long count;

    @Option(names = "--warm-up", paramLabel = "TIME",
            description = {"Run the mix this long before measuring, unmeasured, so the bench's JVM has compiled its"
                    + " request path (default: 10s; with --count: 0 unless given; 0: none)."})
    String warmUp;

    @Option(names = "--mix", defaultValue = "put=1", paramLabel = "OP=W,...",
            description = "Operation weights over put, append, get, staleget, e.g. put=1 or put=20,get=70,staleget=10 (default: ${DEFAULT-VALUE}).")
    String mix;

    @Option(names = "--keys", defaultValue = "10000", paramLabel = "N", description = "Key space size, keys picked uniformly (default: ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--key-prefix", defaultValue = "k", paramLabel = "P",
            description = "Keys are P0, P1, ... padded with '_' to --key-bytes (default: ${DEFAULT-VALUE}).")
    String keyPrefix;

    @Option(names = "--key-bytes", defaultValue = "16", paramLabel = "N", description = "Key size (default: ${DEFAULT-VALUE}).")
    int keyBytes;

    @Option(names = "--value-bytes", defaultValue = "64", paramLabel = "N", description = "Value size of puts and appends (default: ${DEFAULT-VALUE}).")
    int valueBytes;

    @Option(names = "--rate", defaultValue = "0", paramLabel = "OPS",
            description = "Limit to this many operations per second in total; 0: as fast as the clients go (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--preload", description = "Before the measured run, put every key of the key space once (concurrently, not rate-limited), so gets find values.")
    boolean preload;

    @Option(names = "--sessions", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Writes in exactly-once sessions, one per client, as the Java client does by default (default: on)."
                    + " --no-sessions: plain writes without clientId/seq.")
    boolean sessions;

    @Option(names = "--timeout", defaultValue = "6s", paramLabel = "TIME",
            description = "Client timeout of one operation, retries included (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Option(names = "--watchers", defaultValue = "0", paramLabel = "N",
            description = {"Also open N watches of the whole key space (GET /watch?prefix=--key-prefix) and report the"
                    + " events they receive per second and the latency from a put's send to its event at a watcher"
                    + " (puts then carry their send time; --value-bytes must be at least 17)."})
    int watchers;

    @Option(names = "--json", description = "Print only the result, as one JSON object on stdout (no progress line).")
    boolean json;

    @CommandLine.Mixin
    ClientTlsOptions tls = new ClientTlsOptions();

    @CommandLine.Mixin
    ClientAuthOptions auth = new ClientAuthOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** HTTPS with it when --cacert is given. */
    private javax.net.ssl.SSLContext sslContext;

    /** An operation of the mix. */
    enum Op {
        PUT("put"), APPEND("append"), GET("get"), STALEGET("staleget"), DELETE("delete"), CAS("cas"), TXN("txn");

        final String label;

        Op(String label) {
            this.label = label;
        }

        boolean isWrite() {
            return this != GET && this != STALEGET;
        }
    }

    private static final long SECOND_NS = 1_000_000_000L;
    /** Largest sizes accepted: the nodes' HTTP request limit is 64 MiB. */
    private static final int MAX_VALUE_BYTES = 64 << 20;
    private static final int MAX_KEY_BYTES = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private PrintWriter out;
    private PrintWriter err;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        List<HostPort> nodes = ShellCommand.parseCluster(cluster, spec);
        CommandLine cl = spec.commandLine();
        if (clients < 1 || clients > 1000) throw new ParameterException(cl, "--clients must be 1 to 1000, got " + clients);
        if (loopThreads < 1 || loopThreads > 64) throw new ParameterException(cl, "--loop-threads must be 1 to 64, got " + loopThreads);
        if (keys < 1) throw new ParameterException(cl, "--keys must be >= 1, got " + keys);
        if (count < 0) throw new ParameterException(cl, "--count must be >= 0, got " + count);
        if (valueBytes < 0 || valueBytes > MAX_VALUE_BYTES) {
            throw new ParameterException(cl, "--value-bytes must be 0 to " + MAX_VALUE_BYTES + " (a node takes at most 1 MiB"
                    + " by default, --max-value-bytes), got " + valueBytes);
        }
        if (keyBytes > MAX_KEY_BYTES) {
            throw new ParameterException(cl, "--key-bytes must be at most " + MAX_KEY_BYTES + " (a node takes at most 4096"
                    + " by default, --max-key-bytes), got " + keyBytes);
        }
        if (!(rate >= 0) || Double.isInfinite(rate)) throw new ParameterException(cl, "--rate must be >= 0 (0: no limit), got " + rate);
        if (keyPrefix.isEmpty()) throw new ParameterException(cl, "--key-prefix must not be empty");
        int longestKey = (keyPrefix + (keys - 1)).length();
        if (keyBytes < longestKey) {
            throw new ParameterException(cl, "--key-bytes " + keyBytes + " is too small for " + keys + " keys named "
                    + keyPrefix + "0.." + keyPrefix + (keys - 1) + ": use at least " + longestKey);
        }
        boolean durationGiven = duration != null;
        Duration runFor = parseDuration(durationGiven ? duration : "10s", "--duration", spec);
        if (runFor.isNegative() || runFor.isZero()) throw new ParameterException(cl, "--duration must be positive, got " + duration);
        Duration warmUpFor = warmUp != null ? parseDuration(warmUp, "--warm-up", spec) : Duration.ofSeconds(count > 0 ? 0 : 10);
        if (warmUpFor.isNegative()) throw new ParameterException(cl, "--warm-up must be 0 or more, got " + warmUp);
        Duration opTimeout = parseDuration(timeout, "--timeout", spec);
        if (opTimeout.toMillis() < 100) throw new ParameterException(cl, "--timeout must be at least 100ms, got " + timeout);
        Op[] table = parseMix(mix);
        if (watchers < 0 || watchers > 100) throw new ParameterException(cl, "--watchers must be 0 to 100, got " + watchers);
        if (watchers > 0 && valueBytes < 17) {
            throw new ParameterException(cl, "--watchers needs --value-bytes of at least 17 (puts carry their send time)");
        }
        // With --count alone, the count ends the run; a stalled cluster still ends it (see the run loop).
        long limitNs = count > 0 && !durationGiven ? Long.MAX_VALUE : runFor.toNanos();
        sslContext = tls.context(cl);

        String unreachable = firstCheck(nodes, opTimeout);
        if (unreachable != null) {
            err.println("raftkv: no node of --cluster answers (" + unreachable + "); is the cluster running?");
            return 1;
        }
        if (!json) {
            err.printf("bench: %d clients on %s; mix %s; %d keys of %d bytes, %d-byte values; %s; %s%s%n", clients,
                    cluster, mix, keys, keyBytes, valueBytes,
                    sessions ? "writes in exactly-once sessions (--no-sessions for plain writes)" : "plain writes without sessions",
                    count > 0 ? count + " operations" + (durationGiven ? " or " + duration : "") : "for " + duration(runFor),
                    rate > 0 ? ", at most " + fmt(rate) + " ops/s" : "");
        }
        List<RaftKvClient> pool = new ArrayList<>();
        // One HTTP client for all: one selector thread and one connection pool instead of one per
        // bench client (at 64 clients, 64 of each made the bench, not the cluster, the bottleneck).
        java.net.http.HttpClient shared = RaftKvClient.newHttpClient(opTimeout, sslContext);
        try {
            for (int w = 0; w < clients; w++) pool.add(new RaftKvClient(rotate(nodes, w), opTimeout, sessions, opTimeout, shared, sslContext));
            String loginFailure = auth.login(pool.getFirst(), cl);
            if (loginFailure != null) {
                err.println("raftkv: " + loginFailure);
                return 1;
            }
            for (RaftKvClient c : pool) if (c != pool.getFirst()) c.shareLogin(pool.getFirst());
            return measure(nodes, pool, table, limitNs, warmUpFor, opTimeout);
        } finally {
            pool.forEach(RaftKvClient::close);
            shared.shutdownNow();
        }
    }

    /** Warm-up, preload and the measured run on the event loop's clients; the exit code. */
    private int measure(List<HostPort> nodes, List<RaftKvClient> pool, Op[] table, long limitNs, Duration warmUpFor,
                        Duration opTimeout) throws InterruptedException {
        // The loop's clients send pool.getFirst()'s token, and log in again through it on a 401.
        try (ClientLoop loop = new ClientLoop(loopThreads, opTimeout, opTimeout, sessions, sslContext, pool.getFirst())) {
            List<LoopClient> loopClients = new ArrayList<>();
            for (int w = 0; w < clients; w++) loopClients.add(loop.newClient(rotate(nodes, w)));
            String warmUpFailure = warmUp(loopClients, table);
            if (warmUpFailure != null) {
                err.println("raftkv: the cluster did not serve a first request within " + duration(opTimeout) + ": " + warmUpFailure);
                return 1;
            }
            ObjectNode preloadReport = null;
            if (preload) {
                preloadReport = preload(pool);
                if (preloadReport == null) return 1;
            }
            if (!warmUpFor.isZero()) {
                // A JVM runs its first requests interpreted: on 2 busy cores, 10 s measured from a cold start
                // were half warm-up. Its errors (a cluster that does not answer) show again in the measured run.
                if (!json) err.printf("warming up for %s (--warm-up) ...%n", duration(warmUpFor));
                new Run(loopClients, table, warmUpFor.toNanos(), 0, opTimeout, true).execute();
            }
            Run run = new Run(loopClients, table, limitNs, count, opTimeout, false);
            List<io.raftkv.client.Watch> watches = new ArrayList<>();
            for (int i = 0; i < watchers; i++) watches.add(pool.get(i % pool.size()).watch(keyPrefix, true, 0, run::watched));
            try {
                run.execute();
            } finally {
                watches.forEach(io.raftkv.client.Watch::close);
            }
            report(run, preloadReport);
            if (run.stoppedBecause != null) {
                err.println("raftkv: stopped early: " + run.stoppedBecause);
                return 1;
            }
            if (run.total.getTotalCount() == 0 && run.errorCount() > 0) {
                err.println("raftkv: no operation succeeded (" + run.errorCount() + " errors)");
                return 1;
            }
            return 0;
        }
    }

    // ---------------------------------------------------------------- phases before the run

    /** Null if some node answers {@code /status}; else what each node's failure was. */
    private String firstCheck(List<HostPort> nodes, Duration opTimeout) {
        List<String> failures = new ArrayList<>();
        try (RaftKvClient probe = new RaftKvClient(nodes, opTimeout, false, opTimeout, null, sslContext)) {
            for (HostPort n : nodes) {
                KvResult r = probe.status(n);
                if (r.ok()) return null;
                failures.add(n + ": " + errorKind(r));
            }
        }
        return String.join(", ", failures);
    }

    /**
     * Opens each client's connection (and session) and learns the leader, all clients at once;
     * the first failure, or null. Bounded: each operation ends by --timeout.
     */
    private String warmUp(List<LoopClient> loopClients, Op[] table) {
        List<Op> ops = List.of(table);
        boolean writes = ops.stream().anyMatch(Op::isWrite);
        List<CompletableFuture<String>> results = new ArrayList<>();
        for (LoopClient c : loopClients) {
            CompletableFuture<String> f = new CompletableFuture<>();
            results.add(f);
            Consumer<KvResult> read = r -> f.complete(r.ok() || r.notFound() ? null : describe(r));
            // A stale-only run stays on the client's first node; anything else learns the leader here.
            Runnable first = () -> {
                if (ops.contains(Op.GET) || writes) {
                    c.get(key(0), read);
                } else {
                    c.getStale(key(0), read);
                }
            };
            if (sessions && writes) {
                c.openSession(r -> {
                    if (r.ok()) {
                        first.run();
                    } else {
                        f.complete(describe(r));
                    }
                });
            } else {
                first.run();
            }
        }
        String failure = null;
        for (CompletableFuture<String> f : results) {
            String x = f.join();
            if (failure == null) failure = x;
        }
        return failure;
    }

    /** Puts every key once, the key space split among the clients; the report, or null after printing why not. */
    private ObjectNode preload(List<RaftKvClient> pool) throws InterruptedException {
        if (!json) err.printf("preloading %d keys with %d clients ...%n", keys, pool.size());
        String value = "v".repeat(valueBytes);
        long t0 = System.nanoTime();
        String failure = runEach(pool, (w, c) -> {
            for (int k = w; k < keys; k += pool.size()) {
                KvResult r = c.put(key(k), value);
                if (!r.ok()) return "key " + key(k) + ": " + describe(r);
            }
            return null;
        });
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (failure != null) {
            err.println("raftkv: the preload failed at " + failure);
            return null;
        }
        if (!json) err.printf("preloaded %d keys in %.1f s%n", keys, seconds);
        return JSON.createObjectNode().put("keys", keys).put("seconds", round(seconds, 2));
    }

    private interface ClientTask {
        /** The failure, or null. */
        String run(int worker, RaftKvClient client);
    }

    /** Runs the task on every client at once (a platform thread each); the first failure, or null. */
    private static String runEach(List<RaftKvClient> pool, ClientTask task) throws InterruptedException {
        AtomicReference<String> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < pool.size(); w++) {
            int id = w;
            threads.add(Thread.ofPlatform().daemon().name("bench-" + w).start(() -> {
                String f = task.run(id, pool.get(id));
                if (f != null) failure.compareAndSet(null, f);
            }));
        }
        for (Thread t : threads) t.join();
        return failure.get();
    }

    // ---------------------------------------------------------------- the measured run

    /** The measured run: the clients on the event loop, the progress loop, and what they recorded. */
    private final class Run {
        final List<LoopClient> loopClients;
        final List<Worker> workers = new ArrayList<>();
        final Op[] table;
        final long limitNs;
        final long stallNs;
        final Map<Op, Recorder> recorders = new EnumMap<>(Op.class);
        final Map<Op, Histogram> byOp = new EnumMap<>(Op.class);
        final Map<Op, LongAdder> notFound = new EnumMap<>(Op.class);
        final Histogram total = new Histogram(3);
        final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        /** Watch events received, and the latency from a put's send to its event, in microseconds. */
        final LongAdder watchEvents = new LongAdder();
        final Recorder watchLatency = new Recorder(3);
        final Map<String, String> errorExamples = new ConcurrentHashMap<>();
        final AtomicLong issued = new AtomicLong();
        /** The earliest start of the next operation under --rate (no catching up after a stall). */
        final AtomicLong nextSlotNs = new AtomicLong();
        final long intervalNs;
        volatile boolean stop;
        String stoppedBecause;
        double seconds;

        /** Operations to run (0: until the time limit), and whether to print nothing while running. */
        final long maxOps;
        final boolean quiet;

        Run(List<LoopClient> loopClients, Op[] table, long limitNs, long maxOps, Duration opTimeout, boolean quiet) {
            this.loopClients = loopClients;
            this.maxOps = maxOps;
            this.quiet = quiet;
            this.table = table;
            this.limitNs = limitNs;
            // No success for this long while errors come in: the cluster is gone; stop rather than run on.
            this.stallNs = Math.max(10 * SECOND_NS, 2 * opTimeout.toNanos());
            this.intervalNs = rate > 0 ? (long) (SECOND_NS / rate) : 0;
            for (Op op : Op.values()) {
                recorders.put(op, new Recorder(3));
                byOp.put(op, new Histogram(3));
                notFound.put(op, new LongAdder());
            }
        }

        /** A watch event: a timestamped put's latency from its send to here. */
        void watched(io.raftkv.client.Watch.Change c) {
            if (stop) return;
            watchEvents.increment();
            String v = c.value();
            if (v != null && v.length() >= 17 && v.charAt(0) == 't') {
                try {
                    long sentNs = Long.parseUnsignedLong(v.substring(1, 17), 16);
                    watchLatency.recordValue(Math.max(1, (System.nanoTime() - sentNs) / 1000));
                } catch (NumberFormatException | ArrayIndexOutOfBoundsException ignored) {
                    // a value this bench did not write
                }
            }
        }

        long errorCount() {
            return errors.values().stream().mapToLong(LongAdder::sum).sum();
        }

        void execute() throws InterruptedException {
            CountDownLatch done = new CountDownLatch(loopClients.size());
            String value = "v".repeat(valueBytes);
            for (int w = 0; w < loopClients.size(); w++) {
                workers.add(new Worker(loopClients.get(w), new SplittableRandom(w * 7919L + 1), value, done));
            }
            long startNs = System.nanoTime();
            nextSlotNs.set(startNs);
            for (Worker w : workers) w.client.executor().execute(w::next);
            long lastNs = startNs;
            long lastOps = 0;
            long lastSuccessNs = startNs;
            Histogram interval = new Histogram(3);
            Map<Op, Histogram> reuse = new EnumMap<>(Op.class); // a Recorder takes back only its own histograms
            while (true) {
                long now = System.nanoTime();
                long nextTick = lastNs + SECOND_NS;
                long wait = stop || limitNs == Long.MAX_VALUE ? nextTick - now : Math.min(nextTick, startNs + limitNs) - now;
                boolean finished = done.await(Math.max(0, wait), TimeUnit.NANOSECONDS);
                now = System.nanoTime();
                if (!stop && limitNs != Long.MAX_VALUE && now - startNs >= limitNs) stopNow();
                if (finished || now >= nextTick) {
                    interval.reset();
                    for (Op op : Op.values()) {
                        Histogram h = recorders.get(op).getIntervalHistogram(reuse.get(op));
                        reuse.put(op, h);
                        byOp.get(op).add(h);
                        interval.add(h);
                    }
                    total.add(interval);
                    long n = total.getTotalCount();
                    if (n > lastOps) lastSuccessNs = now;
                    if (!finished && !json && !quiet) {
                        err.printf("%6.1fs %9.0f ops/s  p50 %7.2f ms  p99 %8.2f ms  errors %d%n", (now - startNs) / 1e9,
                                (n - lastOps) * 1e9 / (now - lastNs), interval.getValueAtPercentile(50) / 1000.0,
                                interval.getValueAtPercentile(99) / 1000.0, errorCount());
                    }
                    lastOps = n;
                    lastNs = now;
                    if (!stop && now - lastSuccessNs >= stallNs && errorCount() > 0) {
                        stoppedBecause = "no operation succeeded for " + duration(Duration.ofNanos(now - lastSuccessNs))
                                + "; errors so far: " + errorSummary();
                        stopNow();
                    }
                }
                if (finished) break;
            }
            seconds = (System.nanoTime() - startNs) / 1e9;
        }

        /** Ends the run: no new operation starts, and clients waiting for a --rate slot end now. */
        private void stopNow() {
            stop = true;
            if (intervalNs > 0) for (Worker w : workers) w.client.executor().execute(w::wake);
        }

        private void record(Op op, KvResult r, long latencyNs) {
            if (r.ok() || (r.notFound() && !op.isWrite())) {
                recorders.get(op).recordValue(Math.max(1, latencyNs / 1000));
                if (r.notFound()) notFound.get(op).increment();
            } else {
                String kind = errorKind(r);
                errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
                errorExamples.putIfAbsent(kind, r.error().orElse(r.body().toString()));
            }
        }

        /**
         * One simulated client: a closed loop on its client's event loop, where each answer's
         * callback records it and starts the next operation (after its --rate slot, scheduled on the loop).
         */
        private final class Worker {
            final LoopClient client;
            final SplittableRandom rnd;
            final String value;
            final CountDownLatch done;
            /** On the loop: the start of the next operation waiting for its --rate slot, or null. */
            io.netty.util.concurrent.ScheduledFuture<?> waiting;
            boolean finished;

            Worker(LoopClient client, SplittableRandom rnd, String value, CountDownLatch done) {
                this.client = client;
                this.rnd = rnd;
                this.value = value;
                this.done = done;
            }

            void next() {
                if (stop || (maxOps > 0 && issued.incrementAndGet() > maxOps)) {
                    finish();
                    return;
                }
                if (intervalNs > 0) {
                    long wait = takeSlot() - System.nanoTime();
                    if (wait > 0) {
                        waiting = client.executor().schedule(this::issue, wait, TimeUnit.NANOSECONDS);
                        return;
                    }
                }
                issue();
            }

            private void issue() {
                waiting = null;
                if (stop) {
                    finish();
                    return;
                }
                String key = key(rnd.nextInt(keys));
                Op op = table[rnd.nextInt(table.length)];
                long t0 = System.nanoTime();
                Consumer<KvResult> answered = r -> {
                    record(op, r, System.nanoTime() - t0);
                    next();
                };
                switch (op) {
                    case PUT -> client.put(key, watchers > 0 ? String.format("t%016x", System.nanoTime()) + value.substring(17) : value, answered);
                    case APPEND -> client.append(key, value, answered);
                    case GET -> client.get(key, answered);
                    case STALEGET -> client.getStale(key, answered);
                    case DELETE -> client.delete(key, answered);
                    // Sets the key to the bench's value if it holds it already (after --preload it does):
                    // one compare and one write in the state machine, success or not.
                    case CAS -> client.cas(key, java.util.Optional.of(value), value, answered);
                    case TXN -> client.txn(txn(key, value), answered);
                }
            }

            /** At the end of the run: a start waiting for its slot is called off. */
            void wake() {
                if (waiting != null && waiting.cancel(false)) {
                    waiting = null;
                    finish();
                }
            }

            private void finish() {
                if (finished) return;
                finished = true;
                done.countDown();
            }
        }

        /** The txn of the mix: if the key exists, put the value and read a second key; else read the key. */
        private com.fasterxml.jackson.databind.node.ObjectNode txn(String key, String value) {
            com.fasterxml.jackson.databind.node.ObjectNode t = JSON.createObjectNode();
            t.putArray("compare").addObject().put("key", key).put("target", "exists").put("op", "==").put("operand", true);
            var success = t.putArray("success");
            success.addObject().put("op", "put").put("key", key).put("value", value);
            success.addObject().put("op", "get").put("key", key(0));
            t.putArray("failure").addObject().put("op", "get").put("key", key);
            return t;
        }

        private long takeSlot() {
            while (true) {
                long prev = nextSlotNs.get();
                long slot = Math.max(prev, System.nanoTime());
                if (nextSlotNs.compareAndSet(prev, slot + intervalNs)) return slot;
            }
        }

        String errorSummary() {
            List<String> parts = new ArrayList<>();
            new TreeMap<>(errors).forEach((k, v) -> parts.add(k + " x" + v.sum()));
            return String.join(", ", parts);
        }
    }

    // ---------------------------------------------------------------- the report

    private void report(Run run, ObjectNode preloadReport) {
        long n = run.total.getTotalCount();
        double seconds = run.seconds;
        ObjectNode o = JSON.createObjectNode().put("cluster", cluster).put("clients", clients).put("mix", mix)
                .put("keys", keys).put("keyBytes", keyBytes).put("valueBytes", valueBytes).put("rate", rate)
                .put("sessions", sessions);
        if (preloadReport != null) o.set("preload", preloadReport);
        o.put("operations", n).put("seconds", round(seconds, 3)).put("throughput", round(n / seconds, 1));
        o.set("latencyMs", latency(run.total));
        ObjectNode ops = o.putObject("byOp");
        for (Op op : Op.values()) {
            Histogram h = run.byOp.get(op);
            if (!List.of(run.table).contains(op)) continue;
            ObjectNode x = ops.putObject(op.label).put("operations", h.getTotalCount());
            if (!op.isWrite()) x.put("notFound", run.notFound.get(op).sum());
            x.set("latencyMs", latency(h));
        }
        o.put("failed", run.errorCount());
        ObjectNode errs = o.putObject("errors");
        ObjectNode examples = o.putObject("errorExamples");
        new TreeMap<>(run.errors).forEach((k, v) -> {
            errs.put(k, v.sum());
            examples.put(k, run.errorExamples.get(k));
        });
        if (run.stoppedBecause != null) o.put("stoppedEarly", run.stoppedBecause);
        Histogram watchLatency = run.watchLatency.getIntervalHistogram();
        if (watchers > 0) {
            o.putObject("watch").put("watchers", watchers).put("events", run.watchEvents.sum())
                    .put("eventsPerSec", round(run.watchEvents.sum() / seconds, 1)).set("latencyMs", latency(watchLatency));
        }
        if (json) {
            out.println(o);
            out.flush();
            return;
        }
        out.printf("%d operations in %.2f s: %.0f ops/s with %d clients (mix %s, %d keys, %d-byte keys, %d-byte values, %s%s)%n",
                n, seconds, n / seconds, clients, mix, keys, keyBytes, valueBytes,
                sessions ? "sessions" : "no sessions", rate > 0 ? ", --rate " + fmt(rate) : "");
        out.println("latency ms: " + latencyLine(run.total));
        if (ops.size() > 1 || run.notFound.values().stream().anyMatch(a -> a.sum() > 0)) {
            for (Op op : Op.values()) {
                if (!ops.has(op.label)) continue;
                Histogram h = run.byOp.get(op);
                long nf = run.notFound.get(op).sum();
                out.printf("  %-9s %9d ops  %s%s%n", op.label, h.getTotalCount(), latencyLine(h),
                        nf > 0 ? "  (" + nf + " found no value" + (preload ? ")" : "; --preload fills the key space first)") : "");
            }
        }
        if (watchers > 0) {
            out.printf("watch: %d watchers received %d events (%.0f/s); put to event ms: %s%n", watchers,
                    run.watchEvents.sum(), run.watchEvents.sum() / seconds, latencyLine(watchLatency));
        }
        if (run.errors.isEmpty()) {
            out.println("errors: none");
        } else {
            out.println("errors: " + run.errorCount());
            new TreeMap<>(run.errors).forEach((k, v) ->
                    out.printf("  %-32s %7d   e.g. %s%n", k, v.sum(), run.errorExamples.get(k)));
        }
        out.flush();
    }

    private static ObjectNode latency(Histogram h) {
        ObjectNode lat = JSON.createObjectNode();
        lat.put("p50", ms(h.getValueAtPercentile(50))).put("p90", ms(h.getValueAtPercentile(90)))
                .put("p99", ms(h.getValueAtPercentile(99))).put("p99.9", ms(h.getValueAtPercentile(99.9)))
                .put("max", ms(h.getMaxValue()));
        return lat;
    }

    private static String latencyLine(Histogram h) {
        return String.format(Locale.ROOT, "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", ms(h.getValueAtPercentile(50)),
                ms(h.getValueAtPercentile(90)), ms(h.getValueAtPercentile(99)), ms(h.getValueAtPercentile(99.9)),
                ms(h.getMaxValue()));
    }

    private static double ms(long micros) {
        return micros / 1000.0;
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    private static String duration(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    // ---------------------------------------------------------------- errors by kind

    /**
     * A short name for what went wrong, to count errors by: the HTTP status with what it means
     * here, or for no answer at all (status 0) whether the client could not connect, timed out or
     * lost the connection.
     */
    static String errorKind(KvResult r) {
        String msg = r.error().orElse("");
        return switch (r.status()) {
            case 0 -> {
                if (msg.startsWith("cannot connect") || msg.startsWith("unreachable")) {
                    // The JDK's HttpClient says ConnectException without details when the port is closed.
                    if (msg.contains("connect timed out")) yield "connect timeout";
                    if (msg.contains("TLS handshake failed")) yield "TLS handshake failed";
                    if (msg.contains("timed out")) yield "timeout";
                    yield "connection refused";
                }
                if (msg.contains("session expired")) yield "session expired, outcome unknown";
                if (msg.contains("timed out")) yield "timeout";
                if (msg.startsWith("connection to")) yield "connection lost";
                if (msg.equals("interrupted")) yield "interrupted";
                yield "no answer";
            }
            case 503 -> {
                if (r.noLeaderReachable()) yield r.retryable() ? "HTTP 503 no leader reachable from the node"
                        : "HTTP 503 leader went silent, outcome unknown";
                if (r.retryable() || msg.contains("no leader")) yield "HTTP 503 no leader";
                if (msg.contains("outcome is unknown")) yield "HTTP 503 not committed in time, outcome unknown";
                yield "HTTP 503";
            }
            case 409 -> r.body().path("sessionExpired").asBoolean() ? "HTTP 409 session expired"
                    : msg.contains("seq") ? "HTTP 409 stale seq" : "HTTP 409";
            case 413 -> "HTTP 413 too large";
            case 508 -> "HTTP 508 forwarding limit";
            case 400 -> "HTTP 400 bad request";
            case 404 -> "HTTP 404 not found";
            default -> "HTTP " + r.status();
        };
    }

    private static String describe(KvResult r) {
        return errorKind(r) + " (" + r.error().orElse(r.body().toString()) + ")";
    }

    // ---------------------------------------------------------------- flags

    String key(int i) {
        String base = keyPrefix + i;
        return base.length() >= keyBytes ? base : base + "_".repeat(keyBytes - base.length());
    }

    private static List<HostPort> rotate(List<HostPort> nodes, int by) {
        List<HostPort> r = new ArrayList<>(nodes);
        Collections.rotate(r, -(by % nodes.size()));
        return r;
    }

    /** {@code 500ms}, {@code 10s}, {@code 2.5s}, {@code 2m} or plain seconds; a usage error otherwise. */
    static Duration parseDuration(String s, String flag, CommandLine.Model.CommandSpec spec) {
        try {
            String t = s.trim().toLowerCase(Locale.ROOT);
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
        Supplier<ParameterException> bad = () -> new ParameterException(spec.commandLine(), "--mix '" + s
                + "': use OP=WEIGHT,... with OP one of put, append, get, staleget, delete, cas, txn and whole weights,"
                + " e.g. put=20,get=80");
        for (String part : s.split(",", -1)) {
            String[] kv = part.split("=", 2);
            String name = kv[0].trim().toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
            Op op = null;
            for (Op o : Op.values()) if (o.label.equals(name)) op = o;
            if (op == null) throw bad.get();
            int weight;
            try {
                weight = kv.length == 2 ? Integer.parseInt(kv[1].trim()) : 1;
            } catch (NumberFormatException e) {
                throw bad.get();
            }
            if (weight < 0 || weight > 1000) throw new ParameterException(spec.commandLine(), "--mix weights must be 0 to 1000, got " + weight);
            for (int i = 0; i < weight; i++) table.add(op);
        }
        if (table.isEmpty()) throw new ParameterException(spec.commandLine(), "--mix needs at least one positive weight");
        return table.toArray(Op[]::new);
    }
}
