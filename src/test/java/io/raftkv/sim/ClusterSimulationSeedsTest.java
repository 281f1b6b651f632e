package io.raftkv.sim;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many seeds of the whole-cluster simulation. Each seed picks a cluster (3 or 5 nodes), network
 * and fault rates, snapshot policy and client load, runs a few simulated seconds of faults, then
 * checks convergence, the final state and the client history; the safety invariants are checked
 * after every event.
 *
 * <ul>
 *   <li>{@code -Draftkv.sim.seeds=N}: run seeds {@code 0..N-1} (default {@value #DEFAULT_SEEDS});
 *       {@code -Draftkv.sim.firstSeed=F} starts at F.</li>
 *   <li>{@code -Draftkv.sim.seed=S}: replay seed S alone, with its full event trace written to
 *       {@code target/sim/seed-S.log}.</li>
 * </ul>
 */
class ClusterSimulationSeedsTest {
    static final int DEFAULT_SEEDS = 5000;
    static final String TEST = "io.raftkv.sim.ClusterSimulationSeedsTest";

    static String replayCommand(long seed) {
        return "./mvnw test -Dtest=" + TEST + " -Draftkv.sim.seed=" + seed;
    }

    @Test
    @DisplayName("every seed keeps the safety invariants, converges, and yields a linearizable history")
    void seeds() throws Exception {
        String one = System.getProperty("raftkv.sim.seed");
        if (one != null) {
            replay(Long.parseLong(one.trim()));
            return;
        }
        long first = Long.getLong("raftkv.sim.firstSeed", 0L);
        int count = Integer.getInteger("raftkv.sim.seeds", DEFAULT_SEEDS);
        long startNs = System.nanoTime();
        List<SimResult> results = runAll(LongStream.range(first, first + count).boxed().toList());
        long wallMs = (System.nanoTime() - startNs) / 1_000_000;
        List<SimResult> failed = results.stream().filter(r -> !r.ok()).sorted(Comparator.comparingLong(SimResult::seed))
                .toList();
        System.out.println(summary(results, wallMs));
        assertThat(results.stream().filter(r -> !r.counters().containsKey("transfers asked")).map(SimResult::seed).toList())
                .as("seeds in which no leadership transfer was asked (thesis §3.10)").isEmpty();
        if (!failed.isEmpty()) {
            SimResult f = failed.getFirst();
            SimResult traced = Simulation.runTraced(f.config(), Path.of("target", "sim", "seed-" + f.seed() + ".log"));
            java.util.Map<String, Long> kinds = new java.util.TreeMap<>();
            for (SimResult r : failed) kinds.merge(failureKind(r.failure()), 1L, Long::sum);
            StringBuilder msg = new StringBuilder().append(failed.size()).append(" of ").append(results.size())
                    .append(" seeds failed: ").append(failed.stream().limit(20).map(r -> Long.toString(r.seed())).toList())
                    .append("\nby kind: ").append(kinds)
                    .append("\nfirst: seed ").append(f.seed()).append(" (").append(f.config().describe()).append(")\n")
                    .append(f.failure()).append("\nlast events:\n").append(traced.traceTail())
                    .append("\nfull trace: target/sim/seed-").append(f.seed()).append(".log")
                    .append("\nreplay: ").append(replayCommand(f.seed())).append(overrides());
            throw new AssertionError(msg.toString());
        }
    }

    @Test
    @DisplayName("a seed replays exactly: same events, same history")
    void aSeedReplaysExactly() {
        for (long seed : new long[]{3, 14, 15}) {
            SimResult a = Simulation.runTraced(SimConfig.forSeed(seed), null);
            SimResult b = Simulation.runTraced(SimConfig.forSeed(seed), null);
            assertThat(b.events()).as("events of seed %d", seed).isEqualTo(a.events());
            assertThat(b.operations()).isEqualTo(a.operations());
            assertThat(b.counters()).isEqualTo(a.counters());
            assertThat(b.traceTail()).isEqualTo(a.traceTail());
        }
    }

    /** The property a failure message names (its text up to the first colon). */
    static String failureKind(String failure) {
        String first = failure.lines().findFirst().orElse("");
        int colon = first.indexOf(':');
        return colon < 0 ? first : first.substring(0, colon);
    }

    private static void replay(long seed) {
        Path log = Path.of("target", "sim", "seed-" + seed + ".log");
        SimResult r = Simulation.runTraced(configFor(seed), log);
        System.out.println(summary(List.of(r), 0) + "\ntrace: " + log.toAbsolutePath());
        assertThat(r.failure()).as("seed %d (%s)%nlast events:%n%s%nreplay: %s", seed, r.config().describe(),
                r.traceTail(), replayCommand(seed) + overrides()).isNull();
    }

    /** Runs the seeds on all cores: each run is single-threaded and depends only on its seed. */
    static List<SimResult> runAll(List<Long> seeds) throws Exception {
        return runAll(seeds.stream().map(ClusterSimulationSeedsTest::configFor).toList(), false);
    }

    /**
     * The seed's config, with the state machine's session limits overridden by
     * {@code -Draftkv.sim.maxSessions=N} and {@code -Draftkv.sim.sessionTtlMs=MS} if given (production's
     * otherwise), to explore session expiry and eviction, and the fault phase lengthened by
     * {@code -Draftkv.sim.faultMs=MS} for deeper runs, and every node on FileStorage (or none) with
     * {@code -Draftkv.sim.fileStorage=true} ({@code false}).
     */
    static SimConfig configFor(long seed) {
        Integer maxSessions = Integer.getInteger("raftkv.sim.maxSessions");
        Long ttl = Long.getLong("raftkv.sim.sessionTtlMs");
        Long faultMs = Long.getLong("raftkv.sim.faultMs");
        String files = System.getProperty("raftkv.sim.fileStorage");
        return SimConfig.forSeed(seed).with(b -> {
            if (files != null) b.fileStorage = Boolean.parseBoolean(files.trim());
            if (maxSessions != null) b.maxSessions = maxSessions;
            if (ttl != null) b.sessionTtlMs = ttl;
            if (faultMs != null) {
                b.faultPhaseMs = faultMs;
                b.clientsStopMs = faultMs + 1000;
                b.settleLimitMs = faultMs + 15_000;
            }
        });
    }

    /** The options besides the seed that shape a run, to repeat them in a replay command. */
    static String overrides() {
        StringBuilder s = new StringBuilder();
        for (String p : List.of("raftkv.sim.maxSessions", "raftkv.sim.sessionTtlMs", "raftkv.sim.faultMs",
                "raftkv.sim.fileStorage")) {
            if (System.getProperty(p) != null) s.append(" -D").append(p).append('=').append(System.getProperty(p));
        }
        return s.toString();
    }

    static List<SimResult> runAll(List<SimConfig> configs, boolean stopAtFirstFailure) throws Exception {
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        // FileStorage logs each torn tail it cuts off: hundreds of lines over many seeds, which the
        // summary counts instead. A single seed's replay keeps them.
        ch.qos.logback.classic.Logger storageLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger("io.raftkv.storage");
        ch.qos.logback.classic.Level storageLevel = storageLog.getLevel();
        storageLog.setLevel(ch.qos.logback.classic.Level.ERROR);
        try {
            List<Future<SimResult>> futures = new ArrayList<>();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            for (SimConfig c : configs) {
                futures.add(pool.submit(() -> {
                    if (stop.get()) return null;
                    SimResult r = Simulation.run(c);
                    if (!r.ok() && stopAtFirstFailure) stop.set(true);
                    return r;
                }));
            }
            List<SimResult> out = new ArrayList<>();
            for (Future<SimResult> f : futures) {
                SimResult r = f.get();
                if (r != null) out.add(r);
            }
            return out;
        } finally {
            pool.shutdownNow();
            storageLog.setLevel(storageLevel);
        }
    }

    static String summary(List<SimResult> results, long wallMs) {
        long ops = results.stream().mapToLong(SimResult::operations).sum();
        long unknown = results.stream().mapToLong(SimResult::unknown).sum();
        long events = results.stream().mapToLong(SimResult::events).sum();
        long crashes = results.stream().mapToLong(SimResult::crashes).sum();
        long partitions = results.stream().mapToLong(SimResult::partitions).sum();
        long msgs = results.stream().mapToLong(SimResult::raftMessages).sum();
        long dropped = results.stream().mapToLong(SimResult::raftDropped).sum();
        long checks = results.stream().mapToLong(SimResult::invariantChecks).sum();
        long simMs = results.stream().mapToLong(SimResult::simulatedMs).sum();
        long linChecked = results.stream().filter(r -> r.linearizability() != LinearizabilityGate.Verdict.NOT_CHECKED)
                .count();
        long linUnknown = results.stream().filter(r -> r.linearizability() == LinearizabilityGate.Verdict.UNKNOWN).count();
        long failed = results.stream().filter(r -> !r.ok()).count();
        long onFiles = results.stream().filter(r -> r.config() != null && r.config().fileStorage()).count();
        java.util.TreeMap<String, long[]> counters = new java.util.TreeMap<>();
        for (SimResult r : results) {
            r.counters().forEach((k, v) -> {
                long[] c = counters.computeIfAbsent(k, x -> new long[2]);
                c[0] += v;
                c[1]++;
            });
        }
        StringBuilder coverage = new StringBuilder();
        counters.forEach((k, c) -> coverage.append("\n  ").append(k).append(": ").append(c[0]).append(" in ").append(c[1])
                .append(" seeds"));
        return String.format("simulation: %d seeds (%d failed) in %d ms wall; %d simulated s; %d events; %d client"
                        + " operations (%d unknown outcome); %d crashes; %d partitions; %d Raft messages (%d lost);"
                        + " %d invariant checks; linearizability checked on %d histories (%d undecided);"
                        + " %d seeds on FileStorage over a simulated disk",
                results.size(), failed, wallMs, simMs / 1000, events, ops, unknown, crashes, partitions, msgs, dropped,
                checks, linChecked, linUnknown, onFiles) + coverage;
    }
}
