package io.raftkv.raft;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One seeded run of a whole cluster under message loss, duplication, reordering, long delays,
 * partitions, paused nodes, crashes with restarts, Readies acknowledged late, and ReadIndex reads. {@link TestCluster}
 * checks after every event: Election Safety (§5.2), Log Matching (§5.3), Leader Completeness
 * (§5.4), committed entries never change, State Machine Safety (§5.4.3), persist-before-send
 * (Figure 2), and that a confirmed read index covers every entry committed before the read was
 * issued (thesis §6.4). After the faults stop, the cluster must elect a leader and converge
 * (liveness, §5.2).
 *
 * <p>Run by {@link ClusterSimulationTest} on the real core and by {@link PlantedCoreBugsTest} on
 * mutants of it, loaded in another class loader: so the entry point is public and takes and
 * returns only JDK types.
 */
public final class CoreSimulation {
    private CoreSimulation() {}

    /**
     * Runs seed {@code seed} for {@code steps} random events, then lets the cluster converge.
     *
     * @throws AssertionError naming the seed, the step and the property that failed
     */
    public static void run(long seed, int steps) {
        run(seed, steps, Profile.DEFAULT.name());
    }

    /**
     * The fault and workload mixes. Each is a legal deployment under a legal fault mix: a profile
     * only makes some histories likelier, to give a planted bug its chance.
     */
    enum Profile {
        /** Every kind of fault, on 3 and 5 nodes, half the seeds with production's configuration. */
        DEFAULT(Map.ofEntries(Map.entry(Event.TICK, 38), Map.entry(Event.CAMPAIGN, 3), Map.entry(Event.DELIVER, 26),
                Map.entry(Event.READ, 5), Map.entry(Event.LOSE, 3), Map.entry(Event.DUPLICATE, 1),
                Map.entry(Event.DELAY, 2), Map.entry(Event.RELEASE_DELAYED, 1), Map.entry(Event.PROPOSE, 9),
                Map.entry(Event.PARTITION, 1), Map.entry(Event.HEAL, 2), Map.entry(Event.CRASH, 1),
                Map.entry(Event.RESTART, 2), Map.entry(Event.RELEASE_READY, 6), Map.entry(Event.PAUSE, 1),
                Map.entry(Event.RESUME, 1))),
        /**
         * Deposed leaders that do not know it yet, serving reads: a leader that has committed in
         * its term pauses (a GC pause: messages to it wait, then it reads them in send order)
         * while the others elect a new leader and commit; clients read from it meanwhile. 3 nodes
         * running the paper's plain protocol (a leader steps down only on seeing a higher term);
         * no crashes or partitions.
         */
        STALE_LEADER_READS(Map.ofEntries(Map.entry(Event.TICK, 30), Map.entry(Event.CAMPAIGN, 2),
                Map.entry(Event.DELIVER, 30), Map.entry(Event.READ, 10), Map.entry(Event.LOSE, 1),
                Map.entry(Event.DUPLICATE, 1), Map.entry(Event.PROPOSE, 12), Map.entry(Event.RELEASE_READY, 4),
                Map.entry(Event.PAUSE_LEADER, 3), Map.entry(Event.RESUME, 1))),
        /**
         * Every fault of {@link #DEFAULT}, and membership changes one at a time (thesis ch. 4): new
         * servers added as learners, learners promoted once caught up, voters and learners removed
         * (the leader too, §4.2.2), removed servers added back with their old storage. Removed servers
         * keep running with production's configuration (pre-vote and the lease keep them harmless,
         * §4.2.3); with the paper's plain protocol they are shut down once their removal is
         * committed, before the cluster must converge.
         */
        MEMBERSHIP(Map.ofEntries(Map.entry(Event.TICK, 38), Map.entry(Event.CAMPAIGN, 3), Map.entry(Event.DELIVER, 26),
                Map.entry(Event.READ, 5), Map.entry(Event.LOSE, 3), Map.entry(Event.DUPLICATE, 1),
                Map.entry(Event.DELAY, 2), Map.entry(Event.RELEASE_DELAYED, 1), Map.entry(Event.PROPOSE, 9),
                Map.entry(Event.PARTITION, 1), Map.entry(Event.HEAL, 2), Map.entry(Event.CRASH, 1),
                Map.entry(Event.RESTART, 2), Map.entry(Event.RELEASE_READY, 6), Map.entry(Event.PAUSE, 1),
                Map.entry(Event.RESUME, 1), Map.entry(Event.ADD_LEARNER, 4), Map.entry(Event.PROMOTE, 6),
                Map.entry(Event.REMOVE, 3)));

        final Map<Event, Integer> weights;

        Profile(Map<Event, Integer> weights) {
            this.weights = java.util.Collections.unmodifiableMap(new EnumMap<>(weights));
        }

        Event draw(Random rnd) {
            int total = weights.values().stream().mapToInt(Integer::intValue).sum();
            int dice = rnd.nextInt(total);
            for (var w : weights.entrySet()) {
                dice -= w.getValue();
                if (dice < 0) return w.getKey();
            }
            throw new AssertionError("unreachable");
        }
    }

    enum Event {
        TICK, CAMPAIGN, DELIVER, READ, LOSE, DUPLICATE, DELAY, RELEASE_DELAYED, PROPOSE, PARTITION, HEAL, CRASH,
        RESTART, RELEASE_READY, PAUSE, RESUME, PAUSE_LEADER, ADD_LEARNER, PROMOTE, REMOVE
    }

    /** Most servers a membership run ever starts (ids 1..MAX_NODES). */
    private static final int MAX_NODES = 7;

    /** {@link #run(long, int)} under the mix {@code profile} (a {@link Profile} name). */
    public static void run(long seed, int steps, String profile) {
        Profile mix = Profile.valueOf(profile);
        Random rnd = new Random(seed);
        boolean plain = mix == Profile.STALE_LEADER_READS;
        int n = plain || seed % 2 == 0 ? 3 : 5;
        // Small appends let entries of different terms travel separately, which some histories need
        // (Figure 8: an old-term entry on a majority without the new leader's no-op).
        int maxEntries = new int[]{1, 2, 512}[(int) (seed / 2 % 3)];
        int maxInflight = new int[]{1, 4, 256}[(int) (seed / 6 % 3)];
        TestCluster.Builder b = TestCluster.builder(n).seed(seed);
        // Half the seeds (every other 18) run the paper's plain protocol, check quorum (thesis §6.2)
        // and pre-vote (§9.6) off by name: more elections and term changes, so likelier Figure 8
        // histories. The other half run production's configuration.
        boolean guards = !plain && seed / 18 % 2 == 1;
        b.configAll(cfg -> cfg.maxEntriesPerAppend(maxEntries).maxInflightAppends(maxInflight).checkQuorum(guards)
                .preVote(guards));
        TestCluster c = b.build();
        c.holdReadies(new Random(seed ^ 0x5DEECE66DL), 10);
        int step = 0;
        try {
            List<String> accepted = new ArrayList<>();
            for (; step < steps; step++) randomEvent(c, rnd, mix, accepted);
            step = -1;
            converge(c, accepted);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + " (" + mix + ") failed at step "
                    + (step < 0 ? "convergence" : step) + ": " + e.getMessage() + "\n  " + c, e);
        }
    }

    private static <T> T pick(Random rnd, List<T> xs) {
        return xs.get(rnd.nextInt(xs.size()));
    }

    private static void randomEvent(TestCluster c, Random rnd, Profile mix, List<String> accepted) {
        List<Integer> up = c.ids().stream().filter(c::isUp).toList();
        List<Integer> down = c.ids().stream().filter(id -> !c.isUp(id)).toList();
        List<Message> inFlight = c.inFlight();
        // A late advance() comes within a few events.
        for (int id : c.heldNodes()) if (rnd.nextInt(3) == 0) c.releaseHeld(id);
        switch (mix.draw(rnd)) {
            case TICK -> {
                if (!up.isEmpty()) c.tick(pick(rnd, up));
            }
            case CAMPAIGN -> {
                // An election timeout firing early: more leader changes, more divergent logs.
                if (!up.isEmpty()) c.campaign(pick(rnd, up));
            }
            case DELIVER -> {
                if (!inFlight.isEmpty()) {
                    c.deliver(pick(rnd, inFlight));
                    c.processReadies();
                }
            }
            case READ -> {
                // ReadIndex on a node that believes it leads (it may be deposed and not know it yet).
                List<Integer> leaders = c.leaders();
                if (!leaders.isEmpty()) c.read(pick(rnd, leaders));
            }
            case LOSE -> {
                if (!inFlight.isEmpty()) c.lose(pick(rnd, inFlight));
            }
            case DUPLICATE -> {
                if (!inFlight.isEmpty()) c.duplicate(pick(rnd, inFlight));
            }
            case DELAY -> {
                // A long delay: the message arrives after many others, possibly in another term.
                if (!inFlight.isEmpty()) c.delay(pick(rnd, inFlight));
            }
            case RELEASE_DELAYED -> {
                List<Message> delayed = c.delayed();
                if (!delayed.isEmpty()) c.releaseDelayed(pick(rnd, delayed));
            }
            case PROPOSE -> {
                List<Integer> leaders = c.leaders();
                if (!leaders.isEmpty()) {
                    String cmd = "c" + accepted.size() + "-" + rnd.nextInt(1000);
                    if (c.propose(pick(rnd, leaders), cmd) instanceof ProposeResult.Accepted) accepted.add(cmd);
                }
            }
            case PARTITION -> {
                Set<Integer> side = new HashSet<>();
                for (int id : c.ids()) if (rnd.nextBoolean()) side.add(id);
                Set<Integer> other = new HashSet<>(c.ids());
                other.removeAll(side);
                c.partition(side, other);
            }
            case HEAL -> c.heal();
            case CRASH -> {
                if (up.size() > 1) c.crash(pick(rnd, up));
            }
            case RESTART -> {
                if (!down.isEmpty()) c.restart(pick(rnd, down));
            }
            case PAUSE -> {
                // A node stops reading its messages for a while (a GC pause): they wait for it.
                List<Integer> running = up.stream().filter(id -> !c.paused().contains(id)).toList();
                if (!running.isEmpty()) c.pause(pick(rnd, running));
            }
            case PAUSE_LEADER -> {
                // The busiest node, the leader, pauses (a GC pause) once it serves reads.
                List<Integer> running = c.leaders().stream()
                        .filter(id -> !c.paused().contains(id) && committedInItsTerm(c.node(id))).toList();
                if (!running.isEmpty()) c.pause(pick(rnd, running));
            }
            case RESUME -> {
                List<Integer> paused = c.paused();
                if (!paused.isEmpty()) c.resume(pick(rnd, paused));
            }
            case RELEASE_READY -> {
                List<Integer> held = c.heldNodes();
                if (!held.isEmpty()) c.releaseHeld(pick(rnd, held));
            }
            case ADD_LEARNER -> {
                // A new server, or one removed earlier coming back with its old storage.
                List<Integer> leaders = changeableLeaders(c);
                if (leaders.isEmpty()) break;
                int leader = pick(rnd, leaders);
                Configuration conf = c.node(leader).configuration();
                List<Integer> removed = c.ids().stream().filter(id -> !conf.contains(id)).toList();
                int id;
                if (!removed.isEmpty() && (rnd.nextBoolean() || c.ids().size() >= MAX_NODES)) id = pick(rnd, removed);
                else if (c.ids().size() < MAX_NODES) id = c.ids().size() + 1;
                else break;
                if (!c.ids().contains(id)) c.addNode(id);
                c.changeMembership(leader, new ConfChange.AddLearner(id, "n" + id));
            }
            case PROMOTE -> {
                List<Integer> leaders = changeableLeaders(c);
                if (leaders.isEmpty()) break;
                int leader = pick(rnd, leaders);
                List<Integer> learners = List.copyOf(c.node(leader).configuration().learners().keySet());
                if (!learners.isEmpty()) c.changeMembership(leader, new ConfChange.Promote(pick(rnd, learners)));
            }
            case REMOVE -> {
                // Any member, the leader itself included (§4.2.2); the last voter is refused.
                List<Integer> leaders = changeableLeaders(c);
                if (leaders.isEmpty()) break;
                int leader = pick(rnd, leaders);
                List<Integer> members = List.copyOf(c.node(leader).configuration().members());
                c.changeMembership(leader, new ConfChange.Remove(pick(rnd, members)));
            }
        }
    }

    /** Faults stop: the cluster must elect one leader, agree on one log, and apply it everywhere. */
    private static void converge(TestCluster c, List<String> accepted) {
        c.holdReadies(null, 0);
        c.releaseAllHeld();
        for (Message m : c.delayed()) c.releaseDelayed(m);
        for (int id : c.paused()) c.resume(id);
        c.heal();
        c.clearDrops();
        for (int id : c.ids()) if (!c.isUp(id)) c.restart(id);

        // Until every node has followed one leader, which has committed in its term, for longer than
        // any election timeout: a node whose timer ran during the faults may still depose a first
        // leader (it has no pre-vote, thesis §9.6), but not once every timer was reset.
        int maxTimeoutTicks = c.node(1).config().electionTicksMax();
        boolean guards = c.node(1).config().preVote();
        int leader = -1;
        int settledRounds = 0;
        for (int round = 0; round < 3_000 && settledRounds <= maxTimeoutTicks; round++) {
            c.tickAndStabilize(1);
            if (!guards) decommissionRemoved(c);
            int now = c.leader().orElse(-1);
            settledRounds = now > 0 && now == leader && settled(c, now) ? settledRounds + 1 : 0;
            leader = now;
        }
        assertThat(leader).as("a leader after the faults stop").isPositive();
        assertThat(settledRounds).as("every node follows leader %d", leader).isGreaterThan(maxTimeoutTicks);

        // With everyone following it, the leader keeps its term and commits a new command everywhere.
        long term = c.node(leader).term();
        assertThat(c.propose(leader, "final")).isInstanceOf(ProposeResult.Accepted.class);
        for (int round = 0; round < 200 && !converged(c, leader); round++) c.tickAndStabilize(1);
        assertThat(converged(c, leader)).as("all nodes converge on leader %d's log", leader).isTrue();
        assertThat(c.leaders()).containsExactly(leader);
        assertThat(c.node(leader).term()).isEqualTo(term);

        c.assertLogMatching();
        List<Entry> log = c.log(leader);
        assertThat(new String(log.getLast().data())).isEqualTo("final");
        for (int id : members(c, leader)) {
            assertThat(c.log(id)).isEqualTo(log);
            assertThat(c.applied(id)).isEqualTo(log);
        }
        // Every command in the log was accepted by some leader; commands appear at most once.
        List<String> commands = log.stream().filter(Entry::isCommand).map(e -> new String(e.data())).toList();
        assertThat(commands).doesNotHaveDuplicates();
        assertThat(accepted).containsAll(commands.subList(0, commands.size() - 1));
    }

    /**
     * The servers of {@code leader}'s configuration: those that must follow it and hold its log.
     * A removed server no longer hears from the leader (thesis §4.2.3).
     */
    private static List<Integer> members(TestCluster c, int leader) {
        return List.copyOf(c.node(leader).configuration().members());
    }

    /**
     * With the paper's plain protocol (no pre-vote, no lease) a removed server that never learned
     * of its removal times out forever and disrupts the cluster (thesis §4.2.3): as an operator
     * would, shut down every server whose removal the leader has committed.
     */
    private static void decommissionRemoved(TestCluster c) {
        Optional<Integer> l = c.leader();
        if (l.isEmpty()) return;
        RaftNode leader = c.node(l.get());
        if (!committedInItsTerm(leader) || leader.configurationIndex() > leader.commitIndex()) return;
        for (int id : c.ids()) if (c.isUp(id) && !leader.configuration().contains(id)) c.crash(id);
    }

    /**
     * Leaders that have committed in their term, to propose changes to (one that has not refuses
     * them, §4.1); any leader when there is none such, so refusals are exercised too.
     */
    private static List<Integer> changeableLeaders(TestCluster c) {
        List<Integer> ready = c.leaders().stream().filter(id -> committedInItsTerm(c.node(id))).toList();
        return ready.isEmpty() ? c.leaders() : ready;
    }

    private static boolean settled(TestCluster c, int leader) {
        RaftNode l = c.node(leader);
        if (l.role() != Role.LEADER || !committedInItsTerm(l)) return false;
        for (int id : members(c, leader)) {
            RaftNode n = c.node(id);
            if (n.term() != l.term() || n.leaderId().orElse(-1) != leader) return false;
        }
        return true;
    }

    /**
     * Whether {@code n}'s commit index is of its own term, computed here rather than asked of the
     * core (RaftNode.committedInCurrentTerm), so that a mutant of that method cannot steer the
     * harness.
     */
    private static boolean committedInItsTerm(RaftNode n) {
        return n.commitIndex() > 0 && n.termAt(n.commitIndex()) == n.term();
    }

    private static boolean converged(TestCluster c, int leader) {
        long last = c.node(leader).lastIndex();
        for (int id : members(c, leader)) {
            RaftNode n = c.node(id);
            if (n.commitIndex() != last || n.appliedIndex() != last || n.lastIndex() != last) return false;
        }
        return true;
    }
}
