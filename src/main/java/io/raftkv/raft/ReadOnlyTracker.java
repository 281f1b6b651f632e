package io.raftkv.raft;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The leader's bookkeeping for ReadIndex (thesis §6.4; etcd's read_only.go): reads waiting for
 * the term's first commit, reads waiting for the next heartbeat round, and the rounds in flight.
 * A round remembers the commit index when it started; once a quorum of the configuration in use
 * (the leader included if it is a voter; learners never count, thesis §4.2.1) has answered a
 * heartbeat of that round or a later one, its reads may be served at that index. With single-server
 * changes (thesis §4.1) any majority of the configuration before a change overlaps any majority of
 * the one after, so a round may be confirmed by the configuration in use when its answers arrive.
 */
final class ReadOnlyTracker {
    /** One heartbeat round: the commit index when it started, its reads, and who has answered. */
    private record Round(long context, long index, List<Long> requestIds, Set<Integer> acks) {}

    /** Whether a set of node ids (the leader included) is a quorum of the configuration in use. */
    private final Predicate<Set<Integer>> isQuorum;
    private final List<Long> awaitingCommit = new ArrayList<>();
    private final List<Long> batch = new ArrayList<>();
    private final ArrayDeque<Round> rounds = new ArrayDeque<>();
    /** Context of the newest round; context numbers only grow. */
    private long lastContext;

    ReadOnlyTracker(Predicate<Set<Integer>> isQuorum) {
        this.isQuorum = isQuorum;
    }

    void awaitCommit(long requestId) {
        awaitingCommit.add(requestId);
    }

    /** The leader committed in its term: reads that waited for it join the next round. */
    void commitKnown() {
        batch.addAll(awaitingCommit);
        awaitingCommit.clear();
    }

    boolean hasAwaitingCommit() {
        return !awaitingCommit.isEmpty();
    }

    void add(long requestId) {
        batch.add(requestId);
    }

    boolean hasBatch() {
        return !batch.isEmpty();
    }

    /** Reads the next round will carry. */
    int batchSize() {
        return batch.size();
    }

    /** Starts a round for every read batched so far; returns its context for the heartbeats. */
    long startRound(long commitIndex) {
        rounds.addLast(new Round(++lastContext, commitIndex, List.copyOf(batch), new HashSet<>()));
        batch.clear();
        return lastContext;
    }

    long lastContext() {
        return lastContext;
    }

    /**
     * {@code peer} answered a heartbeat of round {@code context} in our term: it followed us after
     * every earlier round started too. Returns the reads this confirms. The leader acknowledges each
     * round itself when it starts it.
     */
    List<ReadState> ack(int peer, long context) {
        List<ReadState> ready = new ArrayList<>();
        for (Round r : rounds) {
            if (!confirms(context, r)) break;
            r.acks().add(peer);
        }
        while (!rounds.isEmpty() && isQuorum.test(rounds.peekFirst().acks())) {
            Round r = rounds.removeFirst();
            for (long id : r.requestIds()) ready.add(new ReadState(id, r.index(), true));
        }
        return ready;
    }

    /**
     * Thesis §6.4: an answer to a heartbeat of round {@code ackContext} shows the follower still
     * took us as leader after that heartbeat left, so it confirms the rounds started before it
     * (contexts only grow), never a later one: we may have been deposed in between.
     */
    private static boolean confirms(long ackContext, Round round) {
        return round.context() <= ackContext;
    }

    /** Leadership is lost (or starts anew): every pending read is refused. */
    List<ReadState> failAll() {
        List<ReadState> failed = new ArrayList<>();
        for (Round r : rounds) for (long id : r.requestIds()) failed.add(new ReadState(id, 0, false));
        for (long id : batch) failed.add(new ReadState(id, 0, false));
        for (long id : awaitingCommit) failed.add(new ReadState(id, 0, false));
        rounds.clear();
        batch.clear();
        awaitingCommit.clear();
        return failed;
    }
}
