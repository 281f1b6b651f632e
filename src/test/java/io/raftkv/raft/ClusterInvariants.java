package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongUnaryOperator;

/**
 * The Raft safety properties (Raft Figure 3) and the Ready contract, checked by {@link TestCluster}
 * on every event. A violation throws {@link AssertionError} naming the property and the state.
 *
 * <p>Kept apart from the harness so {@code ClusterInvariantsTest} can show each check fails on a
 * deliberately broken history.
 */
final class ClusterInvariants {
    /** Election Safety (§5.2): term -> the one node that led it. */
    private final Map<Long, Integer> leaderByTerm = new HashMap<>();
    /** Entries some node has seen committed: index -> entry. */
    private final Map<Long, Entry> committed = new HashMap<>();
    /**
     * index -> an upper bound of the term in which that entry was committed: the term of the
     * first node observed with it committed. Leaders of any later term must hold it (§5.4).
     */
    private final Map<Long, Long> committedByTerm = new HashMap<>();
    /** State Machine Safety (§5.4.3): index -> the entry applied there by anyone. */
    private final Map<Long, Entry> appliedAt = new HashMap<>();
    /** The highest index any node has persisted as committed. */
    private long highestCommitted;
    /**
     * ReadIndex (thesis §6.4): read request id -> the highest index known committed anywhere
     * when the read was issued, for reads not answered yet.
     */
    private final Map<Long, Long> readFloors = new HashMap<>();

    /** Election Safety: at most one leader per term. */
    void onLeader(int id, long term) {
        Integer previous = leaderByTerm.putIfAbsent(term, id);
        if (previous != null && previous != id)
            throw new AssertionError("Election Safety (§5.2) violated: nodes " + previous + " and " + id
                    + " both lead term " + term);
    }

    /**
     * Leader Completeness (§5.4): a leader of {@code term} holds every entry committed in an
     * earlier term. {@code termAt} reads the leader's log; indexes above {@code lastIndex} are missing.
     */
    void checkLeaderCompleteness(int id, long term, long lastIndex, LongUnaryOperator termAt) {
        committed.forEach((index, e) -> {
            if (committedByTerm.get(index) >= term) return;
            if (index > lastIndex || termAt.applyAsLong(index) != e.term())
                throw new AssertionError("Leader Completeness (§5.4) violated: node " + id + " leads term " + term
                        + " without committed " + e + " (its last index " + lastIndex + ")");
        });
    }

    /**
     * A node's commit index moved from {@code fromExclusive} to {@code toInclusive}, observed while
     * it was in {@code nodeTerm}. Committed entries never change: every node commits the same entry
     * at an index.
     */
    void onCommit(int id, long nodeTerm, long fromExclusive, long toInclusive, List<Entry> log) {
        if (toInclusive > log.size())
            throw new AssertionError("node " + id + " commit index " + toInclusive + " beyond its persisted log ("
                    + log.size() + " entries)");
        for (long i = fromExclusive + 1; i <= toInclusive; i++) {
            Entry e = log.get((int) (i - 1));
            Entry first = committed.putIfAbsent(i, e);
            if (first != null && !first.equals(e))
                throw new AssertionError("committed entry changed at index " + i + ": " + first + " was committed, node "
                        + id + " commits " + e);
            committedByTerm.merge(i, nodeTerm, Math::min);
        }
        highestCommitted = Math.max(highestCommitted, toInclusive);
    }

    /** The highest index some node has persisted as committed. */
    long highestCommitted() {
        return highestCommitted;
    }

    /**
     * Read {@code requestId} is issued while {@code committedFloor} is the highest index some
     * node knows committed: an entry a client may already have been told is written.
     */
    void onReadIssued(long requestId, long committedFloor) {
        if (readFloors.putIfAbsent(requestId, committedFloor) != null)
            throw new IllegalArgumentException("read " + requestId + " issued twice");
    }

    /**
     * Linearizable reads (thesis §6.4): a confirmed read index is at least every index committed
     * before the read was issued, or a read served once that index is applied (as the runtime
     * may do, on the leader or on a follower) misses a write acknowledged before it began. Reads
     * not issued through {@link #onReadIssued} are not checked.
     */
    void onReadState(int id, ReadState rs) {
        Long floor = readFloors.remove(rs.requestId());
        if (floor == null || !rs.ok()) return;
        if (rs.index() < floor)
            throw new AssertionError("ReadIndex linearizability (thesis §6.4) violated: node " + id + " confirms read "
                    + rs.requestId() + " at index " + rs.index() + ", but index " + floor
                    + " was committed before the read was issued");
    }

    /** State Machine Safety (§5.4.3): no two nodes apply different entries at one index. */
    void onApply(int id, Entry e) {
        Entry first = appliedAt.putIfAbsent(e.index(), e);
        if (first != null && !first.equals(e))
            throw new AssertionError("State Machine Safety (§5.4.3) violated at index " + e.index() + ": applied "
                    + first + " elsewhere, node " + id + " applies " + e + " (data " + new String(e.data())
                    + " vs " + new String(first.data()) + ")");
    }

    /**
     * Log Matching (§5.3) for the index range {@code [from, to]} of two logs: where both hold an
     * entry of the same term, the entries are identical and so are the terms just before. Checked
     * inductively over every change, this yields "identical prefixes".
     */
    static void checkLogMatching(int idA, List<Entry> a, int idB, List<Entry> b, long from, long to) {
        long hi = Math.min(to, Math.min(a.size(), b.size()));
        for (long i = Math.max(1, from); i <= hi; i++) {
            Entry ea = a.get((int) (i - 1));
            Entry eb = b.get((int) (i - 1));
            if (ea.term() != eb.term()) continue;
            long prevA = i == 1 ? 0 : a.get((int) (i - 2)).term();
            long prevB = i == 1 ? 0 : b.get((int) (i - 2)).term();
            if (!Arrays.equals(ea.data(), eb.data()) || prevA != prevB)
                throw new AssertionError("Log Matching (§5.3) violated at index " + i + " term " + ea.term()
                        + " between node " + idA + " and node " + idB + ": " + a + " vs " + b);
        }
    }

    /** Log Matching over the whole of both logs. */
    static void checkLogMatching(int idA, List<Entry> a, int idB, List<Entry> b) {
        checkLogMatching(idA, a, idB, b, 1, Long.MAX_VALUE);
    }

    /**
     * The Ready contract (Raft Figure 2, "updated on stable storage before responding to RPCs"):
     * a message may only leave once the state it promises is persisted. {@code hs} and
     * {@code persistedLastIndex} are the sender's storage after persisting the Ready that carries
     * {@code m}.
     */
    static void checkPersistedBeforeSend(int id, HardState hs, long persistedLastIndex, Message m) {
        // A pre-vote and its grant name the term a pre-candidate would use; nobody adopts it (thesis §9.6).
        if (m instanceof RequestVote rv && rv.preVote() && rv.term() == hs.term() + 1) return;
        if (m instanceof RequestVoteResponse r && r.preVote()) return;
        if (hs.term() < m.term())
            throw new AssertionError("node " + id + " sends " + m + " in term " + m.term() + " but persisted only term "
                    + hs.term());
        boolean sameTerm = hs.term() == m.term();
        switch (m) {
            case RequestVote rv -> {
                if (sameTerm && hs.votedFor() != id)
                    throw new AssertionError("node " + id + " asks for votes before persisting its own vote: " + rv
                            + " with " + hs);
            }
            case RequestVoteResponse r -> {
                if (r.granted() && sameTerm && hs.votedFor() != r.to())
                    throw new AssertionError("node " + id + " grants a vote not yet persisted: " + r + " with " + hs);
            }
            case AppendEntriesResponse r -> {
                // Within one term acknowledged entries are never removed, so they must be on disk.
                if (r.success() && sameTerm && persistedLastIndex < r.matchIndex())
                    throw new AssertionError("node " + id + " acknowledges index " + r.matchIndex()
                            + " but persisted only up to " + persistedLastIndex + ": " + r);
            }
            case AppendEntries ae -> { }
            case Message.InstallSnapshot is -> { }
            case Message.TimeoutNow tn -> { }
            case Message.InstallSnapshotResponse r -> {
                // A completed install is acknowledged only once the snapshot is persisted.
                if (r.done() && sameTerm && persistedLastIndex < r.snapshotIndex())
                    throw new AssertionError("node " + id + " acknowledges snapshot " + r.snapshotIndex()
                            + " but persisted only up to " + persistedLastIndex + ": " + r);
            }
        }
    }
}
