package io.raftkv.linearizability;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import java.util.stream.IntStream;

/**
 * The operations of one key's sub-history that the search has not placed yet, in the orders it
 * needs them, each a {@link DancingLinks} list so that placing an operation and undoing it are
 * O(1) and nest like a stack:
 * <ul>
 *   <li>{@code events}: calls and returns of known-outcome operations by time, calls first at equal
 *       times (operations that touch at an instant count as concurrent);</li>
 *   <li>{@code unknownCalls}: unknown-outcome writes still worth placing, by call time;</li>
 *   <li>{@code puts}: puts of either kind still worth placing, by call time;</li>
 *   <li>{@code pins}: operations with a known output (reads, appends with a reported result), by
 *       return time.</li>
 * </ul>
 * It also counts, per unknown write, the unplaced operations whose known output could show its
 * value: at zero the write is "buried" (see {@link KeySearch}, dead unknown writes).
 *
 * <p>When the key has deletes or conditional writes ({@code general}), the pins are off (every pin
 * can hold) and an unknown write is buried once every operation that {@link KeyModel#mayObserve
 * may observe} it is placed.
 */
final class Unplaced {
    static final int NONE = -1;

    private final List<Operation> ops;
    final boolean general;
    final int knownOps;

    final DancingLinks events;
    private final int[] opOfEvent;
    private final boolean[] isCall;
    private final int[] callEventOfOp;
    private final int[] returnEventOfOp;

    final DancingLinks unknownCalls;
    private final int[] opOfUnknownNode;
    private final int[] unknownNodeOfOp;

    private final DancingLinks puts;
    private final long[] callNsOfPutNode;
    private final int[] putNodeOfOp;

    private final DancingLinks pins;
    private final int[] opOfPinNode;
    private final int[] pinNodeOfOp;
    private int notFoundReadsLeft;

    private final int[] liveObservers; // per unknown write
    private final int[][] showsWrites; // per op: the unknown writes its known output could show

    Unplaced(List<Operation> ops) {
        this.ops = ops;
        this.general = ops.stream().anyMatch(op -> op.kind().isConditionalOrDelete());
        int n = ops.size();
        int[] known = select(Operation::ok, Operation::callNs);
        int[] unknown = select(op -> !op.ok(), Operation::callNs);
        int[] putOps = select(op -> op.kind() == Operation.Kind.PUT, Operation::callNs);
        int[] pinOps = select(op -> KeyModel.knownOutput(op) != null || isNotFoundRead(op), Operation::returnNs);
        knownOps = known.length;

        // event e < k is the call of known[e], event e >= k the return of known[e - k]
        int k = known.length;
        Integer[] order = new Integer[2 * k];
        for (int e = 0; e < 2 * k; e++) order[e] = e;
        Arrays.sort(order, Comparator.<Integer>comparingLong(
                        e -> e < k ? ops.get(known[e]).callNs() : ops.get(known[e - k]).returnNs())
                .thenComparingInt(e -> e < k ? 0 : 1) // calls first at equal times
                .thenComparingInt(e -> e));
        events = new DancingLinks(2 * k);
        opOfEvent = new int[2 * k + 2];
        isCall = new boolean[2 * k + 2];
        callEventOfOp = filled(n);
        returnEventOfOp = filled(n);
        for (int i = 0; i < 2 * k; i++) {
            int node = i + 1;
            int e = order[i];
            isCall[node] = e < k;
            opOfEvent[node] = e < k ? known[e] : known[e - k];
            if (e < k) callEventOfOp[known[e]] = node;
            else returnEventOfOp[known[e - k]] = node;
        }

        unknownCalls = new DancingLinks(unknown.length);
        opOfUnknownNode = nodesFor(unknown);
        unknownNodeOfOp = indexOf(unknown, n);

        puts = new DancingLinks(putOps.length);
        putNodeOfOp = indexOf(putOps, n);
        callNsOfPutNode = new long[putOps.length + 2];
        for (int i = 0; i < putOps.length; i++) callNsOfPutNode[i + 1] = ops.get(putOps[i]).callNs();
        callNsOfPutNode[puts.tail] = Long.MAX_VALUE;

        pins = new DancingLinks(pinOps.length);
        opOfPinNode = nodesFor(pinOps);
        pinNodeOfOp = indexOf(pinOps, n);
        for (int op : pinOps) if (isNotFoundRead(ops.get(op))) notFoundReadsLeft++;

        // a value that appends could build from nothing starts with one of their values
        List<String> appended = ops.stream().filter(op -> op.kind() == Operation.Kind.APPEND)
                .map(op -> op.value().orElseThrow()).distinct().toList();
        java.util.function.Predicate<String> afterAppends = v -> appended.stream().anyMatch(v::startsWith);
        liveObservers = new int[n];
        showsWrites = new int[n][];
        int[] shown = new int[n];
        for (int o = 0; o < n; o++) {
            String out = KeyModel.knownOutput(ops.get(o));
            int count = 0;
            if (out != null || general)
                for (int w : unknown)
                    if (general ? w != o && KeyModel.mayObserve(ops.get(o), ops.get(w), afterAppends)
                            : KeyModel.couldShow(out, ops.get(w))) {
                        shown[count++] = w;
                        liveObservers[w]++;
                    }
            showsWrites[o] = Arrays.copyOf(shown, count);
        }
        for (int w : unknown) if (liveObservers[w] == 0) bury(w); // nobody could have seen it: dead from the start
    }

    // ---- reading the lists ----

    boolean isCall(int event) {
        return isCall[event];
    }

    int opOfEvent(int event) {
        return opOfEvent[event];
    }

    int callEventOf(int op) {
        return callEventOfOp[op];
    }

    int opOfUnknownCall(int node) {
        return opOfUnknownNode[node];
    }

    int unknownCallOf(int op) {
        return unknownNodeOfOp[op];
    }

    boolean isPin(int op) {
        return pinNodeOfOp[op] != NONE;
    }

    // ---- placing and undoing; every change is undone in the reverse order ----

    /** Removes a placed op from every list it is in; {@link #giveBack} undoes it. */
    void take(int op) {
        if (callEventOfOp[op] != NONE) {
            events.remove(callEventOfOp[op]);
            events.remove(returnEventOfOp[op]);
        } else {
            unknownCalls.remove(unknownNodeOfOp[op]);
        }
        if (putNodeOfOp[op] != NONE) puts.remove(putNodeOfOp[op]);
        if (pinNodeOfOp[op] != NONE) pins.remove(pinNodeOfOp[op]);
        if (isNotFoundRead(ops.get(op))) notFoundReadsLeft--;
    }

    void giveBack(int op) {
        if (isNotFoundRead(ops.get(op))) notFoundReadsLeft++;
        if (pinNodeOfOp[op] != NONE) pins.restore(pinNodeOfOp[op]);
        if (putNodeOfOp[op] != NONE) puts.restore(putNodeOfOp[op]);
        if (callEventOfOp[op] != NONE) {
            events.restore(returnEventOfOp[op]);
            events.restore(callEventOfOp[op]);
        } else {
            unknownCalls.restore(unknownNodeOfOp[op]);
        }
    }

    /**
     * After {@code placed} is taken: counts it off the observers of the unknown writes its output
     * could show and buries those with none left, unless already placed; adds them to {@code
     * buried} from {@code count} on and returns the new count.
     */
    int observe(int placed, long[] placedOps, int[] buried, int count) {
        for (int w : showsWrites[placed]) {
            if (--liveObservers[w] == 0 && !KeySearch.isSet(placedOps, w)) {
                bury(w);
                buried[count++] = w;
            }
        }
        return count;
    }

    /** Undoes {@link #observe} of {@code placed}, whose burials from {@code mark} on are in {@code buried}. */
    void unobserve(int placed, int[] buried, int count, int mark) {
        while (count > mark) unbury(buried[--count]);
        for (int w : showsWrites[placed]) liveObservers[w]++;
    }

    private void bury(int w) {
        unknownCalls.remove(unknownNodeOfOp[w]);
        if (putNodeOfOp[w] != NONE) puts.remove(putNodeOfOp[w]);
    }

    private void unbury(int w) {
        if (putNodeOfOp[w] != NONE) puts.restore(putNodeOfOp[w]);
        unknownCalls.restore(unknownNodeOfOp[w]);
    }

    /**
     * Whether every unplaced op with a known output can still see its value after {@code state}:
     * a read of nothing needs the key absent; any other, returning before the first unplaced put
     * is called, needs its value to extend {@code state} (see {@link KeySearch}, pinned values).
     */
    boolean pinsCanHold(String state) {
        if (state == null || general) return true;
        if (notFoundReadsLeft > 0) return false; // a key never goes away
        long firstPutCallNs = callNsOfPutNode[puts.first()];
        for (int node = pins.first(); node != pins.tail; node = pins.next(node)) {
            Operation p = ops.get(opOfPinNode[node]);
            if (p.returnNs() >= firstPutCallNs) break; // by return time: a put may come before the rest
            if (p.output().isEmpty()) continue; // a read of nothing: counted above
            String out = p.output().get();
            int before = p.kind() == Operation.Kind.APPEND ? out.length() - p.value().orElseThrow().length() : out.length();
            if (before < state.length() || !out.startsWith(state)) return false;
        }
        return true;
    }

    // ---- building ----

    private int[] select(Predicate<Operation> which, ToLongFunction<Operation> by) {
        return IntStream.range(0, ops.size()).filter(i -> which.test(ops.get(i))).boxed()
                .sorted(Comparator.<Integer>comparingLong(i -> by.applyAsLong(ops.get(i))).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
    }

    private static int[] filled(int n) {
        int[] a = new int[n];
        Arrays.fill(a, NONE);
        return a;
    }

    /** Node {@code i + 1} holds {@code sorted[i]}. */
    private static int[] nodesFor(int[] sorted) {
        int[] opOfNode = new int[sorted.length + 2];
        System.arraycopy(sorted, 0, opOfNode, 1, sorted.length);
        return opOfNode;
    }

    private static int[] indexOf(int[] sorted, int n) {
        int[] nodeOfOp = filled(n);
        for (int i = 0; i < sorted.length; i++) nodeOfOp[sorted[i]] = i + 1;
        return nodeOfOp;
    }

    private static boolean isNotFoundRead(Operation op) {
        return op.ok() && op.kind() == Operation.Kind.GET && op.output().isEmpty();
    }
}
