package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The definition of linearizability, executed nearly literally on small histories: build the total
 * order one operation at a time, any operation whose real-time predecessors are all placed may come
 * next, unknown-outcome writes may also never come, and the whole multi-key store (no partitioning)
 * must produce every known output. The only cleverness is remembering which (placed set, store)
 * configurations already failed. An independent oracle for {@link LinearizabilityChecker}: it
 * shares none of its code but {@link Operation}.
 */
final class BruteForce {

    private static final int MAX_OPS = 20;

    private record Config(int placed, TreeMap<String, String> store) {}

    private BruteForce() {}

    static boolean isLinearizable(History history) {
        List<Operation> ops = new ArrayList<>();
        for (Operation op : history.operations()) if (op.ok() || op.isWrite()) ops.add(op); // unknown gets say nothing
        if (ops.size() > MAX_OPS)
            throw new IllegalArgumentException("brute force is for small histories, not " + ops.size() + " ops");
        int knownMask = 0;
        for (int i = 0; i < ops.size(); i++) if (ops.get(i).ok()) knownMask |= 1 << i;
        return search(ops, knownMask, 0, new TreeMap<>(), new HashSet<>());
    }

    private static boolean search(List<Operation> ops, int knownMask, int placed, TreeMap<String, String> store,
                                  Set<Config> failed) {
        if ((placed & knownMask) == knownMask) return true; // unplaced unknown writes never took effect
        Config config = new Config(placed, store); // store is never changed after it is made
        if (failed.contains(config)) return false;
        for (int i = 0; i < ops.size(); i++) {
            if ((placed & 1 << i) != 0 || !mayGoNext(ops, placed, i)) continue;
            Operation op = ops.get(i);
            Optional<String> before = Optional.ofNullable(store.get(op.key()));
            boolean matches = before.equals(op.expected());
            String after = switch (op.kind()) {
                case PUT -> op.value().orElseThrow();
                case APPEND -> before.orElse("") + op.value().orElseThrow();
                case GET -> before.orElse(null);
                case DELETE -> null;
                case CAS, TXN -> matches ? op.value().orElse(null) : before.orElse(null);
            };
            boolean outputFits = switch (op.kind()) {
                case PUT -> true;
                case APPEND -> !op.ok() || op.output().isEmpty() || op.output().get().equals(after);
                case GET -> op.output().equals(before);
                case DELETE -> !op.ok() || op.output().isEmpty() || op.output().get().equals(before.isPresent() ? "1" : "0");
                case CAS, TXN -> !op.ok() || (op.succeeded().orElseThrow() == matches
                        && (matches || op.output().equals(before)));
            };
            if (!outputFits) continue;
            TreeMap<String, String> next = new TreeMap<>(store);
            if (after != null) next.put(op.key(), after);
            else next.remove(op.key());
            if (search(ops, knownMask, placed | 1 << i, next, failed)) return true;
        }
        failed.add(config);
        return false;
    }

    /** Real time: {@code ops[i]} may come next unless some unplaced operation returned before it was called. */
    private static boolean mayGoNext(List<Operation> ops, int placed, int i) {
        for (int j = 0; j < ops.size(); j++)
            if (j != i && (placed & 1 << j) == 0 && ops.get(j).ok() && ops.get(j).returnNs() < ops.get(i).callNs())
                return false;
        return true;
    }

    /** Whether running {@code order} on an empty store, one after another, gives every known output. */
    static boolean replays(List<Operation> order) {
        Map<String, String> store = new HashMap<>();
        for (Operation op : order) {
            String before = store.get(op.key());
            switch (op.kind()) {
                case PUT -> store.put(op.key(), op.value().orElseThrow());
                case APPEND -> {
                    String after = (before == null ? "" : before) + op.value().orElseThrow();
                    if (op.ok() && op.output().isPresent() && !op.output().get().equals(after)) return false;
                    store.put(op.key(), after);
                }
                case GET -> {
                    if (op.ok() && !op.output().equals(Optional.ofNullable(before))) return false;
                }
                case DELETE -> {
                    if (op.ok() && op.output().isPresent() && !op.output().get().equals(before != null ? "1" : "0"))
                        return false;
                    store.remove(op.key());
                }
                case CAS, TXN -> {
                    boolean matches = Optional.ofNullable(before).equals(op.expected());
                    if (op.ok() && op.succeeded().orElseThrow() != matches) return false;
                    if (op.ok() && !matches && !op.output().equals(Optional.ofNullable(before))) return false;
                    if (matches) {
                        if (op.value().isPresent()) store.put(op.key(), op.value().get());
                        else store.remove(op.key());
                    }
                }
            }
        }
        return true;
    }
}
