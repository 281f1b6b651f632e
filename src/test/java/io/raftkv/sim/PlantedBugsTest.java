package io.raftkv.sim;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The simulation has teeth: with a known bug planted, it fails on at least one of a fixed set of
 * seeds. The persist-before-send contract check is switched off here, so what catches a bug is
 * always a property a user would see broken (two leaders, a changed commit, a stale read, a
 * write applied twice), not the driver checking its own rule.
 */
class PlantedBugsTest {
    static final int SEEDS = Integer.getInteger("raftkv.sim.bugSeeds", 1000);

    @ParameterizedTest(name = "{0}")
    @EnumSource(PlantedBug.class)
    void theSimulationCatchesThePlantedBug(PlantedBug bug) throws Exception {
        UnaryOperator<SimConfig> variant = c -> c.with(b -> {
            b.bugs = EnumSet.of(bug);
            b.checkSendContract = false;
            if (bug == PlantedBug.COMMIT_OLD_TERM_BY_COUNTING) {
                b.nodes = 5;
                b.maxEntriesPerAppend = 1;
                b.maxInflightAppends = 1;
                b.crashNewLeaderRate = 0.5; b.faultPhaseMs = 10_000; b.clientsStopMs = 11_000; b.settleLimitMs = 25_000;
            }
        });
        List<SimConfig> configs = LongStream.range(0, SEEDS).mapToObj(SimConfig::forSeed).map(variant).toList();
        long startNs = System.nanoTime();
        List<SimResult> results = ClusterSimulationSeedsTest.runAll(configs, false);
        long wallMs = (System.nanoTime() - startNs) / 1_000_000;
        List<SimResult> failed = results.stream().filter(r -> !r.ok()).sorted(Comparator.comparingLong(SimResult::seed))
                .toList();
        System.out.println("hits " + SimServer.BUGHITS.getAndSet(0) + " danger " + SimServer.DANGER.getAndSet(0));
        System.out.println(bug + ": caught on " + failed.size() + " of " + results.size() + " seeds in " + wallMs
                + " ms: " + failed.stream().limit(30).map(SimResult::seed).toList());
        failed.stream().limit(3).forEach(r -> System.out.println("  seed " + r.seed() + ": "
                + r.failure().lines().findFirst().orElse("")));
        assertThat(failed).as("seeds failing with %s planted", bug).isNotEmpty();
    }
}
