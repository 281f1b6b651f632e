package io.raftkv.server;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.node.MembershipOutcome;
import io.raftkv.node.NodeRuntime;
import io.raftkv.node.Persister;
import io.raftkv.node.ReadOutcome;
import io.raftkv.node.RpcReply;
import io.raftkv.node.RuntimeCounters;
import io.raftkv.node.RuntimeListener;
import io.raftkv.node.StateMachine;
import io.raftkv.node.TransferOutcome;
import io.raftkv.node.WriteOutcome;
import io.raftkv.raft.ConfChange;
import io.raftkv.raft.Configuration;
import io.raftkv.raft.Entry;
import io.raftkv.raft.FollowerProgress;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Message;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftNode;
import io.raftkv.raft.Role;
import io.raftkv.raft.RoleChange;
import io.raftkv.raft.Snapshot;
import io.raftkv.storage.RaftStorage;
import io.raftkv.transport.HostPort;
import io.raftkv.transport.PeerTransport;
import io.raftkv.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * One raftkv node: the Netty adapter of a {@link NodeRuntime}. Two kinds of event loop:
 * <ul>
 *   <li>the <b>node's loop</b> (one thread, {@code raft-node-N}) drives the runtime and does all
 *       of Raft's I/O: the connections this node opens to its peers, and the connections its peers
 *       open to it, which start on a client loop and move here at their first peer RPC
 *       ({@link HttpApi});</li>
 *   <li>the <b>client loops</b> ({@code raft-client-N}) accept every connection and serve the
 *       client API: parsing, TLS, JSON, forwarding, answering. However many clients there are and
 *       however they behave, the work they make stays there, and heartbeats keep their pace.</li>
 * </ul>
 * Handlers hand the node's loop work through {@link #submit(Runnable)} (a queue insert, and a
 * wake-up if the loop sleeps); after the work that came in together, one
 * {@link NodeRuntime#process()} handles the core's Readies (persist, send, apply, advance), so
 * proposals that arrive together share one log write (group commit); answers go back to the
 * client loop of their connection. What handlers read without a round trip (status, leader
 * contact, addresses, the auth state's view) is published by the node's loop. The log is written
 * on the node's loop ({@link RaftStorage#persist} completes before {@link NodeRuntime#persisted}
 * is called), or with {@code -Draftkv.storageThread=true} on a storage thread of its own
 * ({@code raft-storage-N}: the loop goes on while an fsync runs, the writes handed meanwhile
 * share the next fsync); snapshots are encoded and written on a thread of their own.
 */
public final class RaftServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftServer.class);
    /**
     * Client event loops per node. One: the client API's state (per-connection order, the
     * per-address limits) then has one writer, and on this 2-core machine a node's two threads
     * (node loop, client loop) already use both cores under load.
     */
    private static final int CLIENT_LOOPS = 1;

    private final NodeConfig config;
    private final RaftStorage storage;
    private final NodeRuntime<ApplyResult> runtime;
    private final KvStateMachine kv;
    private final EventLoopGroup ioGroup;
    /** The client loops: accept connections, serve the client API, forward (see the class comment). */
    private final EventLoopGroup clientGroup;
    private final PeerTransport peerTransport;
    private final Transport transport;
    private final HttpApi http;
    /** The node's thread: its only event loop, running the runtime too. */
    private final EventLoop loop;
    /** A {@link NodeRuntime#process()} is queued on the loop (loop thread). */
    private boolean processScheduled;
    private final Consumer<Throwable> fatalHandler;

    private volatile boolean running = true;
    private volatile boolean closed;
    /** Encodes and writes snapshots off the loop thread. */
    private final ExecutorService snapshotWriter;
    /**
     * Writes the log and installs leaders' snapshots, in order, on a thread of its own (etcd's
     * asynchronous storage writes, Ratis's single I/O worker): the loop keeps reading, batching,
     * replicating and answering during an fsync, and writes handed meanwhile share the next one.
     */
    private final ExecutorService storageWriter;
    private volatile StatusSnapshot lastStatus;
    /** Watches: SSE streams of changes, fed by the state machine as entries apply. */
    private final WatchHub watches;
    /** When this node last heard from a leader, published by the loop after each process(). */
    private volatile LeaderContact leaderContact;
    /**
     * Every member's address (thesis §4.1: the configuration in use, with the start's {@code -peers}
     * for members the configuration has no address for), this node included; set by the loop.
     */
    private volatile Map<Integer, HostPort> addresses;
    /** Metrics ({@code GET /metrics}); a no-op when the node runs with them off. */
    private final NodeMetrics metrics;
    /** The runtime's counts and the state machine's sessions, published by the loop for scrapes (metrics on only). */
    private volatile RuntimeCounters lastCounters = RuntimeCounters.ZERO;
    private volatile int sessions;
    /** Which cluster this node belongs to: checked on every peer request, sent with every one. */
    private final ClusterIdentity identity;
    /** Peer requests refused (another cluster, no certificate...), for tests and the log. */
    private final java.util.concurrent.atomic.AtomicLong peerRefusals = new java.util.concurrent.atomic.AtomicLong();

    /** TLS for the client API, peers and forwarding ({@code --tls-cert}...); empty: plain HTTP. */
    private final Optional<io.raftkv.security.NodeTls> tls;
    /** The web view's timeline of this node (role changes, snapshots, transfers, membership). */
    private final UiEvents uiEvents = new UiEvents();
    /** The web view ({@code GET /ui}). */
    private final WebUi webUi;

    /** Starts a node: binds its HTTP port (throws if taken) and starts the loop. */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler)
            throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, UnaryOperator.identity(), Optional.empty(),
                ClusterIdentity.defaultFor(config), UiOptions.DEFAULT);
    }

    /** Starts a node of cluster {@code identity}, with TLS when given and its web view set by {@code ui} (the command line's way). */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                                   Optional<io.raftkv.security.NodeTls> tls, ClusterIdentity identity, UiOptions ui)
            throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, UnaryOperator.identity(), tls, identity, ui);
    }

    /** Starts a node of cluster {@code identity}, with TLS when given. */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                                   Optional<io.raftkv.security.NodeTls> tls, ClusterIdentity identity)
            throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, UnaryOperator.identity(), tls, identity, UiOptions.DEFAULT);
    }

    /**
     * Starts a node that serves its client API over HTTPS and talks mutual TLS to its peers with
     * {@code tls}'s certificates (reloaded when they change).
     */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                                   io.raftkv.security.NodeTls tls) throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, UnaryOperator.identity(), Optional.of(tls),
                ClusterIdentity.defaultFor(config), UiOptions.DEFAULT);
    }

    /**
     * Starts a node whose peer transport is wrapped by {@code transportWrapper} (tests cut links or
     * lose messages that way, without the node knowing).
     */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                                   UnaryOperator<Transport> transportWrapper) throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, transportWrapper, Optional.empty(),
                ClusterIdentity.defaultFor(config), UiOptions.DEFAULT);
    }

    /** Starts a node with both a wrapped peer transport and, when given, TLS. */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                                   UnaryOperator<Transport> transportWrapper, Optional<io.raftkv.security.NodeTls> tls)
            throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, transportWrapper, tls, ClusterIdentity.defaultFor(config),
                UiOptions.DEFAULT);
    }

    /** Starts a node with every option: a wrapped transport, TLS, and its cluster identity. */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                                   UnaryOperator<Transport> transportWrapper, Optional<io.raftkv.security.NodeTls> tls,
                                   ClusterIdentity identity, UiOptions ui) throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, transportWrapper, tls, identity, UiOptions.DEFAULT);
    }

    /** Starts a node whose web view is set by {@code ui} ({@code raftkv local} gives it its control server). */
    public static RaftServer start(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                                   UiOptions ui) throws InterruptedException {
        return new RaftServer(config, storage, fatalHandler, UnaryOperator.identity(), Optional.empty(),
                ClusterIdentity.defaultFor(config), ui);
    }

    private RaftServer(NodeConfig config, RaftStorage storage, Consumer<Throwable> fatalHandler,
                       UnaryOperator<Transport> transportWrapper, Optional<io.raftkv.security.NodeTls> tls,
                       ClusterIdentity identity, UiOptions ui) throws InterruptedException {
        this.config = config;
        this.tls = tls;
        this.identity = identity;
        this.storage = storage;
        this.fatalHandler = fatalHandler;
        this.kv = new KvStateMachine(config.sessionTtlMs(), KvStateMachine.DEFAULT_MAX_SESSIONS, config.maxValueBytes(),
                config.watchHistory(), config.watchHistoryBytes());
        this.watches = new WatchHub(kv, config.id(), this::submit);
        this.metrics = config.metrics()
                ? NodeMetrics.create(config.id(), () -> lastStatus, () -> lastCounters, () -> sessions)
                : NodeMetrics.disabled();
        if (metrics.enabled()) storage.observeSyncs(metrics::synced);
        kv.setWatchListener(watches::onEvents);
        long loadStartNs = System.nanoTime();
        RaftStorage.Stored stored = storage.load();
        Map<Integer, String> bootstrapAddresses = new TreeMap<>();
        if (!config.join()) config.members().forEach((id, a) -> bootstrapAddresses.put(id, a.toString()));
        RaftConfig rc = RaftConfig.builder(config.id(), new ArrayList<>(bootstrapAddresses.keySet()))
                .voterAddresses(bootstrapAddresses)
                .tickMs(config.tickMs())
                .electionTicks(config.electionMinMs() / config.tickMs(), config.electionMaxMs() / config.tickMs())
                .heartbeatTicks(Math.max(1, config.heartbeatMs() / config.tickMs()))
                .randomSeed(System.nanoTime() ^ ((long) config.id() << 32))
                .snapshotChunkBytes(config.snapshots().chunkBytes())
                .build();
        this.ioGroup = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("raft-node-" + config.id()),
                io.raftkv.transport.NettyIo.ioHandlerFactory());
        this.loop = ioGroup.next();
        this.clientGroup = new MultiThreadIoEventLoopGroup(CLIENT_LOOPS, new DefaultThreadFactory("raft-client-" + config.id()),
                io.raftkv.transport.NettyIo.ioHandlerFactory());
        if (CLIENT_LOOPS == 1) this.handoff = new Handoff(clientGroup.next());
        this.peerTransport = new PeerTransport(Map.of(), config.bindAddress(), ioGroup, 64 * 1024 * 1024,
                tls.<java.util.function.Supplier<io.netty.handler.ssl.SslContext>>map(t -> t::client).orElse(null));
        if (metrics.enabled()) peerTransport.observeRoundTrips(metrics::appendEntriesRoundTrip);
        peerTransport.sendClusterId(() -> identity.id().orElse(null));
        // Only a node of 'raftkv local' can have its network cut from the web view.
        Optional<NetworkSwitch> network = ui.localControl().map(u -> new NetworkSwitch(peerTransport));
        this.transport = transportWrapper.apply(network.<Transport>map(n -> n).orElse(peerTransport));
        this.storageWriter = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("raft-storage-" + config.id()).unstarted(r));
        this.snapshotWriter = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("raft-snapshot-" + config.id()).unstarted(r));
        this.runtime = new NodeRuntime<>(rc, stored, kv, persister(), transport, System::nanoTime,
                config.snapshots(), new LogListener());
        useConfiguration(runtime.core().configuration());
        usePeers(runtime.core().peers());
        long loadMs = (System.nanoTime() - loadStartNs) / 1_000_000;
        long snapshotIndex = stored.snapshot().map(Snapshot::index).orElse(0L);
        LOG.atInfo().setMessage("node {} loaded {} in {} ms: snapshot at index {} with {} keys, {} log entries after it, term {}")
                .addArgument(config.id()).addArgument(storage.getClass().getSimpleName()).addArgument(loadMs)
                .addArgument(snapshotIndex).addArgument(kv.size()).addArgument(stored.entries().size())
                .addArgument(stored.hardState().term())
                .addKeyValue("event", "recovered").addKeyValue("node", config.id()).addKeyValue("loadMs", loadMs)
                .addKeyValue("snapshotIndex", snapshotIndex).addKeyValue("logEntries", stored.entries().size())
                .addKeyValue("term", stored.hardState().term()).log();
        this.lastStatus = snapshotStatus();
        this.leaderContact = new LeaderContact(runtime.lastLeader(), runtime.lastLeaderContactNs());
        transport.start(new Transport.Inbound() {
            @Override
            public void request(Message request, RpcReply reply) {
                submit(() -> runtime.stepRequest(request, reply));
            }

            @Override
            public void response(Message response) {
                submit(() -> runtime.step(response));
            }
        });
        this.webUi = new WebUi(config.id(), this::status, () -> logTail(UiState.TAIL_ENTRIES), uiEvents,
                new RequestRate(metrics::keyValueRequestTimers), ui, network,
                tls.map(io.raftkv.security.NodeTls::jdkClient).orElse(null));
        uiEvents.add("start", stored.hardState().term(), "node " + config.id() + " started: log " + (snapshotIndex + 1)
                + ".." + runtime.core().lastIndex() + (snapshotIndex > 0 ? ", snapshot at " + snapshotIndex : ""));
        try {
            this.http = new HttpApi(this, clientGroup);
            http.bind(config.listenAddress(), config.self().port());
        } catch (RuntimeException | InterruptedException e) {
            clientGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            ioGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        // With a fixed delay, not a fixed rate: after the loop stood still (a GC pause, a descheduled VM)
        // the ticks it missed are dropped, as Go's ticker drops them for etcd. Run back to back they
        // would time out every election timer and the leader's check-quorum before one heartbeat, or
        // its answer waiting in a socket, was read: a healthy cluster would elect a new leader after
        // every long pause (PausedNodesTest). Raft's safety does not rest on ticks; reads are ReadIndex.
        loop.scheduleWithFixedDelay(() -> submit(runtime::tick), config.tickMs(), config.tickMs(), TimeUnit.MILLISECONDS);
        loop.scheduleWithFixedDelay(() -> submit(watches::progress), config.watchProgressMs(), config.watchProgressMs(),
                TimeUnit.MILLISECONDS);
        Configuration members = runtime.core().configuration();
        LOG.info("node {}: cluster {}{}", config.id(), identity.id().orElse("not known yet (learned from the cluster that adds it)"),
                tls.isPresent() ? "; peers authenticated by mutual TLS"
                        : "; TLS is off: peers are NOT authenticated (anyone who reaches this port can send Raft"
                        + " messages; the cluster id keeps other clusters' nodes out, not forgeries): use --tls-cert");
        LOG.info("node {} listening on {}://{} ({}; {} transport); {}", config.id(), tls.isPresent() ? "https" : "http", config.self(),
                config.listenAddress().map(a -> "bound to " + a + " only; --listen 0.0.0.0 for every interface")
                        .orElse("bound to every interface (--listen)"), io.raftkv.transport.NettyIo.name(ioGroup),
                members.isEmpty()
                        ? "joining: no configuration until the cluster's leader sends one"
                        : "configuration " + describe(members, runtime.core().configurationIndex()));
    }

    public NodeConfig config() {
        return config;
    }

    /** The node's loop: where peers' connections move at their first peer RPC. */
    EventLoop loop() {
        return loop;
    }

    /** The client loops (tests stall them to show Raft does not depend on them). */
    EventLoopGroup clientLoops() {
        return clientGroup;
    }

    /** Which cluster this node belongs to. */
    public ClusterIdentity identity() {
        return identity;
    }

    /** A peer request was refused: counted (metric {@code raftkv_peer_messages_refused_total}). */
    void peerRefused(String reason) {
        peerRefusals.incrementAndGet();
        metrics.peerRefused(reason);
    }

    /** Peer requests refused since start. */
    public long peerRefusals() {
        return peerRefusals.get();
    }

    /** The node's TLS, if it speaks TLS. */
    public Optional<io.raftkv.security.NodeTls> tls() {
        return tls;
    }

    /**
     * Runs {@code task} on the loop thread, then lets the runtime process (once for all tasks queued
     * together). From a client loop, tasks are gathered over that loop's turn and handed over
     * together ({@link Handoff}).
     */
    public void submit(Runnable task) {
        if (!running) return;
        Handoff h = handoff;
        if (h != null && h.here.inEventLoop()) h.add(task);
        else loop.execute(() -> runTask(task));
    }

    /** The client loop's handoff (one client loop: {@link #CLIENT_LOOPS}); null until the loops exist. */
    private volatile Handoff handoff;

    /**
     * What a client loop hands the node loop during one of its turns (the requests of every
     * connection it read): one task for the node loop, so they meet in one {@code process()} and
     * one Ready (one log write, one ReadIndex round) as they did when both were one loop. The first
     * task of a turn queues the handover on the client loop itself, behind this turn's reads.
     */
    private final class Handoff implements Runnable {
        final io.netty.util.concurrent.EventExecutor here;
        private ArrayList<Runnable> tasks = new ArrayList<>();

        Handoff(io.netty.util.concurrent.EventExecutor here) {
            this.here = here;
        }

        void add(Runnable task) {
            if (tasks.isEmpty()) here.execute(this);
            tasks.add(task);
        }

        @Override
        public void run() {
            ArrayList<Runnable> batch = tasks;
            tasks = new ArrayList<>();
            if (running) loop.execute(() -> {
                for (Runnable t : batch) runTask(t);
            });
        }
    }

    private void runTask(Runnable task) {
        if (!running) return;
        try {
            task.run();
        } catch (Throwable t) {
            fatal(t);
            return;
        }
        if (!processScheduled) {
            // Queued behind the tasks already waiting, so everything that came in together is in one Ready.
            processScheduled = true;
            loop.execute(this::process);
        }
    }

    // ---------------------------------------------------------------- API used by the HTTP layer

    public CompletableFuture<WriteOutcome<ApplyResult>> propose(KvCommand cmd) {
        CompletableFuture<WriteOutcome<ApplyResult>> f = new CompletableFuture<>();
        byte[] command = cmd.encode();
        submit(() -> runtime.propose(command, f::complete));
        return f;
    }

    /** A linearizable read through ReadIndex (thesis §6.4). */
    public CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> read(String key) {
        CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> f = new CompletableFuture<>();
        submit(() -> runtime.read(() -> kv.entry(key), f::complete));
        return f;
    }

    /** A read of this node's applied state, which may lag the leader: no guarantee but speed. */
    public CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> readStale(String key) {
        CompletableFuture<ReadOutcome<Optional<io.raftkv.kv.KeyValue>>> f = new CompletableFuture<>();
        submit(() -> f.complete(new ReadOutcome.Value<>(kv.entry(key), kv.appliedIndex())));
        return f;
    }

    /** A page of keys, linearizable through ReadIndex or (stale) from this node's applied state. */
    public CompletableFuture<ReadOutcome<KvStateMachine.Range>> range(RangeQuery q, boolean linearizable) {
        CompletableFuture<ReadOutcome<KvStateMachine.Range>> f = new CompletableFuture<>();
        if (linearizable) {
            submit(() -> runtime.read(() -> q.run(kv), f::complete));
        } else {
            submit(() -> f.complete(new ReadOutcome.Value<>(q.run(kv), kv.appliedIndex())));
        }
        return f;
    }

    /**
     * Leadership transfer (thesis §3.10) to {@code target}, or the most caught-up voter when empty:
     * completes once this node sees the target lead, or the transfer fail.
     */
    public CompletableFuture<TransferOutcome> transferLeader(OptionalInt target) {
        CompletableFuture<TransferOutcome> f = new CompletableFuture<>();
        submit(() -> {
            uiEvents.add("transfer", runtime.core().term(), "leader transfer asked, to "
                    + (target.isPresent() ? "node " + target.getAsInt() : "the most caught-up voter"));
            runtime.transferLeadership(target, outcome -> {
                uiEvents.add("transfer", runtime.core().term(), "leader transfer: " + describe(outcome));
                f.complete(outcome);
            });
        });
        return f;
    }

    private static String describe(TransferOutcome o) {
        return switch (o) {
            case TransferOutcome.Transferred t -> "node " + t.leader() + " leads in term " + t.term();
            case TransferOutcome.NotLeader n -> "refused, this node does not lead";
            case TransferOutcome.Refused r -> "refused: " + r.message();
            case TransferOutcome.Failed fl -> "failed: " + fl.reason();
        };
    }

    /**
     * The terms of the last {@code max} entries of this node's log, read on the loop (the web view
     * asks a few times a second while a page is open; nothing is done when none is).
     */
    CompletableFuture<LogTail> logTail(int max) {
        CompletableFuture<LogTail> f = new CompletableFuture<>();
        submit(() -> {
            RaftNode core = runtime.core();
            long last = core.lastIndex();
            long first = Math.max(core.firstIndex(), last - max + 1);
            long[] terms = new long[(int) Math.max(0, last - first + 1)];
            for (int i = 0; i < terms.length; i++) terms[i] = core.termAt(first + i);
            f.complete(new LogTail(first, terms));
        });
        return f;
    }

    /** The web view of this node. */
    WebUi webUi() {
        return webUi;
    }

    /**
     * A membership change (thesis ch. 4): completes once it is committed (or refused, or its fate
     * is unknown because this node lost leadership first).
     */
    public CompletableFuture<MembershipOutcome> changeMembership(ConfChange change) {
        CompletableFuture<MembershipOutcome> f = new CompletableFuture<>();
        submit(() -> runtime.changeMembership(change, f::complete));
        return f;
    }

    /**
     * The membership as the leader sees it: empty with the leader hint when this node is not the
     * leader (only the leader knows how far each learner is behind).
     */
    public CompletableFuture<MembersView> members() {
        CompletableFuture<MembersView> f = new CompletableFuture<>();
        submit(() -> f.complete(membersView()));
        return f;
    }

    private MembersView membersView() {
        RaftNode core = runtime.core();
        Map<Integer, Long> lag = new TreeMap<>();
        if (core.role() == Role.LEADER) {
            // Only members that acknowledged an entry: one not heard from yet has no known lag (and is not caught up).
            for (FollowerProgress p : core.followerProgress()) {
                if (p.matchIndex() > 0) lag.put(p.id(), Math.max(0, core.lastIndex() - p.matchIndex()));
            }
            lag.put(config.id(), 0L);
        }
        return new MembersView(core.configuration(), core.configurationIndex(), core.commitIndex(),
                core.role() == Role.LEADER, core.leaderId(), lag, core.config().maxLearnerLagEntries(), addresses);
    }

    /** A lease as {@code GET /lease} shows it, read through ReadIndex on the leader (its cluster clock). */
    public CompletableFuture<ReadOutcome<Optional<com.fasterxml.jackson.databind.node.ObjectNode>>> lease(long id) {
        CompletableFuture<ReadOutcome<Optional<com.fasterxml.jackson.databind.node.ObjectNode>>> f = new CompletableFuture<>();
        submit(() -> runtime.read(() -> kv.lease(id).map(l -> KvApiJson.lease(l, runtime.clusterTimeMs())), f::complete));
        return f;
    }

    /** Starts a watch (thesis-free: etcd's watch over Server-Sent Events) on this node's applied state. */
    boolean watch(WatchHub.Request req, ResponseOrder.Reply reply, int max) {
        Optional<WatchHub.Slot> slot = watches.reserve(max, reply);
        slot.ifPresent(s -> submit(() -> watches.open(req, reply, s)));
        return slot.isPresent();
    }

    /** The server half of the peer transport: where the HTTP layer hands a peer's request. */
    PeerTransport peerTransport() {
        return peerTransport;
    }

    /** Latest status, refreshed by the loop after every iteration (never blocks). */
    public StatusSnapshot status() {
        return lastStatus;
    }

    /**
     * When this node last heard from a leader, and which (any thread). While it leads: itself,
     * now; a leader cut off from its majority steps down after an election timeout (check-quorum).
     */
    public LeaderContact leaderContact() {
        LeaderContact c = leaderContact;
        return lastStatus.role().equals("leader") ? new LeaderContact(c.leaderId(), System.nanoTime()) : c;
    }

    public OptionalInt leaderId() {
        StatusSnapshot s = lastStatus;
        return s.leaderId() < 0 ? OptionalInt.empty() : OptionalInt.of(s.leaderId());
    }

    public Optional<HostPort> addressOf(int id) {
        return Optional.ofNullable(addresses.get(id));
    }

    /**
     * Starts using {@code configuration} (loop thread, or the constructor) for the address book:
     * where members are, for forwarding, {@code /members} and {@code /status}. Whom the transport
     * reaches is the core's business ({@link #usePeers}).
     */
    private void useConfiguration(Configuration configuration) {
        Map<Integer, HostPort> all = new TreeMap<>();
        for (int id : configuration.members()) {
            String a = configuration.address(id).orElse("");
            resolve(id, a).ifPresent(hp -> all.put(id, hp));
            if (!a.isEmpty() && !parses(a)) {
                LOG.warn("node {}: member {} has an address that is not host:port ({}); it cannot be reached", config.id(), id, a);
            }
        }
        if (!config.join()) config.members().forEach(all::putIfAbsent);
        all.put(config.id(), config.self());
        addresses = Map.copyOf(all);
    }

    /**
     * Points the transport at the servers the core sends requests to ({@link RaftNode#peers()}:
     * the members, and a removed server until it has been told of its removal, thesis §4.2.3).
     */
    private void usePeers(Map<Integer, String> peers) {
        Map<Integer, HostPort> reach = new TreeMap<>();
        peers.forEach((id, a) -> {
            if (id != config.id()) resolve(id, a).ifPresent(hp -> reach.put(id, hp));
        });
        transport.updatePeers(reach);
    }

    /**
     * Where server {@code id} is: {@code address} as the log records it, or, where it records none
     * (the original static start) or one that is not host:port, the start's {@code -peers}.
     */
    private Optional<HostPort> resolve(int id, String address) {
        if (parses(address)) return Optional.of(HostPort.parse(address));
        return config.join() ? Optional.empty() : Optional.ofNullable(config.members().get(id));
    }

    private static boolean parses(String address) {
        if (address.isEmpty()) return false;
        try {
            HostPort.parse(address);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static String describe(Configuration c, long index) {
        return "voters " + c.voters() + (c.learners().isEmpty() ? "" : ", learners " + c.learners())
                + " (from log index " + index + ")";
    }

    // ---------------------------------------------------------------- the loop

    private void process() {
        processScheduled = false;
        if (!running) return;
        try {
            runtime.process();
            lastStatus = snapshotStatus();
            leaderContact = new LeaderContact(runtime.lastLeader(), runtime.lastLeaderContactNs());
            if (metrics.enabled()) {
                lastCounters = runtime.counters();
                sessions = kv.sessionCount();
            }
        } catch (Throwable t) {
            fatal(t);
        }
    }

    /** A broken invariant or a storage failure: stop this node rather than go on wrong. */
    private void fatal(Throwable t) {
        if (!running) return;
        LOG.atError().setMessage("node {} stopping on fatal error").addArgument(config.id()).setCause(t)
                .addKeyValue("event", "fatal").addKeyValue("node", config.id())
                .addKeyValue("error", String.valueOf(t.getMessage())).log();
        running = false;
        fatalHandler.accept(t);
    }

    /**
     * The applied users, roles and grants as of the last one applied (any thread: an unchanging
     * view, published by the loop as it applies each change).
     */
    public io.raftkv.auth.AuthStore authStore() {
        return kv.auth().view();
    }

    /** Why this node cannot write now, or empty: set while its disk is full (any thread). */
    public Optional<String> diskFull() {
        return Optional.ofNullable(diskFull);
    }

    private volatile String diskFull;

    /**
     * The runtime's writes, the log's on the loop thread ({@link InlinePersister}, the default) or
     * on a storage thread of its own ({@link StorageThreadPersister}, with
     * {@code -Draftkv.storageThread=true}); snapshots on the snapshot thread. A write that finds the
     * disk full was undone by the storage; it stays in flight (the runtime sends and acknowledges
     * nothing that depends on it) and is tried again every second until it fits, while the node
     * refuses new writes and serves stale reads; then everything goes on.
     */
    private Persister persister() {
        // Off by default: on this project's 2-core test machine the thread hops cost more than the
        // fsync time they free on the loop (BENCHMARKS.md, "Async storage writes"); the runtime
        // pipelines writes either way.
        return Boolean.getBoolean(STORAGE_THREAD_PROPERTY) ? new StorageThreadPersister() : new InlinePersister();
    }

    /** The system property that has nodes started from then on write the log on a storage thread. */
    static final String STORAGE_THREAD_PROPERTY = "raftkv.storageThread";

    /**
     * What both persisters do alike: snapshots are encoded and written on the snapshot thread; the
     * log's compaction after one; saying when the disk fills and has room again.
     */
    private abstract class StoragePersister implements Persister {
        static final long DISK_RETRY_MS = 1000;

        /** Compacts the stored log up to a durable snapshot; without disk room the old segments stay. */
        void compactLog(Snapshot snapshot, long sizeBytes) {
            try {
                storage.snapshotWritten(snapshot, sizeBytes);
            } catch (io.raftkv.storage.StorageException e) {
                if (!e.diskFull()) throw e;
                // Compaction rewrites the hard state first; without room the old segments simply stay.
                LOG.warn("node {}: log not compacted after the snapshot at index {}, the disk is full: {}", config.id(),
                        snapshot.index(), e.getMessage());
            }
        }

        /** A write found the disk full: said once, and the node refuses writes ({@link #diskFull()}). */
        void diskIsFull(io.raftkv.storage.StorageException e) {
            if (diskFull == null) {
                LOG.atError().setMessage("node {}: disk full, refusing writes and linearizable reads until there"
                                + " is room (trying again every {} ms): {}").addArgument(config.id())
                        .addArgument(DISK_RETRY_MS).addArgument(e.getMessage())
                        .addKeyValue("event", "disk_full").addKeyValue("node", config.id()).log();
            }
            diskFull = "its disk is full (" + e.getMessage() + ")";
        }

        /** The write that found the disk full went through after {@code waitedMs}: writes resume. */
        void diskHasRoom(long waitedMs) {
            diskFull = null;
            LOG.atInfo().setMessage("node {}: the disk has room again after {} ms; writes resume").addArgument(config.id())
                    .addArgument(waitedMs).addKeyValue("event", "disk_room").addKeyValue("node", config.id()).log();
        }

        @Override
        public void writeSnapshot(long index, long term, Configuration configuration, StateMachine.Image image) {
            snapshotWriter.execute(() -> {
                try {
                    // Streamed to its file, then read from there: never whole on the heap.
                    io.raftkv.storage.RaftStorage.Written written = storage.writeSnapshot(index, term, configuration, image::encodeTo);
                    submit(() -> runtime.snapshotWritten(written.snapshot(), written.sizeBytes()));
                } catch (io.raftkv.storage.StorageException e) {
                    if (e.diskFull()) {
                        // Nothing of it stays on disk: the log is kept as it is and a snapshot tried later.
                        LOG.warn("node {}: snapshot at index {} not written, the disk is full; trying again in 30 s: {}",
                                config.id(), index, e.getMessage());
                        submit(() -> runtime.snapshotFailed(TimeUnit.SECONDS.toNanos(30)));
                    } else {
                        submit(() -> {
                            throw e; // the loop stops the node, as for any storage failure
                        });
                    }
                } catch (RuntimeException e) {
                    submit(() -> {
                        throw e; // the loop stops the node, as for any storage failure
                    });
                }
            });
        }
    }

    /** The log written on the loop thread: {@link #persist} completes before it returns, unless the disk is full. */
    private final class InlinePersister extends StoragePersister {
        /** The write waiting for disk space, its token (loop thread). */
        private Write blocked;
        private long blockedToken;
        private long blockedSinceNs;
        /** The write's snapshot as the storage keeps it, once stored (null before): its snapshot part is done. */
        private Snapshot installed;

        /** Writes handed while one waits for disk space: they follow it, in order. */
        private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();

        private record Waiting(long token, Write write) {}

        @Override
        public void persist(long token, Write write) {
            if (blocked != null) {
                waiting.addLast(new Waiting(token, write));
                return;
            }
            installed = null;
            if (tryPersist(write)) {
                done(token);
            } else {
                blocked = write;
                blockedToken = token;
                blockedSinceNs = System.nanoTime();
                runtime.storageStalled();
                loop.schedule(() -> submit(this::retry), DISK_RETRY_MS, TimeUnit.MILLISECONDS);
            }
        }

        /** The write is durable; a snapshot from the leader is held as read from its file, not as received. */
        private void done(long token) {
            Snapshot stored = installed;
            installed = null;
            if (stored == null) runtime.persisted(token);
            else runtime.persisted(token, stored);
        }

        /** Persists {@code write}; false if the disk is full (then nothing of the failed part was written). */
        private boolean tryPersist(Write write) {
            try {
                if (installed == null && write.snapshot().isPresent()) {
                    installed = storage.installSnapshot(write.snapshot().get());
                }
                if (write.hardState().isPresent() || !write.entries().isEmpty()) {
                    storage.persist(write.hardState().orElse(null), write.entries());
                }
                return true;
            } catch (io.raftkv.storage.StorageException e) {
                if (!e.diskFull()) throw e;
                diskIsFull(e);
                return false;
            }
        }

        private void retry() {
            if (blocked == null) return;
            if (!tryPersist(blocked)) {
                loop.schedule(() -> submit(this::retry), DISK_RETRY_MS, TimeUnit.MILLISECONDS);
                return;
            }
            long token = blockedToken;
            blocked = null;
            diskHasRoom((System.nanoTime() - blockedSinceNs) / 1_000_000);
            done(token);
            while (blocked == null && !waiting.isEmpty()) {
                Waiting next = waiting.pollFirst();
                persist(next.token(), next.write());
            }
        }

        @Override
        public void releaseLog(Snapshot snapshot, long sizeBytes) {
            compactLog(snapshot, sizeBytes);
        }
    }

    private final class StorageThreadPersister extends StoragePersister {
        /** Work for the storage thread, in the order handed: {@link Persist} and {@link Release}. Guarded by itself. */
        private final ArrayDeque<Object> queue = new ArrayDeque<>();
        /** Whether a drain is queued or running on the storage thread (guarded by {@link #queue}). */
        private boolean draining;
        /** Set by the storage thread after a storage failure: nothing more is written (the loop stops the node). */
        private volatile boolean failed;

        private record Persist(long token, Write write) {}

        private record Release(Snapshot snapshot, long sizeBytes) {}

        @Override
        public void persist(long token, Write write) {
            enqueue(new Persist(token, write));
        }

        /** After the writes handed before it, on the storage thread like every change of the log. */
        @Override
        public void releaseLog(Snapshot snapshot, long sizeBytes) {
            enqueue(new Release(snapshot, sizeBytes));
        }

        private void enqueue(Object task) {
            synchronized (queue) {
                queue.addLast(task);
                if (draining) return;
                draining = true;
            }
            storageWriter.execute(this::drain);
        }

        /**
         * On the storage thread: takes everything queued and writes it, consecutive Readies' writes
         * as one (one WAL append, one fsync: group commit across Readies, while the loop goes on
         * taking more), then tells the loop which are durable, in order.
         */
        private void drain() {
            while (!failed) {
                List<Object> batch;
                synchronized (queue) {
                    if (queue.isEmpty()) {
                        draining = false;
                        return;
                    }
                    batch = new ArrayList<>(queue);
                    queue.clear();
                }
                try {
                    write(batch);
                } catch (RuntimeException e) {
                    failed = true;
                    submit(() -> {
                        throw e; // the loop stops the node, as for any storage failure
                    });
                }
            }
        }

        private void write(List<Object> batch) {
            List<Long> tokens = new ArrayList<>();
            HardState hs = null;
            List<Entry> entries = new ArrayList<>();
            for (Object task : batch) {
                if (task instanceof Persist p && p.write().snapshot().isEmpty()) {
                    tokens.add(p.token());
                    if (p.write().hardState().isPresent()) hs = p.write().hardState().get();
                    append(entries, p.write().entries());
                    continue;
                }
                if (!tokens.isEmpty()) {
                    persistOrWait(null, hs, entries);
                    tell(tokens);
                    tokens = new ArrayList<>();
                    hs = null;
                    entries = new ArrayList<>();
                }
                switch (task) {
                    case Persist p -> {
                        Snapshot stored = persistOrWait(p.write().snapshot().get(), p.write().hardState().orElse(null),
                                p.write().entries());
                        // Held as read from its file from now on, not as received.
                        submit(() -> runtime.persisted(p.token(), stored));
                    }
                    case Release r -> compactLog(r.snapshot(), r.sizeBytes());
                    default -> throw new IllegalStateException("unknown storage task " + task);
                }
            }
            if (!tokens.isEmpty()) {
                persistOrWait(null, hs, entries);
                tell(tokens);
            }
        }

        /** Adds {@code next} to {@code merged}: a later write replaces the stored suffix from its first entry on. */
        private static void append(List<Entry> merged, List<Entry> next) {
            if (next.isEmpty()) return;
            long first = next.getFirst().index();
            if (!merged.isEmpty()) {
                long mergedFirst = merged.getFirst().index();
                if (first <= mergedFirst) merged.clear();
                else if (first <= merged.getLast().index()) merged.subList((int) (first - mergedFirst), merged.size()).clear();
            }
            merged.addAll(next);
        }

        private void tell(List<Long> tokens) {
            submit(() -> {
                for (long t : tokens) runtime.persisted(t);
            });
        }

        /**
         * Writes a leader's snapshot (if any), then the hard state and entries. A part that finds
         * the disk full was undone by the storage; it is tried again every second (a snapshot part
         * once done, not again) while the node refuses writes, and the loop hears of it only once
         * it is durable. Returns the snapshot as the storage keeps it (null without one).
         */
        private Snapshot persistOrWait(Snapshot snapshot, HardState hs, List<Entry> entries) {
            long sinceNs = System.nanoTime();
            Snapshot stored = null;
            while (true) {
                try {
                    if (snapshot != null && stored == null) stored = storage.installSnapshot(snapshot);
                    if (hs != null || !entries.isEmpty()) storage.persist(hs, entries);
                    break;
                } catch (io.raftkv.storage.StorageException e) {
                    if (!e.diskFull() || !running) throw e;
                    if (diskFull == null) submit(runtime::storageStalled);
                    diskIsFull(e);
                    java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(DISK_RETRY_MS));
                }
            }
            if (diskFull != null) diskHasRoom((System.nanoTime() - sinceNs) / 1_000_000);
            return stored;
        }
    }

    /** Role changes and snapshots in the node's log. */
    private final class LogListener implements RuntimeListener<ApplyResult> {
        @Override
        public void configurationChanged(Configuration configuration) {
            useConfiguration(configuration);
            RaftNode core = runtime.core();
            LOG.info("node {}: configuration now {}{}", config.id(), describe(configuration, core.configurationIndex()),
                    configuration.contains(config.id()) ? "" : "; this node is not a member");
            uiEvents.add("membership", core.term(), "configuration now " + describe(configuration, core.configurationIndex()));
        }

        @Override
        public void peersChanged(Map<Integer, String> peers) {
            usePeers(peers);
        }

        @Override
        public void roleChanged(RoleChange change) {
            // The fields also as key-values: with --log-format json each is a field of its own.
            LOG.atInfo().setMessage("node {}: {}").addArgument(config.id()).addArgument(change)
                    .addKeyValue("event", "role_change").addKeyValue("node", config.id())
                    .addKeyValue("term", change.term()).addKeyValue("from", change.from().label())
                    .addKeyValue("to", change.to().label()).addKeyValue("reason", change.reason()).log();
            metrics.roleChanged(change);
            uiEvents.add("role", change.term(), change.from().label() + " -> " + change.to().label() + " (" + change.reason() + ")");
        }

        @Override
        public void readRoundStarted(int reads) {
            metrics.readRoundStarted(reads);
        }

        @Override
        public void snapshotInstalled(Snapshot snap) {
            LOG.info("node {}: installed snapshot at index {} (term {}, {} bytes, {} keys) from the leader",
                    config.id(), snap.index(), snap.term(), snap.data().length(), kv.size());
            watches.onSnapshotInstalled(snap.index());
            metrics.snapshotInstalled();
            uiEvents.add("snapshot", runtime.core().term(), "installed the leader's snapshot at index " + snap.index()
                    + " (" + snap.data().length() + " bytes)");
        }

        @Override
        public void snapshotRefused(long index, long term, String reason) {
            LOG.warn("node {}: refused the leader's snapshot at index {} (term {}): {}", config.id(), index, term, reason);
        }

        @Override
        public void snapshotTaken(Snapshot snap, long sizeBytes, long compactedTo, long captureNs, long totalNs) {
            LOG.info("node {}: snapshot at index {} ({} bytes) in {} ms ({} us on the loop); log now starts at {}",
                    config.id(), snap.index(), sizeBytes, totalNs / 1_000_000, captureNs / 1000,
                    runtime.core().firstIndex());
            metrics.snapshotTaken(totalNs);
            uiEvents.add("snapshot", runtime.core().term(), "snapshot at index " + snap.index() + " (" + sizeBytes
                    + " bytes); log now starts at " + runtime.core().firstIndex());
        }
    }

    private StatusSnapshot snapshotStatus() {
        RaftNode core = runtime.core();
        int leader = core.leaderId().orElse(-1);
        List<FollowerProgress> followers = core.role() == Role.LEADER ? core.followerProgress() : List.of();
        Map<Integer, HostPort> book = addresses;
        Configuration members = core.configuration();
        Map<Integer, HostPort> memberAddresses = new TreeMap<>();
        for (int id : members.members()) if (book.containsKey(id)) memberAddresses.put(id, book.get(id));
        HostPort leaderAddress = leader < 0 ? null : book.get(leader);
        return new StatusSnapshot(config.id(), config.self().toString(), core.role().label(), core.term(), leader,
                leaderAddress == null ? null : leaderAddress.toString(), core.votedFor(), core.commitIndex(),
                core.appliedIndex(), core.lastIndex(), core.lastTerm(), kv.size(), followers,
                ProcessHandle.current().pid(), memberAddresses, core.firstIndex(), storage.stats(),
                members.learners().keySet(), core.configurationIndex());
    }

    // ---------------------------------------------------------------- shutdown

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        running = false;
        // No interrupt: the task running now (a WAL write or fsync, say) finishes, and every task
        // after it sees running == false. An interrupt during a write closes the FileChannel
        // (ClosedByInterruptException): a storage failure and a torn record at every stop.
        if (!loop.inEventLoop()) loop.submit(() -> watches.closeAll("node " + config.id() + " stopped; resume on another node"))
                .awaitUninterruptibly(5, TimeUnit.SECONDS);
        snapshotWriter.shutdown();
        storageWriter.shutdown();
        try {
            if (!snapshotWriter.awaitTermination(30, TimeUnit.SECONDS)) LOG.warn("node {}: snapshot still being written at stop", config.id());
            // The writes handed before the stop finish (a torn one would be cut at the next start anyway).
            if (!storageWriter.awaitTermination(30, TimeUnit.SECONDS)) LOG.warn("node {}: log still being written at stop", config.id());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        http.close();
        webUi.close();
        transport.close();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        ioGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        storage.close();
        runtime.stop("node stopped");
        metrics.close();
        tls.ifPresent(io.raftkv.security.NodeTls::close);
        LOG.info("node {} stopped", config.id());
    }

    /** This node's metrics (disabled: records nothing, serves nothing). */
    NodeMetrics metrics() {
        return metrics;
    }

    /** Whether the loop is still running (false after close or a fatal error). */
    public boolean isRunning() {
        return running;
    }
}
