package io.raftkv.linearizability;

import java.time.Duration;
import java.util.Locale;

/**
 * A history checked by {@link LinearizabilityChecker}, worded for people: what {@code raftkv
 * check-history} and {@code raftkv chaos} print.
 *
 * @param operations how many operations the history has
 * @param unknown    how many of them have an unknown outcome ({@code "ok":false})
 * @param keys       how many keys they touch
 * @param took       how long the check ran
 * @param budget     how long it was allowed to run
 */
public record CheckReport(int operations, int unknown, int keys, Duration took, Duration budget, CheckResult result) {

    /** Checks {@code history} within {@code budget}, timing the check. */
    public static CheckReport check(History history, Duration budget) {
        long startNs = System.nanoTime();
        CheckResult result = LinearizabilityChecker.check(history, budget);
        Duration took = Duration.ofNanos(System.nanoTime() - startNs);
        int unknown = (int) history.operations().stream().filter(op -> !op.ok()).count();
        return new CheckReport(history.size(), unknown, history.byKey().size(), took, budget, result);
    }

    public CheckResult.Verdict verdict() {
        return result.verdict();
    }

    /** {@code LINEARIZABLE}, {@code NOT LINEARIZABLE} or {@code UNKNOWN}. */
    public String verdictName() {
        return result.verdict().name().replace('_', ' ');
    }

    /** One line: {@code 8606 operations (3 of unknown outcome) on 150 keys checked in 0.1 s: LINEARIZABLE}. */
    public String headline() {
        return String.format(Locale.ROOT, "%d operations%s on %d %s checked in %.1f s: %s", operations,
                unknown == 0 ? "" : " (" + unknown + " of unknown outcome)", keys, keys == 1 ? "key" : "keys",
                took.toNanos() / 1e9, verdictName());
    }

    /**
     * What a person needs beyond the headline, one or more lines without a final line break: the
     * counterexample when not linearizable, what stayed undecided when unknown; empty when
     * linearizable.
     */
    public String details() {
        return result instanceof CheckResult.Linearizable ? "" : result.explanation().stripTrailing();
    }
}
