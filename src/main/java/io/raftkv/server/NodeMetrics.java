package io.raftkv.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.raftkv.node.RuntimeCounters;
import io.raftkv.raft.FollowerProgress;
import io.raftkv.raft.Role;
import io.raftkv.raft.RoleChange;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * A node's metrics, in a Micrometer registry that {@code GET /metrics} renders in the Prometheus
 * text format (or OpenMetrics, on request). Names follow Prometheus' conventions: the
 * {@code raftkv_} prefix, base units ({@code _seconds}, {@code _bytes}), {@code _total} on counters.
 *
 * <p>What it costs the hot path: a request, a fsync, an AppendEntries answer each record one
 * timer sample (lock-free adders and a fixed set of buckets, no allocation once the meter exists);
 * the Raft core and runtime only bump plain {@code long} fields on their thread
 * ({@link RuntimeCounters}), which the node publishes with its status after each loop iteration.
 * Everything else (the role, term, indexes, sizes, each follower's lag) is read from the latest
 * {@link StatusSnapshot} when Prometheus scrapes, and the scrape runs on a thread of its own, never
 * on the node's event loop.
 *
 * <p>{@link #disabled()} (a node started with {@code --no-metrics}) records nothing and has no
 * registry: every recording method returns at its first line.
 */
final class NodeMetrics implements AutoCloseable {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPENMETRICS_TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /** Client request latency buckets: from a fast local read to the default 5 s request timeout. */
    private static final Duration[] REQUEST_BUCKETS = millis(0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000);
    /** fsync: 0.1 ms (a fast SSD) to a second (a disk in trouble). */
    private static final Duration[] FSYNC_BUCKETS = millis(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000);
    private static final Duration[] ROUND_TRIP_BUCKETS = millis(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000);
    private static final Duration[] SNAPSHOT_BUCKETS = millis(1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 30000, 60000);
    /** Group commit and ReadIndex batching: powers of two. */
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

    /** The client API's operations, by path (peer RPCs are not client requests). */
    private static final List<String> CLIENT_PATHS = List.of("/put", "/append", "/get", "/delete", "/cas", "/txn",
            "/range", "/watch", "/status", "/metrics", "/session", "/transfer-leader", "/members", "/members/add",
            "/members/promote", "/members/remove", "/lease", "/lease/grant", "/lease/keepalive", "/lease/revoke");

    /** The operations on keys and leases: what a client of the store does (not status, metrics, watch or admin). */
    private static final java.util.Set<String> KEY_VALUE_OPS = java.util.Set.of("put", "append", "get", "delete", "cas",
            "txn", "range", "session", "lease", "lease_grant", "lease_keepalive", "lease_revoke");

    private final PrometheusMeterRegistry registry;
    private final Map<String, RequestMeter> requestMeters;
    /** The same operations when another node forwarded them here (answered to that node, not to a client). */
    private final Map<String, RequestMeter> forwardedMeters;
    /** A request to a path that does not exist. */
    private final RequestMeter unknownPath;
    private final Map<Integer, Timer> roundTrips = new ConcurrentHashMap<>();
    /**
     * What the gauges read. Micrometer holds a gauge's object weakly, so these fields keep them
     * reachable for as long as the node lives (a lambda only the registry knew was collected, and
     * its gauge read NaN).
     */
    private final Supplier<StatusSnapshot> status;
    private final Supplier<RuntimeCounters> counters;
    private final IntSupplier sessions;
    private IntSupplier openConnections;
    private final MultiGauge followerLag;
    private final Counter electionsStarted;
    private final Counter preVotesStarted;
    private final Counter electionsWon;
    private final Counter snapshotsTaken;
    private final Counter snapshotsInstalled;
    private final Timer snapshotDuration;
    private final Timer fsyncDuration;
    private final DistributionSummary entriesPerFsync;
    private final DistributionSummary readsPerRound;
    private final Counter forwardAnswered;
    private final Counter forwardNotSent;
    private final Counter forwardTimedOut;
    private final Counter forwardLost;
    private final JvmGcMetrics gcMetrics;
    /** Scrapes run here, off the node's event loop. */
    private final ExecutorService scraper;

    /** A node with metrics off. */
    static NodeMetrics disabled() {
        return new NodeMetrics();
    }

    private NodeMetrics() {
        registry = null;
        requestMeters = Map.of();
        forwardedMeters = Map.of();
        unknownPath = null;
        status = null;
        counters = null;
        sessions = null;
        followerLag = null;
        electionsStarted = preVotesStarted = electionsWon = snapshotsTaken = snapshotsInstalled = null;
        forwardAnswered = forwardNotSent = forwardTimedOut = forwardLost = null;
        snapshotDuration = fsyncDuration = null;
        entriesPerFsync = readsPerRound = null;
        gcMetrics = null;
        scraper = null;
    }

    /**
     * The metrics of node {@code nodeId}: gauges read {@code status}, {@code counters} and
     * {@code sessions} (each cheap and safe to call from any thread) when scraped.
     */
    static NodeMetrics create(int nodeId, Supplier<StatusSnapshot> status, Supplier<RuntimeCounters> counters,
                              IntSupplier sessions) {
        return new NodeMetrics(nodeId, status, counters, sessions);
    }

    private NodeMetrics(int nodeId, Supplier<StatusSnapshot> status, Supplier<RuntimeCounters> counters,
                        IntSupplier sessions) {
        this.status = status;
        this.counters = counters;
        this.sessions = sessions;
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags("node", Integer.toString(nodeId));

        // --- Raft state, read from the latest status at scrape time
        for (Role r : Role.values()) {
            String label = r.label();
            gauge("raftkv.role", "1 for the role this node has now, 0 for the others", Tags.of("role", label), null,
                    s -> s.role().equals(label) ? 1 : 0);
        }
        gauge("raftkv.term", "Current Raft term", Tags.empty(), null, StatusSnapshot::term);
        gauge("raftkv.leader.id", "Id of the leader this node knows of (-1: none)", Tags.empty(), null, StatusSnapshot::leaderId);
        gauge("raftkv.commit.index", "Highest log index known committed", Tags.empty(), null, StatusSnapshot::commitIndex);
        gauge("raftkv.applied.index", "Highest log index applied to the state machine", Tags.empty(), null,
                StatusSnapshot::appliedIndex);
        gauge("raftkv.last.log.index", "Index of the last entry in this node's log", Tags.empty(), null,
                StatusSnapshot::lastLogIndex);
        gauge("raftkv.first.log.index", "Index of the first entry still in the log (earlier ones are in the snapshot)",
                Tags.empty(), null, StatusSnapshot::firstLogIndex);
        gauge("raftkv.keys", "Keys in the state machine", Tags.empty(), null, StatusSnapshot::keys);
        gauge("raftkv.wal.size", "Bytes of the write-ahead log on disk", Tags.empty(), "bytes", s -> s.storage().walBytes());
        gauge("raftkv.snapshot.size", "Bytes of the newest snapshot on disk", Tags.empty(), "bytes",
                s -> s.storage().snapshotBytes());
        gauge("raftkv.snapshot.index", "Last log index the newest snapshot covers", Tags.empty(), null,
                s -> s.storage().snapshotIndex());
        FunctionCounter.builder("raftkv.wal.entries.written", status, s -> s.get().storage().entriesWritten())
                .description("Log entries written to the write-ahead log").register(registry);
        FunctionCounter.builder("raftkv.wal.fsyncs", status, s -> s.get().storage().fsyncs())
                .description("fsyncs of the write-ahead log").register(registry);
        this.followerLag = MultiGauge.builder("raftkv.follower.match.lag").baseUnit("entries")
                .description("Leader only: entries of the leader's log a follower has not acknowledged (last index - match index)")
                .register(registry);

        // --- counted by the runtime on its thread, published with the status
        counter("raftkv.proposals.received", "Client writes appended to the log by this node as leader", counters,
                RuntimeCounters::proposalsReceived);
        counter("raftkv.proposals.committed", "Client writes applied as proposed", counters,
                RuntimeCounters::proposalsCommitted);
        counter("raftkv.proposals.failed", "Client writes appended here that did not apply as proposed (leadership lost,"
                + " index taken by another leader's entry, node stopped)", counters, RuntimeCounters::proposalsFailed);
        Gauge.builder("raftkv.proposals.pending", counters, c -> c.get().proposalsPending())
                .description("Client writes appended here, waiting to apply").register(registry);
        counter("raftkv.leader.changes", "Times this node learned of a new leader", counters, RuntimeCounters::leaderChanges);
        counter("raftkv.read.index.rounds", "ReadIndex heartbeat rounds started as leader", counters,
                RuntimeCounters::readRounds);
        counter("raftkv.read.index.reads", "Linearizable reads confirmed by ReadIndex rounds", counters,
                RuntimeCounters::readsInRounds);
        Gauge.builder("raftkv.sessions", sessions, IntSupplier::getAsInt)
                .description("Client sessions in the state machine").register(registry);

        // --- recorded where they happen
        this.electionsStarted = Counter.builder("raftkv.elections.started")
                .description("Elections this node started (became candidate)").register(registry);
        this.preVotesStarted = Counter.builder("raftkv.pre.votes.started")
                .description("Pre-vote rounds this node started (became pre-candidate)").register(registry);
        this.electionsWon = Counter.builder("raftkv.elections.won").description("Elections this node won").register(registry);
        this.snapshotsTaken = Counter.builder("raftkv.snapshots.taken")
                .description("Snapshots of this node's own state written").register(registry);
        this.snapshotsInstalled = Counter.builder("raftkv.snapshots.installed")
                .description("Snapshots received from the leader and installed").register(registry);
        this.snapshotDuration = Timer.builder("raftkv.snapshot.duration")
                .description("Time to capture, encode and write a snapshot").serviceLevelObjectives(SNAPSHOT_BUCKETS)
                .register(registry);
        this.fsyncDuration = Timer.builder("raftkv.wal.fsync.duration").description("Duration of one fsync of the log")
                .serviceLevelObjectives(FSYNC_BUCKETS).register(registry);
        this.entriesPerFsync = DistributionSummary.builder("raftkv.wal.entries.per.fsync")
                .description("Entries one fsync made durable (group commit)").serviceLevelObjectives(BATCH_BUCKETS)
                .register(registry);
        this.readsPerRound = DistributionSummary.builder("raftkv.read.index.reads.per.round")
                .description("Linearizable reads confirmed by one ReadIndex round").serviceLevelObjectives(BATCH_BUCKETS)
                .register(registry);
        this.forwardAnswered = forwardCounter("answered");
        this.forwardNotSent = forwardCounter("not_sent");
        this.forwardTimedOut = forwardCounter("timed_out");
        this.forwardLost = forwardCounter("lost");
        Map<String, RequestMeter> meters = new java.util.HashMap<>();
        Map<String, RequestMeter> forwarded = new java.util.HashMap<>();
        for (String path : CLIENT_PATHS) {
            meters.put(path, new RequestMeter(registry, RequestMeter.CLIENT, opName(path)));
            forwarded.put(path, new RequestMeter(registry, RequestMeter.FORWARDED, opName(path)));
        }
        this.requestMeters = Map.copyOf(meters);
        this.forwardedMeters = Map.copyOf(forwarded);
        this.unknownPath = new RequestMeter(registry, RequestMeter.CLIENT, "unknown");

        // --- the JVM
        new JvmMemoryMetrics().bindTo(registry);
        this.gcMetrics = new JvmGcMetrics();
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);

        this.scraper = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("raft-metrics-" + nodeId).unstarted(r));
    }

    boolean enabled() {
        return registry != null;
    }

    /** Open HTTP connections (clients and peers), counted by the HTTP server. */
    void bindOpenConnections(IntSupplier connections) {
        if (registry == null) return;
        this.openConnections = connections;
        Gauge.builder("raftkv.http.open.connections", connections, IntSupplier::getAsInt)
                .description("Open HTTP connections to this node (clients and peers)").register(registry);
    }

    // ---------------------------------------------------------------- recording

    /**
     * The meter of requests to {@code path} (null with metrics off: record nothing); of those
     * another node {@code forwarded} here in their own meter, so that the client requests summed
     * over the nodes count each request once, where the client sent it.
     */
    RequestMeter request(String path, boolean forwarded) {
        if (registry == null) return null;
        RequestMeter m = (forwarded ? forwardedMeters : requestMeters).get(path);
        return m != null ? m : unknownPath;
    }

    void roleChanged(RoleChange change) {
        if (registry == null) return;
        switch (change.to()) {
            case PRE_CANDIDATE -> preVotesStarted.increment();
            case CANDIDATE -> electionsStarted.increment();
            case LEADER -> electionsWon.increment();
            case FOLLOWER -> { }
        }
    }

    void snapshotTaken(long totalNs) {
        if (registry == null) return;
        snapshotsTaken.increment();
        snapshotDuration.record(totalNs, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    void snapshotInstalled() {
        if (registry == null) return;
        snapshotsInstalled.increment();
    }

    void synced(int entries, long bytes, long durationNs) {
        if (registry == null) return;
        fsyncDuration.record(durationNs, java.util.concurrent.TimeUnit.NANOSECONDS);
        entriesPerFsync.record(entries);
    }

    void readRoundStarted(int reads) {
        if (registry == null) return;
        readsPerRound.record(reads);
    }

    void appendEntriesRoundTrip(int peer, long nanos) {
        if (registry == null) return;
        Timer t = roundTrips.get(peer);
        if (t == null) {
            t = roundTrips.computeIfAbsent(peer, p -> Timer.builder("raftkv.append.entries.round.trip")
                    .description("From sending an AppendEntries to a follower to its answer (its log write included)")
                    .tag("follower", Integer.toString(p)).serviceLevelObjectives(ROUND_TRIP_BUCKETS).register(registry));
        }
        t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /** How a request forwarded to the leader ended (see {@link Forwarder.Result}). */
    /** A peer request refused, by why: other-cluster, no-cluster-id, no-node-certificate. */
    void peerRefused(String reason) {
        if (registry == null) return;
        Counter.builder("raftkv.peer.messages.refused").description("Peer requests refused before they were read")
                .tag("reason", reason).register(registry).increment();
    }

    void forwarded(Forwarder.Result result) {
        if (registry == null) return;
        switch (result) {
            case Forwarder.Result.Answered a -> forwardAnswered.increment();
            case Forwarder.Result.NotSent n -> forwardNotSent.increment();
            case Forwarder.Result.TimedOut t -> forwardTimedOut.increment();
            case Forwarder.Result.Lost l -> forwardLost.increment();
        }
    }

    /**
     * The timers of client key-value requests (every operation that reads or writes keys, every
     * status), for the web view's rate and p99; none with metrics off. Read off the node's thread.
     */
    List<Timer> keyValueRequestTimers() {
        if (registry == null) return List.of();
        return registry.find("raftkv.client.requests").timers().stream()
                .filter(t -> KEY_VALUE_OPS.contains(t.getId().getTag("op"))).toList();
    }

    // ---------------------------------------------------------------- scraping

    /** A rendered scrape: the body and its content type. */
    record Scrape(String contentType, byte[] body) {}

    /**
     * Renders every metric on the scrape thread: OpenMetrics if {@code accept} asks for it, else the
     * Prometheus text format 0.0.4.
     */
    CompletableFuture<Scrape> scrape(String accept) {
        if (registry == null) return CompletableFuture.failedFuture(new IllegalStateException("metrics are off"));
        String type = accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS_TEXT : PROMETHEUS_TEXT;
        return CompletableFuture.supplyAsync(() -> {
            refreshFollowers();
            return new Scrape(type, registry.scrape(type).getBytes(StandardCharsets.UTF_8));
        }, scraper);
    }

    /** Each follower's lag as the leader sees it now; none when this node does not lead. */
    private void refreshFollowers() {
        StatusSnapshot s = status.get();
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (FollowerProgress f : s.followers()) {
            rows.add(MultiGauge.Row.of(Tags.of("follower", Integer.toString(f.id())),
                    Math.max(0, s.lastLogIndex() - f.matchIndex())));
        }
        followerLag.register(rows, true);
    }

    @Override
    public void close() {
        if (registry == null) return;
        scraper.shutdownNow();
        gcMetrics.close();
        registry.close();
    }

    // ---------------------------------------------------------------- helpers

    private void gauge(String name, String help, Tags tags, String baseUnit, ToDoubleFunction<StatusSnapshot> f) {
        Gauge.builder(name, status, s -> f.applyAsDouble(s.get())).description(help).tags(tags).baseUnit(baseUnit)
                .register(registry);
    }

    private void counter(String name, String help, Supplier<RuntimeCounters> counters,
                         java.util.function.ToLongFunction<RuntimeCounters> f) {
        FunctionCounter.builder(name, counters, c -> f.applyAsLong(c.get())).description(help).register(registry);
    }

    private Counter forwardCounter(String result) {
        return Counter.builder("raftkv.forwarded.requests").tag("result", result)
                .description("Client requests this node forwarded to the leader, by how they ended").register(registry);
    }

    /** {@code /members/add} -> {@code members_add}: a label value without slashes or dashes. */
    static String opName(String path) {
        return path.substring(1).replace('/', '_').replace('-', '_');
    }

    private static Duration[] millis(double... ms) {
        Duration[] out = new Duration[ms.length];
        for (int i = 0; i < ms.length; i++) out[i] = Duration.ofNanos((long) (ms[i] * 1_000_000));
        return out;
    }

    /**
     * The requests of one operation, by HTTP status: {@code raftkv_client_requests_seconds} with the
     * labels {@code op} and {@code status}. The timer of each status is registered on its first
     * use and then read from an array: no lookup or allocation per request.
     */
    static final class RequestMeter {
        /** A timer's name and description. */
        record Family(String name, String description) {}

        /** {@code raftkv_client_requests_seconds}: requests from clients. */
        static final Family CLIENT = new Family("raftkv.client.requests",
                "Client requests answered by this node, by operation and HTTP status (not those another node"
                        + " forwarded here: raftkv_received_forwarded_requests_seconds)");
        /** {@code raftkv_received_forwarded_requests_seconds}: requests another node forwarded here. */
        static final Family FORWARDED = new Family("raftkv.received.forwarded.requests",
                "Requests another node forwarded to this one (its client's request, answered to that node),"
                        + " by operation and HTTP status");

        private final PrometheusMeterRegistry registry;
        private final Family family;
        private final String op;
        /** By status code - 100 (a benign race: registering twice returns the same timer). */
        private final Timer[] byStatus = new Timer[500];

        private RequestMeter(PrometheusMeterRegistry registry, Family family, String op) {
            this.registry = registry;
            this.family = family;
            this.op = op;
        }

        void record(int status, long nanos) {
            int i = status - 100;
            if (i < 0 || i >= byStatus.length) return;
            Timer t = byStatus[i];
            if (t == null) {
                t = Timer.builder(family.name())
                        .description(family.description())
                        .tags("op", op, "status", Integer.toString(status))
                        .serviceLevelObjectives(REQUEST_BUCKETS).register(registry);
                byStatus[i] = t;
            }
            t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }
}
