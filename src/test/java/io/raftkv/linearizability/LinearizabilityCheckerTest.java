package io.raftkv.linearizability;

import io.raftkv.linearizability.CheckResult.Verdict;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;

import static io.raftkv.linearizability.Operation.append;
import static io.raftkv.linearizability.Operation.appendResultNotKnown;
import static io.raftkv.linearizability.Operation.get;
import static io.raftkv.linearizability.Operation.getNotFound;
import static io.raftkv.linearizability.Operation.put;
import static org.assertj.core.api.Assertions.assertThat;

/** Hand-written histories with a known answer, the budget, and the scale the cluster tests need. */
class LinearizabilityCheckerTest {

    private static final Duration BUDGET = Duration.ofSeconds(10);

    static CheckResult.Linearizable assertLinearizable(Operation... ops) {
        History history = History.of(ops);
        CheckResult result = LinearizabilityChecker.check(history, BUDGET);
        assertThat(result.verdict()).as(result.explanation()).isEqualTo(Verdict.LINEARIZABLE);
        CheckResult.Linearizable lin = (CheckResult.Linearizable) result;
        assertThat(Witnesses.problems(history, lin)).as("witness " + lin.order()).isEmpty();
        assertThat(BruteForce.isLinearizable(history)).as("brute force agrees").isTrue();
        return lin;
    }

    static CheckResult.NotLinearizable assertNotLinearizable(Operation... ops) {
        History history = History.of(ops);
        CheckResult result = LinearizabilityChecker.check(history, BUDGET);
        assertThat(result.verdict()).as(result.explanation()).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(BruteForce.isLinearizable(history)).as("brute force agrees").isFalse();
        CheckResult.NotLinearizable nl = (CheckResult.NotLinearizable) result;
        assertThat(nl.minimal()).isTrue();
        assertThat(BruteForce.isLinearizable(History.of(nl.counterexample()))).as("counterexample").isFalse();
        return nl;
    }

    @Nested
    class Accepted {
        @Test
        void emptyHistory() {
            assertLinearizable();
        }

        @Test
        void sequentialPutAppendGet() {
            assertLinearizable(
                    getNotFound(1, "x", 0, 10),
                    put(1, "x", "a", 20, 30),
                    append(1, "x", "b", "ab", 40, 50),
                    get(2, "x", "ab", 60, 70));
        }

        @Test
        void appendToAMissingKeyStartsFromTheEmptyString() {
            assertLinearizable(append(1, "x", "a", "a", 0, 10), get(2, "x", "a", 20, 30));
        }

        @Test
        void anEmptyValueIsNotAMissingKey() {
            assertLinearizable(put(1, "x", "", 0, 10), get(2, "x", "", 20, 30));
            assertNotLinearizable(put(1, "x", "", 0, 10), getNotFound(2, "x", 20, 30));
        }

        @Test
        void aReadConcurrentWithAWriteMaySeeEitherValue() {
            Operation before = put(1, "x", "1", 0, 10);
            Operation write = put(1, "x", "2", 20, 40);
            assertLinearizable(before, write, get(2, "x", "1", 25, 35));
            assertLinearizable(before, write, get(2, "x", "2", 25, 35));
        }

        @Test
        void concurrentPutsMayTakeEffectInAnyOrder() {
            Operation a = put(1, "x", "a", 0, 100);
            Operation b = put(2, "x", "b", 10, 90);
            Operation c = put(3, "x", "c", 20, 80);
            for (String last : List.of("a", "b", "c")) assertLinearizable(a, b, c, get(4, "x", last, 200, 210));
            assertNotLinearizable(a, b, c, getNotFound(4, "x", 200, 210));
        }

        @Test
        void concurrentAppendsMayTakeEffectInAnyOrderButEachExactlyOnce() {
            Operation a = appendResultNotKnown(1, "x", "a", 0, 100);
            Operation b = appendResultNotKnown(2, "x", "b", 10, 90);
            Operation c = appendResultNotKnown(3, "x", "c", 20, 80);
            for (String read : List.of("abc", "acb", "bac", "bca", "cab", "cba"))
                assertLinearizable(a, b, c, get(4, "x", read, 200, 210));
            for (String read : List.of("ab", "abca", "abcc", ""))
                assertNotLinearizable(a, b, c, get(4, "x", read, 200, 210));
        }

        @Test
        void readsDuringConcurrentAppendsSeeAGrowingValue() {
            assertLinearizable(
                    append(1, "x", "a", "ba", 0, 100),
                    append(2, "x", "b", "b", 0, 100),
                    get(3, "x", "b", 10, 20),
                    get(3, "x", "ba", 30, 40),
                    get(4, "x", "ba", 110, 120));
        }

        @Test
        void theInputOrderDoesNotMatter() {
            List<Operation> ops = new ArrayList<>(List.of(
                    put(1, "x", "a", 0, 10), put(2, "x", "b", 5, 30), get(3, "x", "a", 12, 14),
                    get(3, "x", "b", 31, 40), append(1, "x", "c", "bc", 41, 50), get(2, "x", "bc", 51, 60)));
            Random rnd = new Random(7);
            for (int i = 0; i < 20; i++) {
                Collections.shuffle(ops, rnd);
                assertLinearizable(ops.toArray(Operation[]::new));
            }
        }

        @Test
        void touchingIntervalsCountAsConcurrent() {
            // put "2" is called at the very instant put "1" returns: either may take effect first
            assertLinearizable(put(1, "x", "1", 0, 10), put(2, "x", "2", 10, 20), get(3, "x", "1", 30, 40));
            assertNotLinearizable(put(1, "x", "1", 0, 10), put(2, "x", "2", 11, 20), get(3, "x", "1", 30, 40));
        }

        @Test
        void keysAreIndependent() {
            assertLinearizable(
                    put(1, "x", "1", 0, 10), put(2, "y", "2", 0, 10),
                    get(3, "y", "2", 20, 30), get(3, "x", "1", 40, 50), getNotFound(4, "z", 5, 45));
        }
    }

    @Nested
    class Rejected {
        @Test
        void staleReadAfterACompletedWrite() {
            Operation first = put(1, "x", "1", 0, 10);
            Operation second = put(2, "x", "2", 20, 30);
            Operation stale = get(3, "x", "1", 40, 50);
            CheckResult.NotLinearizable nl = assertNotLinearizable(first, second, stale, get(4, "x", "2", 60, 70));
            assertThat(nl.key()).isEqualTo("x");
            assertThat(nl.core()).containsExactly(second, stale);
            assertThat(nl.sources()).containsExactly(first);
            assertThat(nl.couldNotGoNext()).contains(stale);
        }

        @Test
        void twoReadersSeeTheWritesInOppositeOrders() {
            Operation a = put(1, "x", "a", 0, 1000);
            Operation b = put(2, "x", "b", 0, 1000);
            CheckResult.NotLinearizable nl = assertNotLinearizable(a, b,
                    get(3, "x", "a", 10, 20), get(3, "x", "b", 30, 40),
                    get(4, "x", "b", 10, 20), get(4, "x", "a", 30, 40));
            assertThat(nl.counterexample()).contains(a, b).hasSize(6);
        }

        @Test
        void anAppendAppliedTwice() {
            Operation once = append(1, "x", "a", "a", 0, 10);
            Operation twice = get(2, "x", "aa", 20, 30);
            assertThat(assertNotLinearizable(once, twice).counterexample()).containsExactly(once, twice);
            // the append's own reply shows it twice
            assertNotLinearizable(append(1, "x", "a", "aa", 0, 10));
            // a retried append whose first attempt had taken effect, applied again
            assertNotLinearizable(put(1, "x", "p", 0, 10), appendResultNotKnown(1, "x", "a", 20, 30),
                    get(2, "x", "paa", 40, 50));
        }

        @Test
        void aReadOfAValueNeverWritten() {
            Operation phantom = get(2, "x", "zzz", 20, 30);
            assertThat(assertNotLinearizable(put(1, "x", "a", 0, 10), phantom).counterexample())
                    .containsExactly(phantom);
            assertNotLinearizable(getNotFound(1, "x", 0, 5), get(2, "x", "a", 10, 20));
        }

        @Test
        void aLostAcknowledgedWrite() {
            Operation write = put(1, "x", "1", 0, 10);
            Operation lost = getNotFound(2, "x", 20, 30);
            assertThat(assertNotLinearizable(write, lost).counterexample()).containsExactly(write, lost);
            assertNotLinearizable(append(1, "x", "a", "a", 0, 10), append(1, "x", "b", "ab", 20, 30),
                    get(2, "x", "a", 40, 50));
        }

        @Test
        void aReadFromTheFuture() {
            assertNotLinearizable(get(1, "x", "1", 0, 10), put(2, "x", "1", 20, 30));
        }

        @Test
        void theViolationIsReportedOnItsKeyAmongManyGoodOnes() {
            List<Operation> ops = new ArrayList<>();
            for (int k = 0; k < 20; k++) {
                ops.add(put(1, "k" + k, "v", 100L * k, 100L * k + 10));
                ops.add(get(2, "k" + k, "v", 100L * k + 20, 100L * k + 30));
            }
            ops.add(get(3, "k7", "w", 2000, 2010));
            CheckResult result = LinearizabilityChecker.check(History.of(ops), BUDGET);
            assertThat(result).isInstanceOfSatisfying(CheckResult.NotLinearizable.class, nl -> {
                assertThat(nl.key()).isEqualTo("k7");
                assertThat(nl.counterexample()).containsExactly(ops.getLast());
                assertThat(nl.explanation()).contains("key \"k7\"", "c3 get(\"k7\") -> \"w\" [2000, 2010]");
            });
        }

        @Test
        void theExplanationShowsTheConflict() {
            CheckResult result = LinearizabilityChecker.check(History.of(
                    put(1, "x", "1", 0, 10), put(2, "x", "2", 20, 30), get(3, "x", "1", 40, 50)), BUDGET);
            System.out.println(result.explanation());
            assertThat(result.explanation()).contains(
                    "not linearizable: key \"x\"",
                    "these 2 operations cannot all take effect, given the 1 write below;"
                            + " without any one of them the rest could:\n"
                            + "  c2 put(\"x\", \"2\") -> ok [20, 30]\n"
                            + "  c3 get(\"x\") -> \"1\" [40, 50]\n"
                            + "the writes the values above come from:\n"
                            + "  c1 put(\"x\", \"1\") -> ok [0, 10]\n",
                    "longest linearizable prefix found: 2 of 3 operations, after which the value is \"2\"");
        }
    }

    @Nested
    class UnknownOutcomes {
        final Operation before = put(1, "x", "1", 0, 10);
        final Operation timedOut = put(2, "x", "2", 20, 30).timedOut();

        @Test
        void aTimedOutWriteThatTookEffect() {
            CheckResult.Linearizable lin = assertLinearizable(before, timedOut, get(3, "x", "2", 40, 50));
            assertThat(lin.order().get("x")).containsExactly(before, timedOut, get(3, "x", "2", 40, 50));
        }

        @Test
        void aTimedOutWriteThatNeverTookEffect() {
            CheckResult.Linearizable lin = assertLinearizable(before, timedOut, get(3, "x", "1", 40, 50));
            assertThat(lin.order().get("x")).doesNotContain(timedOut);
        }

        @Test
        void aTimedOutWriteMayTakeEffectLongAfterTheClientGaveUp() {
            assertLinearizable(before, timedOut, get(3, "x", "1", 40, 50), get(3, "x", "2", 60, 70));
        }

        @Test
        void aTimedOutWriteCannotTakeEffectBeforeItWasCalled() {
            assertNotLinearizable(before, get(3, "x", "2", 12, 15), timedOut);
            assertNotLinearizable(before, get(3, "x", "12", 12, 15), appendResultNotKnown(2, "x", "2", 20, 30).timedOut());
        }

        @Test
        void anEarlierReadOfTheSameValueDoesNotUseUpATimedOutWrite() {
            // "a" is read once from the first put; the timed-out put of "a" is still needed for the last read
            assertLinearizable(put(1, "x", "a", 0, 10), get(2, "x", "a", 12, 15), put(3, "x", "a", 20, 30).timedOut(),
                    put(1, "x", "b", 40, 50), get(2, "x", "a", 60, 70));
        }

        @Test
        void aTimedOutWriteTakesEffectAtMostOnce() {
            assertNotLinearizable(before, timedOut, get(3, "x", "2", 40, 50), get(3, "x", "1", 60, 70));
            Operation app = appendResultNotKnown(2, "x", "b", 20, 30).timedOut();
            Operation start = append(1, "x", "a", "a", 0, 10);
            assertLinearizable(start, app, get(3, "x", "ab", 40, 50));
            assertLinearizable(start, app, get(3, "x", "a", 40, 50));
            assertNotLinearizable(start, app, get(3, "x", "abb", 40, 50));
            assertNotLinearizable(start, app, get(3, "x", "b", 40, 50));
        }

        @Test
        void theOutputOfAnUnknownOutcomeIsIgnored() {
            Operation lyingAppend = new Operation(2, Operation.Kind.APPEND, "x", Optional.of("b"),
                    Optional.of("nonsense"), 20, 30, false);
            Operation lyingGet = new Operation(2, Operation.Kind.GET, "x", Optional.empty(),
                    Optional.of("nonsense"), 40, 50, false);
            assertLinearizable(before, lyingAppend, lyingGet, get(3, "x", "1b", 60, 70));
        }

        @Test
        void manyTimedOutWritesStillCheckQuickly() {
            List<Operation> ops = new ArrayList<>();
            for (int i = 0; i < 30; i++) ops.add(put(i, "x", "v" + i, 10L * i, 10L * i + 5).timedOut());
            ops.add(get(99, "x", "v3", 1000, 1010));
            ops.add(get(99, "x", "v17", 1020, 1030));
            CheckResult result = LinearizabilityChecker.check(History.of(ops), BUDGET);
            assertThat(result.verdict()).as(result.explanation()).isEqualTo(Verdict.LINEARIZABLE);
        }
    }

    @Nested
    class Budget {
        /**
         * {@code n} concurrent puts of distinct values, then a put of "last", then a read of
         * {@code read}. A stale read of "v0" is only refuted once "last" is placed, which comes
         * after every subset of the concurrent puts in every order: memoization merges the orders
         * that end on the same value, but about n * 2^(n-1) (set, value) pairs remain.
         */
        static History pathological(int n, String read) {
            List<Operation> ops = new ArrayList<>();
            for (int i = 0; i < n; i++) ops.add(put(i, "x", "v" + i, 0, 1000));
            ops.add(put(n, "x", "last", 1100, 1200));
            ops.add(get(n, "x", read, 2000, 2100));
            return History.of(ops);
        }

        @Test
        void aPathologicalHistoryGivesUnknownWhenTheBudgetRunsOut() {
            int n = 22;
            long startNs = System.nanoTime();
            CheckResult result = LinearizabilityChecker.check(pathological(n, "v0"), Duration.ofMillis(50));
            long tookMs = (System.nanoTime() - startNs) / 1_000_000;
            System.out.printf("pathological (%d concurrent puts, stale read), 50 ms budget: %s after %d ms%n", n,
                    result.explanation(), tookMs);
            assertThat(result).isInstanceOfSatisfying(CheckResult.Unknown.class,
                    u -> assertThat(u.undecidedKeys()).containsExactly("x"));
        }

        @Test
        void theSameShapeSmallEnoughIsDecided() {
            assertThat(LinearizabilityChecker.check(pathological(10, "v0"), BUDGET).verdict())
                    .isEqualTo(Verdict.NOT_LINEARIZABLE);
            assertThat(LinearizabilityChecker.check(pathological(10, "last"), BUDGET).verdict())
                    .isEqualTo(Verdict.LINEARIZABLE);
            assertNotLinearizable(pathological(5, "v0").operations().toArray(Operation[]::new));
        }

        @Test
        void otherKeysAreStillDecidedAndAViolationElsewhereStillCounts() {
            List<Operation> ops = new ArrayList<>(pathological(22, "v0").operations());
            ops.add(put(1, "a", "1", 0, 10));
            ops.add(get(2, "a", "1", 20, 30));
            CheckResult unknown = LinearizabilityChecker.check(History.of(ops), Duration.ofMillis(50));
            assertThat(unknown).isInstanceOfSatisfying(CheckResult.Unknown.class, u -> {
                assertThat(u.undecidedKeys()).containsExactly("x");
                assertThat(u.decidedKeys()).isEqualTo(1);
            });
            ops.add(getNotFound(3, "a", 40, 50)); // the write to "a" is lost: a verdict despite "x"
            assertThat(LinearizabilityChecker.check(History.of(ops), Duration.ofMillis(50)).verdict())
                    .isEqualTo(Verdict.NOT_LINEARIZABLE);
        }
    }

    @Nested
    class Scale {
        @Test
        void tenThousandOperationsOverFiftyKeysWithEightClients() {
            for (double unknownRate : new double[] {0.0, 0.05}) {
                History history = SimulatedHistories.generate(
                        SimulatedHistories.Shape.of(8, 50, 10_000).withUnknownRate(unknownRate), 42);
                long startNs = System.nanoTime();
                CheckResult result = LinearizabilityChecker.check(history, BUDGET);
                long tookMs = (System.nanoTime() - startNs) / 1_000_000;
                System.out.printf("10,000 ops, 50 keys, 8 clients, %.0f%% unknown outcomes: %s in %d ms%n",
                        unknownRate * 100, result.verdict(), tookMs);
                // finishing inside the budget is the time bound; the measured time is printed for the log
                assertThat(result.verdict()).as(result.explanation()).isEqualTo(Verdict.LINEARIZABLE);
                assertThat(Witnesses.problems(history, (CheckResult.Linearizable) result)).isEmpty();
            }
        }

        @Test
        void aViolationInTenThousandOperationsIsShrunkToItsCore() {
            History good = SimulatedHistories.generate(SimulatedHistories.Shape.of(8, 50, 10_000), 43);
            List<Operation> ops = new ArrayList<>(good.operations());
            Operation read = ops.stream().filter(op -> op.kind() == Operation.Kind.GET && op.ok()).findFirst()
                    .orElseThrow();
            Operation phantom = read.withOutput(Optional.of("[never]"));
            ops.set(ops.indexOf(read), phantom);
            long startNs = System.nanoTime();
            CheckResult result = LinearizabilityChecker.check(History.of(ops), BUDGET);
            long tookMs = (System.nanoTime() - startNs) / 1_000_000;
            System.out.printf("10,000 ops with one phantom read: %s in %d ms%n", result.verdict(), tookMs);
            assertThat(result).isInstanceOfSatisfying(CheckResult.NotLinearizable.class, nl -> {
                assertThat(nl.key()).isEqualTo(read.key());
                assertThat(nl.counterexample()).containsExactly(phantom);
                assertThat(nl.minimal()).isTrue();
            });
        }
    }
}
