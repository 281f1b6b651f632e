package io.raftkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.transport.HostPort;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * The interactive shell: {@code put}, {@code append}, {@code get}, {@code status},
 * {@code transfer-leader}, {@code help}, {@code exit}; with a local cluster also {@code kill} and {@code start}. Line editing and history
 * come from JLine; quoted words may contain spaces.
 */
final class Shell {
    private static final String HELP = """
            Commands:
              put <key> <value>      store a value ("quote" values with spaces)
              append <key> <value>   append to the value (a missing key counts as empty)
              get <key>              read a value (served by the leader)
              status                 every node's role, term, leader and log indexes
              transfer-leader [id]   move the leadership to node id (default: the most caught-up voter)
              help                   this text
              exit                   leave the shell""";
    private static final String LOCAL_HELP = """
              kill <id>|leader       kill -9 a node process of the local cluster
              start <id>             start a stopped node of the local cluster again""";

    private final RaftKvClient client;
    private final LocalCluster cluster;

    Shell(RaftKvClient client, LocalCluster cluster) {
        this.client = client;
        this.cluster = cluster;
    }

    void run() throws IOException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).dumb(true).build()) {
            DefaultParser parser = new DefaultParser();
            parser.setEofOnUnclosedQuote(false);
            LineReaderBuilder builder = LineReaderBuilder.builder().terminal(terminal).parser(parser).appName("raftkv");
            if (Terminals.stdinIsTerminal()) {
                // History is for what a person typed, not for scripts piped in.
                builder.variable(LineReader.HISTORY_FILE, Path.of(System.getProperty("user.home"), ".raftkv_history"));
            }
            LineReader reader = builder.build();
            PrintWriter out = terminal.writer();
            out.println("raftkv shell - cluster " + client.nodes() + ". Type 'help' for commands.");
            out.flush();
            while (true) {
                String line;
                try {
                    line = reader.readLine("raftkv> ");
                } catch (UserInterruptException e) {
                    continue;
                } catch (EndOfFileException e) {
                    return;
                }
                List<String> words;
                try {
                    words = reader.getParser().parse(line, line.length()).words().stream()
                            .filter(w -> !w.isEmpty()).toList();
                } catch (RuntimeException e) {
                    out.println("error: " + e.getMessage());
                    continue;
                }
                if (words.isEmpty()) continue;
                if (!execute(words, out)) return;
                out.flush();
            }
        }
    }

    /** Runs one command; returns false on exit. */
    boolean execute(List<String> words, PrintWriter out) {
        String cmd = words.getFirst().toLowerCase(Locale.ROOT);
        switch (cmd) {
            case "exit", "quit" -> {
                return false;
            }
            case "help", "?" -> out.println(cluster == null ? HELP : HELP + "\n" + LOCAL_HELP);
            case "put", "append" -> {
                if (words.size() < 3) {
                    out.println("usage: " + cmd + " <key> <value>");
                } else {
                    String value = String.join(" ", words.subList(2, words.size()));
                    KvResult r = cmd.equals("put") ? client.put(words.get(1), value) : client.append(words.get(1), value);
                    if (r.ok() && r.body().path("duplicate").asBoolean()) {
                        out.println("OK (a retry; it was applied once, at index " + r.body().path("index").asLong() + ")" + meta(r));
                    } else {
                        out.println(r.ok() ? "OK " + words.get(1) + " = " + quote(r.value().orElse("")) + meta(r) : failure(r));
                    }
                }
            }
            case "get" -> {
                if (words.size() != 2) {
                    out.println("usage: get <key>");
                } else {
                    KvResult r = client.get(words.get(1));
                    if (r.ok()) out.println(quote(r.value().orElse("")) + meta(r));
                    else if (r.notFound()) out.println("(not found)" + meta(r));
                    else out.println(failure(r));
                }
            }
            case "status" -> status(out);
            case "transfer-leader", "transfer" -> transferLeader(words, out);
            case "kill", "start" -> {
                if (cluster == null) {
                    out.println(cmd + " works only in 'raftkv local'; stop a node process with kill <pid> (see status)");
                } else if (words.size() != 2) {
                    out.println("usage: " + cmd + " <id>" + (cmd.equals("kill") ? "|leader" : ""));
                } else {
                    out.println(cmd.equals("kill") ? cluster.kill(words.get(1), client) : cluster.start(words.get(1)));
                }
            }
            default -> out.println("unknown command '" + words.getFirst() + "'; type 'help'");
        }
        return true;
    }

    private void transferLeader(List<String> words, PrintWriter out) {
        OptionalInt target = OptionalInt.empty();
        if (words.size() > 2) {
            out.println("usage: transfer-leader [id]");
            return;
        }
        if (words.size() == 2) {
            try {
                target = OptionalInt.of(Integer.parseInt(words.get(1)));
            } catch (NumberFormatException e) {
                out.println("usage: transfer-leader [id]   (id is a node id, as 'status' shows; not '" + words.get(1) + "')");
                return;
            }
        }
        KvResult r = client.transferLeader(target);
        out.println(r.ok() ? "OK " + TransferLeaderCommand.describe(r) : "error: " + TransferLeaderCommand.failure(r));
    }

    private void status(PrintWriter out) {
        out.printf("%-4s %-22s %-9s %6s %7s %8s %8s %8s %8s%n", "id", "address", "role", "term", "leader", "commit",
                "applied", "lastLog", "pid");
        for (HostPort node : client.nodes()) {
            KvResult r = client.status(node);
            if (r.status() != 200) {
                out.printf("%-4s %-22s %s%n", "?", node, "down (" + r.error().orElse("HTTP " + r.status()) + ")");
                continue;
            }
            JsonNode s = r.body();
            JsonNode leader = s.get("leader");
            out.printf("%-4s %-22s %-9s %6d %7s %8d %8d %8d %8d%n", s.get("id").asInt(), node, s.get("role").asText(),
                    s.get("term").asLong(), leader == null || leader.isNull() ? "-" : leader.get("id").asText(),
                    s.get("commitIndex").asLong(), s.get("lastApplied").asLong(), s.get("lastLogIndex").asLong(),
                    s.get("pid").asLong());
            if (s.has("peers")) {
                for (JsonNode p : s.get("peers")) {
                    out.printf("       peer %d: match %d, next %d (%s)%n", p.get("id").asInt(), p.get("matchIndex").asLong(),
                            p.get("nextIndex").asLong(), p.get("state").asText());
                }
            }
        }
    }

    private static String meta(KvResult r) {
        String leader = r.leaderId().isPresent() ? "leader node " + r.leaderId().getAsInt() : "leader unknown";
        return String.format("   (%s, via %s, %.1f ms)", leader, r.servedBy(), r.latencyNs() / 1e6);
    }

    private static String failure(KvResult r) {
        String status = r.status() == 0 ? "no answer" : "HTTP " + r.status();
        return String.format("error (%s): %s   (%.1f ms)", status, r.error().orElse(r.body().toString()),
                r.latencyNs() / 1e6);
    }

    private static String quote(String v) {
        return "\"" + v + "\"";
    }
}
