package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.node.SnapshotPolicy;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.transport.HostPort;
import io.raftkv.transport.MessageCodec;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Everything a node needs to start.
 *
 * @param id          this node's id
 * @param self        address this node listens on and peers use to reach it
 * @param peers       the other voters: id to address
 * @param tickMs      length of a Raft tick
 * @param heartbeatMs leader heartbeat interval
 * @param electionMinMs lower bound of the randomized election timeout
 * @param electionMaxMs upper bound of the randomized election timeout
 * @param requestTimeoutMs how long a client request may wait for a leader and a commit
 * @param maxKeyBytes   largest key accepted (UTF-8 bytes)
 * @param maxValueBytes largest value accepted (UTF-8 bytes), also the largest an append may leave:
 *                      the state machine refuses a longer result, so it must be the same on every
 *                      node; a log entry with the largest key and value must fit in one peer
 *                      request ({@link #MAX_REQUEST_BYTES})
 * @param snapshots     when to snapshot the state machine and compact the log
 * @param sessionTtlMs  client sessions expire after this much log time without a command; must
 *                      be the same on every node
 * @param bindAddress   the local address to listen on and to connect to peers from; empty: listen
 *                      on all interfaces and let the kernel pick the source address. With one
 *                      loopback address per node (127.0.0.2, 127.0.0.3, ...) several nodes share a
 *                      port, and packet filters can cut the link between two nodes by address.
 * @param join          this node joins an existing cluster: it starts with no configuration and
 *                      learns it from the leader's log or snapshot once added ({@code peers} is then
 *                      empty); otherwise {@code peers} and this node are the bootstrap voters, used
 *                      until the log holds a configuration
 * @param metrics       keep metrics and serve them on {@code GET /metrics} (on by default; off only
 *                      to measure what they cost)
 * @param watchHistory  watch events kept in memory for watches resuming from an earlier revision;
 *                      older ones are compacted (410 with compactRevision)
 * @param watchHistoryBytes the most those events may hold (their keys' and values' characters plus
 *                      {@link io.raftkv.kv.WatchHistory#EVENT_OVERHEAD_BYTES} each); beyond it the oldest
 *                      are compacted too, so that large values do not fill the heap
 * @param watchProgressMs how often an idle watch stream gets a progress event with the revision
 * @param limits        what one node lets its clients take ({@link Limits})
 * @param listen        where to listen ({@code --listen}): empty for the default, this node's own
 *                      address ({@link #listenAddress()}); {@code 0.0.0.0} or {@code ::} for every
 *                      interface
 */
public record NodeConfig(int id, HostPort self, Map<Integer, HostPort> peers, int tickMs, int heartbeatMs,
                         int electionMinMs, int electionMaxMs, long requestTimeoutMs, int maxKeyBytes,
                         int maxValueBytes, SnapshotPolicy snapshots, long sessionTtlMs,
                         Optional<String> bindAddress, boolean join, boolean metrics, int watchHistory,
                         long watchHistoryBytes, long watchProgressMs, Optional<String> listen, Limits limits) {
    /** Watch events kept for watches that resume from an earlier revision ({@code --watch-history}). */
    public static final int DEFAULT_WATCH_HISTORY = io.raftkv.kv.KvStateMachine.DEFAULT_WATCH_HISTORY;
    /** The most the kept watch events may hold ({@code --watch-history-bytes}). */
    public static final long DEFAULT_WATCH_HISTORY_BYTES = io.raftkv.kv.WatchHistory.DEFAULT_MAX_BYTES;
    /** How often an idle watch stream gets a progress event ({@code --watch-progress-ms}). */
    public static final long DEFAULT_WATCH_PROGRESS_MS = 2000;
    public static final int DEFAULT_MAX_KEY_BYTES = 4 * 1024;
    public static final int DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
    /**
     * The largest HTTP request body a node accepts, from clients and peers alike. A log entry
     * reaches a follower in one AppendEntries request, so an entry larger than this could never be
     * replicated and would stall every commit after it: the size limits are checked against it.
     */
    public static final int MAX_REQUEST_BYTES = 64 * 1024 * 1024;
    /**
     * The bytes an AppendEntries carrying one command adds to the command's key and value: the
     * message and entry framing and the command's own header. Measured on the real encodings (an
     * empty put) so that it follows them; the size grows byte for byte with the key and value.
     */
    static final long ONE_ENTRY_OVERHEAD_BYTES = MessageCodec.encodedSize(new Message.AppendEntries(0, 1, 1, 0, 0,
            List.of(new Entry(1, 1, new KvCommand(KvCommand.Op.PUT, "", "", 1, 1, 1).encode())), 0));

    public NodeConfig(int id, HostPort self, Map<Integer, HostPort> peers, int tickMs, int heartbeatMs,
                      int electionMinMs, int electionMaxMs, long requestTimeoutMs, int maxKeyBytes, int maxValueBytes) {
        this(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs, maxKeyBytes,
                maxValueBytes, SnapshotPolicy.defaults(), io.raftkv.kv.KvStateMachine.DEFAULT_SESSION_TTL_MS);
    }

    public NodeConfig(int id, HostPort self, Map<Integer, HostPort> peers, int tickMs, int heartbeatMs,
                      int electionMinMs, int electionMaxMs, long requestTimeoutMs, int maxKeyBytes, int maxValueBytes,
                      SnapshotPolicy snapshots) {
        this(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs, maxKeyBytes,
                maxValueBytes, snapshots, io.raftkv.kv.KvStateMachine.DEFAULT_SESSION_TTL_MS);
    }

    public NodeConfig(int id, HostPort self, Map<Integer, HostPort> peers, int tickMs, int heartbeatMs,
                      int electionMinMs, int electionMaxMs, long requestTimeoutMs, int maxKeyBytes, int maxValueBytes,
                      SnapshotPolicy snapshots, long sessionTtlMs) {
        this(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs, maxKeyBytes,
                maxValueBytes, snapshots, sessionTtlMs, Optional.empty(), false, true, DEFAULT_WATCH_HISTORY,
                DEFAULT_WATCH_HISTORY_BYTES, DEFAULT_WATCH_PROGRESS_MS, Optional.empty(), Limits.DEFAULTS);
    }

    public NodeConfig {
        peers = Map.copyOf(peers);
        Objects.requireNonNull(bindAddress, "bindAddress");
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(limits, "limits");
        if (listen.isPresent() && listen.get().isBlank()) throw new IllegalArgumentException("--listen needs an address, e.g. --listen 0.0.0.0");
        if (bindAddress.isPresent() && bindAddress.get().isBlank()) throw new IllegalArgumentException("empty bind address");
        if (peers.containsKey(id)) throw new IllegalArgumentException("node " + id + " is listed as its own peer");
        if (join && !peers.isEmpty()) throw new IllegalArgumentException("a node that joins a cluster has no bootstrap peers");
        if (tickMs < 1) throw new IllegalArgumentException("tick must be >= 1 ms");
        if (heartbeatMs < tickMs) throw new IllegalArgumentException("heartbeat must be at least one tick");
        if (electionMinMs <= heartbeatMs)
            throw new IllegalArgumentException("election timeout must be longer than the heartbeat interval");
        if (electionMaxMs <= electionMinMs)
            throw new IllegalArgumentException("election timeout max must be above its min");
        if (requestTimeoutMs < 1) throw new IllegalArgumentException("request timeout must be positive");
        if (sessionTtlMs < 1) throw new IllegalArgumentException("session TTL must be positive");
        if (maxKeyBytes < 1 || maxValueBytes < 0) throw new IllegalArgumentException("bad size limits");
        checkOneEntryFitsAPeerRequest(maxKeyBytes, maxValueBytes);
        if (watchHistory < 1)
            throw new IllegalArgumentException("--watch-history must be at least 1 event, got " + watchHistory);
        if (watchHistoryBytes < 1)
            throw new IllegalArgumentException("--watch-history-bytes must be at least 1, got " + watchHistoryBytes);
        if (watchProgressMs < 10)
            throw new IllegalArgumentException("--watch-progress-ms must be at least 10 ms, got " + watchProgressMs);
    }

    /** Keep {@code history} watch events, send idle watches a progress event every {@code progressMs}. */
    public NodeConfig withWatch(int history, long progressMs) {
        return withWatch(history, watchHistoryBytes, progressMs);
    }

    /** Keep at most {@code history} watch events holding at most {@code historyBytes}; progress every {@code progressMs}. */
    public NodeConfig withWatch(int history, long historyBytes, long progressMs) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, sessionTtlMs, bindAddress, join, metrics, history, historyBytes,
                progressMs, listen, limits);
    }

    /**
     * The largest key and value together must make an AppendEntries a peer accepts; the message
     * names the flags and what to set them to.
     */
    private static void checkOneEntryFitsAPeerRequest(int maxKeyBytes, int maxValueBytes) {
        long largestMessage = ONE_ENTRY_OVERHEAD_BYTES + maxKeyBytes + (long) maxValueBytes;
        if (largestMessage <= MAX_REQUEST_BYTES) return;
        long valueRoom = MAX_REQUEST_BYTES - ONE_ENTRY_OVERHEAD_BYTES - maxKeyBytes;
        throw new IllegalArgumentException("--max-key-bytes " + maxKeyBytes + " with --max-value-bytes " + maxValueBytes
                + " allows a log entry no peer could receive (" + largestMessage + " bytes in its AppendEntries, above the "
                + MAX_REQUEST_BYTES + " bytes a node accepts in one request; commits would stall on it): "
                + (valueRoom >= 0 ? "set --max-value-bytes to at most " + valueRoom
                : "the two together may be at most " + (MAX_REQUEST_BYTES - ONE_ENTRY_OVERHEAD_BYTES) + " bytes"));
    }

    /** The report's defaults: 50 ms heartbeats, 300-500 ms election timeouts, 5 s request timeout. */
    public static NodeConfig of(int id, HostPort self, Map<Integer, HostPort> peers) {
        return new NodeConfig(id, self, peers, 10, 50, 300, 500, 5000, DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_VALUE_BYTES);
    }

    public NodeConfig withRequestTimeoutMs(long ms) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, ms, maxKeyBytes,
                maxValueBytes, snapshots, sessionTtlMs, bindAddress, join, metrics, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    public NodeConfig withLimits(int keyBytes, int valueBytes) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                keyBytes, valueBytes, snapshots, sessionTtlMs, bindAddress, join, metrics, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    public NodeConfig withSnapshots(SnapshotPolicy policy) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, policy, sessionTtlMs, bindAddress, join, metrics, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    public NodeConfig withSessionTtlMs(long ms) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, ms, bindAddress, join, metrics, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    /** The same node with metrics on or off ({@code --no-metrics}). */
    public NodeConfig withMetrics(boolean on) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, sessionTtlMs, bindAddress, join, on, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    /** Listen on {@code address} only, and connect to peers from it (see {@code bindAddress}). */
    public NodeConfig withBindAddress(String address) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, sessionTtlMs, Optional.of(address), join, metrics, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    /** The same node with these client limits. */
    public NodeConfig withClientLimits(Limits l) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, sessionTtlMs, bindAddress, join, metrics, watchHistory, watchHistoryBytes, watchProgressMs,
                listen, l);
    }

    /**
     * What one node lets its clients take, so that bad or hostile clients cannot take it down:
     *
     * @param maxConnections       connections at once; past it a connection's first request gets 503
     *                             and the connection is closed, unless it is a peer's Raft message
     * @param requestReadTimeoutMs time to receive a request's headers and body once it started
     *                             (slowloris): 408 and close
     * @param idleTimeoutMs        a connection with nothing read or written this long is closed
     * @param maxUnreadReplyBytes  answers a client has not read yet, per connection: past it the
     *                             connection is closed (reading stops before, at 1/16 of it)
     * @param maxWatches           watch streams open at once: past it 503
     * @param maxReceivingBytes    request bodies being received at once, all connections together:
     *                             past it the request that would pass it gets 503 and its
     *                             connection is closed
     * @param maxSessionsPerAddress sessions one client address may register a minute ({@code POST
     *                             /session} taken by this node): past it 429. Sessions live in the
     *                             replicated state (capped as a whole, oldest evicted first), which
     *                             cannot know addresses; this keeps one address from filling it
     */
    public record Limits(int maxConnections, long requestReadTimeoutMs, long idleTimeoutMs, long maxUnreadReplyBytes,
                         int maxWatches, long maxReceivingBytes, int maxSessionsPerAddress) {
        public static final Limits DEFAULTS = new Limits(4096, 10_000, 300_000, 64L << 20, 10_000, 256L << 20, 1200);

        public Limits {
            if (maxConnections < 1) throw new IllegalArgumentException("--max-connections must be at least 1, got " + maxConnections);
            if (requestReadTimeoutMs < 100)
                throw new IllegalArgumentException("--request-read-timeout-ms must be at least 100, got " + requestReadTimeoutMs);
            if (idleTimeoutMs < 1000) throw new IllegalArgumentException("--idle-timeout-ms must be at least 1000, got " + idleTimeoutMs);
            if (maxUnreadReplyBytes < 1 << 20)
                throw new IllegalArgumentException("--max-unread-reply-bytes must be at least 1048576, got " + maxUnreadReplyBytes);
            if (maxWatches < 1) throw new IllegalArgumentException("--max-watches must be at least 1, got " + maxWatches);
            if (maxSessionsPerAddress < 1)
                throw new IllegalArgumentException("--max-sessions-per-address must be at least 1, got " + maxSessionsPerAddress);
            if (maxReceivingBytes < 1 << 20)
                throw new IllegalArgumentException("--max-receiving-bytes must be at least 1048576, got " + maxReceivingBytes);
        }
    }

    /** Listen on {@code address} ({@code --listen}; 0.0.0.0 or :: for every interface). */
    public NodeConfig withListen(String address) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, sessionTtlMs, bindAddress, join, metrics, watchHistory, watchHistoryBytes, watchProgressMs,
                Optional.of(address), limits);
    }

    /**
     * Where the node listens: {@code --listen}, else {@code --bind}, else the host of its own
     * address (for {@code localhost}, loopback only); empty means every interface. Never every
     * interface unless asked.
     */
    public Optional<String> listenAddress() {
        if (listen.isPresent()) {
            String l = listen.get();
            return l.equals("0.0.0.0") || l.equals("::") || l.equals("*") ? Optional.empty() : listen;
        }
        return bindAddress.isPresent() ? bindAddress : Optional.of(self.host());
    }

    /** The same node with {@code peers} as its bootstrap peers. */
    public NodeConfig withPeers(Map<Integer, HostPort> peers) {
        return new NodeConfig(id, self, peers, tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, sessionTtlMs, bindAddress, false, metrics, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    /**
     * This node joining an existing cluster ({@code raftkv -join}): no bootstrap peers, the
     * configuration comes from the cluster.
     */
    public NodeConfig joining() {
        return new NodeConfig(id, self, Map.of(), tickMs, heartbeatMs, electionMinMs, electionMaxMs, requestTimeoutMs,
                maxKeyBytes, maxValueBytes, snapshots, sessionTtlMs, bindAddress, true, metrics, watchHistory, watchHistoryBytes, watchProgressMs, listen, limits);
    }

    /** The bootstrap voters, this node included, by id (only this node when it joins). */
    public Map<Integer, HostPort> members() {
        Map<Integer, HostPort> all = new TreeMap<>(peers);
        all.put(id, self);
        return all;
    }
}
