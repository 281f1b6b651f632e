package io.raftkv.linearizability;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The Wing &amp; Gong / Lowe search (WGL) over the sub-history of one key, as Porcupine does it, with
 * a few sound prunings for this model.
 *
 * <h2>The search</h2>
 * The call and return events of the operations with a known outcome sit in one doubly linked
 * list sorted by time, calls before returns at equal times (so operations that touch at an instant
 * count as concurrent: the lenient reading). The candidates to take effect next are the calls
 * before the first return: no unplaced operation finished before they began, so placing one of
 * them respects real-time order. The search places a candidate if the model accepts its output
 * from the current state, removes its events from the list ({@link DancingLinks}) and starts over
 * from the head. When no candidate is left before the first return, the operation of that return
 * cannot take effect in time: the branch is dead, the last placement is undone (its events go
 * back) and the candidate after it is tried. The search fails when it must undo with nothing
 * placed, and succeeds when every known-outcome operation is placed.
 *
 * <h2>Memoization</h2>
 * Whether the rest can be linearized depends only on the set of placed operations (it fixes the
 * remaining events) and the value of the key (plus one flag, below), so each such configuration is
 * explored once. That bounds the factorial search by the number of reachable configurations.
 *
 * <h2>Unknown outcomes</h2>
 * An operation with {@code ok == false} returns at +infinity: once called it stays a candidate, may
 * take effect at any instant from its call on (even after the client gave up) or never, and its
 * output is not checked. These calls sit in a second list and are tried only after every
 * known-outcome candidate failed: an unknown write is placed as late as possible, right before
 * something needs it, which finds linearizations with far less backtracking than placing it as
 * soon as it is called.
 *
 * <h2>Prunings</h2>
 * Each one only skips configurations that have no completion, or whose completions another branch
 * also reaches, so the search still finds a linearization whenever one exists (the brute-force
 * oracle in the tests checks exactly that).
 * <ul>
 *   <li><b>Dead unknown writes.</b> Until the next put, every state after a put of {@code v} starts
 *       with {@code v}, and every state after an append of {@code v} contains it. So the operations
 *       with a known output that could come after an unknown write before it is overwritten are
 *       those whose output could show its value ({@link KeyModel#couldShow}). Once all of them are
 *       placed, placing the write changes no output: it leaves the candidates.</li>
 *   <li><b>Unseen unknown writes.</b> For the same reason, an unknown write that a put overwrites
 *       before any operation with a known output is placed changed nothing anyone saw; the branch
 *       without it covers that one. A flag in the configuration records "an unknown write was
 *       placed after the last known output", and a put is not placed while it is set.</li>
 *   <li><b>Pinned values.</b> An operation with a known output pins the value at its instant.
 *       After each step, every such operation not yet placed must still be able to see an
 *       extension of the current value, unless a put not yet placed is called before it returns
 *       (that put could come in between); and a read that found nothing can never follow a write.
 *       Otherwise the branch has no completion. Without this a read far ahead refutes a wrong
 *       order of appends only once the search reaches it.</li>
 *   <li><b>Matching reads go first.</b> A candidate read that sees the current value can be placed
 *       now with no loss: in any completion it reads this same value later, and every operation
 *       placed in between may follow it (none returned before it was called, or it would not be a
 *       candidate). So it is the only choice tried at that point, and if it fails, the point fails.</li>
 * </ul>
 *
 * <p>Deletes and conditional writes (cas, one-key txn) break the premises of "unseen unknown
 * writes" and "pinned values" (a key can become absent again; a write's effect depends on the
 * state), so on a key that has any of them those two are off, and "dead unknown writes" uses a
 * wider notion of who may observe a write ({@link KeyModel#mayObserve}). "Matching reads go first"
 * holds for any model whose reads change nothing.
 *
 * <p>Not thread-safe; one instance is one search.
 */
final class KeySearch {

    /** What one search concluded. Indices point into the operation list given to {@link #run}. */
    sealed interface Outcome {
        /** A linearization: every known-outcome operation once, some unknown-outcome ones. */
        record Found(int[] order) implements Outcome {}

        /**
         * No linearization exists. {@code longestPrefix} is the deepest partial linearization the
         * search reached, {@code stateAfterPrefix} the value of the key after it (null: absent).
         */
        record Refuted(int[] longestPrefix, String stateAfterPrefix) implements Outcome {}

        /** The search stopped before deciding. */
        record GaveUp(String reason) implements Outcome {}
    }

    /** Past this many memoized configurations the search gives up rather than exhaust the heap. */
    static final int MAX_MEMO_ENTRIES = 4_000_000;
    private static final int DEADLINE_CHECK_EVERY = 256;

    private final List<Operation> ops;
    private final long deadlineNs;
    private final Unplaced unplaced;
    private final Set<Memo> memo = new HashSet<>();

    // The configuration: what is placed, the key's value (null: absent), and whether an unknown
    // write was placed after the last op with a known output.
    private final long[] placed;
    private String state;
    private boolean unseen;
    private int knownPlaced;

    // Per depth of the stack: the op placed there and what is needed to undo it and resume.
    private int depth;
    private final int[] stackOp;
    private final String[] stackState;
    private final boolean[] stackUnseen;
    private final boolean[] stackUnknownPass; // chosen among the unknown writes
    private final boolean[] stackOnlyChoice; // a matching read: nothing else to try at that depth
    private final long[] stackHorizonNs;
    private final int[] buriedMark;
    private final int[] buried; // unknown writes buried on the way, in order
    private int buriedCount;

    // Where the walk over the candidates is: an event, or in the unknown pass an unknown write's
    // node; in the unknown pass, writes called after horizonNs are not candidates yet.
    private int entry;
    private boolean unknownPass;
    private long horizonNs;

    private int[] longest = new int[0];
    private String stateAfterLongest;

    private KeySearch(List<Operation> ops, long deadlineNs) {
        this.ops = ops;
        this.deadlineNs = deadlineNs;
        this.unplaced = new Unplaced(ops);
        int n = ops.size();
        placed = new long[(n + 63) / 64];
        stackOp = new int[n];
        stackState = new String[n];
        stackUnseen = new boolean[n];
        stackUnknownPass = new boolean[n];
        stackOnlyChoice = new boolean[n];
        stackHorizonNs = new long[n];
        buriedMark = new int[n];
        buried = new int[n];
    }

    /**
     * Searches for a linearization of {@code ops}, all on one key, with gets of unknown outcome
     * already removed. Gives up when {@code System.nanoTime()} passes {@code deadlineNs}.
     */
    static Outcome run(List<Operation> ops, long deadlineNs) {
        for (Operation op : ops)
            if (!op.ok() && !op.isWrite())
                throw new IllegalArgumentException("gets of unknown outcome must be dropped first: " + op);
        return new KeySearch(ops, deadlineNs).search();
    }

    private Outcome search() {
        entry = unplaced.events.first();
        long steps = 0;
        while (knownPlaced < unplaced.knownOps) {
            if (++steps % DEADLINE_CHECK_EVERY == 0 && System.nanoTime() - deadlineNs > 0)
                return new Outcome.GaveUp("time budget exhausted after " + steps + " steps, " + memo.size()
                        + " memoized states");
            if (memo.size() > MAX_MEMO_ENTRIES)
                return new Outcome.GaveUp("more than " + MAX_MEMO_ENTRIES + " memoized states");
            int op;
            if (!unknownPass) {
                if (entry == unplaced.events.tail)
                    throw new IllegalStateException("a known-outcome op is pending without a return");
                if (!unplaced.isCall(entry)) {
                    // every known-outcome candidate tried: now the unknown writes called by then
                    unknownPass = true;
                    horizonNs = ops.get(unplaced.opOfEvent(entry)).returnNs();
                    entry = unplaced.unknownCalls.first();
                    continue;
                }
                op = unplaced.opOfEvent(entry);
            } else if (entry == unplaced.unknownCalls.tail
                    || ops.get(unplaced.opOfUnknownCall(entry)).callNs() > horizonNs) {
                // the first pending return comes before any other choice: this point is dead
                if (!backtrack()) return new Outcome.Refuted(longest, stateAfterLongest);
                continue;
            } else {
                op = unplaced.opOfUnknownCall(entry);
            }

            switch (tryPlace(op)) {
                case PLACED -> {
                    unknownPass = false;
                    entry = unplaced.events.first();
                }
                case NOT_HERE -> entry = unknownPass ? unplaced.unknownCalls.next(entry) : unplaced.events.next(entry);
                case POINT_DEAD -> deadPoint();
            }
        }
        return new Outcome.Found(Arrays.copyOf(stackOp, depth));
    }

    private enum Placement { PLACED, NOT_HERE, POINT_DEAD }

    /** Tries {@code op} as the next to take effect; if it can, pushes it. */
    private Placement tryPlace(int op) {
        Operation o = ops.get(op);
        // Unseen unknown writes: a put now would overwrite one before anything saw it.
        String after = unseen && o.kind() == Operation.Kind.PUT ? KeyModel.REJECTED : KeyModel.apply(state, o);
        if (after == KeyModel.REJECTED) return Placement.NOT_HERE;
        boolean unseenAfter = !unplaced.general && (!o.ok() || (unseen && !unplaced.isPin(op)));
        // Matching reads go first: if this one cannot go on from here, nothing can.
        boolean onlyChoice = o.kind() == Operation.Kind.GET;
        Placement refused = onlyChoice ? Placement.POINT_DEAD : Placement.NOT_HERE;

        setBit(placed, op);
        if (!memo.add(new Memo(placed.clone(), after, unseenAfter))) {
            clearBit(placed, op);
            return refused;
        }
        unplaced.take(op);
        if (!unplaced.pinsCanHold(after)) {
            // no completion from here; still a linearizable prefix, so worth showing
            if (depth + 1 > longest.length) {
                longest = Arrays.copyOf(stackOp, depth + 1);
                longest[depth] = op;
                stateAfterLongest = after;
            }
            unplaced.giveBack(op);
            clearBit(placed, op);
            return refused;
        }
        stackOp[depth] = op;
        stackState[depth] = state;
        stackUnseen[depth] = unseen;
        stackUnknownPass[depth] = unknownPass;
        stackOnlyChoice[depth] = onlyChoice;
        stackHorizonNs[depth] = horizonNs;
        buriedMark[depth] = buriedCount;
        depth++;
        if (o.ok()) knownPlaced++;
        buriedCount = unplaced.observe(op, placed, buried, buriedCount);
        state = after;
        unseen = unseenAfter;
        return Placement.PLACED;
    }

    /** The current point has no completion: back out of it next. */
    private void deadPoint() {
        unknownPass = true;
        entry = unplaced.unknownCalls.tail;
    }

    /**
     * Undoes the last placement and resumes with the candidate after it; false when nothing is
     * placed, that is, when the whole search failed.
     */
    private boolean backtrack() {
        if (depth > longest.length) {
            longest = Arrays.copyOf(stackOp, depth);
            stateAfterLongest = state;
        }
        if (depth == 0) return false;
        depth--;
        int undone = stackOp[depth];
        state = stackState[depth];
        stackState[depth] = null;
        unseen = stackUnseen[depth];
        clearBit(placed, undone);
        unplaced.unobserve(undone, buried, buriedCount, buriedMark[depth]);
        buriedCount = buriedMark[depth];
        unplaced.giveBack(undone);
        if (ops.get(undone).ok()) knownPlaced--;
        unknownPass = stackUnknownPass[depth];
        horizonNs = stackHorizonNs[depth];
        if (stackOnlyChoice[depth]) deadPoint(); // nothing else was worth trying there
        else entry = unknownPass ? unplaced.unknownCalls.next(unplaced.unknownCallOf(undone))
                : unplaced.events.next(unplaced.callEventOf(undone));
        return true;
    }

    private static void setBit(long[] bits, int i) {
        bits[i >>> 6] |= 1L << i;
    }

    private static void clearBit(long[] bits, int i) {
        bits[i >>> 6] &= ~(1L << i);
    }

    static boolean isSet(long[] bits, int i) {
        return (bits[i >>> 6] & 1L << i) != 0;
    }

    /** A visited configuration: the set of linearized operations, the state, and the unseen-write flag. */
    private static final class Memo {
        private final long[] linearized;
        private final String state;
        private final boolean unseen;
        private final int hash;

        Memo(long[] linearized, String state, boolean unseen) {
            this.linearized = linearized;
            this.state = state;
            this.unseen = unseen;
            this.hash = 31 * (31 * Arrays.hashCode(linearized) + Objects.hashCode(state)) + (unseen ? 1 : 0);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Memo m && hash == m.hash && unseen == m.unseen && Objects.equals(state, m.state)
                    && Arrays.equals(linearized, m.linearized);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
