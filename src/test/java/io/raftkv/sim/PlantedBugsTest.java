package io.raftkv.sim;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.raftkv.mutation.MutantLoader;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The simulation has teeth: with a known bug planted, it fails on at least one of a fixed set of
 * seeds. The persist-before-send contract check is switched off here, so what catches a bug is
 * always a property a user would see broken (two leaders, a lost commit, a stale read, a write
 * applied twice), not the driver checking its own rule.
 *
 * <p>Each bug runs under the fault profile that gives it its chance (see {@link #profile}); all
 * of them are legal deployments and fault mixes the default seeds also draw from.
 *
 * <p>Replay one: {@code ./mvnw test -Dtest=io.raftkv.sim.PlantedBugsTest -Draftkv.sim.bug=BUG
 * -Draftkv.sim.seed=S} (trace in {@code target/sim/BUG-seed-S.log}).
 */
class PlantedBugsTest {
    static final Integer SEEDS = Integer.getInteger("raftkv.sim.bugSeeds");

    /** Seeds per bug (or -Draftkv.sim.bugSeeds): enough for each to be caught many times over. */
    static int seeds(PlantedBug bug) {
        if (SEEDS != null) return SEEDS;
        return switch (bug) {
            // Caught on almost every seed; their profiles are long (5 nodes, 10 s of faults) or fail fast.
            case RUNTIME_SERVES_UNCONFIRMED_READS, RUNTIME_SKIPS_WRITES -> 100;
            default -> 1000;
        };
    }

    /** The seed's config with {@code bug} planted, under the profile where it can show. */
    static SimConfig profile(PlantedBug bug, long seed) {
        return SimConfig.forSeed(seed).with(b -> {
            b.bugs = EnumSet.of(bug);
            b.checkSendContract = false;
            switch (bug) {
                case RUNTIME_SERVES_UNCONFIRMED_READS -> {
                    // A deposed leader is only caught serving stale reads if a new leader acknowledges
                    // writes meanwhile: clients that each know one node (whose node forwards) and give
                    // up quickly keep traffic flowing to both sides of a partition.
                    b.nodes = 5;
                    b.clients = 5;
                    b.singleNodeClientRate = 1.0;
                    b.clientTimeoutMs = 300;
                    b.faultPhaseMs = 10_000;
                }
                case SEND_BEFORE_PERSIST, RUNTIME_SENDS_BEFORE_PERSIST -> {
                    // Power loss in the fsync window, where the bug has already let messages out.
                    b.maxFsyncMs = 5;
                    b.crashInFsyncRate = 0.02;
                }
                case DISK_IGNORES_FSYNC -> {
                    // Every node on FileStorage, and crashes that land inside writes.
                    b.fileStorage = true;
                    b.maxFsyncMs = 5;
                    b.crashInFsyncRate = 0.01;
                }
                case RETRY_WITHOUT_SESSIONS -> { }
                case RUNTIME_SKIPS_WRITES -> { }
            }
            b.clientsStopMs = b.faultPhaseMs + 1000;
            b.settleLimitMs = b.faultPhaseMs + 15_000;
        });
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(PlantedBug.class)
    void theSimulationCatchesThePlantedBug(PlantedBug bug) throws Exception {
        String only = System.getProperty("raftkv.sim.bug");
        String seed = System.getProperty("raftkv.sim.seed");
        if (only != null && !only.equals(bug.name())) return;
        if (only != null && seed != null) {
            Path log = Path.of("target", "sim", bug + "-seed-" + seed + ".log");
            String report = bug.mutant().isPresent()
                    ? (String) inMutantWorld(bug, "replayForLoader", String.class, long.class, String.class)
                            .invoke(null, bug.name(), Long.parseLong(seed), log.toString())
                    : replayForLoader(bug.name(), Long.parseLong(seed), log.toString());
            System.out.println(report);
            return;
        }
        long startNs = System.nanoTime();
        List<SimResult> results = bug.mutant().isPresent() ? runMutant(bug, seeds(bug)) : runSeeds(bug.name(), seeds(bug));
        long wallMs = (System.nanoTime() - startNs) / 1_000_000;
        List<SimResult> failed = results.stream().filter(r -> !r.ok()).sorted(Comparator.comparingLong(SimResult::seed))
                .toList();
        System.out.println(bug + ": caught on " + failed.size() + " of " + results.size() + " seeds in " + wallMs
                + " ms: " + failed.stream().limit(30).map(SimResult::seed).toList());
        java.util.Map<String, List<Long>> byKind = new java.util.TreeMap<>();
        for (SimResult r : failed) {
            byKind.computeIfAbsent(ClusterSimulationSeedsTest.failureKind(r.failure()), k -> new java.util.ArrayList<>())
                    .add(r.seed());
        }
        byKind.forEach((kind, seeds) -> System.out.println("  " + kind + ": " + seeds.size() + " seeds, first "
                + seeds.stream().limit(10).toList()));
        failed.stream().limit(3).forEach(r -> System.out.println("  seed " + r.seed() + ": "
                + r.failure().lines().findFirst().orElse("")));
        assertThat(failed).as("seeds failing with %s planted", bug).isNotEmpty();
    }

    /** Runs {@code seeds} seeds of {@code bug}'s profile; in a mutant's loader it runs against the mutant. */
    public static List<SimResult> runSeeds(String bug, int seeds) throws Exception {
        PlantedBug b = PlantedBug.valueOf(bug);
        return ClusterSimulationSeedsTest.runAll(LongStream.range(0, seeds).mapToObj(s -> profile(b, s)).toList(), false);
    }

    /**
     * The seeds run in a {@link MutantLoader} world where the bug's method is mutated; each result
     * comes back as (seed, failure or null), the only types both worlds share.
     */
    private static List<SimResult> runMutant(PlantedBug bug, int seeds) throws Exception {
        Object[][] rows = (Object[][]) inMutantWorld(bug, "runSeedsForLoader", String.class, int.class)
                .invoke(null, bug.name(), seeds);
        List<SimResult> results = new java.util.ArrayList<>();
        for (Object[] row : rows) results.add(SimResult.of((Long) row[0], (String) row[1]));
        return results;
    }

    /** A method of this test class as loaded in a world where {@code bug}'s method is mutated. */
    private static java.lang.reflect.Method inMutantWorld(PlantedBug bug, String name, Class<?>... params)
            throws ReflectiveOperationException {
        String[] m = bug.mutant().orElseThrow();
        java.lang.reflect.Method method = new MutantLoader(m[0], m[1], bug.mutantReturns()).load(PlantedBugsTest.class.getName())
                .getDeclaredMethod(name, params);
        method.setAccessible(true); // this class is package-private, and the two worlds are two runtime packages
        return method;
    }

    /** Runs one seed of {@code bug}'s profile with a full trace into {@code log}; the report to print. */
    public static String replayForLoader(String bug, long seed, String log) {
        SimResult r = Simulation.runTraced(profile(PlantedBug.valueOf(bug), seed), Path.of(log));
        return ClusterSimulationSeedsTest.summary(List.of(r), 0) + "\n" + r.failure() + "\ntrace: " + log;
    }

    /** {@link #runSeeds} with results as rows of (seed, failure or null), for {@link #runMutant}. */
    public static Object[][] runSeedsForLoader(String bug, int seeds) throws Exception {
        return runSeeds(bug, seeds).stream().map(r -> new Object[] {r.seed(), r.failure()}).toArray(Object[][]::new);
    }

    /** With the driver's own persist-before-send check on, the same bug fails at its first early message. */
    @org.junit.jupiter.api.Test
    void theSendContractCheckCatchesSendBeforePersistAtOnce() {
        SimResult r = Simulation.run(SimConfig.forSeed(0).with(b -> {
            b.bugs = EnumSet.of(PlantedBug.SEND_BEFORE_PERSIST);
            b.checkSendContract = true;
        }));
        assertThat(r.failure()).isNotNull().containsAnyOf("persisted only", "not persisted", "before persisting");
        assertThat(r.simulatedMs()).isLessThan(1000);
    }

    /** The control: the same profiles without the bug pass (so what fails above is the bug). */
    @ParameterizedTest(name = "{0} profile, no bug")
    @EnumSource(PlantedBug.class)
    void theProfilesPassWithoutTheBug(PlantedBug bug) throws Exception {
        if (System.getProperty("raftkv.sim.bug") != null) return;
        int seeds = Integer.getInteger("raftkv.sim.controlSeeds", 200);
        List<SimConfig> configs = LongStream.range(0, seeds).mapToObj(s -> profile(bug, s).with(b -> {
            b.bugs = EnumSet.noneOf(PlantedBug.class);
            b.checkSendContract = true;
        })).toList();
        List<SimResult> failed = ClusterSimulationSeedsTest.runAll(configs, false).stream().filter(r -> !r.ok()).toList();
        assertThat(failed).as("%s profile without the bug: %s", bug, failed.stream().limit(1)
                .map(r -> "seed " + r.seed() + ": " + r.failure()).toList()).isEmpty();
    }
}
