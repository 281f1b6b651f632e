package io.raftkv.linearizability;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What {@link LinearizabilityChecker#check} concluded about a history. */
public sealed interface CheckResult {

    enum Verdict { LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN }

    Verdict verdict();

    /** A few lines for a person reading a failed test. */
    String explanation();

    /**
     * Every key's sub-history has a linearization. {@code order} holds one per key, a witness that
     * can be replayed: every operation with a known outcome once, plus the unknown-outcome writes
     * that took effect in it (the others are left out: they never happened).
     */
    record Linearizable(Map<String, List<Operation>> order) implements CheckResult {
        public Linearizable {
            order = Map.copyOf(order);
        }

        @Override
        public Verdict verdict() {
            return Verdict.LINEARIZABLE;
        }

        @Override
        public String explanation() {
            return "linearizable: " + order.values().stream().mapToInt(List::size).sum()
                    + " operations took effect on " + order.size() + " keys";
        }
    }

    /**
     * The operations on {@code key} have no linearization. {@link #counterexample()} is a small
     * subset of them that already has none: the {@code core} operations in conflict, plus the
     * writes the values they show were read from ({@code sources}), kept so that a stale read shows
     * as a stale read and not as a read of a value never written.
     *
     * @param keyOperations    how many operations the key's sub-history has (gets of unknown outcome excluded)
     * @param core             the conflicting operations, by call time
     * @param sources          the writes that values in {@code core} could have come from, by call time
     * @param minimal          whether dropping any one operation of {@code core} leaves a linearizable
     *                         history (false when the time budget ran out while shrinking)
     * @param longestPrefix    the longest partial linearization of the whole sub-history the search found
     * @param valueAfterPrefix the key's value after {@code longestPrefix}; empty: absent
     * @param couldNotGoNext   the operations that were candidates to take effect after that prefix, none
     *                         of which could, by call time
     */
    record NotLinearizable(String key, int keyOperations, List<Operation> core, List<Operation> sources,
                           boolean minimal, List<Operation> longestPrefix, Optional<String> valueAfterPrefix,
                           List<Operation> couldNotGoNext) implements CheckResult {
        private static final int LIST_LINES = 12;

        public NotLinearizable {
            core = List.copyOf(core);
            sources = List.copyOf(sources);
            longestPrefix = List.copyOf(longestPrefix);
            couldNotGoNext = List.copyOf(couldNotGoNext);
        }

        /** {@code core} and {@code sources} together, by call time: a history with no linearization. */
        public List<Operation> counterexample() {
            List<Operation> all = new java.util.ArrayList<>(core);
            all.addAll(sources);
            all.sort(java.util.Comparator.comparingLong(Operation::callNs));
            return all;
        }

        @Override
        public Verdict verdict() {
            return Verdict.NOT_LINEARIZABLE;
        }

        @Override
        public String explanation() {
            StringBuilder s = new StringBuilder("not linearizable: key ").append(Operation.quote(key))
                    .append(" (").append(keyOperations).append(" operations on it)\n");
            s.append(core.size() == 1 ? "this operation cannot take effect" : "these " + core.size()
                            + " operations cannot all take effect")
                    .append(sources.isEmpty() ? "" : ", given the " + sources.size()
                            + (sources.size() == 1 ? " write" : " writes") + " below")
                    .append(!minimal ? " (not shrunk further: time budget)"
                            : core.size() == 1 ? "" : "; without any one of them the rest could")
                    .append(":\n");
            list(s, core, 0);
            if (!sources.isEmpty()) {
                s.append("the writes the values above come from:\n");
                list(s, sources, 0);
            }
            s.append("longest linearizable prefix found: ").append(longestPrefix.size()).append(" of ")
                    .append(keyOperations).append(" operations, after which the value is ")
                    .append(KeyModel.describe(valueAfterPrefix.orElse(null))).append('\n');
            list(s, longestPrefix, 1);
            s.append("none of these could take effect next:\n");
            list(s, couldNotGoNext, 0);
            return s.toString();
        }

        /** The last {@link #LIST_LINES} of {@code ops}, numbered from 1 unless {@code numberFrom} is 0. */
        private static void list(StringBuilder s, List<Operation> ops, int numberFrom) {
            int from = Math.max(0, ops.size() - LIST_LINES);
            if (from > 0) s.append("  ... ").append(from).append(" earlier\n");
            for (int i = from; i < ops.size(); i++) {
                s.append("  ");
                if (numberFrom > 0) s.append(i + numberFrom).append(". ");
                s.append(ops.get(i)).append('\n');
            }
        }
    }

    /**
     * The search gave up (time budget, or memory bound) before deciding {@code undecidedKeys}; the
     * other keys were linearizable. Never a claim either way about the history.
     */
    record Unknown(List<String> undecidedKeys, int decidedKeys, String reason) implements CheckResult {
        public Unknown {
            undecidedKeys = List.copyOf(undecidedKeys);
        }

        @Override
        public Verdict verdict() {
            return Verdict.UNKNOWN;
        }

        @Override
        public String explanation() {
            return "unknown: " + reason + "; undecided keys " + undecidedKeys + ", " + decidedKeys
                    + " keys linearizable";
        }
    }
}
