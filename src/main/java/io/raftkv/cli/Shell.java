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
 * The interactive shell: the KV API ({@code put}, {@code append}, {@code get}, {@code delete},
 * {@code cas}, {@code range}, {@code watch}, {@code lease}), {@code status}, {@code member},
 * {@code transfer-leader}, {@code help}, {@code exit}; with a local cluster also {@code kill},
 * {@code start}, {@code add node} and {@code remove}. Line editing and history come from JLine;
 * quoted words may contain spaces.
 */
final class Shell {
    private static final String HELP = """
            Commands:
              put <key> <value>      store a value ("quote" values with spaces)
              append <key> <value>   append to the value (a missing key counts as empty)
              get <key>              read a value with its revisions (served by the leader)
              delete <key>|<prefix>* delete a key, or every key starting with the prefix
              cas <key> <old>|- <new>  set the key to <new> if its value is <old> (- : if it is absent)
              range [prefix] [limit] the keys starting with the prefix, in order (all without one)
              watch <key>|<prefix>* [seconds]  print changes live (until Ctrl-C, or for the seconds)
              lease grant <ttlMs> | keepalive <id> | revoke <id> | show <id>
              put-lease <key> <value> <leaseId>   a key deleted when the lease ends
              status                 every node's role (learners too), term, leader and log indexes
              member list | add <id> <host:port> | promote <id> | remove <id>   the membership
              transfer-leader [id]   move the leadership to node id (default: the most caught-up voter)
              help                   this text
              exit                   leave the shell""";
    private static final String LOCAL_HELP = """
              kill <id>|leader       kill -9 a node process of the local cluster
              start <id>             start a stopped node of the local cluster again
              add node               start a new local node that joins as a learner
              remove <id>            remove a node from the membership and stop its process""";

    private final RaftKvClient client;
    private final LocalCluster cluster;
    /** The shell's terminal while it runs (Ctrl-C ends a watch), else null. */
    private Terminal terminal;

    Shell(RaftKvClient client, LocalCluster cluster) {
        this.client = client;
        this.cluster = cluster;
    }

    void run() throws IOException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).dumb(true).build()) {
            this.terminal = terminal;
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
            case "delete" -> {
                if (words.size() != 2) {
                    out.println("usage: delete <key>   or   delete <prefix>*");
                } else {
                    String k = words.get(1);
                    KvResult r = k.endsWith("*") ? client.deletePrefix(k.substring(0, k.length() - 1)) : client.delete(k);
                    out.println(r.ok() ? "OK deleted " + r.body().path("deleted").asLong() + " at revision "
                            + r.body().path("revision").asLong() + meta(r) : failure(r));
                }
            }
            case "cas" -> {
                if (words.size() < 4) {
                    out.println("usage: cas <key> <old>|- <new>   (- : only if the key is absent)");
                } else {
                    String old = words.get(2);
                    String value = String.join(" ", words.subList(3, words.size()));
                    KvResult r = client.cas(words.get(1), old.equals("-") ? java.util.Optional.empty() : java.util.Optional.of(old), value);
                    if (!r.ok()) {
                        out.println(failure(r));
                    } else {
                        JsonNode cur = r.body().path("current");
                        out.println((r.body().path("succeeded").asBoolean() ? "OK set" : "NOT SET (comparison failed)") + "; now "
                                + (cur.isNull() || cur.isMissingNode() ? "absent" : quote(cur.path("value").asText())
                                + " (modRevision " + cur.path("modRevision").asLong() + ")") + meta(r));
                    }
                }
            }
            case "range" -> {
                if (words.size() > 3) {
                    out.println("usage: range [prefix] [limit]");
                } else {
                    int limit = 100;
                    if (words.size() == 3) {
                        try {
                            limit = Integer.parseInt(words.get(2));
                        } catch (NumberFormatException e) {
                            out.println("usage: range <prefix> [limit]   (limit is a number)");
                            return true;
                        }
                    }
                    String prefix = words.size() >= 2 ? words.get(1) : "";
                    KvResult r = client.range(prefix, limit, null);
                    if (!r.ok()) {
                        out.println(failure(r));
                    } else {
                        for (JsonNode kv : r.body().path("kvs")) {
                            out.printf("%s = %s   (modRevision %d, version %d%s)%n", kv.path("key").asText(),
                                    quote(kv.path("value").asText()), kv.path("modRevision").asLong(), kv.path("version").asLong(),
                                    kv.has("lease") ? ", lease " + kv.get("lease").asLong() : "");
                        }
                        out.println(r.body().path("count").asInt() + " keys at revision " + r.body().path("revision").asLong()
                                + (r.body().path("more").asBoolean() ? "; more after " + r.body().path("next").asText() : ""));
                    }
                }
            }
            case "watch" -> watch(words, out);
            case "lease" -> lease(words, out);
            case "put-lease" -> {
                if (words.size() != 4) {
                    out.println("usage: put-lease <key> <value> <leaseId>");
                } else {
                    try {
                        KvResult r = client.put(words.get(1), words.get(2), Long.parseLong(words.get(3)));
                        out.println(r.ok() ? "OK " + words.get(1) + " = " + quote(words.get(2)) + " under lease " + words.get(3) + meta(r)
                                : failure(r));
                    } catch (NumberFormatException e) {
                        out.println("usage: put-lease <key> <value> <leaseId>   (the id 'lease grant' printed)");
                    }
                }
            }
            case "member", "members" -> member(words, out);
            case "add" -> {
                if (cluster == null) {
                    out.println("'add node' works only in 'raftkv local'; start a node with -join HOST:PORT instead");
                } else if (words.size() != 2 || !words.get(1).equals("node")) {
                    out.println("usage: add node");
                } else {
                    out.println(cluster.addNode(client, java.time.Duration.ofSeconds(20)));
                }
            }
            case "remove" -> {
                if (cluster == null) {
                    out.println("'remove' works only in 'raftkv local'; use 'member remove <id>'");
                } else if (words.size() != 2) {
                    out.println("usage: remove <id>");
                } else {
                    out.println(cluster.removeNode(words.get(1), client));
                }
            }
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

    private void member(List<String> words, PrintWriter out) {
        String sub = words.size() > 1 ? words.get(1) : "list";
        KvResult r;
        try {
            r = switch (sub) {
                case "list" -> words.size() <= 2 ? client.members() : null;
                case "add" -> words.size() == 4 ? client.addMember(Integer.parseInt(words.get(2)), words.get(3)) : null;
                case "promote" -> words.size() == 3 ? client.promoteMember(Integer.parseInt(words.get(2))) : null;
                case "remove" -> words.size() == 3 ? client.removeMember(Integer.parseInt(words.get(2))) : null;
                default -> null;
            };
        } catch (NumberFormatException e) {
            r = null;
        }
        if (r == null) {
            out.println("usage: member list | member add <id> <host:port> | member promote <id> | member remove <id>");
            return;
        }
        if (r.ok()) MemberCommand.print(out, r.body());
        else out.println("error: " + MemberCommand.failure(r));
    }

    private void lease(List<String> words, PrintWriter out) {
        String usage = "usage: lease grant <ttlMs> | lease keepalive <id> | lease revoke <id> | lease show <id>";
        if (words.size() != 3) {
            out.println(usage);
            return;
        }
        long n;
        try {
            n = Long.parseLong(words.get(2));
        } catch (NumberFormatException e) {
            out.println(usage);
            return;
        }
        KvResult r = switch (words.get(1)) {
            case "grant" -> client.grantLease(n);
            case "keepalive" -> client.keepAlive(n);
            case "revoke" -> client.revokeLease(n);
            case "show" -> client.lease(n);
            default -> null;
        };
        if (r == null) {
            out.println(usage);
        } else if (!r.ok()) {
            out.println(failure(r));
        } else {
            JsonNode b = r.body();
            out.println(switch (words.get(1)) {
                case "grant" -> "OK lease " + b.path("leaseId").asLong() + " for " + b.path("ttlMs").asLong() + " ms;"
                        + " keep it alive with 'lease keepalive " + b.path("leaseId").asLong() + "'";
                case "keepalive" -> "OK lease " + n + " renewed for " + b.path("ttlMs").asLong() + " ms";
                case "revoke" -> "OK lease " + n + " revoked; " + b.path("deleted").asLong() + " keys deleted";
                default -> "lease " + n + ": " + b.path("remainingMs").asLong() + " ms of " + b.path("ttlMs").asLong()
                        + " left; keys " + b.path("keys");
            } + meta(r));
        }
    }

    /** Prints changes until Ctrl-C (or for the seconds given), then returns to the prompt. */
    private void watch(List<String> words, PrintWriter out) {
        if (words.size() < 2 || words.size() > 3) {
            out.println("usage: watch <key> | watch <prefix>* [seconds]");
            return;
        }
        String k = words.get(1);
        boolean prefix = k.endsWith("*");
        long seconds = 0;
        if (words.size() == 3) {
            try {
                seconds = Long.parseLong(words.get(2));
            } catch (NumberFormatException e) {
                out.println("usage: watch <key> | watch <prefix>* [seconds]");
                return;
            }
        }
        java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
        out.println("watching " + k + (seconds > 0 ? " for " + seconds + " s" : "; Ctrl-C to stop"));
        out.flush();
        org.jline.terminal.Terminal.SignalHandler previous = terminal == null ? null
                : terminal.handle(org.jline.terminal.Terminal.Signal.INT, sig -> stop.countDown());
        try (var w = client.watch(prefix ? k.substring(0, k.length() - 1) : k, prefix, 0, c -> {
            synchronized (out) {
                out.println(c.compacted() ? "(history compacted at revision " + c.revision() + ")"
                        : String.format("%-7s %s%s   (revision %d)", c.type(), c.key(),
                        c.value() == null ? "" : " = " + quote(c.value()), c.revision()));
                out.flush();
            }
        })) {
            if (seconds > 0) stop.await(seconds, java.util.concurrent.TimeUnit.SECONDS);
            else stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (terminal != null) terminal.handle(org.jline.terminal.Terminal.Signal.INT, previous);
        }
        out.println("watch ended");
    }

    private void status(PrintWriter out) {
        out.printf("%-4s %-22s %-9s %6s %7s %8s %8s %8s %8s%n", "id", "address", "role", "term", "leader", "commit",
                "applied", "lastLog", "pid");
        // Every member the cluster reports, besides the addresses this shell was given (nodes added since).
        java.util.LinkedHashSet<HostPort> all = new java.util.LinkedHashSet<>(client.nodes());
        java.util.Set<Integer> learners = new java.util.HashSet<>();
        for (HostPort node : client.nodes()) {
            KvResult r = client.status(node);
            if (r.status() != 200) continue;
            r.body().path("members").forEach(a -> {
                try {
                    all.add(HostPort.parse(a.asText()));
                } catch (IllegalArgumentException ignored) {
                    // not host:port
                }
            });
            r.body().path("configuration").path("learners").forEach(l -> learners.add(l.asInt()));
            break;
        }
        for (HostPort node : all) {
            KvResult r = client.status(node);
            if (r.status() != 200) {
                out.printf("%-4s %-22s %s%n", "?", node, "down (" + r.error().orElse("HTTP " + r.status()) + ")");
                continue;
            }
            JsonNode s = r.body();
            JsonNode leader = s.get("leader");
            String role = learners.contains(s.get("id").asInt()) ? "learner" : s.get("role").asText();
            out.printf("%-4s %-22s %-9s %6d %7s %8d %8d %8d %8d%n", s.get("id").asInt(), node, role,
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
