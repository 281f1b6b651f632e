package io.raftkv.raft;

import java.util.List;

/**
 * Static configuration of one Raft node. Times are in ticks; the runtime decides how long a
 * tick is ({@code tickMs} is only used to render reasons in milliseconds).
 *
 * @param id                 this node's id, one of {@code voters}
 * @param voters             ids of all voting members, this node included
 * @param electionTicksMin   lower bound (inclusive) of the randomized election timeout (Raft §5.2)
 * @param electionTicksMax   upper bound (exclusive) of the randomized election timeout
 * @param heartbeatTicks     leader heartbeat interval, well below the election timeout
 * @param maxEntriesPerAppend most entries one AppendEntries carries
 * @param maxInflightAppends most unacknowledged AppendEntries with entries per follower
 * @param randomSeed         seed of the election timeout randomization; the node mixes in its id,
 *                           so one seed may be shared by the whole cluster
 * @param tickMs             length of one tick in milliseconds, for messages only
 * @param maxBytesPerAppend  most entry data one AppendEntries carries (at least one entry is sent)
 * @param snapshotChunkBytes size of one InstallSnapshot chunk
 * @param checkQuorum        a leader that has not heard from a majority for an election timeout
 *                           steps down (thesis §6.2), so its clients fail fast instead of waiting;
 *                           and a follower that heard from its leader within the minimum election
 *                           timeout ignores vote requests (the leader lease of §6.2 / §4.2.3)
 * @param preVote            a node first asks whether it could win before starting an election
 *                           (thesis §9.6), so a node rejoining after a partition cannot depose a
 *                           healthy leader by inflating the term
 */
public record RaftConfig(int id, List<Integer> voters, int electionTicksMin, int electionTicksMax,
                         int heartbeatTicks, int maxEntriesPerAppend, int maxInflightAppends,
                         long randomSeed, int tickMs, long maxBytesPerAppend, int snapshotChunkBytes,
                         boolean checkQuorum, boolean preVote) {
    public static final long DEFAULT_MAX_BYTES_PER_APPEND = 4L * 1024 * 1024;
    public static final int DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

    public RaftConfig(int id, List<Integer> voters, int electionTicksMin, int electionTicksMax, int heartbeatTicks,
                      int maxEntriesPerAppend, int maxInflightAppends, long randomSeed, int tickMs) {
        this(id, voters, electionTicksMin, electionTicksMax, heartbeatTicks, maxEntriesPerAppend, maxInflightAppends,
                randomSeed, tickMs, DEFAULT_MAX_BYTES_PER_APPEND, DEFAULT_SNAPSHOT_CHUNK_BYTES, false, false);
    }

    public RaftConfig {
        voters = List.copyOf(voters);
        if (!voters.contains(id)) throw new IllegalArgumentException("id " + id + " is not among voters " + voters);
        if (voters.stream().distinct().count() != voters.size())
            throw new IllegalArgumentException("duplicate voter ids in " + voters);
        if (heartbeatTicks < 1) throw new IllegalArgumentException("heartbeatTicks must be >= 1");
        if (electionTicksMin <= heartbeatTicks)
            throw new IllegalArgumentException("election timeout must exceed the heartbeat interval");
        if (electionTicksMax <= electionTicksMin)
            throw new IllegalArgumentException("electionTicksMax must exceed electionTicksMin");
        if (maxBytesPerAppend < 1 || snapshotChunkBytes < 1)
            throw new IllegalArgumentException("maxBytesPerAppend and snapshotChunkBytes must be >= 1");
        if (maxEntriesPerAppend < 1 || maxInflightAppends < 1)
            throw new IllegalArgumentException("maxEntriesPerAppend and maxInflightAppends must be >= 1");
    }

    /** The report's timing with 10 ms ticks: 50 ms heartbeats, 300-500 ms election timeouts. */
    public static RaftConfig defaults(int id, List<Integer> voters, long randomSeed) {
        return new RaftConfig(id, voters, 30, 50, 5, 512, 256, randomSeed, 10);
    }

    public RaftConfig withSnapshotChunkBytes(int bytes) {
        return new RaftConfig(id, voters, electionTicksMin, electionTicksMax, heartbeatTicks, maxEntriesPerAppend,
                maxInflightAppends, randomSeed, tickMs, maxBytesPerAppend, bytes, checkQuorum, preVote);
    }

    public RaftConfig withCheckQuorum(boolean on) {
        return new RaftConfig(id, voters, electionTicksMin, electionTicksMax, heartbeatTicks, maxEntriesPerAppend,
                maxInflightAppends, randomSeed, tickMs, maxBytesPerAppend, snapshotChunkBytes, on, preVote);
    }

    public RaftConfig withPreVote(boolean on) {
        return new RaftConfig(id, voters, electionTicksMin, electionTicksMax, heartbeatTicks, maxEntriesPerAppend,
                maxInflightAppends, randomSeed, tickMs, maxBytesPerAppend, snapshotChunkBytes, checkQuorum, on);
    }
}
