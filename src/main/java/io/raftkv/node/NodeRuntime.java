package io.raftkv.node;

import io.raftkv.raft.ConfChange;
import io.raftkv.raft.ConfChangeResult;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.ProposeResult;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Ready;
import io.raftkv.raft.Role;
import io.raftkv.raft.RoleChange;
import io.raftkv.raft.Snapshot;
import io.raftkv.raft.TransferResult;
import io.raftkv.storage.RaftStorage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One Raft node without threads, sockets or files: the {@link RaftNode} core, the state machine,
 * the client operations waiting on them, and the handling of every {@link Ready} (etcd's
 * {@code RawNode} plus the application's Ready loop; Kafka's {@code KafkaRaftClient.poll()}).
 * The Netty server and the simulation are two adapters that drive this same class, so what the
 * simulation checks is what runs.
 *
 * <p>Inputs: {@link #propose}, {@link #read}, {@link #transferLeadership}, {@link #step}, {@link #stepRequest}, {@link #tick},
 * {@link #persisted(long)}, {@link #snapshotWritten}; then {@link #process()} does the work they
 * caused (one call after a batch of inputs, so proposals that arrive together share one write:
 * group commit). Effects leave through narrow interfaces: a {@link Persister} whose completion
 * comes back as an input, an {@link Outbox} for requests to peers, the {@link RpcReply} of each
 * inbound request, a monotonic clock, the {@link StateMachine} and a {@link RuntimeListener}.
 *
 * <p>Handling a Ready: the leader's replication messages leave first
 * ({@link Ready#mayLeaveBeforePersist}); its durable part goes to the persister; committed entries
 * are applied and their writers answered, linearizable reads served, and the core is told the
 * Ready was taken ({@link RaftNode#accept}) at once; the rest of its messages (votes,
 * acknowledgements) leave once its write is durable, and only then does the core count it
 * ({@link RaftNode#persisted}). So the runtime keeps taking inputs and Readies while writes are
 * in flight (etcd's asynchronous storage writes): they end in the order they were handed, and
 * messages that must wait for a write wait for every write before them too. A Ready that installs
 * a leader's snapshot is the exception: the runtime takes nothing else until it is durable and
 * the state machine restored, and holds inputs back meanwhile.
 *
 * <p>Not thread-safe: every call comes from the adapter's one thread.
 *
 * @param <R> what the state machine's apply returns
 */
public final class NodeRuntime<R> {
    private final RaftNode core;
    private final StateMachine<R> sm;
    private final Persister persister;
    private final Outbox outbox;
    private final LongSupplier nanoClock;
    private final SnapshotPolicy snapshots;
    private final RuntimeListener<R> listener;

    /**
     * Proposed writes in index order (proposals take ever higher indexes: those left when a
     * leader steps down are at most its commit index), answered when their index applies (or can
     * no longer). A queue: each is added at the tail and leaves at the head as entries apply in
     * order; the TreeMap it replaces cost 8% of the Java time of a leader taking puts.
     */
    private final ArrayDeque<PendingWrite<R>> pendingWrites = new ArrayDeque<>();
    /** Linearizable reads: waiting for their ReadIndex round, then for the apply of its index. */
    private final Map<Long, PendingRead<?>> readsAwaitingIndex = new HashMap<>();
    private final TreeMap<Long, List<PendingRead<?>>> readsAwaitingApply = new TreeMap<>();
    private long nextReadId;
    /** Membership changes proposed here by index, answered when their entry applies (thesis ch. 4). */
    private final TreeMap<Long, PendingChange> pendingChanges = new TreeMap<>();
    /** Leadership transfers started here, waiting to see the target lead (thesis §3.10). */
    private final PendingTransfers transfers;
    /** Inbound requests waiting for the core's response, FIFO per peer and kind of request. */
    private final Map<Long, ArrayDeque<RpcReply>> pendingRpcs = new HashMap<>();

    /** Writes handed to the persister, oldest first: they end in this order. */
    private final ArrayDeque<InFlight> writes = new ArrayDeque<>();
    /** The write in {@link #writes} that installs a leader's snapshot (null if none), and inputs held back until it ends. */
    private InFlight barrier;
    /** The oldest write cannot go on (the disk is full): inputs are held back until it ends ({@link #storageStalled}). */
    private boolean stalled;
    private final ArrayDeque<Runnable> heldInputs = new ArrayDeque<>();
    private long nextToken;
    private boolean processing;

    /** Index of the newest snapshot (taken or installed) and command bytes applied since. */
    private long lastSnapshotIndex;
    private long bytesSinceSnapshot;
    /**
     * The leader's snapshot the state machine last validated, until the Ready that installs it (or
     * does not) is taken: see {@link StateMachine#forgetValidated()}.
     */
    private io.raftkv.raft.SnapshotData validatedSnapshot;
    /** The snapshot the core holds (to send to followers); released when the core takes a newer one. */
    private Snapshot heldSnapshot;
    /** Size of the newest snapshot's data (taken, installed or loaded), for {@link SnapshotPolicy#due}. */
    private long lastSnapshotBytes;
    /** This node's {@link SnapshotPolicy#stagger}, from the configuration it started with. */
    private final double snapshotStagger;
    private boolean snapshotInFlight;
    /** The image of the snapshot in flight, released (on this loop) when its write ends either way. */
    private StateMachine.Image imageInFlight;
    /** The last snapshot's index before the one in flight: where a failed one leaves things. */
    private long snapshotIndexBefore;
    /** No snapshot is started before this time (after one failed for want of disk space). */
    private long snapshotRetryAtNs = Long.MIN_VALUE;
    private long snapshotStartNs;
    private long snapshotCaptureNs;

    /**
     * The cluster clock of this node's leadership (LogCabin's): the cluster time applied when it
     * became leader plus its own monotonic time since. No wall clock: a leader whose clock is hours
     * off stamps the same times as any other.
     */
    private long leaderSinceNs;
    private long leaderBaseMs;
    /** The term whose leadership {@link #leaderSinceNs} is of (0: none yet). */
    private long clockTerm;

    /** Counts for metrics ({@link RuntimeCounters}): plain fields, this runtime's thread only. */
    private long proposalsReceived;
    private long proposalsCommitted;
    private long proposalsFailed;
    private long leaderChanges;
    /** The last leader this node knew of, for {@link #leaderChanges} (-1: none yet). */
    private int lastKnownLeader = -1;

    /** The leader this node last heard from (-1: none yet) and when (monotonic ns; start if never). */
    private int contactedLeader = -1;
    private long leaderContactNs;

    /**
     * The servers the adapter reaches now (RuntimeListener#peersChanged): the core's peers, and
     * while a Ready that dropped some is being sent, those too.
     */
    private Map<Integer, String> reachedPeers;
    /** The peers the Ready being handled reported, to narrow {@link #reachedPeers} to once its messages left. */
    private Map<Integer, String> narrowPeersTo;

    private record PendingWrite<R>(long index, long term, Consumer<WriteOutcome<R>> done) {}

    /** A Ready taken while writes were in flight, and its sends that wait for them (answers bound to their exchange). */
    private record Rider(Ready ready, List<Runnable> sends) {}

    private record PendingChange(long term, Consumer<MembershipOutcome> done) {}

    private record PendingRead<V>(Supplier<V> query, Consumer<ReadOutcome<V>> done) {
        void serve(long appliedIndex) {
            done.accept(new ReadOutcome.Value<>(query.get(), appliedIndex));
        }
    }

    private static final class InFlight {
        final Ready ready;
        final long token;
        /** A barrier's messages, sent as its Ready is finished. */
        final List<Message> afterPersist;
        /**
         * A pipelined write's Ready, then the Readies without a write taken after it: finished, in
         * order, once it is durable.
         */
        final List<Rider> riders = new ArrayList<>(1);
        boolean durable;
        /** The Ready's snapshot as the storage keeps it (null: as the Ready has it). */
        Snapshot stored;

        InFlight(Ready ready, long token, List<Message> afterPersist) {
            this.ready = ready;
            this.token = token;
            this.afterPersist = afterPersist;
        }
    }

    /**
     * Restarts a node from what its storage holds: the snapshot into the state machine, the log
     * after it into the core (which re-applies what was committed).
     */
    public NodeRuntime(RaftConfig config, RaftStorage.Stored stored, StateMachine<R> sm, Persister persister,
                       Outbox outbox, LongSupplier nanoClock, SnapshotPolicy snapshots, RuntimeListener<R> listener) {
        this.sm = sm;
        this.persister = persister;
        this.outbox = outbox;
        this.nanoClock = nanoClock;
        this.snapshots = snapshots;
        this.listener = listener;
        stored.snapshot().ifPresent(snap -> sm.restore(snap.data()));
        this.lastSnapshotIndex = stored.snapshot().map(Snapshot::index).orElse(0L);
        this.lastSnapshotBytes = stored.snapshot().map(s -> s.data().length()).orElse(0L);
        this.heldSnapshot = stored.snapshot().orElse(null);
        this.core = new RaftNode(config, stored.hardState(), stored.snapshot(), stored.entries(), this::checkSnapshot);
        core.applyOnlyStableEntries(); // Readies are taken while writes are in flight
        this.reachedPeers = core.peers();
        this.snapshotStagger = SnapshotPolicy.stagger(config.id(), core.configuration().members());
        this.leaderContactNs = nanoClock.getAsLong();
        // A transfer whose leader stepped down waits for the new leader's word: the election the
        // transfer started, or failing that one ordinary election (a randomized timeout) after it.
        this.transfers = new PendingTransfers(2 * config.electionTicksMax(), config.tickMs());
    }

    // ---------------------------------------------------------------- inputs

    /** Proposes {@code command}; {@code done} learns how it ended (exactly once, unless the node stops). */
    public void propose(byte[] command, Consumer<WriteOutcome<R>> done) {
        if (holdWhileWriting(() -> propose(command, done))) return;
        if (core.role() != Role.LEADER) {
            done.accept(new WriteOutcome.NotLeader<>(core.leaderId()));
            return;
        }
        switch (core.propose(sm.prepare(command, clusterTimeMs()))) {
            case ProposeResult.Accepted a -> {
                proposalsReceived++;
                if (!pendingWrites.isEmpty() && pendingWrites.peekLast().index() >= a.index())
                    throw new IllegalStateException("proposal at index " + a.index() + " after a pending write at "
                            + pendingWrites.peekLast().index());
                pendingWrites.addLast(new PendingWrite<>(a.index(), a.term(), done));
            }
            case ProposeResult.NotLeader n -> done.accept(new WriteOutcome.NotLeader<>(n.leaderHint()));
            case ProposeResult.TransferInProgress t -> done.accept(new WriteOutcome.TransferInProgress<>(t.target()));
        }
    }

    /**
     * Leadership transfer (thesis §3.10) to {@code target}, or to the most caught-up voter when
     * empty. {@code done} learns the outcome once: refusals at once; otherwise when this node sees
     * the target lead a newer term, or sees the transfer fail (the leader gave up after an election
     * timeout and leads on, or another node was elected).
     */
    public void transferLeadership(OptionalInt target, Consumer<TransferOutcome> done) {
        if (holdWhileWriting(() -> transferLeadership(target, done))) return;
        OptionalInt to = target.isPresent() ? target : core.mostCaughtUpVoter();
        if (to.isEmpty()) {
            done.accept(new TransferOutcome.NotLeader(core.leaderId()));
            return;
        }
        int t = to.getAsInt();
        switch (core.transferLeadership(t)) {
            case TransferResult.Started s -> transfers.add(t, core.term(), done);
            case TransferResult.AlreadyLeader a -> done.accept(new TransferOutcome.Transferred(core.id(), core.term()));
            case TransferResult.NotLeader n -> done.accept(new TransferOutcome.NotLeader(n.leaderHint()));
            case TransferResult.UnknownNode u -> done.accept(new TransferOutcome.Refused(TransferOutcome.Reason.UNKNOWN_NODE,
                    "there is no node " + t + " (the voters are " + core.config().voters() + ")"));
            case TransferResult.NotVoter v -> done.accept(new TransferOutcome.Refused(TransferOutcome.Reason.NOT_VOTER,
                    "node " + t + " does not vote (a learner), so it cannot lead; promote it first"));
            case TransferResult.OtherTransferInProgress o -> done.accept(new TransferOutcome.Refused(
                    TransferOutcome.Reason.IN_PROGRESS, "a leadership transfer to node " + o.target()
                            + " is in progress; it ends within an election timeout, then ask again"));
        }
    }

    /**
     * A membership change (thesis ch. 4, single-server changes): {@code done} learns the outcome
     * once - refusals at once, otherwise when the change's entry applies here. Adding a learner
     * that is already a member at the same address, with no change in flight, is answered as
     * committed at once (a node that joins asks again after a restart).
     */
    public void changeMembership(ConfChange change, Consumer<MembershipOutcome> done) {
        if (holdWhileWriting(() -> changeMembership(change, done))) return;
        if (core.role() != Role.LEADER) {
            done.accept(new MembershipOutcome.NotLeader(core.leaderId()));
            return;
        }
        Configuration current = core.configuration();
        if (change instanceof ConfChange.AddLearner add && current.address(add.id()).filter(add.address()::equals).isPresent()
                && core.configurationIndex() <= core.commitIndex()) {
            done.accept(new MembershipOutcome.Committed(current, core.configurationIndex()));
            return;
        }
        switch (core.proposeConfChange(change)) {
            case ConfChangeResult.Accepted a -> pendingChanges.put(a.index(), new PendingChange(a.term(), done));
            case ConfChangeResult.NotLeader n -> done.accept(new MembershipOutcome.NotLeader(n.leaderHint()));
            case ConfChangeResult.Refused r -> done.accept(new MembershipOutcome.Refused(r.reason(), r.message()));
        }
    }

    /**
     * A linearizable read through ReadIndex (thesis §6.4): {@code query} runs on the state machine
     * once the index confirmed by a heartbeat round is applied.
     */
    public <V> void read(Supplier<V> query, Consumer<ReadOutcome<V>> done) {
        if (holdWhileWriting(() -> read(query, done))) return;
        long id = ++nextReadId;
        readsAwaitingIndex.put(id, new PendingRead<>(query, done));
        core.readIndex(id);
    }

    /** A message from a peer that expects no answer on its exchange (a response, or a request sent one-way). */
    public void step(Message m) {
        if (holdWhileWriting(() -> step(m))) return;
        core.step(m);
        noteLeaderContact(m);
    }

    /** An inbound request from a peer; {@code reply} gets the core's answer once it may leave. */
    public void stepRequest(Message request, RpcReply reply) {
        if (holdWhileWriting(() -> stepRequest(request, reply))) return;
        pendingRpcs.computeIfAbsent(rpcKey(request.from(), request), k -> new ArrayDeque<>()).addLast(reply);
        core.step(request);
        noteLeaderContact(request);
    }

    /** A leader's replication message of the current term: the leader is alive and reaches us. */
    private void noteLeaderContact(Message m) {
        if ((m instanceof Message.AppendEntries || m instanceof Message.InstallSnapshot) && m.term() == core.term()
                && core.leaderId().orElse(-1) == m.from()) {
            contactedLeader = m.from();
            leaderContactNs = nanoClock.getAsLong();
        }
    }

    public void tick() {
        if (holdWhileWriting(this::tick)) return;
        core.tick();
        if (core.role() == Role.LEADER && core.committedInCurrentTerm()) {
            byte[] chore = sm.housekeeping(clusterTimeMs());
            if (chore != null) core.propose(sm.prepare(chore, clusterTimeMs())); // refused during a transfer: next tick
        }
        transfers.tick();
        checkTransfers(); // a transfer the core gave up on needs no Ready to show it
    }

    /** The write handed to the persister with {@code token} is durable; writes end in the order they were handed. */
    public void persisted(long token) {
        InFlight next = null;
        for (InFlight w : writes) {
            if (!w.durable) {
                next = w;
                break;
            }
        }
        if (next == null || next.token != token)
            throw new IllegalStateException("persisted(" + token + ") but the oldest write in flight is "
                    + (next == null ? "none" : String.valueOf(next.token)));
        next.durable = true;
        stalled = false;
    }

    /**
     * The oldest write in flight cannot be completed for now (the disk is full; the persister
     * retries it): until it ends, the node takes no input, as a node thread blocked in its write
     * would. So a leader stops heartbeating and another node takes over, rather than holding on
     * to a leadership it cannot use (it could not apply what it commits).
     */
    public void storageStalled() {
        if (!writes.isEmpty()) stalled = true;
    }

    /**
     * The write handed to the persister with {@code token} is durable, and the storage keeps its
     * snapshot from the leader as {@code stored} ({@link RaftStorage#installSnapshot}'s answer: read
     * from its file). The node holds that one from now on, and the received chunks become garbage;
     * the runtime releases it when the core takes a newer snapshot.
     */
    public void persisted(long token, Snapshot stored) {
        Snapshot received = barrier == null ? null : barrier.ready.snapshot().orElse(null);
        if (received == null || received.index() != stored.index() || received.term() != stored.term()
                || received.data().length() != stored.data().length())
            throw new IllegalStateException("persisted(" + token + ") with the stored snapshot " + stored
                    + " but the write in flight installs " + (received == null ? "none" : received));
        InFlight w = barrier;
        persisted(token);
        w.stored = stored;
    }

    /**
     * The snapshot asked of {@link Persister#writeSnapshot} could not be written and left nothing
     * behind (the disk is full): the log stays as it is, and another snapshot is tried after
     * {@code retryAfterNs}.
     */
    public void snapshotFailed(long retryAfterNs) {
        if (holdWhileWriting(() -> snapshotFailed(retryAfterNs))) return;
        if (!snapshotInFlight) return;
        snapshotInFlight = false;
        releaseImage();
        lastSnapshotIndex = snapshotIndexBefore;
        snapshotRetryAtNs = nanoClock.getAsLong() + retryAfterNs;
    }

    /** The snapshot asked of {@link Persister#writeSnapshot} is durable ({@code sizeBytes} on disk). */
    public void snapshotWritten(Snapshot snapshot, long sizeBytes) {
        if (holdWhileWriting(() -> snapshotWritten(snapshot, sizeBytes))) return;
        snapshotInFlight = false;
        releaseImage();
        persister.releaseLog(snapshot, sizeBytes);
        if (snapshot.index() < lastSnapshotIndex) {
            snapshot.data().release(); // a newer snapshot came from the leader meanwhile
            return;
        }
        lastSnapshotBytes = snapshot.data().length();
        long compactTo = Math.max(0, snapshot.index() - snapshots.keepEntries());
        core.compact(snapshot, compactTo);
        hold(snapshot);
        listener.snapshotTaken(snapshot, sizeBytes, compactTo, snapshotCaptureNs, nanoClock.getAsLong() - snapshotStartNs);
    }

    /**
     * Does the work the inputs since the last call caused: takes and handles the core's Readies
     * until there are none or one waits for its write, then maybe starts a snapshot and answers
     * the inbound requests the core did not answer.
     */
    public void process() {
        if (processing) return; // a persister that completes inside persist() calls back into us
        processing = true;
        try {
            while (true) {
                InFlight oldest = writes.peekFirst();
                if (oldest != null && oldest.durable) {
                    writes.pollFirst();
                    finishWrite(oldest);
                    continue;
                }
                if (barrier != null || stalled) return;
                if (!heldInputs.isEmpty()) {
                    while (barrier == null && !stalled && !heldInputs.isEmpty()) heldInputs.poll().run();
                    continue;
                }
                if (!core.hasReady()) break;
                beginReady(takeReady());
            }
            maybeSnapshot();
            answerUnansweredRpcs();
            noteLeaderChange();
        } finally {
            processing = false;
        }
    }

    /** The core's next Ready; a ReadIndex round it starts is reported with its number of reads. */
    private Ready takeReady() {
        long rounds = core.readRoundsStarted();
        long reads = core.readsInRounds();
        Ready rd = core.ready();
        if (core.readRoundsStarted() != rounds) listener.readRoundStarted((int) (core.readsInRounds() - reads));
        if (validatedSnapshot != null) {
            // The core hands out a snapshot it accepted in this Ready, or never: one it validated but
            // did not install (its log held the snapshot's last entry, a newer one replaced it) will
            // not be restored, and what the state machine decoded of it can go now.
            boolean installing = rd.snapshot().filter(s -> s.data() == validatedSnapshot).isPresent();
            validatedSnapshot = null;
            if (!installing) sm.forgetValidated();
        }
        return rd;
    }

    private void noteLeaderChange() {
        int leader = core.leaderId().orElse(-1);
        if (leader >= 0 && leader != lastKnownLeader) {
            lastKnownLeader = leader;
            leaderChanges++;
        }
    }

    private boolean holdWhileWriting(Runnable input) {
        if (barrier == null && !stalled) return false;
        heldInputs.add(input);
        return true;
    }

    // ---------------------------------------------------------------- one Ready

    private void beginReady(Ready rd) {
        // 0. New members and peers first: the adapter connects to them before any message goes their
        //    way. Peers the core dropped stay reachable until this Ready's messages have left: the
        //    core may have sent to them before dropping them (a leader that stepped down, say).
        rd.configuration().ifPresent(listener::configurationChanged);
        rd.peers().ifPresent(this::widenPeers);
        if (!rd.mustPersist() && writes.isEmpty()) {
            afterPersist(rd, rd.messages(), null);
            return;
        }
        if (rd.snapshot().isPresent()) {
            // A leader's snapshot replaces the state machine once it is durable: nothing else
            // happens until then (the writes before it end first).
            List<Message> afterPersist = new ArrayList<>(rd.messages().size());
            for (Message m : rd.messages()) {
                if (rd.mayLeaveBeforePersist(m)) dispatch(m);
                else afterPersist.add(m);
            }
            barrier = new InFlight(rd, ++nextToken, afterPersist);
            writes.addLast(barrier);
            persister.persist(barrier.token, new Persister.Write(rd.snapshot(), rd.hardState(), rd.entries()));
            return;
        }
        // 1. The leader's replication messages leave before its own write (thesis §10.2.1);
        //    everything else waits until the write is durable (Raft Figure 2), and so until every
        //    write before it is: a Ready with nothing to write waits for the last one in flight.
        Rider rider = new Rider(rd, new ArrayList<>());
        for (Message m : rd.messages()) {
            if (rd.mayLeaveBeforePersist(m)) dispatch(m);
            else rider.sends().add(deferred(m));
        }
        if (rd.mustPersist()) {
            InFlight w = new InFlight(rd, ++nextToken, List.of());
            w.riders.add(rider);
            writes.addLast(w);
            // 2. Persist; the core counts this Ready's entries once persisted(token) says so.
            persister.persist(w.token, new Persister.Write(Optional.empty(), rd.hardState(), rd.entries()));
        } else {
            writes.peekLast().riders.add(rider);
        }
        // 3. Everything else now: the committed entries are on a majority of disks and on this
        //    one (RaftNode#applyOnlyStableEntries).
        handleRest(rd);
        core.accept(rd);
        checkTransfers();
    }

    /** Ends a write that is now durable: what waited for it leaves, and the core counts it. */
    private void finishWrite(InFlight w) {
        if (w == barrier) {
            afterPersist(w.ready, w.afterPersist, w.stored);
            barrier = null;
            while (barrier == null && !heldInputs.isEmpty()) heldInputs.poll().run();
            return;
        }
        for (Rider r : w.riders) {
            for (Runnable send : r.sends()) send.run();
            core.persisted(r.ready());
        }
        if (writes.isEmpty()) narrowPeers();
    }

    /** {@code m}'s sending, later: an answer is bound now to the exchange of the request it answers. */
    private Runnable deferred(Message m) {
        if (!m.isResponse()) return () -> outbox.send(m);
        ArrayDeque<RpcReply> q = pendingRpcs.get(rpcKey(m.to(), m));
        RpcReply reply = q == null ? null : q.pollFirst();
        return reply == null ? () -> { } : () -> reply.send(Optional.of(m));
    }

    private void afterPersist(Ready rd, List<Message> messages, Snapshot stored) {
        // 3. A snapshot from the leader replaces the state machine (Raft §7).
        rd.snapshot().ifPresent(received -> restoreSnapshot(received, stored == null ? received : stored));
        // 4. Send: answers on the exchange of the request they answer, requests to the outbox.
        for (Message m : messages) dispatch(m);
        narrowPeers();
        handleRest(rd);
        // 7. Tell the core it all happened.
        core.advance(rd);
        // 8. Transfers that this Ready ended (a new term, a new leader heard of).
        checkTransfers();
    }

    /** Role changes, committed entries applied and their writers answered, linearizable reads served. */
    private void handleRest(Ready rd) {
        boolean lostLeadership = false;
        for (RoleChange rc : rd.roleChanges()) {
            listener.roleChanged(rc);
            if (rc.to() == Role.LEADER) clusterTimeMs(); // starts this term's clock
            if (rc.from() == Role.LEADER) lostLeadership = true;
        }
        // 5. Apply committed entries in order and answer the writers waiting on them; only then
        //    give up on the writes still pending, which may have been among them.
        for (Entry e : rd.committed()) apply(e);
        if (lostLeadership && core.role() != Role.LEADER) {
            // Entries this node already knows committed will apply here and be answered then (a
            // leader removed from the configuration steps down as its own removal commits).
            long committed = core.commitIndex();
            String why = "node " + core.id() + " lost leadership before the write committed";
            ArrayDeque<PendingWrite<R>> uncommittedWrites = new ArrayDeque<>();
            while (!pendingWrites.isEmpty() && pendingWrites.peekLast().index() > committed) {
                uncommittedWrites.addFirst(pendingWrites.pollLast());
            }
            proposalsFailed += uncommittedWrites.size();
            uncommittedWrites.forEach(p -> p.done().accept(new WriteOutcome.Unknown<>(why)));
            var uncommittedChanges = pendingChanges.tailMap(committed, false);
            uncommittedChanges.values().forEach(p -> p.done().accept(new MembershipOutcome.Unknown(
                    why.replace("the write", "the membership change"))));
            uncommittedChanges.clear();
        }
        // 6. Linearizable reads whose index is now applied.
        takeReadStates(rd.readStates());
        serveAppliedReads();
    }

    private void widenPeers(Map<Integer, String> peers) {
        Map<Integer, String> union = new TreeMap<>(reachedPeers);
        union.putAll(peers); // a new address wins
        narrowPeersTo = peers;
        if (union.equals(reachedPeers)) return;
        reachedPeers = Collections.unmodifiableMap(union);
        listener.peersChanged(reachedPeers);
    }

    private void narrowPeers() {
        if (narrowPeersTo == null) return;
        Map<Integer, String> peers = narrowPeersTo;
        narrowPeersTo = null;
        if (peers.equals(reachedPeers)) return;
        reachedPeers = peers;
        listener.peersChanged(peers);
    }

    private void checkTransfers() {
        transfers.check(core, (long) core.config().electionTicksMin() * core.config().tickMs());
    }

    private void releaseImage() {
        if (imageInFlight != null) imageInFlight.release();
        imageInFlight = null;
    }

    /** The core now holds {@code snap}: the one it held before will not be read again. */
    private void hold(Snapshot snap) {
        if (heldSnapshot != null && heldSnapshot != snap) heldSnapshot.data().release();
        heldSnapshot = snap;
    }

    /**
     * {@code received}: the leader's snapshot as the core accepted it; {@code snap}: the same as
     * the storage keeps it (read from its file), or {@code received} itself.
     */
    private void restoreSnapshot(Snapshot received, Snapshot snap) {
        // The very data the state machine validated: what it decoded then is installed, not decoded again.
        sm.restore(received.data());
        if (snap != received) core.useStoredSnapshot(snap);
        lastSnapshotIndex = Math.max(lastSnapshotIndex, snap.index());
        snapshotIndexBefore = Math.max(snapshotIndexBefore, snap.index());
        bytesSinceSnapshot = 0;
        lastSnapshotBytes = snap.data().length();
        hold(snap);
        listener.snapshotInstalled(snap);
        // Writes proposed here at or below the snapshot may or may not be in it.
        while (!pendingWrites.isEmpty() && pendingWrites.peekFirst().index() <= snap.index()) {
            proposalsFailed++;
            pendingWrites.pollFirst().done().accept(new WriteOutcome.Unknown<>("node " + core.id()
                    + " was replaced by a snapshot from the leader"));
        }
        var changes = pendingChanges.headMap(snap.index(), true);
        changes.values().forEach(p -> p.done().accept(new MembershipOutcome.Unknown("node " + core.id()
                + " was replaced by a snapshot from the leader")));
        changes.clear();
    }

    private void dispatch(Message m) {
        if (m.isResponse()) {
            ArrayDeque<RpcReply> q = pendingRpcs.get(rpcKey(m.to(), m));
            RpcReply reply = q == null ? null : q.pollFirst();
            if (reply != null) reply.send(Optional.of(m));
        } else {
            outbox.send(m);
        }
    }

    private void apply(Entry e) {
        R result = null;
        if (!e.isCommand()) {
            // A no-op, or a configuration entry: the core already uses the configuration (thesis
            // §4.1); the state machine only learns that the index is applied.
            sm.applyNoop(e.index());
        } else {
            result = sm.apply(e.index(), e.data());
            bytesSinceSnapshot += e.data().length;
        }
        listener.applied(e, result);
        PendingChange change = pendingChanges.remove(e.index());
        if (change != null) {
            change.done().accept(e.isConfig() && e.term() == change.term()
                    ? new MembershipOutcome.Committed(e.configuration(), e.index())
                    : new MembershipOutcome.Failed("another leader's entry took index " + e.index()
                            + " of the membership change: it was not made"));
        }
        while (!pendingWrites.isEmpty() && pendingWrites.peekFirst().index() < e.index()) {
            // Not expected (every index applies in turn, a snapshot answers those it covers); an
            // index passed over would otherwise hold back every write behind it.
            proposalsFailed++;
            pendingWrites.pollFirst().done().accept(new WriteOutcome.Unknown<>("node " + core.id()
                    + " passed the write's index without applying it"));
        }
        PendingWrite<R> p = pendingWrites.isEmpty() || pendingWrites.peekFirst().index() != e.index() ? null
                : pendingWrites.pollFirst();
        if (p != null) {
            boolean own = result != null && isOwnEntry(p, e);
            if (own) proposalsCommitted++;
            else proposalsFailed++;
            p.done().accept(own ? new WriteOutcome.Applied<>(e.index(), e.term(), result)
                    : new WriteOutcome.Superseded<>(e.index()));
        }
    }

    /**
     * Whether the command applied at a pending write's index is that write: the same term (Raft
     * §5.3: an index and a term identify one entry), so not another leader's entry.
     */
    private static boolean isOwnEntry(PendingWrite<?> p, Entry e) {
        return p.term() == e.term();
    }

    private void abandonPendingWrites(String reason) {
        proposalsFailed += pendingWrites.size();
        pendingWrites.forEach(p -> p.done().accept(new WriteOutcome.Unknown<>(reason)));
        pendingWrites.clear();
        abandonPendingChanges(reason.replace("the write", "the membership change"));
    }

    private void abandonPendingChanges(String reason) {
        pendingChanges.values().forEach(p -> p.done().accept(new MembershipOutcome.Unknown(reason)));
        pendingChanges.clear();
    }

    /** ReadIndex answers: a confirmed read waits for its index to be applied, a refused one goes elsewhere. */
    private void takeReadStates(List<ReadState> states) {
        for (ReadState rs : states) {
            PendingRead<?> r = readsAwaitingIndex.remove(rs.requestId());
            if (r == null) continue;
            if (confirmed(rs)) {
                readsAwaitingApply.computeIfAbsent(rs.index(), i -> new ArrayList<>()).add(r);
            } else {
                notLeader(r);
            }
        }
    }

    /** Whether a heartbeat round confirmed this node's leadership for the read (else it is no leader). */
    private static boolean confirmed(ReadState rs) {
        return rs.ok();
    }

    private <V> void notLeader(PendingRead<V> r) {
        r.done().accept(new ReadOutcome.NotLeader<>(core.leaderId()));
    }

    private void serveAppliedReads() {
        while (!readsAwaitingApply.isEmpty() && isApplied(readsAwaitingApply.firstKey())) {
            for (PendingRead<?> r : readsAwaitingApply.pollFirstEntry().getValue()) r.serve(sm.appliedIndex());
        }
    }

    /** Whether the state machine has applied {@code index}: a read confirmed at it may be served. */
    private boolean isApplied(long index) {
        return index <= sm.appliedIndex();
    }

    private void answerUnansweredRpcs() {
        for (ArrayDeque<RpcReply> q : pendingRpcs.values()) {
            RpcReply r;
            while ((r = q.pollFirst()) != null) r.send(Optional.empty());
        }
    }

    /** Requests from one peer are answered in order per kind (each kind has its own connection stream). */
    private static long rpcKey(int peer, Message m) {
        int kind = switch (m) {
            case Message.RequestVote rv -> 1;
            case Message.RequestVoteResponse r -> 1;
            case Message.InstallSnapshot is -> 2;
            case Message.InstallSnapshotResponse r -> 2;
            case Message.AppendEntries ae -> 0;
            case Message.AppendEntriesResponse r -> 0;
            case Message.TimeoutNow tn -> 3; // answered by nothing: its exchange gets an empty answer
        };
        return peer * 4L + kind;
    }

    // ---------------------------------------------------------------- snapshots

    /** The state machine decodes a leader's snapshot before the core lets it replace anything. */
    private Optional<String> checkSnapshot(long index, long term, io.raftkv.raft.SnapshotData data) {
        try {
            validatedSnapshot = null;
            sm.validate(data);
            validatedSnapshot = data;
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            listener.snapshotRefused(index, term, e.getMessage());
            return Optional.of(e.getMessage());
        }
    }

    /**
     * Raft §7: once enough was applied since the last snapshot, copy the state machine here and
     * let the persister encode and write it; {@link #snapshotWritten} compacts. One at a time.
     */
    private void maybeSnapshot() {
        if (snapshotInFlight || barrier != null) return;
        if (snapshotRetryAtNs != Long.MIN_VALUE && nanoClock.getAsLong() - snapshotRetryAtNs < 0) return;
        long applied = core.appliedIndex();
        if (applied <= lastSnapshotIndex) return;
        if (!snapshots.due(applied - lastSnapshotIndex, bytesSinceSnapshot, lastSnapshotBytes, snapshotStagger)) return;
        snapshotStartNs = nanoClock.getAsLong();
        StateMachine.Image image = sm.capture();
        snapshotCaptureNs = nanoClock.getAsLong() - snapshotStartNs;
        snapshotInFlight = true;
        imageInFlight = image;
        snapshotIndexBefore = lastSnapshotIndex;
        lastSnapshotIndex = applied;
        bytesSinceSnapshot = 0;
        persister.writeSnapshot(applied, core.termAt(applied), core.configurationAt(applied), image);
    }

    // ---------------------------------------------------------------- cluster clock

    /**
     * Cluster time on this leader: never behind what is applied, and advancing with this node's
     * monotonic clock since it became leader in this term (LogCabin's cluster clock). Started at the
     * role change's Ready, or at the term's first proposal if that came first.
     */
    public long clusterTimeMs() {
        if (clockTerm != core.term()) {
            clockTerm = core.term();
            leaderSinceNs = nanoClock.getAsLong();
            leaderBaseMs = sm.clusterTimeMs();
        }
        long elapsedMs = (nanoClock.getAsLong() - leaderSinceNs) / 1_000_000;
        return Math.max(sm.clusterTimeMs(), leaderBaseMs + elapsedMs);
    }

    // ---------------------------------------------------------------- status

    /** The snapshot this node holds (the newest taken, installed or loaded), for status and checks. */
    Optional<Snapshot> heldSnapshot() {
        return Optional.ofNullable(heldSnapshot);
    }

    /** The core, for status and checks only: every change goes through the inputs above. */
    public RaftNode core() {
        return core;
    }

    public StateMachine<R> stateMachine() {
        return sm;
    }

    /** The leader this node last heard from (itself while it leads), if any. */
    public java.util.OptionalInt lastLeader() {
        if (core.role() == Role.LEADER) return java.util.OptionalInt.of(core.id());
        return contactedLeader < 0 ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(contactedLeader);
    }

    /**
     * When this node last heard from a leader (monotonic ns of its clock): now while it leads
     * (check-quorum steps it down when a majority goes silent), the last AppendEntries or
     * InstallSnapshot of the current term's leader otherwise, or the runtime's start if none.
     */
    public long lastLeaderContactNs() {
        return core.role() == Role.LEADER ? nanoClock.getAsLong() : leaderContactNs;
    }

    /** What this runtime has counted so far (a copy: publish it to other threads). */
    public RuntimeCounters counters() {
        return new RuntimeCounters(proposalsReceived, proposalsCommitted, proposalsFailed, pendingWrites.size(),
                leaderChanges, core.readRoundsStarted(), core.readsInRounds());
    }

    /** Whether a write is in flight, inputs are held back, or the core has a Ready to hand out. */
    public boolean busy() {
        return !writes.isEmpty() || !heldInputs.isEmpty() || core.hasReady();
    }

    /** Whether a write is in flight. */
    public boolean writing() {
        return !writes.isEmpty();
    }

    /** Answers every waiting write as the node stops: it may or may not commit. */
    public void stop(String reason) {
        abandonPendingWrites(reason);
        transfers.failAll(reason);
        // The held snapshot's file descriptor goes now, not when the GC finds it (after the loop has
        // stopped: nothing sends from it any more).
        hold(null);
    }
}
