package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.LongStream;

/**
 * The seeded simulation of whole clusters ({@link CoreSimulation}: faults, crashes, late
 * Readies, reads; every Raft safety property checked after every event, then liveness) over
 * many seeds.
 *
 * <p>Replay one seed: {@code ./mvnw test -Dtest=ClusterSimulationTest -Draftkv.seed=N} (with the
 * same {@code -Draftkv.sim.steps} if it was set).
 */
class ClusterSimulationTest {
    /** Deeper runs: {@code -Draftkv.sim.seeds=5000 -Draftkv.sim.steps=10000}. */
    static final int SEEDS = Integer.getInteger("raftkv.sim.seeds", 200);
    static final int STEPS = Integer.getInteger("raftkv.sim.steps", 3_000);
    /** Another fault mix of {@link CoreSimulation}: {@code -Draftkv.sim.profile=STALE_LEADER_READS}. */
    static final String PROFILE = System.getProperty("raftkv.sim.profile", "DEFAULT");

    static LongStream seeds() {
        String one = System.getProperty("raftkv.seed");
        return one != null ? LongStream.of(Long.parseLong(one)) : LongStream.range(0, SEEDS);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    @DisplayName("ch. 4: safety under random faults and membership changes (add learner, promote, remove incl. the leader, re-add), then liveness")
    void safetyUnderFaultsAndMembershipChanges(long seed) {
        try {
            CoreSimulation.run(seed, STEPS, "MEMBERSHIP");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n  replay: ./mvnw test -Dtest='ClusterSimulationTest#safetyUnderFaultsAndMembershipChanges' -Draftkv.seed="
                    + seed, e);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    @DisplayName("§5, §6.4: safety under random faults, then liveness once they stop")
    void safetyUnderFaultsThenConvergence(long seed) {
        try {
            CoreSimulation.run(seed, STEPS, PROFILE);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n  replay: ./mvnw test -Dtest=ClusterSimulationTest -Draftkv.seed="
                    + seed + (PROFILE.equals("DEFAULT") ? "" : " -Draftkv.sim.profile=" + PROFILE), e);
        }
    }
}
