package io.raftkv.linearizability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Decides whether a history of the key-value store is linearizable (Herlihy &amp; Wing 1990): whether
 * every operation can be given an instant between its call and its return at which it takes
 * effect atomically, such that the outputs are those of the sequential store run in that order.
 *
 * <h2>Model</h2>
 * A map from string keys to string values; {@code put(k, v)} sets, {@code append(k, v)} sets the
 * value to old + v (a missing key counts as "") and returns the new value, {@code get(k)} returns
 * the value or not-found. See {@link KeyModel} for the per-key rules.
 *
 * <h2>Partitioning (P-compositionality)</h2>
 * Every operation touches exactly one key, and its effect and output depend only on that key's
 * value: the store is the product of independent per-key objects (a register you can also append
 * to). Linearizability is local (Herlihy &amp; Wing, Theorem 1): a history is linearizable iff each
 * per-object sub-history is. One way is plain restriction. The other: given a linearization per
 * key, the union of those orders with the real-time order has no cycle (their proof), so any
 * total order extending it respects real time, restricts to each key's order, and so replays on
 * the store to the recorded outputs. So each key is checked on its own, which turns one search
 * exponential in the whole history into many small ones. Unknown outcomes split the same way:
 * whether such a write took effect, and when, only matters to its own key.
 *
 * <h2>Algorithm</h2>
 * Per key, the depth-first search of Wing &amp; Gong as improved by Lowe (memoizing visited
 * configurations), which is what Porcupine and Knossos' "wgl" checker do, plus a few prunings
 * that only drop branches without a completion; see {@link KeySearch}. A violation found on one
 * key is a verdict for the whole history. It is then shrunk to a small counterexample ({@link
 * Shrinker}), so a person sees the handful of operations that conflict.
 *
 * <h2>Unknown outcomes</h2>
 * An operation with {@code ok == false} (a timeout, a 503) may have taken effect at any instant
 * after its call, even after the client gave up, or never; its output is unknown. Such a get
 * constrains nothing and is dropped. Such a write is given a return at +infinity: the search may
 * place it anywhere after its call or leave it out, and never checks its output. These writes are
 * what makes the search blow up (each one doubles the ways to go), so it places them as late as
 * possible and drops one as soon as nothing left could show its value; see {@link KeySearch}.
 *
 * <h2>Budget</h2>
 * The search is exponential in the worst case. It checks the clock every few hundred steps and
 * answers {@link CheckResult.Unknown} when the budget is spent (or a memory bound is hit): never
 * LINEARIZABLE without having found a linearization, never NOT_LINEARIZABLE without having
 * exhausted the search for one key. Keys are checked smallest first so that a budget spent on one
 * huge key still leaves the others decided.
 */
public final class LinearizabilityChecker {

    private LinearizabilityChecker() {}

    public static CheckResult check(History history, Duration budget) {
        long deadlineNs = System.nanoTime() + budget.toNanos();

        Map<String, List<Operation>> parts = new LinkedHashMap<>();
        history.byKey().forEach((key, ops) -> {
            // a get of unknown outcome says nothing about the state
            List<Operation> kept = ops.stream().filter(op -> op.ok() || op.isWrite()).toList();
            parts.put(key, kept);
        });
        List<String> keys = new ArrayList<>(parts.keySet());
        keys.sort(Comparator.<String>comparingInt(k -> parts.get(k).size()).thenComparing(Comparator.naturalOrder()));

        Map<String, List<Operation>> order = new LinkedHashMap<>();
        List<String> undecided = new ArrayList<>();
        String firstReason = null;
        for (String key : keys) {
            List<Operation> ops = parts.get(key);
            switch (KeySearch.run(ops, deadlineNs)) {
                case KeySearch.Outcome.Found f -> order.put(key, pick(ops, f.order()));
                case KeySearch.Outcome.Refuted r -> {
                    return explain(key, ops, r, deadlineNs);
                }
                case KeySearch.Outcome.GaveUp g -> {
                    undecided.add(key);
                    if (firstReason == null) firstReason = "key " + Operation.quote(key) + ": " + g.reason();
                }
            }
        }
        if (!undecided.isEmpty()) return new CheckResult.Unknown(undecided, order.size(), firstReason);
        return new CheckResult.Linearizable(order);
    }

    private static CheckResult.NotLinearizable explain(String key, List<Operation> ops, KeySearch.Outcome.Refuted r,
                                                       long deadlineNs) {
        List<Operation> prefix = pick(ops, r.longestPrefix());
        Shrinker.Counterexample c = Shrinker.shrink(ops, deadlineNs);
        return new CheckResult.NotLinearizable(key, ops.size(), c.core(), c.sources(), c.minimal(), prefix,
                Optional.ofNullable(r.stateAfterPrefix()), candidatesAfter(ops, r.longestPrefix()));
    }

    /**
     * The operations that could have gone next after {@code prefix}: not yet linearized and called
     * no later than the earliest return among the pending known-outcome operations.
     */
    private static List<Operation> candidatesAfter(List<Operation> ops, int[] prefix) {
        boolean[] done = new boolean[ops.size()];
        for (int i : prefix) done[i] = true;
        long firstReturnNs = Long.MAX_VALUE;
        for (int i = 0; i < ops.size(); i++)
            if (!done[i] && ops.get(i).ok()) firstReturnNs = Math.min(firstReturnNs, ops.get(i).returnNs());
        List<Operation> candidates = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++)
            if (!done[i] && ops.get(i).callNs() <= firstReturnNs) candidates.add(ops.get(i));
        candidates.sort(Comparator.comparingLong(Operation::callNs));
        return candidates;
    }

    private static List<Operation> pick(List<Operation> ops, int[] indices) {
        List<Operation> picked = new ArrayList<>(indices.length);
        for (int i : indices) picked.add(ops.get(i));
        return picked;
    }
}
