package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Shrinks a non-linearizable sub-history of one key to a counterexample a person can read, by
 * delta debugging (Zeller's ddmin, complement-only): drop chunks of operations of halving size,
 * then single operations, while what is left stays non-linearizable. Chunks are neighbours in time,
 * so a whole irrelevant tail goes in one step.
 *
 * <p>Two rules keep the result meaningful:
 * <ul>
 *   <li>A write that a remaining output could have come from ({@link KeyModel#couldShow}) is never
 *       dropped. Otherwise every stale read would shrink to the read alone, "a value never
 *       written", hiding the overwritten write and the overwriting one that make the story. Such
 *       writes are reported apart, as the sources of the values read.</li>
 *   <li>The reported result of an append may be forgotten (treated as not reported) when the
 *       conflict does not need it: it is a long value that would pin every append in it as a
 *       source. Forgetting information keeps a history non-linearizable only if it was already, so
 *       the operations are reported as they were recorded.</li>
 * </ul>
 * Every search runs against the caller's deadline; past it, shrinking stops with what it has.
 */
final class Shrinker {

    /**
     * {@code core} and {@code sources} together have no linearization; {@code minimal}: dropping
     * any one core operation leaves a linearizable history (once the unneeded append results are
     * forgotten). All lists by call time, operations as recorded.
     */
    record Counterexample(List<Operation> core, List<Operation> sources, boolean minimal) {}

    private Shrinker() {}

    static Counterexample shrink(List<Operation> ops, long deadlineNs) {
        // parallel lists: the operations as recorded, and as searched (append results maybe forgotten)
        List<Operation> recorded = byCall(ops);
        List<Operation> searched = new ArrayList<>(recorded);
        while (true) {
            Boolean decided = dropOperations(recorded, searched, deadlineNs);
            if (decided == null) return split(recorded, searched, false);
            boolean forgot = false;
            for (int i = 0; i < searched.size(); i++) {
                Operation op = searched.get(i);
                if (op.kind() != Operation.Kind.APPEND || !op.ok() || op.output().isEmpty()) continue;
                if (System.nanoTime() - deadlineNs > 0) return split(recorded, searched, false);
                List<Operation> trial = new ArrayList<>(searched);
                trial.set(i, op.withOutput(Optional.empty()));
                switch (KeySearch.run(trial, deadlineNs)) {
                    case KeySearch.Outcome.Refuted r -> {
                        searched = trial;
                        forgot = true;
                    }
                    case KeySearch.Outcome.Found f -> { }
                    case KeySearch.Outcome.GaveUp g -> decided = false;
                }
            }
            if (!forgot) return split(recorded, searched, decided);
        }
    }

    /**
     * ddmin over both lists in step; returns whether every removal tried in the last pass was
     * decided, or null when the deadline passed.
     */
    private static Boolean dropOperations(List<Operation> recorded, List<Operation> searched, long deadlineNs) {
        int chunk = Math.max(1, searched.size() / 2);
        while (true) {
            boolean removed = false;
            boolean allDecided = true;
            for (int start = 0; start < searched.size(); ) {
                if (System.nanoTime() - deadlineNs > 0) return null;
                int end = Math.min(searched.size(), start + chunk);
                List<Operation> rest = new ArrayList<>(searched.subList(0, start));
                rest.addAll(searched.subList(end, searched.size()));
                if (feedsAnOutput(searched.subList(start, end), rest)) {
                    start = end;
                    continue;
                }
                switch (KeySearch.run(rest, deadlineNs)) {
                    case KeySearch.Outcome.Refuted r -> {
                        searched.subList(start, end).clear();
                        recorded.subList(start, end).clear();
                        removed = true;
                    }
                    case KeySearch.Outcome.Found f -> start = end;
                    case KeySearch.Outcome.GaveUp g -> {
                        allDecided = false;
                        start = end;
                    }
                }
            }
            if (chunk > 1) chunk = Math.max(1, chunk / 2);
            else if (!removed) return allDecided;
        }
    }

    private static Counterexample split(List<Operation> recorded, List<Operation> searched, boolean minimal) {
        List<Operation> core = new ArrayList<>();
        List<Operation> sources = new ArrayList<>();
        for (int i = 0; i < searched.size(); i++) {
            List<Operation> others = new ArrayList<>(searched);
            others.remove(i);
            (feedsAnOutput(List.of(searched.get(i)), others) ? sources : core).add(recorded.get(i));
        }
        return new Counterexample(core, sources, minimal);
    }

    /** Whether a write among {@code dropped} could have produced part of a known output in {@code rest}. */
    private static boolean feedsAnOutput(List<Operation> dropped, List<Operation> rest) {
        for (Operation w : dropped) {
            if (!w.isWrite()) continue;
            for (Operation o : rest) {
                // a delete or a comparison may be why a known outcome holds, whatever its value
                if (w.kind().isConditionalOrDelete() && o.ok()) return true;
                // a delete that deleted something saw some write
                if (o.kind() == Operation.Kind.DELETE && o.ok() && o.output().equals(java.util.Optional.of("1")))
                    return true;
                String out = KeyModel.knownOutput(o);
                if (out != null && KeyModel.couldShow(out, w)) return true;
            }
        }
        return false;
    }

    private static List<Operation> byCall(List<Operation> ops) {
        List<Operation> sorted = new ArrayList<>(ops);
        sorted.sort(Comparator.comparingLong(Operation::callNs));
        return sorted;
    }
}
