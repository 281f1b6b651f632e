package io.raftkv.chaos;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks the final state of a run against its history: every acknowledged write is present,
 * exactly once and in order, and no value seen was later lost. Cheap and decisive, but narrower
 * than linearizability (which {@link io.raftkv.linearizability.LinearizabilityChecker} decides on
 * the same history, in the same run).
 *
 * <p>It relies on the workload's shape: every key is written by one client only, and only with
 * appends (an "append key") or only with puts (a "register key"); every append's value is a token
 * unique to its key that ends with {@code ;} and holds no other {@code ;}. And on sessions
 * (Raft thesis §6.3): a client's writes take effect at most once each, in the order it issued
 * them, since the cluster refuses a sequence number older than the last one it applied. So:
 * <ul>
 *   <li>append key: its final value is the concatenation of a subsequence of the client's appends
 *       in issue order, containing every acknowledged one; every value seen on the key (a read, the
 *       value an append reported) is a prefix of the final value, as values only grow;</li>
 *   <li>register key: its final value is the last acknowledged put's, or that of a put issued
 *       after it whose outcome is unknown (absent if there is neither); every value read was put.</li>
 * </ul>
 */
final class AcknowledgedWritesCheck {
    static final char TOKEN_END = ';';
    /** Problems listed in full; the rest are counted. */
    private static final int MAX_PROBLEMS = 50;

    /**
     * @param keys          keys checked
     * @param ackedWrites   acknowledged writes on those keys
     * @param problems      what is wrong, one sentence each (at most {@value #MAX_PROBLEMS})
     * @param moreProblems  problems beyond those listed
     */
    record Outcome(int keys, int ackedWrites, List<String> problems, int moreProblems) {
        boolean passed() {
            return problems.isEmpty();
        }
    }

    private AcknowledgedWritesCheck() {}

    /**
     * @param ops         the history (any order); ops on keys missing from {@code finalValues} are skipped
     * @param finalValues each written key's value read at the end, after the cluster recovered
     *                    (empty: not found)
     * @throws IllegalArgumentException if the history breaks the workload's shape (see above)
     */
    static Outcome check(List<Op> ops, Map<String, Optional<String>> finalValues) {
        Map<String, List<Op>> byKey = new LinkedHashMap<>();
        for (Op op : ops) byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
        List<String> problems = new ArrayList<>();
        int acked = 0;
        int keys = 0;
        for (Map.Entry<String, Optional<String>> e : finalValues.entrySet()) {
            List<Op> keyOps = byKey.getOrDefault(e.getKey(), List.of());
            keys++;
            acked += checkKey(e.getKey(), keyOps, e.getValue(), problems);
        }
        int more = Math.max(0, problems.size() - MAX_PROBLEMS);
        return new Outcome(keys, acked, List.copyOf(problems.subList(0, Math.min(problems.size(), MAX_PROBLEMS))), more);
    }

    private static int checkKey(String key, List<Op> keyOps, Optional<String> finalValue, List<String> problems) {
        List<Op> writes = keyOps.stream().filter(Op::isWrite).sorted(java.util.Comparator.comparingLong(Op::callNs)).toList();
        List<Op> reads = keyOps.stream().filter(op -> !op.isWrite() && op.ok()).toList();
        Set<Integer> writers = new TreeSet<>();
        Set<Op.Kind> kinds = new TreeSet<>();
        for (Op w : writes) {
            writers.add(w.client());
            kinds.add(w.kind());
        }
        if (writers.size() > 1) throw new IllegalArgumentException("key " + key + " is written by clients " + writers);
        if (kinds.size() > 1) throw new IllegalArgumentException("key " + key + " has both puts and appends");
        if (writes.isEmpty()) {
            finalValue.ifPresent(v -> problems.add(key + ": never written, but holds \"" + v + "\""));
            for (Op r : reads) {
                r.output().ifPresent(v -> problems.add(key + ": never written, but " + describe(r) + " read \"" + v + "\""));
            }
        } else if (kinds.contains(Op.Kind.APPEND)) {
            checkAppends(key, writes, reads, finalValue.orElse(""), problems);
        } else {
            checkPuts(key, writes, reads, finalValue, problems);
        }
        return (int) writes.stream().filter(Op::ok).count();
    }

    private static void checkAppends(String key, List<Op> appends, List<Op> reads, String finalValue, List<String> problems) {
        Map<String, Integer> position = new HashMap<>();
        for (int i = 0; i < appends.size(); i++) {
            String token = appends.get(i).value().orElseThrow();
            if (token.isEmpty() || token.indexOf(TOKEN_END) != token.length() - 1)
                throw new IllegalArgumentException("append value \"" + token + "\" on " + key + " is not one token ending in ;");
            if (position.put(token, i) != null) throw new IllegalArgumentException("token " + token + " appended twice to " + key);
        }
        List<String> tokens = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < finalValue.length(); i++) {
            if (finalValue.charAt(i) == TOKEN_END) {
                tokens.add(finalValue.substring(start, i + 1));
                start = i + 1;
            }
        }
        if (start < finalValue.length()) {
            problems.add(key + ": final value ends in \"" + finalValue.substring(start) + "\", which no append wrote");
        }
        Map<String, Integer> seen = new HashMap<>();
        int last = -1;
        for (String t : tokens) {
            Integer pos = position.get(t);
            if (pos == null) {
                problems.add(key + ": final value holds \"" + t + "\", which was never appended to this key");
                continue;
            }
            int times = seen.merge(t, 1, Integer::sum);
            if (times == 2) problems.add(key + ": " + describe(appends.get(pos)) + " is in the final value more than once");
            if (times == 1 && pos < last) {
                problems.add(key + ": " + describe(appends.get(pos)) + " comes after " + describe(appends.get(last))
                        + " in the final value, but was issued before it (writes of a session apply in order)");
            }
            last = Math.max(last, pos);
        }
        for (Op a : appends) {
            if (a.ok() && !seen.containsKey(a.value().orElseThrow())) {
                problems.add(key + ": acknowledged " + describe(a) + " is missing from the final value");
            }
        }
        for (Op a : appends) {
            if (a.ok() && a.output().isPresent() && !finalValue.startsWith(a.output().get())) {
                problems.add(key + ": " + describe(a) + " reported the value \"" + a.output().get()
                        + "\", which is not a prefix of the final value \"" + finalValue + "\"");
            }
        }
        for (Op r : reads) {
            String v = r.output().orElse("");
            if (!finalValue.startsWith(v)) {
                problems.add(key + ": " + describe(r) + " read \"" + v + "\", which is not a prefix of the final value \""
                        + finalValue + "\"");
            }
        }
    }

    private static void checkPuts(String key, List<Op> puts, List<Op> reads, Optional<String> finalValue,
                                 List<String> problems) {
        int lastAcked = -1;
        for (int i = 0; i < puts.size(); i++) if (puts.get(i).ok()) lastAcked = i;
        List<Optional<String>> allowed = new ArrayList<>();
        if (lastAcked < 0) allowed.add(Optional.empty());
        else allowed.add(puts.get(lastAcked).value());
        for (int i = lastAcked + 1; i < puts.size(); i++) allowed.add(puts.get(i).value());
        if (!allowed.contains(finalValue)) {
            String has = finalValue.map(v -> "\"" + v + "\"").orElse("nothing (key not found)");
            problems.add(key + ": final value is " + has + ", but the last acknowledged put is "
                    + (lastAcked < 0 ? "none" : describe(puts.get(lastAcked)))
                    + (allowed.size() > 1 ? " and the puts of unknown outcome after it wrote " + allowed.subList(1, allowed.size())
                    .stream().map(v -> "\"" + v.orElseThrow() + "\"").toList() : ""));
        }
        Set<String> written = new java.util.HashSet<>();
        for (Op p : puts) written.add(p.value().orElseThrow());
        for (Op r : reads) {
            r.output().filter(v -> !written.contains(v))
                    .ifPresent(v -> problems.add(key + ": " + describe(r) + " read \"" + v + "\", which no put wrote"));
        }
    }

    private static String describe(Op op) {
        String what = op.kind().jsonName() + op.value().map(v -> " \"" + v + "\"").orElse("") + " by client " + op.client();
        return what + String.format(" (called at %.3f s%s)", op.callNs() / 1e9,
                op.ok() ? String.format(", answered at %.3f s", op.returnNs() / 1e9) : ", outcome unknown");
    }
}
