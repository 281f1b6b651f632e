package io.raftkv.raft;

import io.raftkv.mutation.MutantLoader;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The core simulation has teeth: with a known bug planted in the Raft core, {@link CoreSimulation}
 * fails on some of a fixed set of seeds, and what fails is the safety property the bug breaks.
 *
 * <p>No hook in production code plants the bug: for each {@link CoreBug}, {@link MutantLoader} loads
 * {@code io.raftkv} again, child-first, with one boolean method of the core returning a constant
 * (a mutant, as mutation testing makes them); the simulation, harness and core, runs inside that
 * loader. The rules so mutated are small named predicates of the core, each citing its section.
 *
 * <p>Replay one: {@code ./mvnw test -Dtest=PlantedCoreBugsTest -Draftkv.coreBug=BUG -Draftkv.seed=S}
 * prints the failure of that seed with the bug planted.
 */
class PlantedCoreBugsTest {
    static final int SEEDS = Integer.getInteger("raftkv.coreBugSeeds", 200);
    static final int STEPS = Integer.getInteger("raftkv.sim.steps", 3_000);

    enum CoreBug {
        /**
         * Raft §5.4.2, Figure 8: the leader commits an entry of an older term once a majority
         * holds it. A later leader may then overwrite it.
         */
        COMMIT_OLD_TERM_BY_COUNTING("io.raftkv.raft.RaftNode", "committableByCounting", true, "DEFAULT",
                "committed entry changed", "State Machine Safety", "Leader Completeness"),
        /**
         * Thesis §6.4 step 1: a new leader answers reads before it has committed an entry of its
         * term, at a commit index that may miss entries its predecessor committed. (In the core,
         * committedInCurrentTerm otherwise only releases reads that waited for it; none wait.)
         */
        READ_BEFORE_FIRST_COMMIT_OF_TERM("io.raftkv.raft.RaftNode", "committedInCurrentTerm", true, "DEFAULT",
                "ReadIndex linearizability"),
        /**
         * Thesis §6.4 step 3: an answer to a heartbeat of an older read round confirms the newer
         * rounds too, although it left before they started (when this leader was still followed,
         * but may no longer be).
         */
        READ_ACK_FROM_OLDER_ROUND("io.raftkv.raft.ReadOnlyTracker", "confirms", true, "STALE_LEADER_READS",
                "ReadIndex linearizability"),
        /**
         * Thesis §4.2.1/§4.2.2: acknowledgements of learners and of servers outside the configuration
         * count towards a commit (and votes, check-quorum, ReadIndex), so an entry held by a minority
         * of the voters can commit and be lost.
         */
        LEARNER_COUNTED_IN_QUORUM("io.raftkv.raft.Configuration", "countsTowardQuorum", true, "MEMBERSHIP",
                "committed entry changed", "State Machine Safety", "Leader Completeness", "ReadIndex linearizability",
                "Election Safety"),
        /**
         * Thesis §4.1: a change is accepted while the previous one is not committed, so two
         * configurations in use at once can have majorities that do not overlap.
         */
        TWO_CHANGES_AT_ONCE("io.raftkv.raft.RaftNode", "confChangePending", false, "MEMBERSHIP",
                "committed entry changed", "State Machine Safety", "Leader Completeness", "Election Safety",
                "overwrites committed entries", "would drop committed entries", "ReadIndex linearizability");

        /** The mutant: this class's boolean method returns this constant. */
        final String className;
        final String method;
        final boolean returns;
        /** The {@link CoreSimulation} fault mix that gives the bug its chance. */
        final String profile;
        /** Failure messages that name the property this bug breaks. */
        final List<String> properties;

        CoreBug(String className, String method, boolean returns, String profile, String... properties) {
            this.className = className;
            this.method = method;
            this.returns = returns;
            this.profile = profile;
            this.properties = List.of(properties);
        }

        MutantLoader loader() throws ClassNotFoundException {
            MutantLoader loader = new MutantLoader(className, method, returns);
            loader.load(className); // a method that is no longer there fails here, not as a seed failure
            return loader;
        }

        String description() {
            return className.substring(className.lastIndexOf('.') + 1) + "." + method + "() returns " + returns;
        }
    }

    /** {@link CoreSimulation#run} as loaded by {@code loader}. */
    private static MethodHandle simulation(MutantLoader loader) throws ReflectiveOperationException {
        Class<?> sim = loader.load(CoreSimulation.class.getName());
        assertThat(sim.getClassLoader()).isSameAs(loader);
        return MethodHandles.publicLookup().findStatic(sim, "run",
                MethodType.methodType(void.class, long.class, int.class, String.class));
    }

    /** Runs {@code seed}; returns its failure message, or null if it passed. */
    private static String run(MethodHandle simulation, long seed, String profile) throws Throwable {
        try {
            simulation.invokeExact(seed, STEPS, profile);
            return null;
        } catch (AssertionError e) {
            return e.getMessage();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(CoreBug.class)
    @DisplayName("a bug planted in the core (a mutated method, no hook) is caught by the property it breaks")
    void theCoreSimulationCatchesThePlantedBug(CoreBug bug) throws Throwable {
        String only = System.getProperty("raftkv.coreBug");
        if (only != null && !only.equals(bug.name())) return;
        MethodHandle simulation = simulation(bug.loader());
        String seed = System.getProperty("raftkv.seed");
        if (only != null && seed != null) {
            System.out.println(bug + " (" + bug.description() + "), seed " + seed + ": "
                    + run(simulation, Long.parseLong(seed), bug.profile));
            return;
        }
        List<Long> byProperty = new ArrayList<>();
        Map<Long, String> otherwise = new TreeMap<>();
        for (long s = 0; s < SEEDS; s++) {
            String failure = run(simulation, s, bug.profile);
            if (failure == null) continue;
            if (bug.properties.stream().anyMatch(failure::contains)) byProperty.add(s);
            else otherwise.put(s, failure.lines().findFirst().orElse(""));
        }
        System.out.println(bug + " (" + bug.description() + "), " + bug.profile + " mix: caught on "
                + byProperty.size() + " of " + SEEDS + " seeds by " + bug.properties + ", first " + byProperty.stream().limit(10).toList()
                + (otherwise.isEmpty() ? "" : "; " + otherwise.size() + " seeds failed otherwise: " + otherwise));
        assertThat(byProperty).as("seeds where %s is caught by %s", bug, bug.properties).isNotEmpty();
    }

    /**
     * Membership rules (thesis ch. 4) broken the same way, each caught by the scenario of
     * {@link MembershipScenarios} that shows what the rule prevents: the history runs on the mutant
     * and ends in the safety property it breaks, not merely in a refused assertion.
     */
    enum ScenarioBug {
        /** Thesis §4.1, Ongaro 2015: a new leader changes the membership before committing in its term. */
        CHANGE_BEFORE_FIRST_COMMIT_OF_TERM("io.raftkv.raft.RaftNode", "committedInTermBeforeConfChange", true,
                "newLeaderCommitsBeforeChanging", "Leader Completeness", "committed entry changed",
                "overwrites committed entries", "would drop committed entries"),
        /** Thesis §4.2.1: a learner's acknowledgement counts towards a commit. */
        LEARNER_COUNTED_IN_QUORUM("io.raftkv.raft.Configuration", "countsTowardQuorum", true,
                "learnersNeverCountTowardsACommit", "committed entry changed", "State Machine Safety",
                "Leader Completeness", "overwrites committed entries", "would drop committed entries");

        final String className;
        final String method;
        final boolean returns;
        final String scenario;
        final List<String> properties;

        ScenarioBug(String className, String method, boolean returns, String scenario, String... properties) {
            this.className = className;
            this.method = method;
            this.returns = returns;
            this.scenario = scenario;
            this.properties = List.of(properties);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(ScenarioBug.class)
    @DisplayName("a membership rule broken in the core (a mutated method) is caught by the scenario that needs it")
    void theMembershipScenarioCatchesThePlantedBug(ScenarioBug bug) throws Throwable {
        MutantLoader loader = new MutantLoader(bug.className, bug.method, bug.returns);
        loader.load(bug.className);
        MethodHandle scenario = MethodHandles.publicLookup().findStatic(
                loader.load(MembershipScenarios.class.getName()), bug.scenario, MethodType.methodType(void.class));
        String failure = null;
        try {
            scenario.invokeExact();
        } catch (AssertionError | IllegalStateException e) {
            failure = e.getMessage();
        }
        System.out.println(bug + ": " + failure);
        assertThat(failure).as("%s on the mutant", bug.scenario).isNotNull();
        assertThat(bug.properties).anyMatch(failure::contains);
    }

    @ParameterizedTest(name = "{0} mix")
    @EnumSource(value = CoreSimulation.Profile.class)
    @DisplayName("the control: the same seeds, run through the same loader without a bug, pass")
    void theLoaderAloneBreaksNothing(CoreSimulation.Profile profile) throws Throwable {
        if (System.getProperty("raftkv.coreBug") != null) return;
        // The same loader, told to mutate a class that no run loads: every io.raftkv class is
        // loaded afresh, none is changed.
        MethodHandle simulation = simulation(new MutantLoader("io.raftkv.raft.NoSuchClass", "none", true));
        Map<Long, String> failed = new TreeMap<>();
        for (long s = 0; s < SEEDS; s++) {
            String failure = run(simulation, s, profile.name());
            if (failure != null) failed.put(s, failure);
        }
        assertThat(failed).isEmpty();
    }
}
