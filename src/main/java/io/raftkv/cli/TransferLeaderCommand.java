package io.raftkv.cli;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.Callable;

/** {@code raftkv transfer-leader --cluster host:port,... [--to ID]}: moves the leadership (Raft thesis §3.10). */
@Command(name = "transfer-leader", mixinStandardHelpOptions = true,
        description = {"Moves the leadership of a running cluster to node ID, or to the most caught-up voter,",
                "e.g. before maintenance on the leader's machine. The leader stops taking writes (they wait),",
                "brings the target up to date and has it elected at once; writes go on at the new leader.",
                "Exit code 0 once the target leads (it prints the new leader and term), 1 if the transfer",
                "was refused or did not complete, 2 for bad flags."})
final class TransferLeaderCommand implements Callable<Integer> {
    @Option(names = {"--cluster", "-c"}, required = true, paramLabel = "LIST",
            description = "Addresses of the cluster's nodes, comma-separated (any one is enough).")
    String cluster;

    @Option(names = "--to", paramLabel = "ID", description = "The node to lead (default: the most caught-up voter).")
    Integer to;

    @Option(names = "--timeout-ms", defaultValue = "6000", description = "How long to wait for the answer (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @CommandLine.Mixin
    ClientTlsOptions tls = new ClientTlsOptions();

    @CommandLine.Mixin
    ClientAuthOptions auth = new ClientAuthOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        var nodes = ShellCommand.parseCluster(cluster, spec);
        if (timeoutMs < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--timeout-ms must be >= 1");
        Duration timeout = Duration.ofMillis(timeoutMs);
        try (RaftKvClient client = new RaftKvClient(nodes, timeout, true, timeout, null, tls.context(spec.commandLine()))) {
            String loginFailure = auth.login(client, spec.commandLine());
            if (loginFailure != null) {
                spec.commandLine().getErr().println("raftkv: " + loginFailure);
                return 1;
            }
            KvResult r = client.transferLeader(to == null ? OptionalInt.empty() : OptionalInt.of(to));
            if (r.ok()) {
                spec.commandLine().getOut().println(describe(r));
                return 0;
            }
            spec.commandLine().getErr().println("raftkv: " + failure(r));
            return 1;
        }
    }

    /** "node 2 (localhost:8002) leads term 7   (transferred in 41.3 ms)". */
    static String describe(KvResult r) {
        return String.format("node %d (%s) leads term %d   (transferred in %.1f ms, via %s)", r.leaderId().orElse(-1),
                r.leaderAddress().orElse("?"), r.body().path("term").asLong(), r.latencyNs() / 1e6, r.servedBy());
    }

    static String failure(KvResult r) {
        return "leadership transfer: " + (r.status() == 0 ? "no answer" : "HTTP " + r.status()) + ": "
                + r.error().orElse(r.body().toString());
    }
}
