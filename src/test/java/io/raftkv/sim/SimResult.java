package io.raftkv.sim;

/**
 * What one simulation run did and found. {@code failure} is null when every check passed.
 *
 * @param operations   client operations completed (history size)
 * @param unknown      of which with an unknown outcome (timed out, 503, connection lost)
 * @param events       events the scheduler ran
 * @param simulatedMs  simulated time at the end
 * @param counters     how often the run exercised each thing worth knowing (snapshot installs, ...)
 * @param traceTail    the last events before a failure (only when tracing)
 */
record SimResult(long seed, SimConfig config, String failure, int operations, int unknown, long events,
                 long simulatedMs, int crashes, int partitions, long raftMessages, long raftDropped,
                 long invariantChecks, LinearizabilityGate.Verdict linearizability, java.util.Map<String, Long> counters,
                 String traceTail) {
    SimResult {
        counters = java.util.Map.copyOf(counters);
    }

    /** Only the seed and its failure: a run reported from another class loader's world (a mutant's). */
    static SimResult of(long seed, String failure) {
        return new SimResult(seed, null, failure, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, java.util.Map.of(), null);
    }

    boolean ok() {
        return failure == null;
    }
}
