package io.raftkv.server;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Concurrent writers whose every acknowledged write can be checked afterwards, whatever failed
 * in between. Each client thread owns its keys, so the final value of a key depends only on
 * which of that thread's writes were applied:
 * <ul>
 *   <li>op {@code n} even: a put of a key written exactly once, {@code c<t>-p<n>} = {@code v<t>-<n>};</li>
 *   <li>op {@code n} odd: an append of the token {@code <n>} to one of the thread's few append keys.</li>
 * </ul>
 * An answer 200 is acknowledged: the put's value must be there; the append's returned value (the
 * key's value right after it) must be a prefix of the final value, so acknowledged appends appear
 * once and in order. A 503 with {@code "retryable":true} promises the write was not applied: its
 * value must not appear. Anything else (503, timeout, connection lost) is unknown: it may or may
 * not appear, but at most once and only as an append of its own key.
 */
public final class WriteWorkload {
    enum Outcome { ACKED, NOT_APPLIED, UNKNOWN }

    /** One write and how it ended; {@code returned} is the value the 200 answer reported. */
    record Op(int n, String key, boolean put, String value, Outcome outcome, String returned, int status) {}

    private static final Pattern TOKEN = Pattern.compile("<(\\d+)>");

    private final String prefix;
    private final int clients;
    private final int appendKeysPerClient;
    private final Supplier<RaftKvClient> clientFactory;
    /** Per client thread, its ops in order; each list written only by its thread. */
    private final List<List<Op>> history = new ArrayList<>();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong unknown = new AtomicLong();
    private final AtomicLong notApplied = new AtomicLong();
    private final List<String> anomalies = new CopyOnWriteArrayList<>();
    private volatile boolean stopping;
    private ExecutorService pool;
    private final List<Future<?>> running = new ArrayList<>();

    /**
     * @param prefix        starts every key, so several workloads can share a cluster
     * @param clientFactory makes one client per thread (closed by the thread)
     */
    public WriteWorkload(String prefix, int clients, int appendKeysPerClient, Supplier<RaftKvClient> clientFactory) {
        this.prefix = prefix;
        this.clients = clients;
        this.appendKeysPerClient = appendKeysPerClient;
        this.clientFactory = clientFactory;
        for (int t = 0; t < clients; t++) history.add(Collections.synchronizedList(new ArrayList<>()));
    }

    /** Starts the client threads; each writes until {@link #stop()}. */
    public WriteWorkload start() {
        return start(Integer.MAX_VALUE);
    }

    /** Starts the client threads; each stops after {@code opsPerClient} writes or at {@link #stop()}. */
    public WriteWorkload start(int opsPerClient) {
        if (pool != null) throw new IllegalStateException("already started");
        pool = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().name("workload-client-", 0).daemon().factory());
        for (int t = 0; t < clients; t++) {
            int thread = t;
            running.add(pool.submit(() -> runClient(thread, opsPerClient)));
        }
        return this;
    }

    private void runClient(int t, int ops) {
        try (RaftKvClient client = clientFactory.get()) {
            for (int n = 0; n < ops && !stopping; n++) {
                boolean put = n % 2 == 0;
                String key = put ? prefix + "c" + t + "-p" + n : prefix + "c" + t + "-a" + (n / 2) % appendKeysPerClient;
                String value = put ? "v" + t + "-" + n : "<" + n + ">";
                KvResult r = put ? client.put(key, value) : client.append(key, value);
                Outcome o;
                if (r.status() == 200) {
                    o = Outcome.ACKED;
                    acked.incrementAndGet();
                } else if (r.status() == 503 && r.retryable()) {
                    o = Outcome.NOT_APPLIED;
                    notApplied.incrementAndGet();
                } else {
                    o = Outcome.UNKNOWN;
                    unknown.incrementAndGet();
                    if (r.status() != 503 && r.status() != 0) {
                        anomalies.add((put ? "put " : "append ") + key + " answered " + r.status() + ": " + r.body());
                    }
                }
                history.get(t).add(new Op(n, key, put, value, o, r.value().orElse(null), r.status()));
            }
        }
    }

    public long acked() {
        return acked.get();
    }

    /** Waits (bounded polling) until {@code count} writes were acknowledged in total. */
    public void awaitAcked(long count, Duration timeout) {
        TestNodes.awaitCondition(() -> acked.get() >= count, timeout,
                () -> count + " acknowledged writes; so far " + summary());
    }

    /** Stops the threads after their current write (each waits at most its client timeout). */
    public void stop() {
        stopping = true;
        try {
            for (Future<?> f : running) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted stopping the workload", e);
        } catch (ExecutionException e) {
            throw new AssertionError("a workload client failed", e.getCause());
        } finally {
            if (pool != null) pool.shutdownNow();
        }
    }

    /** Waits for threads started with an op count to finish. */
    public void awaitDone() {
        try {
            for (Future<?> f : running) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } catch (ExecutionException e) {
            throw new AssertionError("a workload client failed", e.getCause());
        }
        pool.shutdownNow();
    }

    public String summary() {
        return acked.get() + " acknowledged, " + unknown.get() + " unknown, " + notApplied.get() + " not applied";
    }

    /** Answers that were neither 200 nor 503 nor unreachable (a 4xx or 5xx would be a server bug). */
    public List<String> anomalies() {
        return List.copyOf(anomalies);
    }

    /** Every key written, with the value it must have if every write was acknowledged. */
    public Map<String, String> expectedIfAllAcknowledged() {
        Map<String, String> m = new TreeMap<>();
        for (List<Op> ops : history) {
            synchronized (ops) {
                for (Op op : ops) {
                    if (op.outcome() != Outcome.ACKED) throw new IllegalStateException("not acknowledged: " + op);
                    m.put(op.key(), op.returned());
                }
            }
        }
        return m;
    }

    /** The result of {@link #check}: what was read, and every way it contradicts the answers given. */
    public record Check(Map<String, String> observed, List<String> violations, int keysRead) {}

    /**
     * Reads every key written (through {@code threads} clients, each read retried until it is
     * answered 200 or 404 or {@code readTimeout} passes) and compares it with the answers the
     * writers got. Call after {@link #stop()}.
     */
    public Check check(Supplier<RaftKvClient> readers, int threads, Duration readTimeout) {
        Map<String, List<Op>> byKey = new LinkedHashMap<>();
        for (List<Op> ops : history) {
            synchronized (ops) {
                for (Op op : ops) byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
            }
        }
        List<String> keys = new ArrayList<>(byKey.keySet());
        Map<String, String> observed = new ConcurrentHashMap<>();
        List<String> violations = new CopyOnWriteArrayList<>();
        try (ExecutorService readPool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t;
                done.add(readPool.submit(() -> {
                    try (RaftKvClient c = readers.get()) {
                        for (int i = first; i < keys.size(); i += threads) {
                            String key = keys.get(i);
                            String value = read(c, key, readTimeout);
                            if (value != null) observed.put(key, value);
                            violations.addAll(judge(key, byKey.get(key), value));
                        }
                    }
                }));
            }
            for (Future<?> f : done) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while reading", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AssertionError a) throw a;
            throw new AssertionError(e.getCause());
        }
        return new Check(new TreeMap<>(observed), List.copyOf(violations), keys.size());
    }

    /** The key's value, or null if absent; fails if no node answers the read within {@code timeout}. */
    private static String read(RaftKvClient c, String key, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        KvResult r;
        do {
            r = c.get(key);
            if (r.status() == 200) return r.value().orElseThrow();
            if (r.status() == 404) return null;
        } while (System.nanoTime() < deadline);
        throw new AssertionError("read of " + key + " not answered within " + timeout + ": " + r.status() + " " + r.body());
    }

    /** What is wrong with {@code value} (null: absent) as the final value of {@code key} written by {@code ops}. */
    static List<String> judge(String key, List<Op> ops, String value) {
        List<String> out = new ArrayList<>();
        if (ops.getFirst().put()) {
            Op op = ops.getFirst(); // a put key is written once
            if (value == null) {
                if (op.outcome() == Outcome.ACKED) out.add("lost acknowledged put " + key + "=" + op.value());
            } else if (!value.equals(op.value())) {
                out.add(key + " = " + value + ", but the only write put " + op.value() + " (" + op.outcome() + ")");
            } else if (op.outcome() == Outcome.NOT_APPLIED) {
                out.add(key + " = " + value + " although the put was answered 503 retryable (not applied)");
            }
            return out;
        }
        Map<Integer, Op> byToken = new TreeMap<>();
        for (Op op : ops) byToken.put(op.n(), op);
        if (value == null) {
            ops.stream().filter(op -> op.outcome() == Outcome.ACKED).findFirst()
                    .ifPresent(op -> out.add("lost " + key + " entirely; acknowledged append " + op.value()));
            return out;
        }
        Matcher m = TOKEN.matcher(value);
        int end = 0;
        Set<Integer> seen = new HashSet<>();
        while (m.find()) {
            if (m.start() != end) break;
            end = m.end();
            int n = Integer.parseInt(m.group(1));
            Op op = byToken.get(n);
            if (op == null) out.add(key + " holds token <" + n + "> never appended to it: " + value);
            else if (op.outcome() == Outcome.NOT_APPLIED) out.add(key + " holds <" + n + ">, answered 503 retryable: " + value);
            if (!seen.add(n)) out.add(key + " holds <" + n + "> twice (applied twice): " + value);
        }
        if (end != value.length()) out.add(key + " holds something other than append tokens: " + value);
        for (Op op : ops) {
            if (op.outcome() != Outcome.ACKED) continue;
            if (!seen.contains(op.n())) out.add(key + ": acknowledged append " + op.value() + " is missing from " + value);
            // A resent append that was already applied is answered "duplicate" without a value: only presence counts then.
            if (op.returned() != null && !value.startsWith(op.returned())) {
                out.add(key + ": acknowledged append " + op.value() + " returned " + op.returned()
                        + ", which is not a prefix of the final value " + value);
            }
        }
        return out;
    }
}
