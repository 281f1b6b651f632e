package io.raftkv.node;

/**
 * What a {@link NodeRuntime} has counted since it started, copied at one moment on its thread
 * (for metrics: an adapter publishes the copy, a scrape reads it on another thread). Every count
 * only grows but {@code proposalsPending}; {@code received = committed + failed + pending}.
 *
 * @param proposalsReceived  client writes the core appended to this node's log as leader
 * @param proposalsCommitted those applied as proposed (their writers were answered with the result)
 * @param proposalsFailed    those that did not apply as proposed: another leader's entry took the
 *                           index, leadership was lost, a snapshot covered it, or the node stopped
 * @param proposalsPending   those still waiting to apply
 * @param leaderChanges      times this node learned of a leader other than the last one it knew
 * @param readRounds         ReadIndex heartbeat rounds this node started as leader (thesis §6.4)
 * @param readsInRounds      the linearizable reads those rounds confirmed together
 */
public record RuntimeCounters(long proposalsReceived, long proposalsCommitted, long proposalsFailed,
                              long proposalsPending, long leaderChanges, long readRounds, long readsInRounds) {
    public static final RuntimeCounters ZERO = new RuntimeCounters(0, 0, 0, 0, 0, 0, 0);
}
