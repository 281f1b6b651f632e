package io.raftkv.node;

import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Role;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * Leadership transfers this node started as leader (thesis §3.10), each waiting until the node
 * sees how it ended: the target leads a newer term (it learns that from the new leader's first
 * AppendEntries), another node does, or the core gave up after an election timeout and leads on.
 * A node that stepped down and then hears of no leader at all gives up after {@code limitTicks}.
 */
final class PendingTransfers {
    private static final class Pending {
        final int target;
        final long startTerm;
        final Consumer<TransferOutcome> done;
        int elapsedTicks;

        Pending(int target, long startTerm, Consumer<TransferOutcome> done) {
            this.target = target;
            this.startTerm = startTerm;
            this.done = done;
        }
    }

    private final List<Pending> pending = new ArrayList<>();
    private final int limitTicks;
    private final int tickMs;

    PendingTransfers(int limitTicks, int tickMs) {
        this.limitTicks = limitTicks;
        this.tickMs = tickMs;
    }

    void add(int target, long term, Consumer<TransferOutcome> done) {
        pending.add(new Pending(target, term, done));
    }

    void tick() {
        for (Pending p : pending) p.elapsedTicks++;
    }

    /** Answers every transfer whose end {@code core} shows. */
    void check(RaftNode core, long electionTimeoutMs) {
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            TransferOutcome outcome = outcome(p, core, electionTimeoutMs);
            if (outcome == null) continue;
            it.remove();
            p.done.accept(outcome);
        }
    }

    private TransferOutcome outcome(Pending p, RaftNode core, long electionTimeoutMs) {
        OptionalInt leader = core.leaderId();
        if (core.term() > p.startTerm && leader.isPresent()) {
            int l = leader.getAsInt();
            return l == p.target ? new TransferOutcome.Transferred(l, core.term())
                    : new TransferOutcome.Failed("node " + l + " was elected in term " + core.term() + " instead of node "
                            + p.target);
        }
        if (core.role() == Role.LEADER && core.term() == p.startTerm
                && !core.transferTarget().equals(OptionalInt.of(p.target))) {
            return new TransferOutcome.Failed("node " + p.target + " did not take over within the election timeout ("
                    + electionTimeoutMs + " ms): is it down or cut off? Node " + core.id()
                    + " leads on and accepts writes again");
        }
        if (p.elapsedTicks >= limitTicks) {
            return new TransferOutcome.Failed("no leader was seen within " + (long) limitTicks * tickMs
                    + " ms of the transfer to node " + p.target);
        }
        return null;
    }

    /** The node stops: nobody will see how the transfers end. */
    void failAll(String reason) {
        List<Pending> all = List.copyOf(pending);
        pending.clear();
        for (Pending p : all) p.done.accept(new TransferOutcome.Failed(reason));
    }
}
