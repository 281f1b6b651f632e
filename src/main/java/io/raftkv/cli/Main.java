package io.raftkv.cli;

import io.raftkv.client.RaftKvClient;
import io.raftkv.server.BootstrapFile;
import io.raftkv.server.ClusterIdentity;
import io.raftkv.security.NodeTls;
import io.raftkv.server.Joiner;
import io.raftkv.server.NodeConfig;
import io.raftkv.server.RaftServer;
import io.raftkv.server.UiOptions;
import io.raftkv.storage.FileStorage;
import io.raftkv.storage.StorageException;
import io.raftkv.transport.HostPort;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code raftkv}: runs one node, or with a subcommand the shell or a local cluster. */
@Command(name = "raftkv", mixinStandardHelpOptions = true, version = "raftkv 0.1.0",
        subcommands = {ShellCommand.class, LocalCommand.class, BenchCommand.class, ChaosCommand.class,
                CheckHistoryCommand.class, TransferLeaderCommand.class, MemberCommand.class, CertsCommand.class,
                AdminCommands.UserCommand.class, AdminCommands.RoleCommand.class, AdminCommands.AuthCommand.class},
        description = {"A strongly consistent, replicated key-value store on Raft.", "",
                "Without a subcommand, runs one node. When started in a terminal the node also opens the"
                        + " interactive shell on its stdin (see 'raftkv shell --help' for its commands)."},
        footer = {"", "Examples (the report's 3-node cluster):",
                "  raftkv -id 0 -port 8000 -peers \"localhost:8001,localhost:8002\"",
                "  raftkv -id 1 -port 8001 -peers \"localhost:8000,localhost:8002\"",
                "  raftkv -id 2 -port 8002 -peers \"localhost:8000,localhost:8001\"",
                "  raftkv local                       3 nodes on this machine with the shell attached",
                "  raftkv shell --cluster localhost:8000,localhost:8001,localhost:8002",
                "  raftkv transfer-leader --cluster localhost:8000 --to 2   move the leadership to node 2",
                "  raftkv -id 3 -port 8003 -join localhost:8000   a new node joins the running cluster as a learner",
                "  raftkv member list --cluster localhost:8000     the members; then member promote|remove --id N",
                "  raftkv chaos --nodes 3 --duration 60s   fault injection on a fresh local cluster, with a verdict",
                "  raftkv check-history data/chaos/<date-time>/history.jsonl   is this history linearizable?",
                "  raftkv bench -c localhost:8000     load, throughput and latency percentiles"},
        sortOptions = false, usageHelpAutoWidth = true)
public final class Main implements Callable<Integer> {
    /** Exit code for bad flags or inconsistent configuration. */
    static final int EXIT_USAGE = 2;

    @Option(names = {"-id", "--id"}, paramLabel = "ID", description = "This node's id (>= 0).")
    Integer id;

    @Option(names = {"-port", "--port"}, paramLabel = "PORT", description = "Port to serve the client API and peer RPCs on.")
    Integer port;

    @Option(names = {"-peers", "--peers"}, paramLabel = "LIST", description = {
            "The other nodes, comma-separated. Bare form 'host:port,host:port': ids are the positions of all",
            "addresses (this node's included) sorted by host, then port. Explicit form 'id=host:port,...'.",
            "Empty: a single-node cluster."})
    String peers;

    @Option(names = {"-join", "--join"}, paramLabel = "LIST", description = {
            "Join a running cluster through these of its nodes (host:port, comma-separated): the node starts",
            "with an empty data folder, asks to be added as a learner, then catches up; promote it with",
            "'raftkv member promote'. A restart with its data folder needs neither -join nor -peers."})
    String join;

    @Option(names = {"-host", "--host"}, paramLabel = "HOST",
            description = "Host name peers use to reach this node (default: the --bind address, else localhost).")
    String host;

    @Option(names = {"-bind", "--bind"}, paramLabel = "ADDR", description = {
            "Listen on this local address only, and connect to peers from it (default: listen on the address of -host).",
            "With one loopback address per node (127.0.0.2, 127.0.0.3, ...) nodes can share a port, and",
            "firewall rules can cut the link between two nodes (see 'raftkv chaos')."})
    String bind;

    @Option(names = "--listen", paramLabel = "ADDR", description = {
            "Listen on this address: 0.0.0.0 (or ::) for every interface. Default: only the address of this",
            "node's own -host (loopback for localhost), so a node is never open to every network by accident."})
    String listen;

    @Option(names = "--heartbeat-ms", defaultValue = "50", description = "Leader heartbeat interval (default: ${DEFAULT-VALUE}).")
    int heartbeatMs;

    @Option(names = "--election-min-ms", defaultValue = "300", description = "Election timeout lower bound (default: ${DEFAULT-VALUE}).")
    int electionMinMs;

    @Option(names = "--election-max-ms", defaultValue = "500", description = "Election timeout upper bound (default: ${DEFAULT-VALUE}).")
    int electionMaxMs;

    @Option(names = "--tick-ms", defaultValue = "10", description = "Length of a Raft tick (default: ${DEFAULT-VALUE}).")
    int tickMs;

    @Option(names = "--request-timeout-ms", defaultValue = "5000",
            description = "How long a client request may wait for a leader and a commit (default: ${DEFAULT-VALUE}).")
    long requestTimeoutMs;

    @Option(names = "--max-key-bytes", defaultValue = "4096", description = "Largest key accepted (default: ${DEFAULT-VALUE}).")
    int maxKeyBytes;

    @Option(names = "--max-value-bytes", defaultValue = "1048576", description = "Largest value accepted (default: ${DEFAULT-VALUE}).")
    int maxValueBytes;

    @Option(names = "--watch-history", defaultValue = "100000", paramLabel = "EVENTS",
            description = {"Watch events kept in memory for watches that resume from an earlier revision; older ones"
                    + " (and those before a snapshot this node installed) are compacted: a watch from there gets 410"
                    + " with compactRevision (default: ${DEFAULT-VALUE})."})
    int watchHistory;

    @Option(names = "--watch-history-bytes", defaultValue = "67108864", paramLabel = "BYTES",
            description = {"The most the kept watch events may hold (their keys and values, plus "
                    + io.raftkv.kv.WatchHistory.EVENT_OVERHEAD_BYTES + " bytes each); beyond it the oldest are compacted"
                    + " too, so that large values do not fill the heap (default: ${DEFAULT-VALUE}, 64 MiB)."})
    long watchHistoryBytes;

    @Option(names = "--watch-progress-ms", defaultValue = "2000", paramLabel = "MS",
            description = "How often an idle watch stream gets a progress event with the current revision (default: ${DEFAULT-VALUE}).")
    long watchProgressMs;

    @Option(names = {"-data", "--data"}, paramLabel = "DIR",
            description = "Data folder: write-ahead log and snapshots (default: data/node-<id>).")
    Path dataDir;

    @Option(names = "--fsync", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "fsync the log before acknowledging (default: on). --no-fsync is for experiments only: "
                    + "a power loss or kernel crash may then lose acknowledged writes.")
    boolean fsync;

    @Option(names = "--snapshot-entries", defaultValue = "10000",
            description = "Snapshot and compact the log after this many applied entries (default: ${DEFAULT-VALUE}).")
    long snapshotEntries;

    @Option(names = "--snapshot-bytes", defaultValue = "67108864",
            description = "... or after this many bytes of applied commands (default: ${DEFAULT-VALUE}); in either case not "
                    + "before the commands since the last snapshot add up to a quarter of its size.")
    long snapshotBytes;

    @Option(names = "--segment-bytes", defaultValue = "67108864",
            description = "Roll the open log segment at this size (default: ${DEFAULT-VALUE}).")
    long segmentBytes;

    @Option(names = "--no-shell", description = "Never open the interactive shell, even in a terminal.")
    boolean noShell;

    @Option(names = "--metrics", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Keep metrics and serve them on GET /metrics in the Prometheus text format (default: on)."
                    + " --no-metrics is for measuring what they cost.")
    boolean metrics;

    @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text",
            description = "The log on stderr: text (one readable line per event) or json (one JSON object per line,"
                    + " with the fields of role changes, faults and recoveries) (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "4096",
            description = "Client connections at once; past it a new connection's first request gets 503 (a peer's Raft"
                    + " messages still go through) (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--request-read-timeout-ms", paramLabel = "MS", defaultValue = "10000",
            description = "Time for a request's headers and body to arrive once it started; then 408 and close (default: ${DEFAULT-VALUE}).")
    long requestReadTimeoutMs;

    @Option(names = "--idle-timeout-ms", paramLabel = "MS", defaultValue = "300000",
            description = "A connection with nothing read or written this long is closed (default: ${DEFAULT-VALUE}).")
    long idleTimeoutMs;

    @Option(names = "--max-unread-reply-bytes", paramLabel = "BYTES", defaultValue = "67108864",
            description = "Answers a client may leave unread on one connection before it is closed (default: ${DEFAULT-VALUE}).")
    long maxUnreadReplyBytes;

    @Option(names = "--max-watches", paramLabel = "N", defaultValue = "10000",
            description = "Watch streams open at once on this node; past it 503 (default: ${DEFAULT-VALUE}).")
    int maxWatches;

    @Option(names = "--max-receiving-bytes", paramLabel = "BYTES", defaultValue = "268435456",
            description = "Request bodies being received at once, all connections together; past it 503 and close"
                    + " (default: ${DEFAULT-VALUE}).")
    long maxReceivingBytes;

    @Option(names = "--max-sessions-per-address", paramLabel = "N", defaultValue = "1200",
            description = "Sessions (POST /session) one client address may register a minute through this node; past it"
                    + " 429 (default: ${DEFAULT-VALUE}).")
    int maxSessionsPerAddress;

    @Option(names = "--cluster-token", paramLabel = "TOKEN", defaultValue = ClusterIdentity.DEFAULT_TOKEN,
            description = {"Part of the cluster id made at bootstrap (with the first members), like etcd's",
                    "--initial-cluster-token: give each cluster its own, so that nodes of one never accept another's",
                    "messages (default: ${DEFAULT-VALUE})."})
    String clusterToken;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = {"This node's certificate (PEM): serve the client API"
            + " over HTTPS and talk mutual TLS with peers. Needs --tls-key and --tls-ca; 'raftkv certs' makes development ones.",
            "The files are reloaded when they change, or on SIGHUP."})
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "The private key of --tls-cert (PEM, unencrypted PKCS#8).")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "FILE", description = "The cluster's CA certificate(s) (PEM): peers, and clients"
            + " that show a certificate, must have one it signed.")
    Path tlsCa;

    @Option(names = "--client-cert-auth", description = "Clients must show a certificate of --tls-ca too (refused at the"
            + " TLS handshake otherwise).")
    boolean clientCertAuth;
    @Option(names = "--local-control", hidden = true, paramLabel = "URL",
            description = "The control server of the 'raftkv local' that started this node: its web view then offers"
                    + " kill / restart / cut / heal (used by 'raftkv local').")
    String localControl;

    @Option(names = "--exit-with-pid", hidden = true, description = "Exit when this process ends (used by 'raftkv local').")
    Long exitWithPid;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (0 ok, 1 runtime failure, 2 usage error). */
    static int run(String[] args) {
        return run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    }

    /** As {@link #run(String[])}, writing help and errors to the given streams (for tests). */
    static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ParameterException e, String[] a) -> {
            PrintWriter w = e.getCommandLine().getErr();
            w.println("raftkv: " + e.getMessage());
            w.println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help' for the flags.");
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((e, c, parsed) -> {
            if (e instanceof ParameterException pe) throw pe;
            c.getErr().println("raftkv: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return e instanceof IllegalArgumentException ? EXIT_USAGE : 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        logFormat().apply(System.err);
        NodeConfig config = nodeConfig().withMetrics(metrics);
        Optional<NodeTls> tls = nodeTls(config.id());
        UiOptions ui = uiOptions();
        Path dir = dataDir != null ? dataDir : Path.of("data", "node-" + config.id());
        if (segmentBytes < 1024) throw new ParameterException(spec.commandLine(), "--segment-bytes must be >= 1024");
        List<HostPort> joinVia = joinAddresses();
        boolean fresh = isFresh(dir);
        Optional<BootstrapFile.Contents> bootstrap;
        try {
            bootstrap = BootstrapFile.read(dir);
        } catch (StorageException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (bootstrap.isPresent()) {
            // The data folder says which cluster this node was started in; it wins over the flags.
            BootstrapFile.Contents b = bootstrap.get();
            if (b.id() != config.id()) {
                throw new ParameterException(spec.commandLine(), "data folder " + dir + " belongs to node " + b.id()
                        + ", not -id " + config.id() + "; use -id " + b.id() + " or another -data folder");
            }
            if (!joinVia.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "data folder " + dir + " holds node " + b.id()
                        + " of a cluster started with " + b.members() + "; restart it without -join");
            }
            if (peers != null && !config.members().equals(b.members())) {
                System.err.println("raftkv: -peers gives " + config.members() + " but data folder " + dir
                        + " was started with " + b.members() + "; using the data folder's (its log holds every change"
                        + " since)");
            }
            config = config.withPeers(b.peers());
        } else if (!joinVia.isEmpty() || (!fresh && peers == null)) {
            // Joining now, or a node that joined earlier: its log or snapshot holds the configuration.
            config = config.joining();
        }
        ClusterIdentity identity = clusterIdentity(config, bootstrap.map(BootstrapFile.Contents::members)
                .orElse(config.members()), dir);
        return serve(config, dir, bootstrap.isEmpty() && !config.join(), joinVia, tls, identity, ui);
    }

    /**
     * The cluster this node belongs to: the one its data folder names, which must be the one its
     * flags make (its bootstrap members and --cluster-token); a new bootstrap node's is derived; a
     * joining node learns it from the cluster.
     */
    private ClusterIdentity clusterIdentity(NodeConfig config, Map<Integer, HostPort> bootstrapMembers, Path dir) {
        CommandLine cl = spec.commandLine();
        if (clusterToken.isBlank()) throw new ParameterException(cl, "--cluster-token must not be empty");
        Optional<String> stored;
        try {
            stored = ClusterIdentity.read(dir);
        } catch (StorageException e) {
            throw new ParameterException(cl, e.getMessage());
        }
        Optional<String> made = config.join() ? Optional.empty()
                : Optional.of(ClusterIdentity.derive(bootstrapMembers, clusterToken));
        if (stored.isPresent() && made.isPresent() && !stored.get().equals(made.get())) {
            throw new ParameterException(cl, "data folder " + dir + " belongs to cluster " + stored.get() + ", but these flags"
                    + " make cluster " + made.get() + " (from the members " + bootstrapMembers + " and --cluster-token): start"
                    + " it with the --cluster-token it was created with, or use another -data folder");
        }
        // Written once the node is up (ClusterIdentity.keep): a start that fails leaves no id behind.
        return ClusterIdentity.inFolder(dir, stored.or(() -> made), false);
    }

    /** The node's TLS from --tls-*, or a usage error naming the missing flag or the file that is wrong. */
    private Optional<NodeTls> nodeTls(int id) {
        CommandLine cl = spec.commandLine();
        if (tlsCert == null && tlsKey == null && tlsCa == null) {
            if (clientCertAuth) throw new ParameterException(cl, "--client-cert-auth needs TLS: give --tls-cert, --tls-key and --tls-ca");
            return Optional.empty();
        }
        if (tlsCert == null || tlsKey == null || tlsCa == null) {
            throw new ParameterException(cl, "TLS needs all three of --tls-cert, --tls-key and --tls-ca; missing "
                    + String.join(", ", java.util.stream.Stream.of(tlsCert == null ? "--tls-cert" : null,
                    tlsKey == null ? "--tls-key" : null, tlsCa == null ? "--tls-ca" : null)
                    .filter(java.util.Objects::nonNull).toList()));
        }
        try {
            return Optional.of(NodeTls.load(tlsCert, tlsKey, tlsCa, clientCertAuth, "node " + id));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, e.getMessage());
        }
    }

    private int serve(NodeConfig config, Path dir, boolean recordBootstrap, List<HostPort> joinVia,
                      Optional<NodeTls> tls, ClusterIdentity identity, UiOptions ui) throws Exception {
        FileStorage storage;
        try {
            storage = FileStorage.open(dir, new FileStorage.Options(segmentBytes, fsync));
            if (recordBootstrap) BootstrapFile.write(dir, new BootstrapFile.Contents(config.id(),
                    config.members()));
        } catch (StorageException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        RaftServer server;
        try {
            java.util.function.Consumer<Throwable> onFatal = fatal -> {
                System.err.println("raftkv: node " + config.id() + " stopped: " + fatal);
                Runtime.getRuntime().halt(1);
            };
            server = RaftServer.start(config, storage, onFatal, tls, identity, ui);
        } catch (StorageException e) {
            storage.close();
            throw e; // a damaged data folder: exit 1 with the message saying where and what to do
        } catch (IllegalStateException e) {
            storage.close();
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "raftkv-shutdown"));
        try {
            identity.keep();
        } catch (StorageException e) {
            server.close();
            throw e;
        }
        tls.ifPresent(t -> {
            t.startWatching(Duration.ofSeconds(5));
            NodeTls.reloadOnSighup();
        });
        javax.net.ssl.SSLContext clientTls = tls.map(NodeTls::jdkClient).orElse(null);
        if (exitWithPid != null) watchParent(exitWithPid);
        if (!joinVia.isEmpty()) {
            int self = config.id();
            Joiner.start(self, config.self(), joinVia, Duration.ofMillis(requestTimeoutMs + 1000), why -> {
                System.err.println("raftkv: " + why);
                server.close();
                Runtime.getRuntime().halt(1);
            }, clientTls);
        }
        if (!noShell && Terminals.stdinIsTerminal()) {
            List<HostPort> all = new ArrayList<>();
            all.add(config.self());
            config.peers().values().forEach(all::add);
            joinVia.stream().filter(a -> !all.contains(a)).forEach(all::add);
            Duration timeout = Duration.ofMillis(requestTimeoutMs + 1000);
            try (RaftKvClient client = new RaftKvClient(all, timeout, true, timeout, null, clientTls)) {
                new Shell(client, null).run();
            }
            server.close();
            return 0;
        }
        new CountDownLatch(1).await(); // serve until killed
        return 0;
    }

    /** The web view's options: the control server of 'raftkv local', when it started this node. */
    private UiOptions uiOptions() {
        if (localControl == null) return UiOptions.DEFAULT;
        try {
            java.net.URI u = new java.net.URI(localControl);
            if (!"http".equals(u.getScheme()) || u.getHost() == null || u.getPort() < 1) throw new java.net.URISyntaxException(localControl, "not http://host:port");
            return new UiOptions(Optional.of(u));
        } catch (java.net.URISyntaxException e) {
            throw new ParameterException(spec.commandLine(), "--local-control must be http://host:port, got '" + localControl + "'");
        }
    }

    /** A data folder with nothing in it yet (or none): a node's first start. */
    private static boolean isFresh(Path dir) throws java.io.IOException {
        if (!java.nio.file.Files.isDirectory(dir)) return true;
        try (var entries = java.nio.file.Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    /** The {@code --log-format}, or a usage error that lists the formats. */
    LogFormat logFormat() {
        try {
            return LogFormat.parse(logFormat);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private List<HostPort> joinAddresses() {
        CommandLine cl = spec.commandLine();
        if (join == null) return List.of();
        if (peers != null) {
            throw new ParameterException(cl, "-join and -peers exclude each other: -peers starts a new cluster,"
                    + " -join adds this node to a running one");
        }
        List<HostPort> out = new ArrayList<>();
        for (String item : join.split(",", -1)) {
            if (item.isBlank()) throw new ParameterException(cl, "-join has an empty item; give host:port,host:port");
            try {
                out.add(HostPort.parse(item.trim()));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cl, "-join: " + e.getMessage());
            }
        }
        return out;
    }

    private static void watchParent(long pid) {
        Thread.ofPlatform().daemon().name("parent-watch").start(() -> {
            ProcessHandle.of(pid).ifPresentOrElse(p -> p.onExit().join(), () -> { });
            System.exit(0);
        });
    }

    NodeConfig nodeConfig() {
        CommandLine cl = spec.commandLine();
        if (id == null || port == null) {
            throw new ParameterException(cl, "a node needs -id and -port, e.g. -id 0 -port 8000 -peers \"localhost:8001,localhost:8002\""
                    + " (or use 'raftkv local' for a whole cluster)");
        }
        if (id < 0) throw new ParameterException(cl, "-id must be >= 0, got " + id);
        if (join != null && peers != null) {
            throw new ParameterException(cl, "-join and -peers exclude each other: -peers starts a new cluster,"
                    + " -join adds this node to a running one");
        }
        if (port < 1 || port > 65535) throw new ParameterException(cl, "-port must be in 1..65535, got " + port);
        HostPort self;
        Map<Integer, HostPort> peerMap;
        try {
            if (bind != null && bind.isBlank()) throw new IllegalArgumentException("--bind needs an address, e.g. --bind 127.0.0.2");
            self = new HostPort(host != null ? host : bind != null ? bind : "localhost", port);
            peerMap = PeerSpec.parse(peers, id, self);
            NodeConfig config = new NodeConfig(id, self, peerMap, tickMs, heartbeatMs, electionMinMs, electionMaxMs,
                    requestTimeoutMs, maxKeyBytes, maxValueBytes, new io.raftkv.node.SnapshotPolicy(snapshotEntries,
                    snapshotBytes, Math.min(1000, snapshotEntries), 1024 * 1024)).withWatch(watchHistory, watchHistoryBytes, watchProgressMs);
            if (bind != null) config = config.withBindAddress(bind);
            config = config.withClientLimits(new NodeConfig.Limits(maxConnections, requestReadTimeoutMs, idleTimeoutMs,
                    maxUnreadReplyBytes, maxWatches, maxReceivingBytes, maxSessionsPerAddress));
            if (listen != null) {
                if (listen.isBlank()) throw new IllegalArgumentException("--listen needs an address, e.g. --listen 0.0.0.0");
                config = config.withListen(listen);
            }
            return config;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, e.getMessage());
        }
    }
}
