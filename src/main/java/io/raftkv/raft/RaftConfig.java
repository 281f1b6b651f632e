package io.raftkv.raft;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Static configuration of one Raft node. Times are in ticks; the runtime decides how long a
 * tick is ({@code tickMs} is only used to render reasons in milliseconds).
 *
 * <p>Build it with {@link #builder(int, List)}, whose defaults are production's protocol and
 * timing: a test that wants something else (pre-vote or check-quorum off, one entry per append)
 * says so by name. {@link #validate()} (etcd's {@code Config.validate} in raft.go) refuses a
 * configuration the protocol cannot run with; {@link Builder#build()} and {@link RaftNode} call it.
 *
 * @param id                 this node's id, one of {@code voters} unless that is empty
 * @param voters             the bootstrap configuration (thesis §4.1): ids of all voting members, this
 *                           node included, used until the log or a snapshot holds a configuration (a
 *                           node restarted with its log uses the log's). Empty for a node that joins
 *                           an existing cluster: it learns its configuration from the leader and
 *                           neither votes nor campaigns before it is a voter there
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
 * @param voterAddresses     the bootstrap voters' addresses (those missing are empty), so that the
 *                           first configuration entry, and the members who learn it, know where
 *                           each voter is
 * @param maxLearnerLagEntries a learner is promoted to voter only when its log is at most this many
 *                           entries behind the leader's (thesis §4.2.1: a voter that has not caught
 *                           up would leave the cluster unable to commit while it catches up)
 */
public record RaftConfig(int id, List<Integer> voters, int electionTicksMin, int electionTicksMax,
                         int heartbeatTicks, int maxEntriesPerAppend, int maxInflightAppends,
                         long randomSeed, int tickMs, long maxBytesPerAppend, int snapshotChunkBytes,
                         boolean checkQuorum, boolean preVote, long maxLearnerLagEntries,
                         Map<Integer, String> voterAddresses) {
    public static final long DEFAULT_MAX_BYTES_PER_APPEND = 4L * 1024 * 1024;
    public static final int DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
    /**
     * A thousand entries: at production's 512 entries per append, two round trips; well under an
     * election timeout at the throughput the benchmarks show (thesis §4.2.1 asks that the last
     * round of catching up take less than an election timeout).
     */
    public static final long DEFAULT_MAX_LEARNER_LAG_ENTRIES = 1000;

    /** Values are checked by {@link #validate()}, not here, so that it can name every problem. */
    public RaftConfig {
        voters = voters == null ? List.of() : List.copyOf(voters);
        voterAddresses = voterAddresses == null ? Map.of() : Map.copyOf(voterAddresses);
    }

    /**
     * The configuration a node uses until its log or a snapshot holds one (thesis §4.1): the
     * bootstrap voters with their addresses; empty for a node that joins an existing cluster.
     */
    public Configuration bootstrapConfiguration() {
        TreeMap<Integer, String> v = new TreeMap<>();
        for (int id : voters) v.put(id, voterAddresses.getOrDefault(id, ""));
        return new Configuration(v, new TreeMap<>());
    }

    /** Production's configuration for node {@code id} of {@code voters}; change what differs by name. */
    public static Builder builder(int id, List<Integer> voters) {
        return new Builder(id, voters);
    }

    /** Production's protocol and timing ({@link #builder}'s defaults) with the given seed. */
    public static RaftConfig defaults(int id, List<Integer> voters, long randomSeed) {
        return builder(id, voters).randomSeed(randomSeed).build();
    }

    /** A builder holding this configuration, to derive a changed one. */
    public Builder toBuilder() {
        return new Builder(id, voters).electionTicks(electionTicksMin, electionTicksMax).heartbeatTicks(heartbeatTicks)
                .maxEntriesPerAppend(maxEntriesPerAppend).maxInflightAppends(maxInflightAppends).randomSeed(randomSeed)
                .tickMs(tickMs).maxBytesPerAppend(maxBytesPerAppend).snapshotChunkBytes(snapshotChunkBytes)
                .checkQuorum(checkQuorum).preVote(preVote).maxLearnerLagEntries(maxLearnerLagEntries)
                .voterAddresses(voterAddresses);
    }

    /**
     * Refuses a configuration the protocol cannot run with (etcd's {@code Config.validate}):
     * throws {@link IllegalArgumentException} naming every broken rule, with its values.
     *
     * @return this configuration, valid
     */
    public RaftConfig validate() {
        List<String> problems = new ArrayList<>();
        Set<Integer> distinct = new HashSet<>();
        for (int v : voters) {
            if (v == RaftNode.NONE) problems.add("voter id " + v + " is reserved for \"no node\" (RaftNode.NONE)");
            if (!distinct.add(v)) problems.add("voter " + v + " appears twice in " + voters);
        }
        if (!voters.isEmpty() && !voters.contains(id)) problems.add("id " + id + " is not among voters " + voters);
        for (var e : voterAddresses.entrySet()) {
            if (!voters.contains(e.getKey())) problems.add("address given for node " + e.getKey() + ", not a voter of " + voters);
            if (e.getValue() == null) problems.add("node " + e.getKey() + " has a null address");
        }
        if (heartbeatTicks < 1) problems.add("heartbeatTicks is " + heartbeatTicks + ", must be >= 1");
        if (electionTicksMin <= heartbeatTicks) {
            // Raft §5.2: followers must hear a heartbeat before their election timeout.
            problems.add("electionTicksMin (" + electionTicksMin + ") must exceed heartbeatTicks (" + heartbeatTicks
                    + "), or followers time out between two heartbeats of a healthy leader (Raft §5.2)");
        }
        if (electionTicksMax <= electionTicksMin) {
            // Raft §5.2: randomized timeouts keep split votes rare; an empty range gives none.
            problems.add("electionTicksMax (" + electionTicksMax + ", exclusive) must exceed electionTicksMin ("
                    + electionTicksMin + "): election timeouts are drawn from [min, max) (Raft §5.2)");
        }
        if (tickMs < 1) problems.add("tickMs is " + tickMs + ", must be >= 1");
        if (maxEntriesPerAppend < 1) problems.add("maxEntriesPerAppend is " + maxEntriesPerAppend + ", must be >= 1");
        if (maxInflightAppends < 1) problems.add("maxInflightAppends is " + maxInflightAppends + ", must be >= 1");
        if (maxBytesPerAppend < 1) problems.add("maxBytesPerAppend is " + maxBytesPerAppend + ", must be >= 1");
        if (snapshotChunkBytes < 1) problems.add("snapshotChunkBytes is " + snapshotChunkBytes + ", must be >= 1");
        if (maxLearnerLagEntries < 0) problems.add("maxLearnerLagEntries is " + maxLearnerLagEntries + ", must be >= 0");
        if (id == RaftNode.NONE) problems.add("id " + id + " is reserved for \"no node\" (RaftNode.NONE)");
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid Raft configuration for node " + id + ": "
                    + String.join("; ", problems));
        }
        return this;
    }

    /**
     * Builds a {@link RaftConfig}; every default is production's (the server's flags change the
     * timing, never the protocol): 10 ms ticks, heartbeats every 5 ticks, election timeouts of
     * 30 to 50 ticks, 512 entries and {@link #DEFAULT_MAX_BYTES_PER_APPEND} per append, 256
     * appends in flight per follower, {@link #DEFAULT_SNAPSHOT_CHUNK_BYTES} per snapshot chunk,
     * check-quorum and pre-vote on, learners promoted within {@link #DEFAULT_MAX_LEARNER_LAG_ENTRIES}. The seed defaults to 0: a runtime should give each start of
     * a node its own.
     */
    public static final class Builder {
        private final int id;
        private final List<Integer> voters;
        private int electionTicksMin = 30;
        private int electionTicksMax = 50;
        private int heartbeatTicks = 5;
        private int maxEntriesPerAppend = 512;
        private int maxInflightAppends = 256;
        private long randomSeed;
        private int tickMs = 10;
        private long maxBytesPerAppend = DEFAULT_MAX_BYTES_PER_APPEND;
        private int snapshotChunkBytes = DEFAULT_SNAPSHOT_CHUNK_BYTES;
        private boolean checkQuorum = true;
        private boolean preVote = true;
        private long maxLearnerLagEntries = DEFAULT_MAX_LEARNER_LAG_ENTRIES;
        private Map<Integer, String> voterAddresses = Map.of();

        private Builder(int id, List<Integer> voters) {
            this.id = id;
            this.voters = voters;
        }

        /** The randomized election timeout is drawn from {@code [minTicks, maxTicks)} (Raft §5.2). */
        public Builder electionTicks(int minTicks, int maxTicks) {
            this.electionTicksMin = minTicks;
            this.electionTicksMax = maxTicks;
            return this;
        }

        public Builder heartbeatTicks(int ticks) {
            this.heartbeatTicks = ticks;
            return this;
        }

        public Builder maxEntriesPerAppend(int entries) {
            this.maxEntriesPerAppend = entries;
            return this;
        }

        public Builder maxInflightAppends(int appends) {
            this.maxInflightAppends = appends;
            return this;
        }

        public Builder randomSeed(long seed) {
            this.randomSeed = seed;
            return this;
        }

        public Builder tickMs(int ms) {
            this.tickMs = ms;
            return this;
        }

        public Builder maxBytesPerAppend(long bytes) {
            this.maxBytesPerAppend = bytes;
            return this;
        }

        public Builder snapshotChunkBytes(int bytes) {
            this.snapshotChunkBytes = bytes;
            return this;
        }

        /** Thesis §6.2: on in production; off only to study the plain protocol of the paper. */
        public Builder checkQuorum(boolean on) {
            this.checkQuorum = on;
            return this;
        }

        /** Thesis §9.6: on in production; off only to study the plain protocol of the paper. */
        public Builder preVote(boolean on) {
            this.preVote = on;
            return this;
        }

        /** Thesis §4.2.1: how far behind the leader's log a learner may be and still be promoted. */
        public Builder maxLearnerLagEntries(long entries) {
            this.maxLearnerLagEntries = entries;
            return this;
        }

        /** The bootstrap voters' addresses, carried into the first configuration entry. */
        public Builder voterAddresses(Map<Integer, String> addresses) {
            this.voterAddresses = addresses;
            return this;
        }

        /** The configuration, {@linkplain RaftConfig#validate() validated}. */
        public RaftConfig build() {
            return new RaftConfig(id, voters, electionTicksMin, electionTicksMax, heartbeatTicks, maxEntriesPerAppend,
                    maxInflightAppends, randomSeed, tickMs, maxBytesPerAppend, snapshotChunkBytes, checkQuorum, preVote,
                    maxLearnerLagEntries, voterAddresses)
                    .validate();
        }
    }
}
