package io.raftkv.sim;

import io.raftkv.kv.KvStateMachine;

import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Everything one simulation run depends on, drawn from its seed by {@link #forSeed}: cluster size,
 * network behaviour, fault rates, snapshot policy, client load. Times in simulated milliseconds.
 * The Raft timing is always production's ({@link #TICK_MS} ticks, 50 ms heartbeats, 300-500 ms
 * elections, check-quorum and pre-vote on).
 *
 * @param maxEntriesPerAppend 512 as in production for most seeds; 1 or 2 on some, so that entries
 *                            of different terms travel separately (what Figure 8 histories need)
 * @param crashInFsyncRate    chance that a Ready with something to persist crashes its node before
 *                            the write completes (power loss during fsync)
 * @param crashNewLeaderRate  chance that a node crashes within a few round trips of winning an
 *                            election (a crash point at the most delicate moment of a term)
 * @param crashAfterCommitRate chance that a leader crashes right after persisting a higher commit
 *                            index, before its followers hear of it
 * @param singleNodeClientRate share of clients given a single node's address (which forwards
 *                            to the leader) instead of the whole cluster's
 * @param requestTimeoutMs    the node's deadline for a client request (ClientRequests)
 * @param clientTimeoutMs     the client's deadline for an operation, retries included (RaftKvClient)
 * @param clientAttemptTimeoutMs how long the client waits for one node before trying the next with
 *                            a request it may resend (RaftKvClient's attemptTimeout)
 * @param sessionTtlMs        client sessions expire after this much log time without a command
 * @param maxSessions         the state machine keeps at most this many sessions (least recently used go)
 * @param faultPhaseMs        faults happen in [0, faultPhaseMs); then the network heals, every node
 *                            restarts and the cluster must converge
 * @param clientsStopMs       clients start no operation after this time
 * @param settleLimitMs       by this time the cluster must have converged and clients finished (liveness)
 * @param fileStorage       each node keeps its state in the production FileStorage, on a simulated disk
 *                            that loses unforced writes at a crash ({@link SimDisk}); the in-memory
 *                            SimStorage otherwise
 * @param walSegmentBytes     FileStorage's WAL segment size (small ones roll and compact often)
 * @param checkSendContract   check persist-before-send on every message (off to see what the other
 *                            checks catch when the driver breaks that rule)
 */
record SimConfig(long seed, int nodes, int clients, int keys, int maxEntriesPerAppend, int maxInflightAppends,
                 double dropRate, double dupRate, double slowRate, int minDelayMs, int maxDelayMs, int maxFsyncMs,
                 double crashInFsyncRate, double crashNewLeaderRate, double crashAfterCommitRate, int faultEveryMinMs, int faultEveryMaxMs,
                 int maxDownMs, long snapshotEveryEntries, long snapshotEveryBytes, long snapshotKeepEntries, int snapshotChunkBytes,
                 int maxSnapshotWriteMs, double singleNodeClientRate, long requestTimeoutMs, long clientTimeoutMs, long clientAttemptTimeoutMs,
                 int maxThinkMs,
                 long sessionTtlMs, int maxSessions, long faultPhaseMs, long clientsStopMs, long settleLimitMs,
                 boolean fileStorage, long walSegmentBytes, Set<PlantedBug> bugs, boolean checkSendContract) {
    /** Production timing (RaftServer with NodeConfig.of): 10 ms ticks, 50 ms heartbeats, 300-500 ms elections. */
    static final int TICK_MS = 10;
    static final int HEARTBEAT_TICKS = 5;
    static final int ELECTION_MIN_TICKS = 30;
    static final int ELECTION_MAX_TICKS = 50;

    SimConfig {
        bugs = bugs.isEmpty() ? EnumSet.noneOf(PlantedBug.class) : EnumSet.copyOf(bugs);
        if (nodes < 1 || clients < 1 || keys < 1 || maxDelayMs < minDelayMs || faultEveryMaxMs < faultEveryMinMs
                || maxDownMs < 1 || clientsStopMs < faultPhaseMs || settleLimitMs < clientsStopMs)
            throw new IllegalArgumentException("inconsistent simulation config");
    }

    static SimConfig forSeed(long seed) {
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L);
        Builder b = new Builder();
        b.seed = seed;
        b.nodes = r.nextInt(3) == 0 ? 5 : 3;
        boolean smallAppends = r.nextInt(4) == 0;
        b.maxEntriesPerAppend = smallAppends ? 1 + r.nextInt(2) : 512;
        b.maxInflightAppends = smallAppends ? 1 + r.nextInt(4) : 256;
        b.dropRate = pick(r, 0.0, 0.01, 0.05, 0.15);
        b.dupRate = pick(r, 0.0, 0.01, 0.05);
        b.slowRate = pick(r, 0.0, 0.02, 0.1);
        b.minDelayMs = 1 + r.nextInt(3);
        b.maxDelayMs = b.minDelayMs + pick(r, 2, 10, 30);
        b.maxFsyncMs = pick(r, 0, 2, 5);
        b.crashInFsyncRate = b.maxFsyncMs == 0 ? 0 : pick(r, 0.0, 0.002, 0.01);
        b.crashNewLeaderRate = pick(r, 0.0, 0.0, 0.1, 0.3);
        b.crashAfterCommitRate = pick(r, 0.0, 0.0, 0.01, 0.05);
        b.faultEveryMinMs = pick(r, 50, 150, 400);
        b.faultEveryMaxMs = b.faultEveryMinMs * 3;
        b.maxDownMs = pick(r, 50, 400, 1500);
        b.snapshotEveryEntries = pick(r, 10L, 40L, 1_000_000L);
        b.snapshotKeepEntries = pick(r, 0L, 3L, 20L);
        b.snapshotChunkBytes = pick(r, 64, 256, 1 << 20);
        b.clients = 3 + r.nextInt(3);
        b.keys = 1 + r.nextInt(3);
        b.singleNodeClientRate = pick(r, 0.0, 0.0, 0.5, 1.0);
        b.requestTimeoutMs = pick(r, 500L, 1000L);
        // RaftKvClient's timeout: above the node's (as the CLI sets it), or impatient.
        b.clientTimeoutMs = r.nextInt(4) == 0 ? 300 : b.requestTimeoutMs + 500;
        // The chaos tool's clients give up on a silent (paused) node sooner than on the whole operation.
        b.clientAttemptTimeoutMs = r.nextBoolean() ? b.clientTimeoutMs : Math.min(b.clientTimeoutMs, b.requestTimeoutMs + 200);
        b.maxThinkMs = pick(r, 5, 30);
        // Production's session limits, or limits small enough that sessions go away under the clients.
        boolean tight = r.nextInt(8) == 0;
        b.sessionTtlMs = tight && r.nextBoolean() ? 1000 + r.nextInt(2000) : KvStateMachine.DEFAULT_SESSION_TTL_MS;
        b.maxSessions = tight && r.nextBoolean() ? 4 + r.nextInt(8) : KvStateMachine.DEFAULT_MAX_SESSIONS;
        // The runtime's byte trigger, and snapshot files that take a while to write (drawn last, so
        // the draws above stay what they were for each seed).
        b.snapshotEveryBytes = pick(r, 1L << 40, 1L << 40, 300L, 2_000L);
        b.maxSnapshotWriteMs = pick(r, 0, 3, 20, 150);
        // One seed in five on the production FileStorage over a simulated disk (drawn after the
        // rest, which stays what it was for each seed).
        b.fileStorage = r.nextInt(5) == 0;
        b.walSegmentBytes = pick(r, 512L, 4096L, 1L << 20);
        // Crashes inside FileStorage's multi-step writes (replace the term-vote file, roll or cut the
        // WAL, install a snapshot) need a write in flight when the power goes.
        if (b.fileStorage && b.maxFsyncMs > 0) b.crashInFsyncRate = pick(r, 0.01, 0.03);
        b.faultPhaseMs = 3000;
        b.clientsStopMs = b.faultPhaseMs + 1000;
        b.settleLimitMs = b.faultPhaseMs + 15_000;
        return b.build();
    }

    /** This config with some parameters changed. */
    SimConfig with(Consumer<Builder> change) {
        Builder b = new Builder(this);
        change.accept(b);
        return b.build();
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
                + ", crash new leader " + crashNewLeaderRate + ", crash after commit " + crashAfterCommitRate
                + "; faults every " + faultEveryMinMs + "-"
                + faultEveryMaxMs + " ms, down <= " + maxDownMs + " ms; snapshot every " + snapshotEveryEntries
                + " entries or " + snapshotEveryBytes + " bytes, keep " + snapshotKeepEntries + " chunk "
                + snapshotChunkBytes + ", written in <= " + maxSnapshotWriteMs + " ms; single-node clients "
                + singleNodeClientRate + "; request timeout "
                + requestTimeoutMs + " ms, client timeout " + clientTimeoutMs + " ms (per node " + clientAttemptTimeoutMs
                + " ms); sessions " + maxSessions + " for "
                + sessionTtlMs + " ms; faults for " + faultPhaseMs + " ms"
                + (fileStorage ? "; FileStorage on a simulated disk, WAL segments of " + walSegmentBytes + " bytes" : "")
                + (bugs.isEmpty() ? "" : "; planted " + bugs) + (checkSendContract ? "" : "; send contract unchecked");
    }

    /** Mutable copy of every parameter. */
    static final class Builder {
        long seed;
        int nodes = 3, clients = 3, keys = 2, maxEntriesPerAppend = 512, maxInflightAppends = 256;
        double dropRate, dupRate, slowRate;
        int minDelayMs = 1, maxDelayMs = 5, maxFsyncMs;
        double crashInFsyncRate, crashNewLeaderRate, crashAfterCommitRate;
        int faultEveryMinMs = 150, faultEveryMaxMs = 450, maxDownMs = 400;
        long snapshotEveryEntries = 1_000_000, snapshotEveryBytes = 1L << 40, snapshotKeepEntries;
        int snapshotChunkBytes = 1 << 20, maxSnapshotWriteMs;
        double singleNodeClientRate;
        long requestTimeoutMs = 1000, clientTimeoutMs = 1500, clientAttemptTimeoutMs = 1500;
        int maxThinkMs = 10;
        long sessionTtlMs = KvStateMachine.DEFAULT_SESSION_TTL_MS;
        int maxSessions = KvStateMachine.DEFAULT_MAX_SESSIONS;
        long faultPhaseMs = 3000, clientsStopMs = 4000, settleLimitMs = 18_000;
        boolean fileStorage;
        long walSegmentBytes = 4096;
        Set<PlantedBug> bugs = EnumSet.noneOf(PlantedBug.class);
        boolean checkSendContract = true;

        Builder() {}

        Builder(SimConfig c) {
            seed = c.seed; nodes = c.nodes; clients = c.clients; keys = c.keys;
            maxEntriesPerAppend = c.maxEntriesPerAppend; maxInflightAppends = c.maxInflightAppends;
            dropRate = c.dropRate; dupRate = c.dupRate; slowRate = c.slowRate;
            minDelayMs = c.minDelayMs; maxDelayMs = c.maxDelayMs; maxFsyncMs = c.maxFsyncMs;
            crashInFsyncRate = c.crashInFsyncRate; crashNewLeaderRate = c.crashNewLeaderRate;
            crashAfterCommitRate = c.crashAfterCommitRate;
            faultEveryMinMs = c.faultEveryMinMs; faultEveryMaxMs = c.faultEveryMaxMs; maxDownMs = c.maxDownMs;
            snapshotEveryEntries = c.snapshotEveryEntries; snapshotEveryBytes = c.snapshotEveryBytes;
            snapshotKeepEntries = c.snapshotKeepEntries;
            snapshotChunkBytes = c.snapshotChunkBytes; maxSnapshotWriteMs = c.maxSnapshotWriteMs; singleNodeClientRate = c.singleNodeClientRate;
            requestTimeoutMs = c.requestTimeoutMs;
            clientTimeoutMs = c.clientTimeoutMs; clientAttemptTimeoutMs = c.clientAttemptTimeoutMs;
            maxThinkMs = c.maxThinkMs;
            sessionTtlMs = c.sessionTtlMs; maxSessions = c.maxSessions; faultPhaseMs = c.faultPhaseMs;
            clientsStopMs = c.clientsStopMs; settleLimitMs = c.settleLimitMs;
            fileStorage = c.fileStorage; walSegmentBytes = c.walSegmentBytes; bugs = EnumSet.copyOf(c.bugs);
            checkSendContract = c.checkSendContract;
        }

        SimConfig build() {
            return new SimConfig(seed, nodes, clients, keys, maxEntriesPerAppend, maxInflightAppends, dropRate, dupRate,
                    slowRate, minDelayMs, maxDelayMs, maxFsyncMs, crashInFsyncRate, crashNewLeaderRate, crashAfterCommitRate,
                    faultEveryMinMs,
                    faultEveryMaxMs, maxDownMs, snapshotEveryEntries, snapshotEveryBytes, snapshotKeepEntries,
                    snapshotChunkBytes, maxSnapshotWriteMs, singleNodeClientRate, requestTimeoutMs, clientTimeoutMs, Math.min(clientTimeoutMs,
                    clientAttemptTimeoutMs), maxThinkMs, sessionTtlMs, maxSessions,
                    faultPhaseMs, clientsStopMs, settleLimitMs, fileStorage, walSegmentBytes, bugs,
                    checkSendContract);
        }
    }
}
