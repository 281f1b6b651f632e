package io.raftkv.raft;

import io.raftkv.raft.Message.AppendEntries;
import io.raftkv.raft.Message.AppendEntriesResponse;
import io.raftkv.raft.Message.InstallSnapshot;
import io.raftkv.raft.Message.InstallSnapshotResponse;
import io.raftkv.raft.Message.RequestVote;
import io.raftkv.raft.Message.RequestVoteResponse;
import io.raftkv.raft.Message.TimeoutNow;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * One Raft participant as a deterministic state machine (the etcd-io/raft design).
 *
 * <p>Inputs: {@link #tick()}, {@link #step(Message)}, {@link #propose(byte[])},
 * {@link #proposeConfChange(ConfChange)}. Output: a
 * {@link Ready} from {@link #ready()}, handled by the runtime and acknowledged with
 * {@link #advance(Ready)}. Nothing here blocks, reads a clock or does I/O, so a test or a
 * simulation drives it message by message.
 *
 * <p>Not thread-safe: exactly one thread owns an instance.
 */
public final class RaftNode {
    /** "No node": no vote cast, no leader known. */
    public static final int NONE = -1;

    private final RaftConfig config;
    private final Random random;
    private final RaftLog log;
    /**
     * Every other server this node may send requests to (the keys of {@link #peerAddresses}): the
     * members of the configuration in use, while it is not committed those of the one before it,
     * and on a leader the servers whose removal it committed last ({@link #departures}), so that a
     * removed server learns of its removal (thesis §4.2.2, §4.2.3). Kept in step with the log by
     * {@link #syncMembership()}.
     */
    private List<Integer> peers = List.of();
    /** {@link #peers} with their addresses, by id (unmodifiable, sorted): what the runtime must reach. */
    private Map<Integer, String> peerAddresses = Map.of();
    /** The peers the last Ready reported: the runtime reaches exactly these. */
    private Map<Integer, String> reportedPeers;
    /** Leader only: removed servers it still tells of their committed removal. */
    private final Departures departures = new Departures();
    /** The configuration and commit state {@link #peers} were computed for. */
    private Configuration syncedConfiguration;
    private boolean syncedPending;
    /** The configuration the last Ready reported (thesis §4.1: the runtime connects to its members). */
    private Configuration reportedConfiguration;

    private long term;
    private int votedFor;
    private Role role = Role.FOLLOWER;
    private int leaderId = NONE;

    /** Ticks since the last heartbeat from a leader / since the election started (follower, candidate). */
    private int electionElapsed;
    private int randomizedElectionTimeout;
    /** Ticks since the last heartbeat broadcast (leader). */
    private int heartbeatElapsed;

    /** Votes received in the current election: voter id -> granted. */
    private final Map<Integer, Boolean> votes = new HashMap<>();
    /** Leader only: progress of each peer, in voter order. */
    private final Map<Integer, Progress> progress = new LinkedHashMap<>();
    /** Reused by maybeCommit: this node's stable index and every follower's match index. */
    private long[] matchScratch = new long[0];
    /** Leader only: new entries were appended and not yet broadcast. */
    private boolean pendingBroadcast;
    /** Leader only: the leadership transfer in progress (thesis §3.10), or null. */
    private LeaderTransfer transfer;
    /** Candidate only: the leader that told us to campaign (TimeoutNow), or NONE for an ordinary election. */
    private int campaignTransferFrom = NONE;

    private List<Message> outbox = new ArrayList<>();
    private List<RoleChange> roleChanges = new ArrayList<>();
    private List<ReadState> readStates = new ArrayList<>();

    /** ReadIndex bookkeeping of this node's leadership. */
    private final ReadOnlyTracker readOnly;
    /** ReadIndex heartbeat rounds started, and the reads they carried (only grow; for metrics). */
    private long readRoundsStarted;
    private long readsInRounds;
    /** The hard state last on stable storage, and the one last handed out in a Ready (maybe still being written). */
    private HardState persistedHardState;
    private HardState handedHardState;
    private boolean readyInProgress;

    /** The newest snapshot, sent to followers that need compacted entries (null if none). */
    private Snapshot latestSnapshot;
    /** Checks a received snapshot's data before it replaces anything. */
    private final SnapshotValidator snapshotValidator;
    /** A snapshot received from the leader that replaces our log, to hand out in the next Ready. */
    private Snapshot snapshotToInstall;
    /** Follower: chunks of a snapshot being received; in memory only, so a crash discards them. */
    private SnapshotReceiver receiving;

    public RaftNode(RaftConfig config, HardState hardState, List<Entry> storedEntries) {
        this(config, hardState, Optional.empty(), storedEntries);
    }

    /**
     * Restarts from storage: {@code snapshot} (already restored into the state machine by the
     * caller) and the entries after it.
     */
    public RaftNode(RaftConfig config, HardState hardState, Optional<Snapshot> snapshot, List<Entry> storedEntries) {
        this(config, hardState, snapshot, storedEntries, SnapshotValidator.ACCEPT_ALL);
    }

    /** As above, with the application's check of snapshots received from the leader. */
    public RaftNode(RaftConfig config, HardState hardState, Optional<Snapshot> snapshot, List<Entry> storedEntries,
                    SnapshotValidator snapshotValidator) {
        this.config = config.validate(); // etcd newRaft: refuse a configuration the protocol cannot run with
        this.snapshotValidator = snapshotValidator;
        // Raft §5.2: election timeouts must differ between servers. The id is mixed in (the odd
        // multiplier keeps distinct ids distinct) so that nodes given one cluster-wide seed do not
        // draw identical timeouts, time out together and split every vote.
        this.random = new Random(config.randomSeed() ^ (0x9E3779B97F4A7C15L * config.id()));
        // Thesis §4.1: the configuration is the newest in the log; the log starts from the snapshot's,
        // or from the bootstrap voters of the original static start when nothing recorded one.
        Configuration bootstrap = config.bootstrapConfiguration();
        Optional<Snapshot> snap = snapshot.map(sn -> sn.withConfigurationIfAbsent(bootstrap));
        this.log = snap.map(sn -> new RaftLog(sn.index(), sn.term(), sn.configuration().orElseThrow(), storedEntries,
                        hardState.commit()))
                .orElseGet(() -> new RaftLog(0, 0, bootstrap, storedEntries, hardState.commit()));
        this.latestSnapshot = snap.orElse(null);
        this.readOnly = new ReadOnlyTracker(acks -> configuration().hasQuorum(acks));
        this.reportedConfiguration = configuration();
        syncMembership();
        this.reportedPeers = peerAddresses;
        this.term = hardState.term();
        this.votedFor = hardState.votedFor();
        this.persistedHardState = hardState;
        this.handedHardState = hardState;
        resetElectionTimer();
    }

    // ---------------------------------------------------------------- inputs

    /** Advances logical time by one tick. */
    public void tick() {
        switch (role) {
            case LEADER -> tickHeartbeat();
            case FOLLOWER, PRE_CANDIDATE, CANDIDATE -> tickElection();
        }
    }

    /**
     * ReadIndex (thesis §6.4): asks to serve a linearizable read without writing to the log. The
     * leader records its commit index, confirms with a heartbeat round that a majority still
     * follows it, and then reports a {@link ReadState} with that index; a read served once that
     * index is applied cannot miss any write acknowledged before the read began. A leader that has
     * not committed an entry of its own term yet waits until it has (it does not know the commit
     * index before). Reads that arrive together share one heartbeat round.
     */
    public void readIndex(long requestId) {
        if (role != Role.LEADER) {
            readStates.add(new ReadState(requestId, 0, false));
        } else if (!committedInCurrentTerm()) {
            readOnly.awaitCommit(requestId);
        } else {
            queueRead(requestId);
        }
    }

    /**
     * Proposes a command; only the leader accepts it, and not while it transfers its leadership.
     * The command must not be empty.
     */
    public ProposeResult propose(byte[] command) {
        if (command.length == 0) throw new IllegalArgumentException("empty command is reserved for no-ops");
        if (role != Role.LEADER) {
            return new ProposeResult.NotLeader(leaderId == NONE ? OptionalInt.empty() : OptionalInt.of(leaderId));
        }
        // Thesis §3.10 step 1: the log must stop growing, or the target could never catch up with it.
        if (transfer != null) return new ProposeResult.TransferInProgress(transfer.target);
        Entry e = new Entry(log.lastIndex() + 1, term, command);
        log.append(e);
        pendingBroadcast = true;
        return new ProposeResult.Accepted(e.index(), e.term());
    }

    /**
     * Leadership transfer (thesis §3.10): stop accepting proposals, bring {@code target}'s log up
     * to date, then send it {@link TimeoutNow} so it starts an election at once. The transfer ends
     * when {@code target}'s election deposes this leader; if it has not after an election timeout,
     * the leader gives up and accepts proposals again.
     */
    public TransferResult transferLeadership(int target) {
        if (role != Role.LEADER) {
            return new TransferResult.NotLeader(leaderId == NONE ? OptionalInt.empty() : OptionalInt.of(leaderId));
        }
        if (target == config.id()) return new TransferResult.AlreadyLeader();
        if (!isMember(target)) return new TransferResult.UnknownNode(target);
        if (!isVoter(target)) return new TransferResult.NotVoter(target);
        if (transfer != null) {
            return transfer.target == target ? new TransferResult.Started(target)
                    : new TransferResult.OtherTransferInProgress(transfer.target);
        }
        transfer = new LeaderTransfer(target);
        Progress pr = progress.get(target);
        if (pr.match == log.lastIndex()) sendTimeoutNow();
        else sendAppend(target, true); // step 2: catch it up; its answers lead to TimeoutNow
        return new TransferResult.Started(target);
    }

    /**
     * The voter a transfer without a named target goes to: the one whose log matches the most of
     * ours (the quickest to catch up), preferring one heard from recently, then the lowest id. This
     * node itself when it is the only voter; empty when it is not the leader.
     */
    public OptionalInt mostCaughtUpVoter() {
        if (role != Role.LEADER) return OptionalInt.empty();
        int best = NONE;
        for (var e : progress.entrySet()) {
            if (!isVoter(e.getKey())) continue;
            Progress pr = e.getValue();
            Progress b = best == NONE ? null : progress.get(best);
            if (b == null || pr.match > b.match || pr.match == b.match && pr.recentActive && !b.recentActive) {
                best = e.getKey();
            }
        }
        return OptionalInt.of(best == NONE ? config.id() : best);
    }

    /** Leader only: the voter leadership is being transferred to, if a transfer is in progress. */
    public OptionalInt transferTarget() {
        return transfer == null ? OptionalInt.empty() : OptionalInt.of(transfer.target);
    }

    /** Handles one message from a peer. Messages for another node are ignored. */
    public void step(Message m) {
        // Thesis §4.1: a server processes RPCs without consulting its configuration: it follows a
        // leader, and grants a vote to a candidate, that its own (possibly stale) configuration lacks.
        // Whose answers count is decided by the configuration where they are counted.
        if (m.to() != config.id() || m.from() == config.id() || m.from() == NONE) return;
        if (m.term() > term && m instanceof RequestVote rv && !isCurrentTransfer(rv) && inLease()) {
            // §6.2/§4.2.3: we heard from a live leader less than an election timeout ago, so this
            // candidate is disruptive (e.g. back from a partition); do not let it raise our term.
            // Except in a leadership transfer (§3.10): the leader itself asked for this election.
            return;
        }
        if (m.term() > term && (m instanceof RequestVote rv && rv.preVote()
                || m instanceof RequestVoteResponse r && r.preVote() && r.granted())) {
            // Thesis §9.6: a pre-vote and its grant carry the term the pre-candidate would use;
            // nobody adopts it until a real election happens.
            if (m instanceof RequestVote rv) handleRequestVote(rv);
            else handleVoteResponse((RequestVoteResponse) m);
            return;
        }
        if (m.term() > term) {
            // Raft §5.1: a higher term in any message makes us a follower of that term.
            int leader = m instanceof AppendEntries || m instanceof InstallSnapshot ? m.from() : NONE;
            String why = transfer != null && m instanceof RequestVote rv && rv.transfer() && rv.from() == transfer.target
                    ? "leadership transferred to node " + m.from() + ", which campaigns in term " + m.term()
                    : "saw term " + m.term() + " from node " + m.from();
            becomeFollower(m.term(), leader, why);
        } else if (m.term() < term) {
            // A stale sender learns our term from the reply and steps down; stale replies are dropped.
            switch (m) {
                case RequestVote rv -> send(new RequestVoteResponse(config.id(), rv.from(), term, false, rv.preVote()));
                case AppendEntries ae ->
                        send(AppendEntriesResponse.refuseOlderTerm(config.id(), ae.from(), term, ae.prevLogIndex()));
                case InstallSnapshot is -> send(new InstallSnapshotResponse(config.id(), is.from(), term,
                        is.snapshotIndex(), 0, false));
                default -> { }
            }
            return;
        }
        switch (m) {
            case RequestVote rv -> handleRequestVote(rv);
            case RequestVoteResponse r -> handleVoteResponse(r);
            case AppendEntries ae -> handleAppendEntries(ae);
            case AppendEntriesResponse r -> handleAppendResponse(r);
            case InstallSnapshot is -> handleInstallSnapshot(is);
            case InstallSnapshotResponse r -> handleSnapshotResponse(r);
            case TimeoutNow tn -> handleTimeoutNow(tn);
        }
    }

    /**
     * Proposes one membership change (thesis §4.1, single-server changes); only the leader accepts
     * it, and only when it may: see {@link ConfChangeResult.Reason}. The new configuration is in
     * use as soon as its entry is in the log, on the leader now and on each follower when the
     * entry arrives; the change is done once the entry commits.
     */
    public ConfChangeResult proposeConfChange(ConfChange change) {
        if (role != Role.LEADER) return new ConfChangeResult.NotLeader(leaderId());
        // Thesis §4.1 with Ongaro's 2015 fix (raft-dev, "bug in single-server membership changes"):
        // a leader that has not committed an entry of its term may hold a log from which an
        // uncommitted change of an earlier leader was dropped elsewhere; two such changes made in
        // different terms can have majorities that do not overlap. Its no-op commits first.
        if (!committedInTermBeforeConfChange()) {
            return new ConfChangeResult.Refused(ConfChangeResult.Reason.NO_COMMIT_IN_TERM, "leader " + config.id()
                    + " has not yet committed an entry of term " + term + "; retry shortly");
        }
        // Thesis §3.10 step 1: during a leadership transfer the log stops growing.
        if (transfer != null) {
            return new ConfChangeResult.Refused(ConfChangeResult.Reason.TRANSFER_IN_PROGRESS,
                    "leadership is being transferred to node " + transfer.target + "; retry once it leads");
        }
        // Thesis §4.1: one change at a time, so that any majority of the old configuration overlaps
        // any majority of the new one.
        if (confChangePending()) {
            return new ConfChangeResult.Refused(ConfChangeResult.Reason.CHANGE_IN_PROGRESS, "the change at index "
                    + log.configurations().latestIndex() + " is not committed yet");
        }
        Configuration current = configuration();
        Optional<ConfChangeResult.Refused> refusal = current.refusal(change);
        if (refusal.isPresent()) return refusal.get();
        if (change instanceof ConfChange.Promote p) {
            // Thesis §4.2.1: a voter that has not caught up could leave the cluster unable to commit
            // while it catches up; the leader promotes only a learner close to its log.
            Progress pr = progress.get(p.id());
            if (pr == null || pr.match == 0) {
                // Not heard from yet: it may not even be running, and a dead voter costs the quorum a vote.
                return new ConfChangeResult.Refused(ConfChangeResult.Reason.LEARNER_LAGGING, "learner " + p.id()
                        + " has not acknowledged any entry of the leader's log yet; retry once it has caught up");
            }
            long lag = log.lastIndex() - pr.match;
            if (lag > config.maxLearnerLagEntries()) {
                return new ConfChangeResult.Refused(ConfChangeResult.Reason.LEARNER_LAGGING, "learner " + p.id()
                        + " is " + lag + " entries behind the leader (at most " + config.maxLearnerLagEntries()
                        + " to be promoted); retry once it has caught up");
            }
        }
        Configuration next = current.apply(change);
        Entry e = Entry.config(log.lastIndex() + 1, term, next);
        log.append(e);
        syncMembership();
        pendingBroadcast = true;
        return new ConfChangeResult.Accepted(e.index(), e.term(), next);
    }

    /** Starts an election now, as if the election timeout had elapsed (used by tests and tools). */
    public void campaign(String reason) {
        if (role == Role.LEADER || !promotable()) return;
        becomeCandidate(reason);
    }

    /**
     * Whether the lease yields to {@code rv}: a transfer's vote request (§3.10) whose candidate
     * holds at least our log. The leader sends TimeoutNow only to a target holding its whole log and
     * appends nothing during the transfer, so a transfer candidate behind us comes from a transfer
     * the leader has given up (its TimeoutNow arrived after the election timeout, and the leader
     * took writes again): it cannot win, and letting it raise our term would depose a healthy leader.
     */
    private boolean isCurrentTransfer(RequestVote rv) {
        return rv.transfer() && log.isUpToDate(rv.lastLogIndex(), rv.lastLogTerm());
    }

    /** A voter or learner of the configuration in use. */
    private boolean isMember(int id) {
        return configuration().contains(id);
    }

    /** A voter of the configuration in use: it can be elected (learners cannot lead, §4.2.1). */
    private boolean isVoter(int id) {
        return configuration().isVoter(id);
    }

    // ---------------------------------------------------------------- output

    public boolean hasReady() {
        return pendingBroadcast || snapshotToInstall != null || !outbox.isEmpty() || !roleChanges.isEmpty()
                || !readStates.isEmpty() || readOnly.hasBatch()
                || (readOnly.hasAwaitingCommit() && committedInCurrentTerm())
                || !currentHardState().equals(handedHardState) || configurationChangedSinceReady()
                || !peerAddresses.equals(reportedPeers)
                || log.handedIndex() < log.lastIndex() || log.applied() < log.applicableTo();
    }

    /** Collects everything to persist, send and apply; must be followed by {@link #advance(Ready)}. */
    public Ready ready() {
        if (readyInProgress) throw new IllegalStateException("ready() called again before advance()");
        if (pendingBroadcast) {
            pendingBroadcast = false;
            bcastAppend();
        }
        if (readOnly.hasAwaitingCommit() && committedInCurrentTerm()) readOnly.commitKnown();
        if (readOnly.hasBatch()) startReadRound();
        HardState hs = currentHardState();
        Optional<Configuration> configuration = Optional.empty();
        if (configurationChangedSinceReady()) {
            reportedConfiguration = configuration();
            configuration = Optional.of(reportedConfiguration);
        }
        // A request to a server that became a peer and stopped being one since the last Ready (a
        // learner whose uncommitted addition a new leader truncated, say) cannot leave: the runtime
        // was never told where it is. It is lost, as on a network.
        outbox.removeIf(m -> !m.isResponse() && !reportedPeers.containsKey(m.to()) && !peerAddresses.containsKey(m.to()));
        Optional<Map<Integer, String>> newPeers = Optional.empty();
        if (!peerAddresses.equals(reportedPeers)) {
            reportedPeers = peerAddresses;
            newPeers = Optional.of(reportedPeers);
        }
        Ready rd = new Ready(hs.equals(handedHardState) ? Optional.empty() : Optional.of(hs),
                log.unstableEntries(), outbox, log.unappliedCommitted(), roleChanges,
                Optional.ofNullable(snapshotToInstall), readStates, persistedHardState.term(), configuration, newPeers);
        snapshotToInstall = null;
        readStates = new ArrayList<>();
        outbox = new ArrayList<>();
        roleChanges = new ArrayList<>();
        readyInProgress = true;
        return rd;
    }

    /**
     * For a runtime that takes Readies while writes are in flight ({@link #accept} before
     * {@link #persisted}): committed entries are handed out to apply only once they are on this
     * node's disk, so it may apply them as soon as it takes them, without waiting for its write of
     * the commit index (which is a hint: a majority has the entries).
     */
    public void applyOnlyStableEntries() {
        log.applyOnlyStable(true);
    }

    /** Acknowledges that {@code rd} was persisted, sent and applied: {@link #accept} then {@link #persisted}. */
    public void advance(Ready rd) {
        if (!readyInProgress) throw new IllegalStateException("advance() without ready()");
        accept(rd);
        persisted(rd);
    }

    /**
     * Acknowledges that {@code rd} was handed to storage, its messages that may leave were sent and
     * its committed entries applied, before its write is durable (etcd's asynchronous storage
     * writes): the next Ready hands out only what came after it. Its end is told by
     * {@link #persisted}, in the order the Readies were taken; until then the leader does not count
     * itself for its entries, and what must wait for the write (votes, acknowledgements) is the
     * runtime's to hold back.
     */
    public void accept(Ready rd) {
        if (!readyInProgress) throw new IllegalStateException("accept() without ready()");
        readyInProgress = false;
        rd.hardState().ifPresent(hs -> handedHardState = hs);
        log.handedTo(rd.entries());
        // A snapshot installed since this Ready was taken may already have moved applied past it.
        if (!rd.committed().isEmpty() && rd.committed().getLast().index() > log.applied()) {
            log.appliedTo(rd.committed().getLast().index());
        }
    }

    /**
     * The write of {@code rd}, {@linkplain #accept accepted} before, is durable; Readies end in the
     * order they were taken.
     */
    public void persisted(Ready rd) {
        rd.hardState().ifPresent(hs -> persistedHardState = hs);
        if (!rd.entries().isEmpty()) {
            Entry last = rd.entries().getLast();
            log.stableTo(last.index(), last.term());
        }
        // The leader counts itself only for entries on its own disk (thesis §10.2.1).
        if (role == Role.LEADER) maybeCommit();
    }

    /**
     * The runtime has persisted {@code snapshot} of its applied state machine: forget the log up
     * to {@code compactTo} (at most the snapshot's index; keeping a tail lets slightly lagging
     * followers catch up without a snapshot) and send this snapshot to followers that need it.
     */
    public void compact(Snapshot snapshot, long compactTo) {
        if (snapshot.index() > log.applied())
            throw new IllegalStateException("snapshot at " + snapshot.index() + " beyond applied " + log.applied());
        if (latestSnapshot == null || snapshot.index() > latestSnapshot.index()) {
            // Sent to followers, it must say which configuration it ends in (thesis §4.1).
            latestSnapshot = snapshot.configuration().isPresent() ? snapshot
                    : snapshot.withConfigurationIfAbsent(configurationAt(snapshot.index()));
        }
        log.compact(Math.min(compactTo, snapshot.index()));
    }

    /**
     * The runtime's storage keeps the snapshot this node installed from its leader as
     * {@code stored}: the same index, term and bytes, read from its file. Followers are sent that one
     * from now on, so the chunks received from the leader can go (a state of 10 million keys is over a
     * gigabyte of them). Ignored if the core holds another snapshot by now.
     */
    public void useStoredSnapshot(Snapshot stored) {
        if (latestSnapshot == null || latestSnapshot.index() != stored.index() || latestSnapshot.term() != stored.term()) return;
        latestSnapshot = stored.withConfigurationIfAbsent(latestSnapshot.configuration().orElseThrow());
    }

    /** The newest snapshot, the one followers that need compacted entries are sent (for status and checks). */
    public Optional<Snapshot> latestSnapshot() { return Optional.ofNullable(latestSnapshot); }

    /** Index of the first entry still held in memory. */
    public long firstIndex() { return log.firstIndex(); }

    /** Number of log entries held in memory. */
    public int logSize() { return log.size(); }

    // ---------------------------------------------------------------- status

    public int id() { return config.id(); }

    public Role role() { return role; }

    public long term() { return term; }

    public OptionalInt leaderId() { return leaderId == NONE ? OptionalInt.empty() : OptionalInt.of(leaderId); }

    public int votedFor() { return votedFor; }

    public long commitIndex() { return log.committed(); }

    public long appliedIndex() { return log.applied(); }

    public long lastIndex() { return log.lastIndex(); }

    public long lastTerm() { return log.lastTerm(); }

    /** Term of the entry at {@code index} (0 for index 0). */
    public long termAt(long index) { return log.term(index); }

    /** Whether this leader has committed an entry of its own term (it then knows the commit index). */
    public boolean committedInCurrentTerm() {
        return role == Role.LEADER && log.committed() > 0 && log.term(log.committed()) == term;
    }

    public List<FollowerProgress> followerProgress() {
        List<FollowerProgress> out = new ArrayList<>();
        progress.forEach((id, pr) -> out.add(new FollowerProgress(id, pr.match, pr.next,
                pr.state.name().toLowerCase(java.util.Locale.ROOT), pr.inflightCount())));
        return out;
    }

    public RaftConfig config() { return config; }

    /** The configuration in use: the newest in the log, committed or not (thesis §4.1). */
    public Configuration configuration() { return log.configurations().latest(); }

    /** Index of the entry that set {@link #configuration()} (the log's base index if none after it did). */
    public long configurationIndex() { return log.configurations().latestIndex(); }

    /** ReadIndex heartbeat rounds this node started as leader (thesis §6.4: reads queued together share one). */
    public long readRoundsStarted() { return readRoundsStarted; }

    /** Reads carried by those rounds: with {@link #readRoundsStarted()}, the reads per round. */
    public long readsInRounds() { return readsInRounds; }

    /** The configuration in effect at {@code index} (not compacted): what a snapshot at that index records. */
    public Configuration configurationAt(long index) { return log.configurations().at(index); }

    /**
     * Every other server this node may send a request to, with its address as the configurations
     * record it (empty when they record none): the members of the configuration in use, of the one
     * before it while it is not committed, and, on a leader, servers whose removal it has just
     * committed (thesis §4.2.3). A Ready reports each change; a runtime that reaches exactly these
     * misses no message of the core.
     */
    public Map<Integer, String> peers() { return peerAddresses; }

    // ---------------------------------------------------------------- roles

    private void becomeFollower(long newTerm, int leader, String reason) {
        Role old = role;
        if (old == Role.LEADER) readStates.addAll(readOnly.failAll());
        if (newTerm > term) {
            term = newTerm;
            votedFor = NONE;
        }
        role = Role.FOLLOWER;
        leaderId = leader;
        progress.clear();
        if (!departures.isEmpty()) {
            // Only the leader that committed a removal tells the removed server of it.
            departures.clear();
            resyncMembership();
        }
        pendingBroadcast = false;
        transfer = null;
        campaignTransferFrom = NONE;
        resetElectionTimer();
        if (old != Role.FOLLOWER) roleChanges.add(new RoleChange(term, old, Role.FOLLOWER, reason));
    }

    /** Thesis §9.6: ask for pre-votes for term + 1 without changing our term or vote. */
    private void becomePreCandidate(String reason) {
        Role old = role;
        role = Role.PRE_CANDIDATE;
        leaderId = NONE;
        campaignTransferFrom = NONE;
        votes.clear();
        votes.put(config.id(), true);
        resetElectionTimer();
        roleChanges.add(new RoleChange(term, old, Role.PRE_CANDIDATE, reason));
        if (wonVote()) {
            becomeCandidate("pre-vote won with " + voteTally());
            return;
        }
        for (int peer : voterPeers()) {
            send(new RequestVote(config.id(), peer, term + 1, log.lastIndex(), log.lastTerm(), true));
        }
    }

    /**
     * Check-quorum only: a leader (which steps down itself once it loses its majority) or a
     * follower that heard from its leader within the minimum election timeout.
     */
    private boolean inLease() {
        if (!config.checkQuorum()) return false;
        return role == Role.LEADER
                || role == Role.FOLLOWER && leaderId != NONE && electionElapsed < config.electionTicksMin();
    }

    private void becomeCandidate(String reason) {
        becomeCandidate(reason, NONE);
    }

    /** {@code transferFrom}: the leader that sent TimeoutNow (thesis §3.10), or NONE. */
    private void becomeCandidate(String reason, int transferFrom) {
        Role old = role;
        campaignTransferFrom = transferFrom;
        term++;
        votedFor = config.id();
        role = Role.CANDIDATE;
        leaderId = NONE;
        votes.clear();
        votes.put(config.id(), true);
        resetElectionTimer();
        roleChanges.add(new RoleChange(term, old, Role.CANDIDATE, reason));
        if (wonVote()) {
            becomeLeader("won election with " + voteTally() + " votes");
            return;
        }
        boolean transferVote = transferFrom != NONE;
        for (int peer : voterPeers()) {
            send(new RequestVote(config.id(), peer, term, log.lastIndex(), log.lastTerm(), false, transferVote));
        }
    }

    private void becomeLeader(String reason) {
        Role old = role;
        if (campaignTransferFrom != NONE) reason += "; leadership transferred from node " + campaignTransferFrom;
        campaignTransferFrom = NONE;
        transfer = null;
        role = Role.LEADER;
        leaderId = config.id();
        heartbeatElapsed = 0;
        electionElapsed = 0;
        progress.clear();
        syncMembership();
        for (int peer : peers) progress.put(peer, new Progress(log.lastIndex() + 1, config.maxInflightAppends()));
        roleChanges.add(new RoleChange(term, old, Role.LEADER, reason));
        readStates.addAll(readOnly.failAll());
        // Raft §8: a no-op of the new term lets the leader learn what is committed and commit it.
        log.append(Entry.noop(log.lastIndex() + 1, term));
        pendingBroadcast = true;
    }

    // ---------------------------------------------------------------- ticks

    private void tickElection() {
        electionElapsed++;
        if (electionElapsed >= randomizedElectionTimeout && !promotable()) {
            // Thesis §4.2.1/§4.2.3: a learner, a server removed from the configuration it has, or a
            // joining server that knows none never campaigns (and so never disrupts).
            resetElectionTimer();
            return;
        }
        if (electionElapsed >= randomizedElectionTimeout) {
            String why = role != Role.FOLLOWER
                    ? "election timed out after " + electionElapsed * config.tickMs() + " ms"
                    : (leaderId == NONE ? "no leader" : "no heartbeat from node " + leaderId) + " for "
                            + electionElapsed * config.tickMs() + " ms";
            if (config.preVote()) becomePreCandidate(why);
            else becomeCandidate(why);
        }
    }

    private void tickHeartbeat() {
        if (config.checkQuorum() && ++electionElapsed >= config.electionTicksMin()) {
            electionElapsed = 0;
            if (!quorumActive()) {
                becomeFollower(term, NONE, "lost contact with a majority for "
                        + config.electionTicksMin() * config.tickMs() + " ms (check quorum)");
                return;
            }
        }
        // Thesis §3.10: a transfer that has not deposed us within an election timeout is abandoned
        // (the target is down or cut off) and the leader accepts proposals again.
        if (transfer != null && ++transfer.elapsedTicks >= config.electionTicksMin()) transfer = null;
        if (!departures.isEmpty()) {
            List<Integer> ended = departures.tick();
            if (!ended.isEmpty()) {
                ended.forEach(progress::remove);
                resyncMembership();
            }
        }
        heartbeatElapsed++;
        if (heartbeatElapsed < config.heartbeatTicks()) return;
        heartbeatElapsed = 0;
        int stallLimit = Math.max(2, config.electionTicksMin() / config.heartbeatTicks());
        // Thesis §6.4: whatever the follower's state, the message of each heartbeat carries the
        // newest read context (etcd's bcastHeartbeatWithCtx), so its answer, success or not,
        // confirms every round started before it left. A round whose own heartbeat was lost is
        // confirmed at the next heartbeat, not only once a probing follower's log is repaired.
        long readContext = readOnly.lastContext();
        for (int peer : peers) {
            Progress pr = progress.get(peer);
            switch (pr.state) {
                case PROBE -> {
                    pr.probeSent = false;
                    sendAppend(peer, true, readContext);
                }
                case SNAPSHOT -> {
                    // Raft §5.2: heartbeats go to every follower. A lost chunk is resent only after
                    // stallLimit rounds, as long as the shortest election timeout: without these the
                    // waiting follower would time out and depose this leader with a higher term.
                    // It rejects them until the snapshot is in; rejections are ignored in this state.
                    sendHeartbeat(peer, pr, readContext);
                    // Chunks go one at a time; resend the unacknowledged one if it seems lost.
                    if (++pr.heartbeatsWithoutProgress >= stallLimit) {
                        pr.heartbeatsWithoutProgress = 0;
                        sendSnapshotChunk(peer, pr);
                    }
                }
                case REPLICATE -> {
                    // A stream that stopped making progress (lost messages, restarted peer) is re-probed.
                    if (pr.match < log.baseIndex()) {
                        // Far behind and its next entries are compacted away: it needs the snapshot
                        // (then no append leaves; the next heartbeat goes as in SNAPSHOT).
                        pr.becomeProbe(pr.match + 1);
                        sendAppend(peer, true, readContext);
                    } else if (pr.match < log.lastIndex()
                            && ++pr.heartbeatsWithoutProgress >= (departures.contains(peer) ? 1 : stallLimit)) {
                        // A departing server has few heartbeats left to learn of its removal: a heartbeat
                        // commits only up to its match (§5.3), so one whose answers were lost, or
                        // that is behind, gets the entries again at once.

                        pr.becomeProbe(pr.match + 1);
                        sendAppend(peer, true, readContext);
                    } else {
                        sendHeartbeat(peer, pr, readContext);
                        sendAppend(peer, false);
                    }
                }
            }
        }
    }

    /**
     * Thesis §6.2: has a quorum of the configuration in use (this leader included if it is a voter,
     * learners never) answered since the last check? Resets the marks.
     */
    private boolean quorumActive() {
        Set<Integer> active = new HashSet<>();
        active.add(config.id());
        progress.forEach((id, pr) -> {
            if (pr.recentActive) active.add(id);
            pr.recentActive = false;
        });
        return configuration().hasQuorum(active);
    }

    private void resetElectionTimer() {
        electionElapsed = 0;
        randomizedElectionTimeout = config.electionTicksMin()
                + random.nextInt(config.electionTicksMax() - config.electionTicksMin());
    }

    // ---------------------------------------------------------------- votes

    private void handleRequestVote(RequestVote rv) {
        if (rv.preVote()) {
            // §9.6: would we vote for it in rv.term? Only the log check applies (the lease check ran
            // in step); nothing is recorded, so a pre-vote commits us to nothing.
            boolean granted = rv.term() > term && log.isUpToDate(rv.lastLogIndex(), rv.lastLogTerm());
            send(new RequestVoteResponse(config.id(), rv.from(), granted ? rv.term() : term, granted, true));
            return;
        }
        // Raft §5.2: one vote per term, first come first served; §5.4.1: only to an up-to-date log.
        boolean canVote = votedFor == NONE || votedFor == rv.from();
        boolean granted = canVote && log.isUpToDate(rv.lastLogIndex(), rv.lastLogTerm());
        if (granted) {
            votedFor = rv.from();
            electionElapsed = 0;
        }
        send(new RequestVoteResponse(config.id(), rv.from(), term, granted));
    }

    private void handleVoteResponse(RequestVoteResponse r) {
        if (r.preVote() != (role == Role.PRE_CANDIDATE)) return; // stale: from another phase
        if (role == Role.PRE_CANDIDATE) {
            votes.putIfAbsent(r.from(), r.granted());
            if (wonVote()) {
                becomeCandidate("pre-vote won with " + voteTally());
            } else if (lostVote()) {
                becomeFollower(term, NONE, "pre-vote lost: " + votesWhere(false).size() + " denied");
            }
            return;
        }
        if (role != Role.CANDIDATE) return;
        votes.putIfAbsent(r.from(), r.granted());
        if (wonVote()) {
            becomeLeader("won election with " + voteTally() + " votes");
        } else if (lostVote()) {
            becomeFollower(term, NONE, "lost election: " + votesWhere(false).size() + " votes denied");
        }
    }

    /** Raft §5.2: votes of a majority of the voters of the configuration in use; learners' never count (§4.2.1). */
    private boolean wonVote() {
        return configuration().hasQuorum(votesWhere(true));
    }

    private boolean lostVote() {
        return configuration().countVoters(votesWhere(false)) >= configuration().majority();
    }

    private List<Integer> votesWhere(boolean granted) {
        List<Integer> ids = new ArrayList<>();
        votes.forEach((id, g) -> {
            if (g == granted) ids.add(id);
        });
        return ids;
    }

    private String voteTally() {
        return configuration().countVoters(votesWhere(true)) + "/" + configuration().voters().size();
    }

    // ---------------------------------------------------------------- leadership transfer (thesis §3.10)

    private void sendTimeoutNow() {
        transfer.timeoutNowSent++;
        send(new TimeoutNow(config.id(), transfer.target, term));
    }

    /**
     * The leader of our term brought our log up to date and asks us to campaign now: no pre-vote
     * (the leader's own lease would refuse it, and the leader is the one asking), and the vote
     * requests say it is a transfer so that voters in the leader's lease grant them anyway.
     */
    private void handleTimeoutNow(TimeoutNow tn) {
        if (role == Role.LEADER || !isVoter(config.id())) return;
        becomeCandidate("leadership transferred from node " + tn.from() + " (TimeoutNow)", tn.from());
    }

    // ---------------------------------------------------------------- replication, follower side

    /**
     * A message only the leader of our term sends: follow it and restart the election timer.
     * Raft §5.2 allows one leader per term, so receiving one as leader is a broken invariant.
     */
    private void followLeaderOf(Message m) {
        if (role == Role.LEADER) {
            throw new IllegalStateException("node " + config.id() + " is leader of term " + term + " and got "
                    + m.getClass().getSimpleName() + " from node " + m.from() + " in the same term");
        }
        if (role == Role.CANDIDATE || role == Role.PRE_CANDIDATE) {
            becomeFollower(term, m.from(), "node " + m.from() + " leads term " + term);
        }
        leaderId = m.from();
        electionElapsed = 0;
    }

    private void handleAppendEntries(AppendEntries ae) {
        followLeaderOf(ae);

        if (ae.prevLogIndex() < log.committed()) {
            // Everything up to our commit index already matches the leader (Log Matching).
            send(new AppendEntriesResponse(config.id(), ae.from(), term, true, log.committed(), 0, 0, 0, ae.readContext()));
            return;
        }
        if (!log.matchTerm(ae.prevLogIndex(), ae.prevLogTerm())) {
            long conflictTerm = 0;
            long conflictIndex = log.lastIndex() + 1;
            if (ae.prevLogIndex() <= log.lastIndex()) {
                conflictTerm = log.term(ae.prevLogIndex());
                conflictIndex = log.firstIndexOfTermAt(ae.prevLogIndex());
            }
            send(new AppendEntriesResponse(config.id(), ae.from(), term, false, 0, ae.prevLogIndex(),
                    conflictTerm, conflictIndex, ae.readContext()));
            return;
        }
        // Raft §5.3: delete a conflicting suffix, then append what is new.
        for (Entry e : ae.entries()) {
            if (e.index() <= log.lastIndex()) {
                if (log.term(e.index()) == e.term()) continue;
                log.truncateFrom(e.index());
            }
            log.append(e);
        }
        long lastNew = ae.prevLogIndex() + ae.entries().size();
        log.commitTo(Math.min(ae.leaderCommit(), lastNew));
        // Thesis §4.1: a configuration entry is in use as soon as it is in the log; a truncated one
        // no longer is (the newest remaining one is).
        syncMembership();
        send(new AppendEntriesResponse(config.id(), ae.from(), term, true, lastNew, 0, 0, 0, ae.readContext()));
    }

    // ---------------------------------------------------------------- replication, leader side

    private void handleAppendResponse(AppendEntriesResponse r) {
        if (role != Role.LEADER) return;
        Progress pr = progress.get(r.from());
        if (pr == null) return; // not (or no longer) a peer: nothing to track (thesis §4.1)
        pr.recentActive = true;
        // Raft §5.1: the follower refused a message of one of our earlier terms (it was already in
        // this one). Its term did its work in step(); the rest answers nothing we asked in this term.
        if (r.refusesOlderTerm()) return;
        // Any answer in our term, success or not, shows this follower still takes us as leader.
        if (r.readContext() > 0) readStates.addAll(readOnly.ack(r.from(), r.readContext()));
        if (r.success()) {
            if (pr.maybeUpdate(r.matchIndex())) {
                maybeCommit();
                // It committed its own removal and stepped down (§4.2.2): nothing more to send.
                if (role != Role.LEADER) return;
            } else if (pr.state == Progress.State.PROBE && r.matchIndex() == pr.match) {
                pr.becomeReplicate(); // the probe found the match point where it already was
            }
            // Thesis §3.10 step 3: the target holds our whole log, so it can win. Every answer
            // while caught up sends TimeoutNow again, so a lost one costs a heartbeat, not the transfer.
            if (transfer != null && r.from() == transfer.target && pr.match == log.lastIndex()) {
                sendTimeoutNow();
                return;
            }
            sendAppend(r.from(), false);
            return;
        }
        // A rejection for a message sent before the latest state change is stale. In REPLICATE a
        // rejection at the match index itself (a heartbeat's prev) is not: it is a reordered
        // answer from before the acknowledgement, or the follower lost its log; either way one
        // probe at the match tells which (§5.3), at the price of one round trip.
        boolean stale = switch (pr.state) {
            case REPLICATE -> r.rejectedIndex() < pr.match;
            case PROBE -> r.rejectedIndex() != pr.next - 1;
            case SNAPSHOT -> true;
        };
        if (stale) return;
        if (pr.state == Progress.State.PROBE && r.conflictTerm() == 0 && r.conflictIndex() <= pr.match) {
            // The answer to the outstanding probe says the follower's log ends below an index it
            // acknowledged: it lost its storage (a wiped or replaced data folder), which Raft
            // assumes never happens (Figure 2). Probing can never go below match (§5.3), so
            // without this the leader would retry match + 1 forever. Forget the match and probe
            // from the follower's end, which sends the snapshot if that is compacted (§7). Only
            // the probe's own answer counts: an older answer, reordered past an acknowledgement,
            // would make the leader forget a match the follower still holds.
            pr.forgetMatch(r.conflictIndex());
            sendAppend(r.from(), true);
            return;
        }
        long next = r.conflictIndex();
        if (r.conflictTerm() > 0) {
            long ours = log.lastIndexOfTerm(r.conflictTerm(), r.rejectedIndex());
            if (ours > 0) next = ours + 1;
        }
        pr.becomeProbe(Math.min(next, r.rejectedIndex()));
        sendAppend(r.from(), true);
    }

    /**
     * Raft §5.3/§5.4.2: commit the highest index held by a majority of the voters of the
     * configuration in use (thesis §4.1), if it is of the current term. Learners never count
     * (§4.2.1), nor does a leader that is removing itself (§4.2.2).
     */
    private void maybeCommit() {
        Configuration c = configuration();
        if (matchScratch.length < progress.size() + 1) matchScratch = new long[progress.size() + 1];
        long[] matches = matchScratch;
        int i = 0;
        if (c.countsTowardQuorum(config.id())) matches[i++] = log.stableIndex();
        for (var e : progress.entrySet()) if (c.countsTowardQuorum(e.getKey())) matches[i++] = e.getValue().match;
        long n = Quorum.committedIndexInPlace(matches, i, c.majority());
        if (n > log.committed() && committableByCounting(n)) {
            log.commitTo(n);
            syncMembership();
            maybeStepDownRemoved();
        }
    }

    /**
     * Thesis §4.2.2: a leader that removed itself keeps leading (replicating, without counting
     * itself) until the configuration without it commits, then steps down. It first tells the
     * others the new commit index, so they know the change is done.
     */
    private void maybeStepDownRemoved() {
        if (role != Role.LEADER || configuration().isVoter(config.id()) || confChangePending()) return;
        for (int peer : peers) sendHeartbeat(peer, progress.get(peer), 0);
        becomeFollower(term, NONE, "removed from the configuration by the entry at index "
                + log.configurations().latestIndex() + ", now committed (thesis §4.2.2)");
    }

    /**
     * Raft §5.4.2 (Figure 8): counting replicas commits only an entry of the leader's own term;
     * older entries are committed with it, by the Log Matching property.
     */
    private boolean committableByCounting(long index) {
        return log.term(index) == term;
    }

    private void bcastAppend() {
        for (int peer : peers) sendAppend(peer, false);
    }

    /** Sends entries from the peer's next index, or an empty probe if {@code allowEmpty}. */
    private void sendAppend(int peer, boolean allowEmpty) {
        sendAppend(peer, allowEmpty, 0);
    }

    /** With a read context, the answer confirms this leader for ReadIndex rounds up to it. */
    private void sendAppend(int peer, boolean allowEmpty, long readContext) {
        Progress pr = progress.get(peer);
        if (pr.paused()) return;
        if (pr.next - 1 < log.baseIndex()) {
            // Raft §7: the entries this follower needs are compacted; send the snapshot instead.
            startSnapshot(peer, pr);
            return;
        }
        long last = Math.min(log.lastIndex(), pr.next + config.maxEntriesPerAppend() - 1);
        List<Entry> entries = log.slice(pr.next, last + 1);
        long bytes = 0;
        for (int i = 0; i < entries.size(); i++) {
            bytes += entries.get(i).data().length;
            if (bytes > config.maxBytesPerAppend() && i > 0) {
                entries = entries.subList(0, i);
                last = pr.next + i - 1;
                break;
            }
        }
        if (entries.isEmpty() && !allowEmpty) return;
        long prev = pr.next - 1;
        send(new AppendEntries(config.id(), peer, term, prev, log.term(prev), entries, log.committed(), readContext));
        if (!entries.isEmpty() || pr.state == Progress.State.PROBE) pr.sentEntries(last);
    }

    /**
     * An empty AppendEntries at the follower's match index: asserts leadership, carries the commit
     * index; with a read context, the answer confirms this leader for ReadIndex rounds up to it.
     */
    private void sendHeartbeat(int peer, Progress pr, long readContext) {
        // A follower waiting for a snapshot may match below the compaction point, where only the
        // base entry's term is still known.
        long prev = Math.max(pr.match, log.baseIndex());
        send(new AppendEntries(config.id(), peer, term, prev, log.term(prev), List.of(), log.committed(), readContext));
    }

    // ---------------------------------------------------------------- ReadIndex (thesis §6.4)

    private void queueRead(long requestId) {
        if (configuration().hasQuorum(List.of(config.id()))) {
            // A single voter is a majority by itself.
            readStates.add(new ReadState(requestId, log.committed(), true));
        } else {
            readOnly.add(requestId);
        }
    }

    /** Every read queued since the last round shares one heartbeat broadcast. */
    private void startReadRound() {
        readRoundsStarted++;
        readsInRounds += readOnly.batchSize();
        long context = readOnly.startRound(log.committed());
        for (int peer : peers) sendHeartbeat(peer, progress.get(peer), context);
        // The leader acknowledges its own round; alone, a single voter confirms it (reads that
        // waited for the term's first commit). A leader removing itself does not count (§4.2.2).
        readStates.addAll(readOnly.ack(config.id(), context));
    }

    // ---------------------------------------------------------------- snapshots (Raft §7)

    private void startSnapshot(int peer, Progress pr) {
        if (latestSnapshot == null) {
            throw new IllegalStateException("follower " + peer + " needs entry " + pr.next + " but the log starts at "
                    + log.firstIndex() + " and there is no snapshot");
        }
        pr.becomeSnapshot(latestSnapshot.index());
        sendSnapshotChunk(peer, pr);
    }

    private void sendSnapshotChunk(int peer, Progress pr) {
        Snapshot snap = latestSnapshot;
        if (snap == null || snap.index() != pr.pendingSnapshotIndex) {
            // A newer snapshot replaced the one being sent: start over with it.
            pr.becomeProbe(pr.match + 1);
            sendAppend(peer, true);
            return;
        }
        long offset = pr.snapshotOffset;
        long end = Math.min(snap.data().length(), offset + config.snapshotChunkBytes());
        byte[] chunk = snap.data().read(offset, (int) (end - offset));
        send(new InstallSnapshot(config.id(), peer, term, snap.index(), snap.term(), snap.configuration().orElseThrow(),
                offset, chunk, end == snap.data().length()));
    }

    private void handleSnapshotResponse(InstallSnapshotResponse r) {
        if (role != Role.LEADER) return;
        Progress pr = progress.get(r.from());
        if (pr == null) return; // not (or no longer) a peer
        pr.recentActive = true;
        if (pr.state != Progress.State.SNAPSHOT || r.snapshotIndex() != pr.pendingSnapshotIndex) return;
        pr.heartbeatsWithoutProgress = 0;
        if (r.done()) {
            // The follower's log now ends at the snapshot; continue with entries after it.
            pr.match = Math.max(pr.match, r.snapshotIndex());
            pr.becomeProbe(r.snapshotIndex() + 1);
            maybeCommit();
            // It committed its own removal and stepped down (§4.2.2): nothing more to send.
            if (role != Role.LEADER) return;
            sendAppend(r.from(), true);
            return;
        }
        pr.snapshotOffset = r.nextOffset();
        sendSnapshotChunk(r.from(), pr);
    }

    private void handleInstallSnapshot(InstallSnapshot is) {
        followLeaderOf(is);
        if (is.snapshotIndex() <= log.committed()) {
            // We already have everything it holds (possibly through the log).
            receiving = null;
            send(new InstallSnapshotResponse(config.id(), is.from(), term, is.snapshotIndex(), 0, true));
            return;
        }
        if (is.offset() == 0) receiving = new SnapshotReceiver(is.snapshotIndex(), is.snapshotTerm());
        if (receiving == null || !receiving.accepts(is)) {
            // Out of order or from an older transfer: tell the leader where we are.
            long at = receiving != null && receiving.index == is.snapshotIndex() ? receiving.size() : 0;
            send(new InstallSnapshotResponse(config.id(), is.from(), term, is.snapshotIndex(), at, false));
            return;
        }
        receiving.add(is.data());
        if (!is.done()) {
            send(new InstallSnapshotResponse(config.id(), is.from(), term, is.snapshotIndex(), receiving.size(), false));
            return;
        }
        Snapshot snap = new Snapshot(is.snapshotIndex(), is.snapshotTerm(), is.configuration(), receiving.data());
        receiving = null;
        if (snapshotValidator.problem(snap.index(), snap.term(), snap.data()).isPresent()) {
            // Damaged on the way or by the leader: keep our log and state, and have the leader start over.
            send(new InstallSnapshotResponse(config.id(), is.from(), term, snap.index(), 0, false));
            return;
        }
        if (log.matchTerm(snap.index(), snap.term())) {
            // Our log already has the snapshot's last entry: keep the log, just learn the commit (etcd's rule).
            log.commitTo(snap.index());
        } else {
            // Figure 13 step 7: discard the whole log and reset the state machine from the snapshot,
            // and use the snapshot's configuration (thesis §4.1).
            log.restore(snap.index(), snap.term(), is.configuration());
            snapshotToInstall = snap;
            latestSnapshot = snap;
        }
        syncMembership();
        send(new InstallSnapshotResponse(config.id(), is.from(), term, snap.index(), snap.data().length(), true));
    }

    // ---------------------------------------------------------------- membership (thesis ch. 4)

    /**
     * Whether this node may campaign (etcd's promotable): it is a voter of the configuration it
     * uses, or - thesis §4.2.2, Figure 4.6 - that configuration removes it but is not known to be
     * committed: its log may hold the change, and the cluster may need it to elect a leader that
     * commits it (it then does not count its own vote). Once it knows its removal is committed it
     * never campaigns again (§4.2.3); nor does a learner or a joining node that knows no configuration.
     */
    private boolean promotable() {
        if (configuration().isVoter(config.id())) return true;
        ConfigurationLog configurations = log.configurations();
        return confChangePending() && configurations.at(configurations.latestIndex() - 1).isVoter(config.id());
    }

    /** The voters a candidate asks (thesis §4.2.1: learners are never asked). */
    private List<Integer> voterPeers() {
        List<Integer> ids = new ArrayList<>();
        for (int id : configuration().voters().keySet()) if (id != config.id()) ids.add(id);
        return ids;
    }

    /** Thesis §4.1: the newest configuration entry is not committed yet. */
    private boolean confChangePending() {
        return log.configurations().latestIndex() > log.committed();
    }

    /**
     * Thesis §4.1 (the 2015 fix): whether this leader has committed an entry of its own term, so
     * that no change of an earlier term can still be pending unseen. Kept apart from
     * {@link #committedInCurrentTerm()}, which gates reads, so each rule can be tested alone.
     */
    private boolean committedInTermBeforeConfChange() {
        return log.committed() > 0 && log.term(log.committed()) == term;
    }

    private boolean configurationChangedSinceReady() {
        Configuration now = configuration();
        return now != reportedConfiguration && !now.equals(reportedConfiguration);
    }

    /**
     * Brings {@link #peers} (and the leader's progress and departures) in step with the
     * configuration in use and whether it is committed; cheap when neither changed.
     */
    private void syncMembership() {
        Configuration latest = configuration();
        boolean pending = confChangePending();
        if (latest == syncedConfiguration && pending == syncedPending) return;
        syncedConfiguration = latest;
        syncedPending = pending;
        Map<Integer, String> targets = new TreeMap<>();
        // Thesis §4.1: while the newest configuration is not committed, the one before it may still
        // be the one that commits (a leader's log can lose the change); its members stay reachable.
        if (pending) targets.putAll(log.configurations().at(log.configurations().latestIndex() - 1).addresses());
        targets.putAll(latest.addresses()); // the newest address wins (a member added back elsewhere)
        targets.remove(config.id());
        if (role == Role.LEADER) {
            for (int id : targets.keySet()) departures.cancel(id);
            for (int id : progress.keySet()) {
                // Its removal is committed: keep telling it for an election timeout (§4.2.3).
                if (!targets.containsKey(id)) departures.begin(id, peerAddresses.getOrDefault(id, ""),
                        config.electionTicksMin());
            }
            departures.addresses().forEach(targets::putIfAbsent);
        }
        peerAddresses = Collections.unmodifiableMap(targets);
        peers = List.copyOf(targets.keySet());
        if (role != Role.LEADER) return;
        for (int peer : peers) {
            if (!progress.containsKey(peer)) {
                // A new member: probe from the end of the log; its answer says where it really is.
                progress.put(peer, new Progress(log.lastIndex() + 1, config.maxInflightAppends()));
                pendingBroadcast = true;
            }
        }
    }

    /** {@link #syncMembership()} after the departures or the role changed, which its cache does not see. */
    private void resyncMembership() {
        syncedConfiguration = null;
        syncMembership();
    }

    private void send(Message m) {
        outbox.add(m);
    }

    private HardState currentHardState() {
        return new HardState(term, votedFor, log.committed());
    }

    @Override
    public String toString() {
        return "RaftNode[id=" + config.id() + " " + role.label() + " term=" + term + " last=" + log.lastIndex()
                + " commit=" + log.committed() + " applied=" + log.applied() + "]";
    }
}
