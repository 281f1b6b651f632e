package io.raftkv.raft;

/**
 * A leader's transfer of its leadership in progress (thesis §3.10); exists only on a leader, from
 * {@link RaftNode#transferLeadership(int)} until the leader steps down or gives up.
 */
final class LeaderTransfer {
    /** The voter that is to take over. */
    final int target;
    /** Heartbeat ticks since the transfer started; at an election timeout the leader gives up. */
    int elapsedTicks;
    /** TimeoutNow messages sent so far (one per answer of the caught-up target: a lost one is resent). */
    int timeoutNowSent;

    LeaderTransfer(int target) {
        this.target = target;
    }

    @Override
    public String toString() {
        return "transfer to " + target + " for " + elapsedTicks + " ticks, TimeoutNow sent " + timeoutNowSent + "x";
    }
}
