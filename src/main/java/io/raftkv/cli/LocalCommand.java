package io.raftkv.cli;

import io.raftkv.client.RaftKvClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code raftkv local}: a whole cluster of node processes on this machine, with the shell attached. */
@Command(name = "local", mixinStandardHelpOptions = true,
        description = {"Starts a cluster of node processes on this machine and attaches the shell.",
                "In the shell, 'kill leader' / 'kill <id>' and 'start <id>' stop and restart nodes.",
                "The nodes stop when the shell exits. It prints the URL of the web view (GET /ui), whose buttons",
                "kill, restart, cut and heal nodes."})
final class LocalCommand implements Callable<Integer> {
    @Option(names = {"--nodes", "-n"}, defaultValue = "3", description = "Number of nodes, 1 to 9 (default: ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--base-port", defaultValue = "8000",
            description = "Node i listens on base-port + i (default: ${DEFAULT-VALUE}).")
    int basePort;

    @Option(names = "--host", defaultValue = "localhost", description = "Host name of the nodes (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--dir", defaultValue = "data/local", description = "Folder for the nodes' data and logs; a later run with the same folder finds the data"
                    + " again (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--no-shell", description = "Run the cluster without the shell, until interrupted.")
    boolean noShell;

    @Option(names = "--tls", description = {"Serve HTTPS and talk mutual TLS between nodes, with development"
            + " certificates made in <dir>/certs on the first run (a CA, one per node, client-root for the shell)."})
    boolean tls;

    @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text",
            description = "The nodes' logs (<dir>/node-<id>.log): text or json, as a node's --log-format (default: ${DEFAULT-VALUE}).")
    String logFormat;

    @Option(names = "--metrics", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "The nodes keep metrics and serve GET /metrics (default: on); --no-metrics as a node's.")
    boolean metrics;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (nodes < 1 || nodes > 9) throw new ParameterException(spec.commandLine(), "--nodes must be 1 to 9, got " + nodes);
        if (basePort < 1 || basePort + nodes - 1 > 65535) {
            throw new ParameterException(spec.commandLine(), "--base-port " + basePort + " leaves no room for " + nodes + " ports");
        }
        List<String> nodeArgs = new java.util.ArrayList<>();
        try {
            nodeArgs.addAll(List.of("--log-format", LogFormat.parse(logFormat).name().toLowerCase(java.util.Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (!metrics) nodeArgs.add("--no-metrics");
        // The web view's kill / restart / cut / heal reach this process through it (only here do they exist).
        LocalControl control = LocalControl.start();
        nodeArgs.addAll(List.of("--local-control", control.url()));
        LocalCluster cluster = new LocalCluster(nodes, host, basePort, dir, nodeArgs);
        control.attach(cluster);
        LocalTls certs = tls ? LocalTls.in(dir.resolve("certs"), List.of(host)) : null;
        if (certs != null) cluster.useTls(certs);
        try {
            cluster.startAll();
        } catch (IllegalArgumentException e) {
            control.close();
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            control.close();
            cluster.close();
        }, "raftkv-local-shutdown"));
        System.out.println("started " + nodes + " nodes on " + cluster.addresses() + "; data and logs in "
                + dir.toAbsolutePath() + " (delete it for an empty cluster)");
        if (certs != null) {
            System.out.println("TLS on; try: curl --cacert " + certs.ca().toAbsolutePath() + " https://"
                    + cluster.addresses().getFirst() + "/status");
        }
        System.out.println("web view: " + (certs != null ? "https://" : "http://") + cluster.addresses().getFirst()
                + "/ui (any node's /ui shows the whole cluster; its buttons kill, restart, cut and heal nodes)");
        Duration timeout = Duration.ofSeconds(6);
        try (RaftKvClient client = new RaftKvClient(cluster.addresses(), timeout, true, timeout, null,
                certs == null ? null : certs.clientContext())) {
            OptionalInt leader = cluster.awaitLeader(client, Duration.ofSeconds(20));
            System.out.println(leader.isPresent() ? "node " + leader.getAsInt() + " is the leader"
                    : "no leader elected yet; see the logs in " + dir.toAbsolutePath());
            if (noShell) {
                new CountDownLatch(1).await();
            } else {
                new Shell(client, cluster).run();
            }
        } finally {
            cluster.close();
        }
        return 0;
    }
}
