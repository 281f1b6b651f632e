package io.raftkv.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Concurrent closed-loop clients, one session and one thread each, shaped so the final state can
 * be checked (see {@link AcknowledgedWritesCheck}): client {@code c} owns its keys and is their only
 * writer. It writes {@value #WRITES_PER_KEY} times to one key, then moves on to a new one, so values
 * stay short; every fourth key is a register ({@code r<c>.<j>}, puts), the others are append keys
 * ({@code a<c>.<j>}, appends of unique tokens {@code c<c>.<n>;}). A share of the operations are gets
 * of the key another client (or this one) writes now, so reads race with writes.
 *
 * <p>Besides, {@value #COMPARE_SHARE} of the operations go to {@value #SHARED_KEYS} keys that every
 * client shares ({@code x0}, {@code x1}, ...): gets, puts, deletes, compare-and-swaps and one-key
 * transactions, each compare expecting the value its client last saw there, so clients race to
 * swap. Only the linearizability checker judges these keys (the final-state check needs one writer
 * per key), so they are not among {@link #keys()}.
 */
final class Workload {
    static final int WRITES_PER_KEY = 40;
    private static final double GET_SHARE = 0.3;
    private static final double COMPARE_SHARE = 0.15;
    private static final int SHARED_KEYS = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<HostPort> nodes;
    private final int clients;
    private final long seed;
    private final Duration timeout;
    private final Duration attemptTimeout;
    private final HistoryFile history;
    private final long startNs;
    private final AtomicReferenceArray<String> currentKey;
    private final Set<String> keys = ConcurrentHashMap.newKeySet();
    private final LongAdder ok = new LongAdder();
    private final LongAdder unknown = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopped;

    /**
     * @param startNs the run's time origin: history times are {@code System.nanoTime() - startNs}
     */
    Workload(List<HostPort> nodes, int clients, long seed, Duration timeout, Duration attemptTimeout, HistoryFile history,
             long startNs, javax.net.ssl.SSLContext tls) {
        this.tls = tls;
        this.attemptTimeout = attemptTimeout;
        this.nodes = List.copyOf(nodes);
        this.clients = clients;
        this.seed = seed;
        this.timeout = timeout;
        this.history = history;
        this.startNs = startNs;
        this.currentKey = new AtomicReferenceArray<>(clients);
    }

    /** TLS for the clients, or null for plain HTTP. */
    private final javax.net.ssl.SSLContext tls;

    void start() {
        for (int c = 0; c < clients; c++) {
            int id = c;
            threads.add(Thread.ofVirtual().name("chaos-client-" + c).start(() -> runClient(id)));
        }
    }

    /** Asks every client to stop after its current operation. */
    void stop() {
        stopped = true;
    }

    /** Waits for the clients to finish their current operation; false if some did not in time. */
    boolean awaitStopped(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !t.join(Duration.ofNanos(left))) return false;
        }
        return true;
    }

    private void runClient(int c) {
        SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + c);
        // Spread the clients' first node, as real clients would; each then follows the leader.
        List<HostPort> order = new ArrayList<>(nodes);
        Collections.rotate(order, -(c % nodes.size()));
        try (RaftKvClient client = new RaftKvClient(order, timeout, true, attemptTimeout, null, tls)) {
            int keyNo = 0;
            int writesOnKey = 0;
            long writeNo = 0;
            currentKey.set(c, key(c, keyNo));
            keys.add(key(c, keyNo));
            Map<String, Optional<String>> lastSeen = new java.util.HashMap<>();
            while (!stopped) {
                if (rnd.nextDouble() < COMPARE_SHARE) {
                    writeNo++;
                    // a new set of shared keys every second keeps each key's history small for the checker
                    String key = "x" + now() / 1_000_000_000L + "." + rnd.nextInt(SHARED_KEYS);
                    shared(client, c, rnd, key, "x" + c + "." + writeNo, lastSeen);
                    continue;
                }
                if (rnd.nextDouble() < GET_SHARE) {
                    get(client, c, currentKey.get(rnd.nextInt(clients)));
                    continue;
                }
                if (writesOnKey == WRITES_PER_KEY) {
                    keyNo++;
                    writesOnKey = 0;
                    keys.add(key(c, keyNo));
                    currentKey.set(c, key(c, keyNo));
                }
                String key = key(c, keyNo);
                writeNo++;
                writesOnKey++;
                if (isRegister(keyNo)) {
                    write(client, c, Op.Kind.PUT, key, "c" + c + "." + writeNo);
                } else {
                    write(client, c, Op.Kind.APPEND, key, "c" + c + "." + writeNo + AcknowledgedWritesCheck.TOKEN_END);
                }
            }
        }
    }

    private static boolean isRegister(int keyNo) {
        return keyNo % 4 == 3;
    }

    private static String key(int client, int keyNo) {
        return (isRegister(keyNo) ? "r" : "a") + client + "." + keyNo;
    }

    private void get(RaftKvClient client, int c, String key) {
        if (key == null) return;
        long call = now();
        KvResult r = client.get(key);
        long ret = now();
        boolean known = r.ok() || r.notFound();
        record(r, new Op(c, Op.Kind.GET, key, Optional.empty(), r.ok() ? r.value() : Optional.empty(), call, ret, known,
                OptionalLong.empty()));
    }

    private void write(RaftKvClient client, int c, Op.Kind kind, String key, String value) {
        long call = now();
        KvResult r = kind == Op.Kind.PUT ? client.put(key, value) : client.append(key, value);
        long ret = now();
        // A retry answered from the session table ("duplicate") reports no value and no term.
        OptionalLong term = r.ok() && r.body().has("term") ? OptionalLong.of(r.body().get("term").asLong()) : OptionalLong.empty();
        record(r, new Op(c, kind, key, Optional.of(value), r.ok() ? r.value() : Optional.empty(), call, ret, r.ok(), term));
    }

    /** One operation on a shared key; {@code lastSeen} is what this client last saw on each. */
    private void shared(RaftKvClient client, int c, SplittableRandom rnd, String key, String value,
                        Map<String, Optional<String>> lastSeen) {
        Optional<String> expected = rnd.nextInt(5) == 0 ? Optional.empty() : lastSeen.getOrDefault(key, Optional.empty());
        long call = now();
        switch (rnd.nextInt(5)) {
            case 0 -> {
                KvResult r = client.get(key);
                long ret = now();
                if (r.ok() || r.notFound()) lastSeen.put(key, r.ok() ? r.value() : Optional.empty());
                record(r, new Op(c, Op.Kind.GET, key, Optional.empty(), r.ok() ? r.value() : Optional.empty(), call, ret,
                        r.ok() || r.notFound(), OptionalLong.empty()));
            }
            case 1 -> {
                KvResult r = client.put(key, value);
                long ret = now();
                if (r.ok()) lastSeen.put(key, Optional.of(value));
                record(r, new Op(c, Op.Kind.PUT, key, Optional.of(value), Optional.empty(), call, ret, r.ok(),
                        OptionalLong.empty()));
            }
            case 2 -> {
                KvResult r = client.delete(key);
                long ret = now();
                boolean known = r.ok() && r.body().has("deleted");
                if (known) lastSeen.put(key, Optional.empty());
                record(r, new Op(c, Op.Kind.DELETE, key, Optional.empty(),
                        known ? Optional.of(r.body().get("deleted").asText()) : Optional.empty(), call, ret, known,
                        OptionalLong.empty()));
            }
            default -> {
                boolean cas = rnd.nextBoolean();
                Optional<String> written = cas || rnd.nextInt(4) != 0 ? Optional.of(value) : Optional.empty();
                KvResult r = cas ? client.cas(key, expected, value) : client.txn(oneKeyTxn(key, expected, written));
                long ret = now();
                boolean known = r.ok() && r.body().has("succeeded");
                Optional<Boolean> succeeded = known ? Optional.of(r.body().get("succeeded").asBoolean()) : Optional.empty();
                Optional<String> reported = Optional.empty();
                if (known && !succeeded.get()) {
                    com.fasterxml.jackson.databind.JsonNode now = cas ? r.body().get("current")
                            : r.body().path("results").path(0);
                    if (now != null && now.hasNonNull("value")) reported = Optional.of(now.get("value").asText());
                }
                if (known) lastSeen.put(key, succeeded.get() ? written : reported);
                record(r, new Op(c, cas ? Op.Kind.CAS : Op.Kind.TXN, key, written, reported, call, ret, known,
                        OptionalLong.empty(), expected, succeeded));
            }
        }
    }

    /** If {@code key} is {@code expected} (empty: absent), put {@code value} (empty: delete it), else get it. */
    private static ObjectNode oneKeyTxn(String key, Optional<String> expected, Optional<String> value) {
        ObjectNode t = JSON.createObjectNode();
        ObjectNode cmp = t.putArray("compare").addObject().put("key", key);
        expected.ifPresentOrElse(v -> cmp.put("target", "value").put("op", "==").put("operand", v),
                () -> cmp.put("target", "exists").put("op", "==").put("operand", false));
        ObjectNode ok = t.putArray("success").addObject().put("key", key);
        value.ifPresentOrElse(v -> ok.put("op", "put").put("value", v), () -> ok.put("op", "delete"));
        t.putArray("failure").addObject().put("op", "get").put("key", key);
        return t;
    }

    private void record(KvResult r, Op op) {
        history.add(op);
        if (op.ok()) {
            ok.increment();
        } else {
            unknown.increment();
            errors.computeIfAbsent(errorKind(r), k -> new LongAdder()).increment();
        }
    }

    private static String errorKind(KvResult r) {
        if (r.status() != 0) return "HTTP " + r.status();
        String e = r.error().orElse("");
        if (e.contains("timed out") || e.contains("timeout")) return "timeout";
        if (e.contains("cannot connect")) return "refused";
        return "no answer";
    }

    private long now() {
        return System.nanoTime() - startNs;
    }

    long okCount() {
        return ok.sum();
    }

    long unknownCount() {
        return unknown.sum();
    }

    /** Unknown outcomes by cause so far, e.g. {@code {HTTP 503=4, timeout=2}}. */
    Map<String, Long> errorCounts() {
        Map<String, Long> m = new TreeMap<>();
        errors.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    /** Every key a client wrote or was about to write. */
    Set<String> keys() {
        return Set.copyOf(keys);
    }
}
