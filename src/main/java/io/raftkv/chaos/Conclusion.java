package io.raftkv.chaos;

import io.raftkv.linearizability.CheckReport;

import java.util.ArrayList;
import java.util.List;

/**
 * The checks of a run, combined into its verdict. A violation fails the run whatever else
 * happened (two leaders in one term or a non-linearizable history is a finding even if the
 * cluster then did not recover); otherwise anything undecided (no recovery, unread keys, a
 * linearizability check out of time) leaves it without a verdict; otherwise it passes. Not
 * thread-safe.
 */
final class Conclusion {
    private final List<String> violations = new ArrayList<>();
    private final List<String> undecided = new ArrayList<>();
    private final List<String> held = new ArrayList<>();

    /** A check failed: the run fails. */
    void violated(String why) {
        violations.add(why);
    }

    /** A check could not be made or finished. */
    void undecided(String why) {
        undecided.add(why);
    }

    /** A check passed; said when the whole run passes. */
    void held(String what) {
        held.add(what);
    }

    /** The linearizability check of the history: a violation, undecided, or held as its verdict says. */
    void linearizability(CheckReport report) {
        String line = "linearizability: " + report.headline();
        switch (report.verdict()) {
            case LINEARIZABLE -> held(line);
            case NOT_LINEARIZABLE -> violated(line + " (counterexample below)");
            case UNKNOWN -> undecided(line + " (no verdict within the budget, --check-budget-seconds)");
        }
    }

    ChaosRun.Verdict verdict() {
        if (!violations.isEmpty()) return ChaosRun.Verdict.FAIL;
        return undecided.isEmpty() ? ChaosRun.Verdict.PASS : ChaosRun.Verdict.NO_VERDICT;
    }

    /** Why the verdict: the violations then what stayed undecided, or what held if it passed. */
    List<String> reasons() {
        if (verdict() == ChaosRun.Verdict.PASS) return List.copyOf(held);
        List<String> reasons = new ArrayList<>(violations);
        reasons.addAll(undecided);
        return reasons;
    }
}
