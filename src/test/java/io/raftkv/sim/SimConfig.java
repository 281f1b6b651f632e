package io.raftkv.sim;

import java.util.EnumSet;
import java.util.Random;
import java.util.Set;

/**
 * Everything one simulation run depends on, drawn from its seed by {@link #forSeed}: cluster size,
 * network behaviour, fault rates, snapshot policy, client load. Times in simulated milliseconds.
 *
 * @param maxEntriesPerAppend 512 as in production for most seeds; 1 or 2 on some so that entries
 *                            of different terms travel separately (what Figure 8 histories need)
 * @param faultPhaseMs        faults happen in [0, faultPhaseMs); then the network heals, every node
 *                            restarts and the cluster must converge
 * @param clientsStopMs       clients start no operation after this time
 * @param settleLimitMs       by this time the cluster must have converged and clients finished (liveness)
 * @param crashInFsyncRate    chance that a Ready with something to persist crashes its node before
 *                            the write completes (power loss during fsync)
 * @param requestTimeoutMs    the node's deadline for a client request (ClientRequests)
 * @param clientTimeoutMs     the client's deadline for an operation, retries included (RaftKvClient)
 * @param checkSendContract   check persist-before-send on every message (off to see what the other
 *                            checks catch when the driver breaks it)
 */
record SimConfig(long seed, int nodes, int clients, int keys, int maxEntriesPerAppend, int maxInflightAppends,
                 double dropRate, double dupRate, double slowRate, int minDelayMs, int maxDelayMs, int maxFsyncMs,
                 double crashInFsyncRate, int faultEveryMinMs, int faultEveryMaxMs, int maxDownMs,
                 long snapshotEveryEntries, long snapshotKeepEntries, int snapshotChunkBytes, long requestTimeoutMs,
                 long clientTimeoutMs, int maxThinkMs, long faultPhaseMs, long clientsStopMs, long settleLimitMs,
                 Set<PlantedBug> bugs, boolean checkSendContract) {
    /** Production timing (RaftServer with NodeConfig.of): 10 ms ticks, 50 ms heartbeats, 300-500 ms elections. */
    static final int TICK_MS = 10;
    static final int HEARTBEAT_TICKS = 5;
    static final int ELECTION_MIN_TICKS = 30;
    static final int ELECTION_MAX_TICKS = 50;

    SimConfig {
        bugs = bugs.isEmpty() ? EnumSet.noneOf(PlantedBug.class) : EnumSet.copyOf(bugs);
    }

    static SimConfig forSeed(long seed) {
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L);
        int nodes = r.nextInt(3) == 0 ? 5 : 3;
        boolean smallAppends = r.nextInt(4) == 0;
        int maxEntries = smallAppends ? 1 + r.nextInt(2) : 512;
        int maxInflight = smallAppends ? 1 + r.nextInt(4) : 256;
        double drop = pick(r, 0.0, 0.01, 0.05, 0.15);
        double dup = pick(r, 0.0, 0.01, 0.05);
        double slow = pick(r, 0.0, 0.02, 0.1);
        int minDelay = 1 + r.nextInt(3);
        int maxDelay = minDelay + pick(r, 2, 10, 30);
        int maxFsync = pick(r, 0, 2, 5);
        double crashInFsync = maxFsync == 0 ? 0 : pick(r, 0.0, 0.002, 0.01);
        int faultMin = pick(r, 50, 150, 400);
        int faultMax = faultMin * 3;
        int maxDown = pick(r, 50, 400, 1500);
        long snapEvery = pick(r, 10L, 40L, 1_000_000L);
        long snapKeep = pick(r, 0L, 3L, 20L);
        int chunk = pick(r, 64, 256, 1 << 20);
        int clients = 3 + r.nextInt(3);
        int keys = 1 + r.nextInt(3);
        long requestTimeout = pick(r, 500L, 1000L);
        int think = pick(r, 5, 30);
        long faultPhase = 3000;
        return new SimConfig(seed, nodes, clients, keys, maxEntries, maxInflight, drop, dup, slow, minDelay, maxDelay,
                maxFsync, crashInFsync, faultMin, faultMax, maxDown, snapEvery, snapKeep, chunk, requestTimeout,
                requestTimeout + 500, think, faultPhase, faultPhase + 1000, faultPhase + 15_000,
                EnumSet.noneOf(PlantedBug.class), true);
    }

    SimConfig withBugs(Set<PlantedBug> planted, boolean sendContract) {
        return new SimConfig(seed, nodes, clients, keys, maxEntriesPerAppend, maxInflightAppends, dropRate, dupRate,
                slowRate, minDelayMs, maxDelayMs, maxFsyncMs, crashInFsyncRate, faultEveryMinMs, faultEveryMaxMs,
                maxDownMs, snapshotEveryEntries, snapshotKeepEntries, snapshotChunkBytes, requestTimeoutMs,
                clientTimeoutMs, maxThinkMs, faultPhaseMs, clientsStopMs, settleLimitMs, planted, sendContract);
    }

    SimConfig withAppendLimits(int maxEntries, int maxInflight) {
        return new SimConfig(seed, nodes, clients, keys, maxEntries, maxInflight, dropRate, dupRate,
                slowRate, minDelayMs, maxDelayMs, maxFsyncMs, crashInFsyncRate, faultEveryMinMs, faultEveryMaxMs,
                maxDownMs, snapshotEveryEntries, snapshotKeepEntries, snapshotChunkBytes, requestTimeoutMs,
                clientTimeoutMs, maxThinkMs, faultPhaseMs, clientsStopMs, settleLimitMs, bugs, checkSendContract);
    }

    SimConfig withCrashInFsyncRate(double rate, int maxFsync) {
        return new SimConfig(seed, nodes, clients, keys, maxEntriesPerAppend, maxInflightAppends, dropRate, dupRate,
                slowRate, minDelayMs, maxDelayMs, maxFsync, rate, faultEveryMinMs, faultEveryMaxMs,
                maxDownMs, snapshotEveryEntries, snapshotKeepEntries, snapshotChunkBytes, requestTimeoutMs,
                clientTimeoutMs, maxThinkMs, faultPhaseMs, clientsStopMs, settleLimitMs, bugs, checkSendContract);
    }

    boolean has(PlantedBug bug) {
        return bugs.contains(bug);
    }

    @SafeVarargs
    private static <T> T pick(Random r, T... xs) {
        return xs[r.nextInt(xs.length)];
    }

    /** One line for failure messages. */
    String describe() {
        return nodes + " nodes, " + clients + " clients on " + keys + " keys; appends " + maxEntriesPerAppend + "/"
                + maxInflightAppends + "; net " + minDelayMs + "-" + maxDelayMs + " ms, drop " + dropRate + ", dup "
                + dupRate + ", slow " + slowRate + "; fsync <= " + maxFsyncMs + " ms, crash in fsync " + crashInFsyncRate
                + "; faults every " + faultEveryMinMs + "-" + faultEveryMaxMs + " ms, down <= " + maxDownMs
                + " ms; snapshot every " + snapshotEveryEntries + " keep " + snapshotKeepEntries + " chunk "
                + snapshotChunkBytes + "; request timeout " + requestTimeoutMs + " ms"
                + (bugs.isEmpty() ? "" : "; planted " + bugs);
    }
}
