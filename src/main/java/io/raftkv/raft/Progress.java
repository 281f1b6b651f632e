package io.raftkv.raft;

import java.util.ArrayDeque;

/**
 * The leader's view of one follower (etcd's tracker.Progress).
 *
 * <p>In {@code PROBE} the leader does not know where the follower's log matches its own and
 * sends one AppendEntries at a time, waiting for the answer or the next heartbeat. In
 * {@code REPLICATE} it streams entries optimistically, advancing {@code next} as it sends, with
 * at most {@code maxInflight} unacknowledged messages. Invariant: {@code match < next}.
 */
final class Progress {
    enum State { PROBE, REPLICATE, SNAPSHOT }

    long match;
    long next;
    State state = State.PROBE;
    /** In PROBE: an append is outstanding, don't send another before a reply or heartbeat. */
    boolean probeSent;
    /** Heard from this follower since the leader's last quorum check (check-quorum). */
    boolean recentActive;
    /** Heartbeat rounds since {@code match} last advanced while entries were outstanding. */
    int heartbeatsWithoutProgress;
    /** In SNAPSHOT: the snapshot being sent and how many of its bytes the follower holds. */
    long pendingSnapshotIndex;
    long snapshotOffset;
    private final ArrayDeque<Long> inflight = new ArrayDeque<>();
    private final int maxInflight;

    Progress(long next, int maxInflight) {
        this.next = next;
        this.maxInflight = maxInflight;
    }

    boolean paused() {
        return switch (state) {
            case PROBE -> probeSent;
            case REPLICATE -> inflight.size() >= maxInflight;
            case SNAPSHOT -> true;
        };
    }

    void sentEntries(long lastIndex) {
        switch (state) {
            case PROBE -> probeSent = true;
            case REPLICATE -> {
                next = lastIndex + 1;
                inflight.addLast(lastIndex);
            }
            case SNAPSHOT -> throw new IllegalStateException("no appends while sending a snapshot");
        }
    }

    /** Records a successful reply; returns true if {@code match} advanced. */
    boolean maybeUpdate(long matchIndex) {
        if (matchIndex <= match) return false;
        match = matchIndex;
        next = Math.max(next, matchIndex + 1);
        heartbeatsWithoutProgress = 0;
        while (!inflight.isEmpty() && inflight.peekFirst() <= matchIndex) inflight.removeFirst();
        if (state == State.PROBE) becomeReplicate();
        return true;
    }

    void becomeProbe(long nextIndex) {
        state = State.PROBE;
        next = Math.max(match + 1, nextIndex);
        probeSent = false;
        inflight.clear();
        heartbeatsWithoutProgress = 0;
    }

    /**
     * The follower no longer holds entries it acknowledged (its storage was wiped or replaced):
     * nothing is known to match any more, so probe again from {@code nextIndex}.
     */
    void forgetMatch(long nextIndex) {
        match = 0;
        becomeProbe(nextIndex);
    }

    void becomeSnapshot(long snapshotIndex) {
        state = State.SNAPSHOT;
        pendingSnapshotIndex = snapshotIndex;
        snapshotOffset = 0;
        probeSent = false;
        inflight.clear();
        heartbeatsWithoutProgress = 0;
    }

    void becomeReplicate() {
        state = State.REPLICATE;
        next = match + 1;
        probeSent = false;
        inflight.clear();
    }

    int inflightCount() {
        return inflight.size();
    }

    @Override
    public String toString() {
        return state + " match=" + match + " next=" + next + " inflight=" + inflight.size();
    }
}
