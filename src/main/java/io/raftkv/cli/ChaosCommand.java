package io.raftkv.cli;

import io.raftkv.chaos.ChaosRun;
import io.raftkv.chaos.FaultKind;
import io.raftkv.chaos.Firewall;
import io.raftkv.transport.HostPort;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/** {@code raftkv chaos}: a fresh local cluster under concurrent clients and a nemesis, then a verdict. */
@Command(name = "chaos", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Starts a fresh cluster of node processes, each on its own loopback address (127.0.0.2, 127.0.0.3, ...),"
                + " runs concurrent clients against it while a nemesis kills (-9) and restarts nodes, pauses them (SIGSTOP/SIGCONT)"
                + " and cuts the network between them (iptables DROP rules, needs root), then heals everything, restarts every"
                + " node and checks that every acknowledged write is there, exactly once and in order, and that the history"
                + " of every client operation is linearizable (as 'raftkv check-history' does).", "",
                "Clients come from 127.0.0.1, which is no node's address, so partitions cut nodes from each other, not from"
                        + " the clients. Every operation goes to history.jsonl (one JSON object per line; \"ok\":false ="
                        + " outcome unknown); summary.json has the counts, the faults with their times, the leader changes,"
                        + " the unavailability after each leader kill and the linearizability verdict."},
        footer = {"", "Exit codes:",
                "  0 pass",
                "  1 a check failed: a lost, duplicated or reordered write; two leaders in one term; a history that is"
                        + " not linearizable",
                "  2 bad flags",
                "  3 no verdict (the cluster did not recover, keys could not be read at the end, or the linearizability"
                        + " check ran out of time)", "",
                "Example: ./raftkv chaos --nodes 3 --duration 60s",
                "         ./raftkv chaos --nodes 5 --clients 8 --faults kill,pause --seed 42 --dir /tmp/chaos-1"})
final class ChaosCommand implements Callable<Integer> {
    static final int EXIT_FAILED = 1;
    static final int EXIT_NO_VERDICT = 3;
    /** The first node's address; 127.0.0.1 is left to the clients (see the description). */
    private static final int FIRST_ADDRESS = 2;
    /** A client gives up on a node this long after the node's own request timeout: it is paused or cut off. */
    private static final long ATTEMPT_MARGIN_MS = 500;

    @Option(names = {"--nodes", "-n"}, defaultValue = "3", description = "Number of nodes, 1 to 9 (default: ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--clients", defaultValue = "5", description = "Concurrent clients, one session each (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--duration", defaultValue = "60s", description = "How long clients and nemesis run, e.g. 60s or 5m (default: ${DEFAULT-VALUE}); longer if need be, until every kind of fault was injected once.")
    String duration;

    @Option(names = "--seed", description = "Seed for the nemesis schedule and the clients' choices (default: random, printed)."
            + " Timing still differs between runs.")
    Long seed;

    @Option(names = "--faults", defaultValue = "kill,pause,partition,partition-full", paramLabel = "LIST",
            description = {"Faults to inject, comma-separated, from: kill, pause, partition (a minority cut off),"
                    + " partition-full (every node cut off), or none (default: ${DEFAULT-VALUE}).",
                    "Without root or iptables the default list leaves partitions out and says why; an explicit list with"
                            + " partitions is then an error."})
    String faults;

    @Option(names = "--membership", description = {"Also change the membership and move the leadership: remove a node"
            + " (the leader every other time) and add it back as a learner, then promote it; transfer the leadership"
            + " to another node (adds membership,transfer to --faults)."})
    boolean membership;

    @Option(names = "--dir", paramLabel = "DIR", description = "A new folder for this run: node data and logs, history.jsonl,"
            + " summary.json, chaos.log (default: data/chaos/<date-time>).")
    Path dir;

    @Option(names = "--tls", description = "Nodes serve HTTPS and talk mutual TLS, with development certificates made"
            + " in the run's folder (certs/); the clients and the nemesis speak TLS too.")
    boolean tls;

    @Option(names = "--port", defaultValue = "9000", description = "The port every node listens on, each on its own address"
            + " (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--client-timeout", defaultValue = "5s",
            description = "How long a client tries one operation before its outcome counts as unknown (default: ${DEFAULT-VALUE}).")
    String clientTimeout;

    @Option(names = "--node-request-timeout-ms", defaultValue = "2000",
            description = "The nodes' --request-timeout-ms: shorter than the client timeout, so a client stuck on a node"
                    + " cut off from the leader hears back and tries another; a node silent for 500 ms longer is taken"
                    + " for paused and the client tries another (default: ${DEFAULT-VALUE}).")
    int nodeRequestTimeoutMs;

    @Option(names = "--check-budget-seconds", paramLabel = "N", defaultValue = CheckHistoryCommand.DEFAULT_BUDGET_SECONDS,
            description = "How long the linearizability check of the history may run; past it the verdict is UNKNOWN"
                    + " and the run has no verdict (default: ${DEFAULT-VALUE}).")
    double checkBudgetSeconds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (nodes < 1 || nodes > 9) throw new ParameterException(cl, "--nodes must be 1 to 9, got " + nodes);
        if (clients < 1 || clients > 1000) throw new ParameterException(cl, "--clients must be 1 to 1000, got " + clients);
        if (port < 1 || port > 65535) throw new ParameterException(cl, "--port must be in 1..65535, got " + port);
        if (nodeRequestTimeoutMs < 1) throw new ParameterException(cl, "--node-request-timeout-ms must be positive");
        Duration runFor = BenchCommand.parseDuration(duration, "--duration", spec);
        Duration timeout = BenchCommand.parseDuration(clientTimeout, "--client-timeout", spec);
        if (runFor.isNegative() || runFor.isZero()) throw new ParameterException(cl, "--duration must be positive");
        if (timeout.toMillis() < 100) throw new ParameterException(cl, "--client-timeout must be at least 100ms");
        Duration checkBudget = CheckHistoryCommand.budget(checkBudgetSeconds, "--check-budget-seconds", cl);
        Set<FaultKind> kinds;
        try {
            kinds = EnumSet.noneOf(FaultKind.class);
            kinds.addAll(FaultKind.parseList(faults));
            if (membership) kinds.addAll(java.util.EnumSet.of(FaultKind.MEMBERSHIP, FaultKind.TRANSFER));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, "--faults: " + e.getMessage());
        }
        Path runDir = dir != null ? dir : Path.of("data", "chaos",
                LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (Files.isDirectory(runDir)) {
            try (Stream<Path> s = Files.list(runDir)) {
                if (s.findAny().isPresent()) {
                    throw new ParameterException(cl, "--dir " + runDir + " is not empty; a chaos run starts a fresh cluster in a new folder");
                }
            }
        }
        Optional<String> partitionsOff = Optional.empty();
        if (kinds.stream().anyMatch(FaultKind::needsFirewall)) {
            Optional<String> why = Firewall.unusableReason();
            if (why.isPresent()) {
                if (cl.getParseResult().hasMatchedOption("--faults")) {
                    throw new ParameterException(cl, "--faults asks for partitions, but " + why.get()
                            + ". Run as root with iptables, or leave partition and partition-full out");
                }
                kinds.removeIf(FaultKind::needsFirewall);
                partitionsOff = why;
            }
        }
        long theSeed = seed != null ? seed : new java.util.Random().nextLong() >>> 1;
        List<HostPort> addresses = IntStream.range(0, nodes).mapToObj(i -> new HostPort("127.0.0." + (FIRST_ADDRESS + i), port))
                .toList();
        LocalCluster cluster = LocalCluster.onAddresses(addresses, runDir,
                List.of("--request-timeout-ms", String.valueOf(nodeRequestTimeoutMs)));
        if (tls) cluster.useTls(LocalTls.in(runDir.resolve("certs"), addresses.stream().map(HostPort::host).toList()));
        Optional<Firewall> firewall = Optional.empty();
        Thread cleanup = null;
        try {
            try {
                cluster.startAll();
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cl, e.getMessage());
            }
            if (kinds.stream().anyMatch(FaultKind::needsFirewall)) firewall = Optional.of(openFirewall());
            Optional<Firewall> fw = firewall;
            // Ctrl-C: no rule may stay behind, no node may stay stopped.
            cleanup = new Thread(() -> {
                fw.ifPresent(Firewall::close);
                cluster.close();
            }, "raftkv-chaos-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            ChaosRun.Result result = ChaosRun.run(cluster, new ChaosRun.Options(clients, runFor, theSeed, kinds, runDir,
                    timeout, Duration.ofMillis(nodeRequestTimeoutMs + ATTEMPT_MARGIN_MS), partitionsOff, checkBudget),
                    firewall, System.out);
            return switch (result.verdict()) {
                case PASS -> 0;
                case FAIL -> EXIT_FAILED;
                case NO_VERDICT -> EXIT_NO_VERDICT;
            };
        } finally {
            firewall.ifPresent(Firewall::close);
            cluster.close();
            if (cleanup != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanup);
                } catch (IllegalStateException e) {
                    // already shutting down: the hook runs, which is fine
                }
            }
        }
    }

    private Firewall openFirewall() {
        try {
            return Firewall.open(port);
        } catch (IOException e) {
            throw new IllegalStateException("cannot set up iptables for partitions: " + e.getMessage());
        }
    }
}
