package io.raftkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code raftkv member list|add|promote|remove --cluster ...}: the cluster's membership (Raft
 * thesis ch. 4, one server at a time). Exit code 0 with the new membership, 1 with the node's
 * message, 2 for bad flags.
 */
@Command(name = "member", mixinStandardHelpOptions = true,
        description = {"Lists or changes the membership of a running cluster, one server at a time (Raft thesis ch. 4)."
                + " A new node joins as a learner ('raftkv -id N -port P -join HOST:PORT' adds itself; 'member add'"
                + " adds one that is not started yet), catches up, and is then promoted to voter. Any node forwards"
                + " a change to the leader; it answers once the change is committed."},
        subcommands = {MemberCommand.List.class, MemberCommand.Add.class, MemberCommand.Promote.class,
                MemberCommand.Remove.class},
        footer = {"", "Replace a dead machine (node 1) with a new one (node 3):",
                "  raftkv -id 3 -port 8003 -join localhost:8000 -data data/node-3     # on the new machine",
                "  raftkv member list --cluster localhost:8000                        # wait for 3: caught up",
                "  raftkv member promote --cluster localhost:8000 --id 3",
                "  raftkv member remove --cluster localhost:8000 --id 1"})
final class MemberCommand implements Runnable {
    @Option(names = {"--cluster", "-c"}, required = true, paramLabel = "LIST", scope = CommandLine.ScopeType.INHERIT,
            description = "Addresses of the cluster's nodes, comma-separated (any one is enough).")
    String cluster;

    @Option(names = "--timeout-ms", defaultValue = "10000", scope = CommandLine.ScopeType.INHERIT,
            description = "How long to wait for the answer (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @CommandLine.Mixin
    ClientTlsOptions tls = new ClientTlsOptions();

    @CommandLine.Mixin
    ClientAuthOptions auth = new ClientAuthOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: list, add, promote or remove");
    }

    /** Runs {@code call} against the cluster; prints the membership on 200, the node's message otherwise. */
    int execute(CommandLine.Model.CommandSpec sub, Function<RaftKvClient, KvResult> call) {
        var nodes = ShellCommand.parseCluster(cluster, sub);
        if (timeoutMs < 1) throw new CommandLine.ParameterException(sub.commandLine(), "--timeout-ms must be >= 1");
        Duration timeout = Duration.ofMillis(timeoutMs);
        try (RaftKvClient client = new RaftKvClient(nodes, timeout, true, timeout, null, tls.context(sub.commandLine()))) {
            String loginFailure = auth.login(client, sub.commandLine());
            if (loginFailure != null) {
                sub.commandLine().getErr().println("raftkv: " + loginFailure);
                return 1;
            }
            KvResult r = call.apply(client);
            if (r.ok()) {
                print(sub.commandLine().getOut(), r.body());
                return 0;
            }
            sub.commandLine().getErr().println("raftkv: " + failure(r));
            return 1;
        }
    }

    /** The membership as a table: id, address, role, caught up (learners) and lag, the leader marked. */
    static void print(PrintWriter out, JsonNode body) {
        int leader = body.path("leader").path("id").asInt(-1);
        out.printf("%-4s %-24s %-8s %-10s %s%n", "ID", "ADDRESS", "ROLE", "CAUGHT UP", "LAG");
        for (JsonNode m : body.path("members")) {
            String caughtUp = m.has("caughtUp") ? (m.get("caughtUp").asBoolean() ? "yes" : "no") : "";
            out.printf("%-4s %-24s %-8s %-10s %s%n", m.path("id").asInt() + (m.path("id").asInt() == leader ? "*" : ""),
                    m.path("address").asText(), m.path("role").asText(), caughtUp, m.has("lag") ? m.get("lag").asLong() : "");
        }
        out.printf("* leader; configuration of log index %d%s%n", body.path("configIndex").asLong(),
                body.path("committed").asBoolean(true) ? "" : " (not committed yet)");
        out.flush();
    }

    static String failure(KvResult r) {
        return (r.status() == 0 ? "no answer" : "HTTP " + r.status()) + ": " + r.error().orElse(r.body().toString());
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the members as the leader sees them.")
    static final class List implements Callable<Integer> {
        @ParentCommand
        MemberCommand parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return parent.execute(spec, RaftKvClient::members);
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = {"Adds node ID at ADDRESS as a learner: it gets the log but does not vote until promoted."
                    + " A node started with -join adds itself; this is for one started later."})
    static final class Add implements Callable<Integer> {
        @ParentCommand
        MemberCommand parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Option(names = "--id", required = true, paramLabel = "ID", description = "The new node's id (>= 0, not in use).")
        int id;
        @Option(names = "--address", required = true, paramLabel = "HOST:PORT", description = "Where the new node listens.")
        String address;

        @Override
        public Integer call() {
            if (id < 0) throw new CommandLine.ParameterException(spec.commandLine(), "--id must be >= 0, got " + id);
            return parent.execute(spec, c -> c.addMember(id, address));
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = {"Makes learner ID a voter, once it has caught up with the leader's log"
                    + " (refused with 409 while it lags; 'member list' shows when it has caught up)."})
    static final class Promote implements Callable<Integer> {
        @ParentCommand
        MemberCommand parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Option(names = "--id", required = true, paramLabel = "ID", description = "The learner to promote.")
        int id;

        @Override
        public Integer call() {
            return parent.execute(spec, c -> c.promoteMember(id));
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = {"Removes node ID (a voter, the leader included, or a learner). A removed leader steps down"
                    + " once the change is committed; a removed node stops taking part and can be shut down."})
    static final class Remove implements Callable<Integer> {
        @ParentCommand
        MemberCommand parent;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Option(names = "--id", required = true, paramLabel = "ID", description = "The node to remove.")
        int id;

        @Override
        public Integer call() {
            return parent.execute(spec, c -> c.removeMember(id));
        }
    }
}
