package io.raftkv.sim;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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
    static final int SEEDS = Integer.getInteger("raftkv.sim.bugSeeds", 1000);

    /** The seed's config with {@code bug} planted, under the profile where it can show. */
    static SimConfig profile(PlantedBug bug, long seed) {
        return SimConfig.forSeed(seed).with(b -> {
            b.bugs = EnumSet.of(bug);
            b.checkSendContract = false;
            switch (bug) {
                case LOCAL_READS -> {
                    // A deposed leader is only caught serving stale reads if a new leader acknowledges
                    // writes meanwhile: clients that each know one node (whose node forwards) and give
                    // up quickly keep traffic flowing to both sides of a partition.
                    b.nodes = 5;
                    b.clients = 5;
                    b.singleNodeClientRate = 1.0;
                    b.clientTimeoutMs = 300;
                    b.faultPhaseMs = 10_000;
                }
                case SEND_BEFORE_PERSIST -> {
                    // Power loss in the fsync window, where the bug has already let messages out.
                    b.maxFsyncMs = 5;
                    b.crashInFsyncRate = 0.02;
                }
                case RETRY_WITHOUT_SESSIONS -> { }
                case COMMIT_OLD_TERM_BY_COUNTING -> {
                    // Figure 8 needs entries of different terms to travel separately, and leaders
                    // that crash at delicate moments: just after winning, just after committing.
                    b.nodes = 3;
                    b.maxEntriesPerAppend = 1;
                    b.maxInflightAppends = 1;
                    b.crashNewLeaderRate = 0.5;
                    b.crashAfterCommitRate = 0.5;
                    b.faultPhaseMs = 10_000;
                }
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
            SimResult r = Simulation.runTraced(profile(bug, Long.parseLong(seed)), log);
            System.out.println(ClusterSimulationSeedsTest.summary(List.of(r), 0) + "\n" + r.failure() + "\ntrace: " + log);
            return;
        }
        List<SimConfig> configs = LongStream.range(0, SEEDS).mapToObj(s -> profile(bug, s)).toList();
        long startNs = System.nanoTime();
        List<SimResult> results = ClusterSimulationSeedsTest.runAll(configs, false);
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
