package io.raftkv.linearizability;

import io.raftkv.linearizability.CheckResult.Verdict;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The checker against histories whose answer is known by construction: runs of an atomic store
 * (linearizable), the same runs with one output broken in a way no order can explain (not
 * linearizable), and tiny arbitrary histories decided by brute force.
 */
class LinearizabilityProperties {

    private static final Duration BUDGET = Duration.ofSeconds(10);

    @Property(tries = 200)
    void runsOfAnAtomicStoreAreLinearizable(@ForAll long seed,
                                            @ForAll @IntRange(min = 1, max = 8) int clients,
                                            @ForAll @IntRange(min = 1, max = 5) int keys,
                                            @ForAll @IntRange(min = 0, max = 400) int operations,
                                            @ForAll("unknownRates") double unknownRate) {
        History history = SimulatedHistories.generate(
                SimulatedHistories.Shape.of(clients, keys, operations).withUnknownRate(unknownRate), seed);
        CheckResult result = LinearizabilityChecker.check(history, BUDGET);
        assertThat(result.verdict()).as(result.explanation()).isEqualTo(Verdict.LINEARIZABLE);
        assertThat(Witnesses.problems(history, (CheckResult.Linearizable) result)).isEmpty();
    }

    /**
     * The same with deletes, compare-and-swaps and one-key transactions among the writes, up to 60
     * operations per key: on such keys the search has fewer prunings (see {@link KeySearch}), and
     * with 30% unknown outcomes and a few hundred operations on one key it may run out of budget
     * (an UNKNOWN verdict, never a wrong one); the simulation spreads them over many keys.
     */
    @Property(tries = 200)
    void runsWithDeletesAndConditionalWritesAreLinearizable(@ForAll long seed,
                                                           @ForAll @IntRange(min = 1, max = 6) int clients,
                                                           @ForAll @IntRange(min = 1, max = 5) int keys,
                                                           @ForAll @IntRange(min = 0, max = 60) int operationsPerKey,
                                                           @ForAll("unknownRates") double unknownRate) {
        History history = SimulatedHistories.generate(SimulatedHistories.Shape.of(clients, keys, operationsPerKey * keys)
                .withUnknownRate(unknownRate).withConditionalRate(0.5), seed);
        CheckResult result = LinearizabilityChecker.check(history, BUDGET);
        assertThat(result.verdict()).as(result.explanation()).isEqualTo(Verdict.LINEARIZABLE);
        assertThat(Witnesses.problems(history, (CheckResult.Linearizable) result)).isEmpty();
    }

    /**
     * A compare that reports failure with the very value it expected cannot happen in any order,
     * and neither can a successful one whose expected value nobody ever wrote.
     */
    @Property(tries = 100)
    void anImpossibleComparisonIsDetected(@ForAll long seed, @ForAll boolean claimSuccess,
                                          @ForAll @IntRange(min = 1, max = 5) int clients,
                                          @ForAll @IntRange(min = 20, max = 200) int operations) {
        History good = SimulatedHistories.generate(SimulatedHistories.Shape.of(clients, 2, operations)
                .withConditionalRate(0.6), seed);
        List<Operation> ops = new ArrayList<>(good.operations());
        List<Integer> candidates = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Operation op = ops.get(i);
            if (op.ok() && (op.kind() == Operation.Kind.CAS || op.kind() == Operation.Kind.TXN)
                    && (claimSuccess || op.expected().isPresent()))
                candidates.add(i);
        }
        Assume.that(!candidates.isEmpty());
        int at = candidates.get(new Random(seed).nextInt(candidates.size()));
        Operation op = ops.get(at);
        Operation broken = claimSuccess
                ? new Operation(op.client(), op.kind(), op.key(), op.value(), Optional.empty(), op.callNs(),
                        op.returnNs(), true, Optional.of("[never]"), Optional.of(true))
                : new Operation(op.client(), op.kind(), op.key(), op.value(), op.expected(), op.callNs(),
                        op.returnNs(), true, op.expected(), Optional.of(false));
        ops.set(at, broken);
        CheckResult result = LinearizabilityChecker.check(History.of(ops), BUDGET);
        assertThat(result).as("%s", broken).isInstanceOfSatisfying(CheckResult.NotLinearizable.class, nl -> {
            assertThat(nl.key()).isEqualTo(broken.key());
            assertThat(nl.counterexample()).contains(broken);
            assertThat(BruteForce.isLinearizable(History.of(nl.counterexample().size() <= 20
                    ? nl.counterexample() : List.of(broken)))).isFalse();
        });
    }

    @Provide
    Arbitrary<Double> unknownRates() {
        return Arbitraries.of(0.0, 0.05, 0.3);
    }

    /** Ways to break one output so that, given unique written tokens, no order can explain it. */
    enum Mutation {
        /** A read (or an append's reply) shows a value nobody wrote. */
        NEVER_WRITTEN,
        /** A value shows one append twice: every write takes effect at most once. */
        DUPLICATED_APPEND,
        /** A read returns the value of a put that a later completed put overwrote before the read began. */
        STALE_READ,
        /** A read returns the value of a put called only after the read returned. */
        READ_FROM_THE_FUTURE,
        /** Appends only: a read misses an append acknowledged before the read began. */
        LOST_APPEND
    }

    record Mutated(History history, Operation broken) {}

    @Property(tries = 300)
    void aBrokenOutputIsDetected(@ForAll Mutation mutation, @ForAll long seed,
                                 @ForAll @IntRange(min = 1, max = 6) int clients,
                                 @ForAll @IntRange(min = 1, max = 3) int keys,
                                 @ForAll @IntRange(min = 20, max = 200) int operations,
                                 @ForAll("unknownRates") double unknownRate) {
        SimulatedHistories.Shape shape = SimulatedHistories.Shape.of(clients, keys, operations).withUnknownRate(unknownRate);
        if (mutation == Mutation.LOST_APPEND)
            shape = shape.withAppendRate(1.0);
        History good = SimulatedHistories.generate(shape, seed);
        Optional<Mutated> mutated = mutate(good, mutation, new Random(seed));
        Assume.that(mutated.isPresent());
        Statistics.collect(mutation);

        Operation broken = mutated.get().broken();
        CheckResult result = LinearizabilityChecker.check(mutated.get().history(), BUDGET);
        assertThat(result).as("%s of %s", mutation, broken).isInstanceOfSatisfying(CheckResult.NotLinearizable.class, nl -> {
            assertThat(nl.key()).isEqualTo(broken.key());
            assertThat(nl.minimal()).isTrue();
            assertThat(nl.counterexample()).contains(broken);
            if (mutation == Mutation.NEVER_WRITTEN) assertThat(nl.counterexample()).containsExactly(broken);
            assertThat(LinearizabilityChecker.check(History.of(nl.counterexample()), BUDGET).verdict())
                    .isEqualTo(Verdict.NOT_LINEARIZABLE);
        });
    }

    static Optional<Mutated> mutate(History history, Mutation mutation, Random rnd) {
        List<Operation> ops = history.operations();
        List<Operation[]> choices = new ArrayList<>(); // {the op to break, its broken version}
        for (Operation op : ops) {
            if (!op.ok() || op.kind() == Operation.Kind.PUT) continue;
            String out = op.output().orElse(null);
            switch (mutation) {
                case NEVER_WRITTEN -> {
                    if (op.kind() == Operation.Kind.GET || out != null)
                        choices.add(new Operation[] {op, op.withOutput(Optional.of("[never]"))});
                }
                case DUPLICATED_APPEND -> {
                    if (out != null && out.endsWith("]")) {
                        String last = out.substring(out.lastIndexOf('['));
                        choices.add(new Operation[] {op, op.withOutput(Optional.of(out + last))});
                    }
                }
                case STALE_READ -> {
                    if (op.kind() != Operation.Kind.GET) continue;
                    for (Operation w2 : completedPuts(ops, op.key()))
                        if (w2.returnNs() < op.callNs())
                            for (Operation w1 : completedPuts(ops, op.key()))
                                if (w1.returnNs() < w2.callNs())
                                    choices.add(new Operation[] {op, op.withOutput(w1.value())});
                }
                case READ_FROM_THE_FUTURE -> {
                    if (op.kind() != Operation.Kind.GET) continue;
                    for (Operation w : ops)
                        if (w.kind() == Operation.Kind.PUT && w.key().equals(op.key()) && w.callNs() > op.returnNs())
                            choices.add(new Operation[] {op, op.withOutput(w.value())});
                }
                case LOST_APPEND -> {
                    if (op.kind() != Operation.Kind.GET) continue;
                    for (Operation a : ops)
                        if (a.kind() == Operation.Kind.APPEND && a.ok() && a.key().equals(op.key())
                                && a.returnNs() < op.callNs())
                            choices.add(new Operation[] {op,
                                    op.withOutput(Optional.of(out.replace(a.value().orElseThrow(), "")))});
                }
            }
        }
        if (choices.isEmpty()) return Optional.empty();
        Operation[] choice = choices.get(rnd.nextInt(choices.size()));
        List<Operation> broken = new ArrayList<>(ops);
        broken.set(broken.indexOf(choice[0]), choice[1]);
        return Optional.of(new Mutated(History.of(broken), choice[1]));
    }

    private static List<Operation> completedPuts(List<Operation> ops, String key) {
        return ops.stream().filter(w -> w.kind() == Operation.Kind.PUT && w.ok() && w.key().equals(key)).toList();
    }

    /**
     * Small histories, three in five with outputs or intervals scrambled at random, decided by the
     * definition itself ({@link BruteForce}: every order, every choice of unknown writes, the whole
     * store at once). Values are unique tokens or, to make them repeat and coincide, letters from
     * {@code alphabet}. Both verdicts must be common, or the property would prove little.
     */
    @Property(tries = 2000)
    void agreesWithBruteForce(@ForAll long seed,
                              @ForAll @IntRange(min = 1, max = 4) int clients,
                              @ForAll @IntRange(min = 1, max = 3) int keys,
                              @ForAll @IntRange(min = 1, max = 12) int operations,
                              @ForAll @IntRange(min = 0, max = 2) int alphabet,
                              @ForAll boolean conditional) {
        Random rnd = new Random(seed);
        History history = SimulatedHistories.generate(
                new SimulatedHistories.Shape(clients, keys, operations, 0.4, 0.5, 0.25, 0.3, 3, 8, alphabet,
                        conditional ? 0.5 : 0), seed);
        if (rnd.nextInt(5) < 3) history = scramble(history, rnd);
        boolean expected = BruteForce.isLinearizable(history);
        CheckResult result = LinearizabilityChecker.check(history, BUDGET);
        Statistics.label("verdict").collect(result.verdict());
        Statistics.label("verdict").coverage(c -> {
            c.check(Verdict.LINEARIZABLE).percentage(p -> p > 15);
            c.check(Verdict.NOT_LINEARIZABLE).percentage(p -> p > 15);
        });
        assertThat(result.verdict()).as("%s%n%s", history.toJsonLines(), result.explanation())
                .isEqualTo(expected ? Verdict.LINEARIZABLE : Verdict.NOT_LINEARIZABLE);
        if (result instanceof CheckResult.Linearizable lin) assertThat(Witnesses.problems(history, lin)).isEmpty();
        if (result instanceof CheckResult.NotLinearizable nl)
            assertThat(BruteForce.isLinearizable(History.of(nl.counterexample())))
                    .as("counterexample %s", nl.counterexample()).isFalse();
    }

    /**
     * Replaces one or two outputs with plausible wrong ones (absent, empty, a token, two tokens),
     * or moves an interval.
     */
    private static History scramble(History history, Random rnd) {
        List<Operation> ops = new ArrayList<>(history.operations());
        Set<String> tokens = new LinkedHashSet<>();
        long endNs = 1;
        for (Operation op : ops) {
            op.value().ifPresent(tokens::add);
            endNs = Math.max(endNs, op.returnNs());
        }
        List<String> values = new ArrayList<>(tokens);
        for (String a : tokens) for (String b : tokens) values.add(a + b);
        values.add("");
        int changes = 1 + rnd.nextInt(2);
        for (int i = 0; i < changes; i++) {
            int at = rnd.nextInt(ops.size());
            Operation op = ops.get(at);
            if (rnd.nextInt(3) == 0) {
                long callNs = rnd.nextLong(endNs);
                ops.set(at, new Operation(op.client(), op.kind(), op.key(), op.value(), op.output(), callNs,
                        callNs + rnd.nextLong(10), op.ok(), op.expected(), op.succeeded()));
            } else if (op.kind() == Operation.Kind.DELETE) {
                ops.set(at, op.withOutput(Optional.of(rnd.nextBoolean() ? "1" : "0")));
            } else if ((op.kind() == Operation.Kind.CAS || op.kind() == Operation.Kind.TXN) && op.ok()) {
                boolean success = rnd.nextBoolean();
                Optional<String> out = success || rnd.nextInt(values.size() + 1) == 0 ? Optional.empty()
                        : Optional.of(values.get(rnd.nextInt(values.size())));
                ops.set(at, new Operation(op.client(), op.kind(), op.key(), op.value(), out, op.callNs(),
                        op.returnNs(), true, op.expected(), Optional.of(success)));
            } else if (op.kind() != Operation.Kind.PUT && op.ok() || op.kind() == Operation.Kind.GET
                    || op.kind() == Operation.Kind.APPEND) {
                Optional<String> out = rnd.nextInt(values.size() + 1) == 0 ? Optional.empty()
                        : Optional.of(values.get(rnd.nextInt(values.size())));
                ops.set(at, op.withOutput(out));
            }
        }
        return History.of(ops);
    }

    @Property(tries = 200)
    void jsonLinesRoundTrip(@ForAll("operations") List<Operation> ops) {
        History history = History.of(ops);
        assertThat(History.fromJsonLines(history.toJsonLines()).operations()).isEqualTo(ops);
    }

    @Provide
    Arbitrary<List<Operation>> operations() {
        Arbitrary<String> text = Arbitraries.strings().ofMaxLength(8); // any chars: quotes, newlines, unicode
        Arbitrary<Operation> op = Arbitraries.of(Operation.Kind.values()).flatMap(kind -> net.jqwik.api.Combinators.combine(
                Arbitraries.integers().between(0, 100), text, text, text.optional(),
                Arbitraries.longs().between(0, Long.MAX_VALUE / 2), Arbitraries.longs().between(0, 1000),
                Arbitraries.of(true, false)).as((client, key, value, output, call, length, ok) -> switch (kind) {
                    case GET -> new Operation(client, kind, key, Optional.empty(), output, call, call + length, ok);
                    case PUT, APPEND -> new Operation(client, kind, key, Optional.of(value), output, call,
                            call + length, ok);
                    case DELETE -> new Operation(client, kind, key, Optional.empty(),
                            output.map(o -> o.length() % 2 == 0 ? "0" : "1"), call, call + length, ok);
                    // a cas or txn: the output doubles as its expected value, its length picks the outcome
                    case CAS, TXN -> {
                        boolean succeeded = value.length() % 2 == 0;
                        yield new Operation(client, kind, key,
                                kind == Operation.Kind.TXN && key.length() % 2 == 0 ? Optional.empty() : Optional.of(value),
                                succeeded || !ok ? Optional.empty() : output, call, call + length, ok, output,
                                ok ? Optional.of(succeeded) : Optional.empty());
                    }
                }));
        return op.list().ofMaxSize(20);
    }
}
