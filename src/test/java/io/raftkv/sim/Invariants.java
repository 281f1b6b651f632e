package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Role;
import io.raftkv.raft.Snapshot;

import java.util.List;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The safety properties, checked incrementally as the simulation runs; a violation throws
 * {@link AssertionError} naming the property and the state. Each check looks only at what the
 * event changed, so running them after every event is cheap.
 *
 * <ul>
 *   <li>Election Safety (§5.2): at most one leader per term.</li>
 *   <li>Log Matching (§5.3): where two persisted logs hold an entry of the same term at an index,
 *       the entries and the terms before them are equal.</li>
 *   <li>Committed entries never change: every node's persisted commit covers the same entries,
 *       never overwritten; a snapshot installed agrees with them; a new leader holds all entries
 *       committed in earlier terms (Leader Completeness, §5.4).</li>
 *   <li>State Machine Safety (§5.4.3): no two nodes apply different commands at one index, and
 *       applying one gives the same result everywhere (sessions included).</li>
 *   <li>Exactly once (thesis §6.3): no client write takes effect at two indexes.</li>
 *   <li>Persisted hard state: the term never goes back, a vote is never changed within its term.</li>
 * </ul>
 */
final class Invariants {
    /** An applied command and what applying it did. */
    private record Applied(int node, Entry entry, ApplyResult result) {}

    private final int nodes;
    private final Map<Long, Integer> leaderByTerm = new HashMap<>();
    /** index -> the entry some node persisted as committed. */
    private final Map<Long, Entry> committed = new HashMap<>();
    /** index -> upper bound of the term that committed it: the term of the first node seen committing it. */
    private final Map<Long, Long> committedInTerm = new HashMap<>();
    private final Map<Long, Applied> appliedAt = new HashMap<>();
    /** Write value (unique per client operation) -> the index where it took effect. */
    private final Map<String, Long> writeTookEffectAt = new HashMap<>();
    /** Per node: how far its persisted commit has been checked. */
    private final long[] commitChecked;
    long checks;

    Invariants(int nodes) {
        this.nodes = nodes;
        this.commitChecked = new long[nodes + 1];
    }

    // ---------------------------------------------------------------- elections

    /** Called after every event for every live node. */
    void checkRole(int id, RaftNode core) {
        if (core.role() == Role.LEADER) onLeaderOfTerm(id, core.term());
    }

    void onLeaderOfTerm(int id, long term) {
        Integer previous = leaderByTerm.putIfAbsent(term, id);
        if (previous != null && previous != id)
            throw new AssertionError("Election Safety (§5.2): nodes " + previous + " and " + id + " both lead term " + term);
    }

    /**
     * Thesis §3.10: node {@code from} answered a transfer (to {@code asked}, or its pick) as done,
     * with {@code leader} leading {@code term}: that node must really have led that term, and be
     * the one asked for.
     */
    void onTransferred(int from, java.util.OptionalInt asked, int leader, long term) {
        checks++;
        Integer actual = leaderByTerm.get(term);
        if (actual == null || actual != leader)
            throw new AssertionError("leadership transfer: node " + from + " answered that node " + leader + " leads term "
                    + term + ", but " + (actual == null ? "nobody led it" : "node " + actual + " did"));
        if (asked.isPresent() && asked.getAsInt() != leader)
            throw new AssertionError("leadership transfer: node " + from + " was asked to transfer to node "
                    + asked.getAsInt() + " and answered that node " + leader + " leads term " + term);
    }

    /** A node became leader: it must hold every entry committed in an earlier term (§5.4). */
    void onLeader(int id, long term, RaftNode core) {
        // From the role change itself: a leader can win and step down within one Ready (a process
        // that was paused runs its missed ticks at once, and check-quorum sees no acks between them).
        onLeaderOfTerm(id, term);
        checks++;
        committed.forEach((index, e) -> {
            if (committedInTerm.get(index) >= term || index < core.firstIndex()) return;
            if (index > core.lastIndex() || core.termAt(index) != e.term())
                throw new AssertionError("Leader Completeness (§5.4): node " + id + " leads term " + term
                        + " without committed " + e + " (its last index " + core.lastIndex() + ")");
        });
    }

    // ---------------------------------------------------------------- storage

    void beforePersist(int id, SimStorage st, List<Entry> entries) {
        if (!entries.isEmpty() && entries.getFirst().index() <= st.hardState().commit())
            throw new AssertionError("node " + id + " overwrites committed entries from index "
                    + entries.getFirst().index() + " (persisted " + st.hardState() + ")");
    }

    void afterPersist(int id, long nodeTerm, HardState before, SimStorage st, List<Entry> entries, SimStorage[] all) {
        checks++;
        HardState after = st.hardState();
        if (after.term() < before.term())
            throw new AssertionError("node " + id + " persisted term went back: " + before + " -> " + after);
        if (after.term() == before.term() && before.votedFor() != RaftNode.NONE && after.votedFor() != before.votedFor())
            throw new AssertionError("node " + id + " changed its vote within term " + after.term() + ": " + before
                    + " -> " + after);
        if (after.commit() > st.lastIndex())
            throw new AssertionError("node " + id + " persisted commit " + after.commit() + " beyond its log "
                    + st.lastIndex());
        if (!entries.isEmpty()) {
            long from = entries.getFirst().index();
            for (int other = 1; other <= nodes; other++) {
                if (other != id) checkLogMatching(id, st, other, all[other], from, st.lastIndex());
            }
        }
        onCommitted(id, nodeTerm, st);
    }

    private void onCommitted(int id, long nodeTerm, SimStorage st) {
        long to = st.hardState().commit();
        for (long i = commitChecked[id] + 1; i <= to; i++) {
            Entry e = st.entry(i);
            if (e == null) continue; // in a snapshot
            Entry first = committed.putIfAbsent(i, e);
            if (first != null && !first.equals(e))
                throw new AssertionError("committed entry changed at index " + i + ": " + first + " was committed, node "
                        + id + " commits " + e);
            committedInTerm.merge(i, nodeTerm, Math::min);
        }
        commitChecked[id] = Math.max(commitChecked[id], to);
    }

    void onSnapshotInstalled(int id, long nodeTerm, Snapshot snap) {
        Entry e = committed.get(snap.index());
        if (e != null && e.term() != snap.term())
            throw new AssertionError("node " + id + " installs " + snap + " but " + e + " was committed there");
        commitChecked[id] = Math.max(commitChecked[id], snap.index());
        committedInTerm.merge(snap.index(), nodeTerm, Math::min);
    }

    /** Log Matching for indexes [from, to] of node a's log against node b's. */
    static void checkLogMatching(int a, SimStorage sa, int b, SimStorage sb, long from, long to) {
        long hi = Math.min(to, sb.lastIndex());
        for (long i = Math.max(1, from); i <= hi; i++) {
            Entry ea = sa.entry(i);
            Entry eb = sb.entry(i);
            if (ea == null || eb == null || ea.term() != eb.term()) continue;
            long prevA = sa.termAt(i - 1);
            long prevB = sb.termAt(i - 1);
            if (!Arrays.equals(ea.data(), eb.data()) || prevA >= 0 && prevB >= 0 && prevA != prevB)
                throw new AssertionError("Log Matching (§5.3) at index " + i + " term " + ea.term() + ": node " + a
                        + " has " + ea + " after term " + prevA + ", node " + b + " has " + eb + " after term " + prevB);
        }
    }

    // ---------------------------------------------------------------- state machine

    void onApply(int id, Entry e, KvCommand cmd, ApplyResult result) {
        checks++;
        Applied mine = new Applied(id, e, result);
        Applied first = appliedAt.putIfAbsent(e.index(), mine);
        if (first != null) {
            if (!first.entry().equals(e))
                throw new AssertionError("State Machine Safety (§5.4.3) at index " + e.index() + ": node " + first.node()
                        + " applied " + describe(first.entry()) + ", node " + id + " applies " + describe(e));
            if (!java.util.Objects.equals(first.result(), result))
                throw new AssertionError("applying index " + e.index() + " gave " + first.result() + " on node "
                        + first.node() + " but " + result + " on node " + id);
            return;
        }
        // the unique value of a put or append, or of a cas or one-key txn that wrote it
        String written = cmd == null ? null : switch (result) {
            case ApplyResult.Applied a when cmd.op() != KvCommand.Op.REGISTER -> cmd.value();
            case ApplyResult.Cas c when c.succeeded() -> cmd.value();
            case ApplyResult.Txn t when t.succeeded() && cmd.ext() instanceof io.raftkv.kv.KvOp.Txn txn
                    && txn.success().size() == 1 && txn.success().getFirst() instanceof io.raftkv.kv.KvOp.Put p -> p.value();
            default -> null;
        };
        if (written != null) {
            Long earlier = writeTookEffectAt.putIfAbsent(written, e.index());
            if (earlier != null)
                throw new AssertionError("exactly-once (thesis §6.3): write " + cmd.op().label() + "(" + cmd.key() + ", "
                        + cmd.value() + ") of client " + cmd.clientId() + " seq " + cmd.seq() + " took effect at index "
                        + earlier + " and again at index " + e.index());
        }
    }

    /** Where the write with this (unique) value took effect, if it did. */
    Long writeTookEffectAt(String value) {
        return writeTookEffectAt.get(value);
    }

    long highestApplied() {
        return appliedAt.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    private static String describe(Entry e) {
        if (e.isNoop()) return e.toString();
        try {
            return e + " " + KvCommand.decode(e.data());
        } catch (IllegalArgumentException x) {
            return e.toString();
        }
    }

    // ---------------------------------------------------------------- the Ready contract

    /**
     * Raft Figure 2, "updated on stable storage before responding to RPCs": a message may leave
     * only once the state it promises is persisted.
     */
    static void checkPersistedBeforeSend(int id, SimStorage st, Message m) {
        HardState hs = st.hardState();
        // A pre-vote and its grant promise nothing (thesis §9.6). (A pre-vote may also leave in the
        // Ready of a batch in which its sender then learned a newer term: stale, and still harmless.)
        if (m instanceof Message.RequestVote rv && rv.preVote()) return;
        if (m instanceof Message.RequestVoteResponse r && r.preVote()) return;
        if (hs.term() < m.term())
            throw new AssertionError("node " + id + " sends " + m + " but persisted only term " + hs.term());
        boolean sameTerm = hs.term() == m.term();
        switch (m) {
            case Message.RequestVote rv -> {
                if (sameTerm && hs.votedFor() != id)
                    throw new AssertionError("node " + id + " asks for votes before persisting its own: " + rv + " " + hs);
            }
            case Message.RequestVoteResponse r -> {
                if (r.granted() && sameTerm && hs.votedFor() != r.to())
                    throw new AssertionError("node " + id + " grants a vote not persisted: " + r + " " + hs);
            }
            case Message.AppendEntriesResponse r -> {
                if (r.success() && sameTerm && st.lastIndex() < r.matchIndex())
                    throw new AssertionError("node " + id + " acknowledges index " + r.matchIndex() + " but persisted "
                            + "only up to " + st.lastIndex() + ": " + r);
            }
            case Message.InstallSnapshotResponse r -> {
                if (r.done() && sameTerm && st.lastIndex() < r.snapshotIndex())
                    throw new AssertionError("node " + id + " acknowledges snapshot " + r.snapshotIndex()
                            + " but persisted only up to " + st.lastIndex() + ": " + r);
            }
            case Message.AppendEntries ae -> { }
            case Message.InstallSnapshot is -> { }
            case Message.TimeoutNow tn -> { }
        }
    }
}
