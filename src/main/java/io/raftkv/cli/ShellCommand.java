package io.raftkv.cli;

import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code raftkv shell --cluster host:port,...}: the interactive shell against a running cluster. */
@Command(name = "shell", mixinStandardHelpOptions = true,
        description = {"Opens the interactive shell against a running cluster.", "",
                "Commands: put <key> <value>, append <key> <value>, get <key>, status, transfer-leader [id], help, exit."})
final class ShellCommand implements Callable<Integer> {
    @Option(names = {"--cluster", "-c"}, required = true, paramLabel = "LIST",
            description = "Addresses of the cluster's nodes, comma-separated (any one is enough to work).")
    String cluster;

    @Option(names = "--timeout-ms", defaultValue = "6000", description = "Per-command timeout (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @CommandLine.Mixin
    ClientTlsOptions tls = new ClientTlsOptions();

    @CommandLine.Mixin
    ClientAuthOptions auth = new ClientAuthOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static List<HostPort> parseCluster(String cluster, CommandLine.Model.CommandSpec spec) {
        List<HostPort> nodes = new ArrayList<>();
        for (String s : cluster.split(",")) {
            try {
                nodes.add(HostPort.parse(s));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "bad address in --cluster: " + e.getMessage());
            }
        }
        return nodes;
    }

    @Override
    public Integer call() throws Exception {
        List<HostPort> nodes = parseCluster(cluster, spec);
        Duration timeout = Duration.ofMillis(timeoutMs);
        try (RaftKvClient client = new RaftKvClient(nodes, timeout, true, timeout, null, tls.context(spec.commandLine()))) {
            String loginFailure = auth.login(client, spec.commandLine());
            if (loginFailure != null) {
                spec.commandLine().getErr().println("raftkv: " + loginFailure);
                return 1;
            }
            new Shell(client, null).run();
        }
        return 0;
    }
}
