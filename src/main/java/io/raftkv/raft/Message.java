package io.raftkv.raft;

import java.util.List;

/**
 * Messages between Raft nodes (Raft Figure 2). Every message carries the sender's term; the
 * encoding on the wire lives in the transport, not here.
 */
public sealed interface Message {
    int from();

    int to();

    long term();

    /**
     * Whether this message answers a request (etcd's {@code IsResponseMsg}): it travels back on
     * the exchange of the request it answers, never as a request of its own.
     */
    default boolean isResponse() {
        return this instanceof RequestVoteResponse || this instanceof AppendEntriesResponse
                || this instanceof InstallSnapshotResponse;
    }

    /**
     * RequestVote RPC (Raft §5.2): a candidate asks for a vote in {@code term}. {@code transfer}
     * marks the election of a leadership transfer (thesis §3.10): the leader itself told the
     * candidate to campaign ({@link TimeoutNow}), so a voter grants it despite the leader lease
     * (etcd's {@code campaignTransfer}); the log check and one vote per term still apply.
     */
    record RequestVote(int from, int to, long term, long lastLogIndex, long lastLogTerm, boolean preVote,
                       boolean transfer) implements Message {
        public RequestVote(int from, int to, long term, long lastLogIndex, long lastLogTerm) {
            this(from, to, term, lastLogIndex, lastLogTerm, false, false);
        }

        public RequestVote(int from, int to, long term, long lastLogIndex, long lastLogTerm, boolean preVote) {
            this(from, to, term, lastLogIndex, lastLogTerm, preVote, false);
        }
    }

    /**
     * Answer to {@link RequestVote}. A granted pre-vote carries the term the pre-candidate asked
     * about; nobody's term changes in a pre-vote (thesis §9.6).
     */
    record RequestVoteResponse(int from, int to, long term, boolean granted, boolean preVote) implements Message {
        public RequestVoteResponse(int from, int to, long term, boolean granted) {
            this(from, to, term, granted, false);
        }
    }

    /**
     * AppendEntries RPC (Raft §5.3): replicates {@code entries} after ({@code prevLogIndex},
     * {@code prevLogTerm}); with no entries it is a heartbeat.
     */
    record AppendEntries(int from, int to, long term, long prevLogIndex, long prevLogTerm,
                         List<Entry> entries, long leaderCommit, long readContext) implements Message {
        public AppendEntries(int from, int to, long term, long prevLogIndex, long prevLogTerm, List<Entry> entries,
                             long leaderCommit) {
            this(from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit, 0);
        }

        public AppendEntries {
            entries = List.copyOf(entries);
        }
    }

    /**
     * Answer to {@link AppendEntries}. On success {@code matchIndex} is the last index known to
     * match the leader. On rejection {@code rejectedIndex} is the prevLogIndex that failed the
     * consistency check, and ({@code conflictTerm}, {@code conflictIndex}) is the hint that lets
     * the leader skip a whole term per round trip: the follower's term at rejectedIndex and the
     * first index it holds of that term, or term 0 and lastIndex + 1 when its log is too short.
     */
    record AppendEntriesResponse(int from, int to, long term, boolean success, long matchIndex,
                                 long rejectedIndex, long conflictTerm, long conflictIndex, long readContext)
            implements Message {
        public AppendEntriesResponse(int from, int to, long term, boolean success, long matchIndex, long rejectedIndex,
                                     long conflictTerm, long conflictIndex) {
            this(from, to, term, success, matchIndex, rejectedIndex, conflictTerm, conflictIndex, 0);
        }

        public static AppendEntriesResponse accept(int from, int to, long term, long matchIndex) {
            return new AppendEntriesResponse(from, to, term, true, matchIndex, 0, 0, 0);
        }

        /**
         * The refusal of an AppendEntries of an older term (Raft §5.1): it tells the sender our
         * newer term and nothing else. Its conflict hint is 0, which no answer to the consistency
         * check carries (that hint is at least 1), and it confirms no ReadIndex round.
         */
        public static AppendEntriesResponse refuseOlderTerm(int from, int to, long term, long rejectedIndex) {
            return new AppendEntriesResponse(from, to, term, false, 0, rejectedIndex, 0, 0, 0);
        }

        /**
         * Whether this refuses a message of an older term than the answering node's (see
         * {@link #refuseOlderTerm}). A leader re-elected in that newer term gets it in its own
         * term, but it answers a message of the leader's earlier term: it says nothing about the
         * follower's log or about the leader's current read rounds.
         */
        public boolean refusesOlderTerm() {
            return !success && conflictIndex == 0;
        }
    }

    /**
     * InstallSnapshot RPC (Raft §7, Figure 13): one chunk of the leader's snapshot, which ends at
     * ({@code snapshotIndex}, {@code snapshotTerm}); {@code offset} is where {@code data} starts,
     * {@code done} marks the last chunk. Every chunk carries the snapshot's {@code configuration}
     * (thesis §4.1: the log it replaces may hold the newest configuration entry); the follower
     * takes it from the last.
     */
    record InstallSnapshot(int from, int to, long term, long snapshotIndex, long snapshotTerm,
                           Configuration configuration, long offset, byte[] data, boolean done) implements Message {
        public InstallSnapshot {
            if (configuration == null) throw new IllegalArgumentException("InstallSnapshot without a configuration");
        }

        @Override
        public String toString() {
            return "InstallSnapshot[" + from + "->" + to + " term=" + term + " snap=" + snapshotIndex + "@" + snapshotTerm
                    + " " + configuration + " offset=" + offset + " len=" + data.length + (done ? " done" : "") + "]";
        }
    }

    /**
     * TimeoutNow (thesis §3.10): the leader, transferring its leadership, tells {@code to} (a voter
     * whose log it has brought up to date) to start an election at once, as if its election timer
     * had expired, without a pre-vote. It has no answer: the election is the answer.
     */
    record TimeoutNow(int from, int to, long term) implements Message {}

    /**
     * Answer to {@link InstallSnapshot}: the follower holds the snapshot's first {@code nextOffset}
     * bytes, or the whole snapshot when {@code done}.
     */
    record InstallSnapshotResponse(int from, int to, long term, long snapshotIndex, long nextOffset, boolean done)
            implements Message {}
}
