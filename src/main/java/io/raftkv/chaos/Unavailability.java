package io.raftkv.chaos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How long writes were unavailable after the nemesis took a leader away: from the fault to the
 * first acknowledged write committed in a later term than the lost leader's (or sent after the
 * repair, if the old leader simply carried on). A write the old leader acknowledged just before it
 * died does not count (its term is the old one), nor does a retry answered from the session table
 * (it reports no term).
 */
final class Unavailability {
    /**
     * @param fault    the fault that hit the leader
     * @param windowNs time from the fault to the first such write; empty if none came before the
     *                 workload stopped ({@code censoredNs} then says how long at least)
     */
    record Window(Nemesis.Fault fault, OptionalLong windowNs, long censoredNs) {
        /** The window, or its lower bound if no write came. */
        long atLeastNs() {
            return windowNs.orElse(censoredNs);
        }
    }

    private Unavailability() {}

    /**
     * @param ops        the history, times relative to {@code runStartNs}
     * @param endNs      when the workload stopped, on the {@code System.nanoTime()} clock
     */
    static List<Window> afterLeaderFaults(List<Nemesis.Fault> faults, List<Op> ops, long runStartNs, long endNs) {
        List<Op> acked = ops.stream().filter(op -> op.isWrite() && op.ok() && op.term().isPresent())
                .sorted(Comparator.comparingLong(Op::returnNs)).toList();
        List<Window> windows = new ArrayList<>();
        for (Nemesis.Fault f : faults) {
            if (!f.hitLeader()) continue;
            long at = f.startNs() - runStartNs;
            // A paused or cut-off leader may lead again in its own term once the fault is repaired.
            long repaired = f.endNs() == 0 ? Long.MAX_VALUE : f.endNs() - runStartNs;
            Optional<Op> first = acked.stream().filter(op -> op.returnNs() >= at
                    && (op.term().getAsLong() > f.term() || op.callNs() >= repaired)).findFirst();
            windows.add(first.map(op -> new Window(f, OptionalLong.of(op.returnNs() - at), 0))
                    .orElseGet(() -> new Window(f, OptionalLong.empty(), Math.max(0, endNs - f.startNs()))));
        }
        return windows;
    }

    /** The longest window after a fault of {@code kind}, if there was one. */
    static Optional<Window> longest(List<Window> windows, FaultKind kind) {
        return windows.stream().filter(w -> w.fault().kind() == kind).max(Comparator.comparingLong(Window::atLeastNs));
    }
}
