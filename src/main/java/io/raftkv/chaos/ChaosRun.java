package io.raftkv.chaos;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.linearizability.CheckReport;
import io.raftkv.linearizability.History;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * One chaos run against running node processes: clients and nemesis for the given time, then
 * repair, a restart of every node ({@code kill -9} and start, so only what is on disk survives),
 * recovery, a read of every key, the linearizability check of the history, and the verdict.
 * Writes {@code history.jsonl}, {@code summary.json} and {@code chaos.log} into the run's folder.
 */
public final class ChaosRun {
    /** Bounds for conditions that normally hold within seconds. */
    private static final Duration LEADER_WAIT = Duration.ofSeconds(30);
    private static final Duration RECOVERY_WAIT = Duration.ofSeconds(60);
    private static final Duration FINAL_READS_WAIT = Duration.ofSeconds(60);
    private static final long PROGRESS_INTERVAL_NS = 1_000_000_000L;
    private static final long POLL_NS = 50_000_000L;

    /**
     * @param clients       concurrent clients, each with its own session
     * @param duration      how long clients and nemesis run
     * @param seed          seeds the nemesis schedule and the clients' choices (timing still varies)
     * @param faults        what the nemesis injects (partitions need a firewall)
     * @param dir           the run's folder (the nodes' data and logs are there too)
     * @param clientTimeout how long a client tries one operation before its outcome is unknown
     * @param attemptTimeout how long a client waits for one node before it tries another (a paused
     *                      node never answers); longer than the nodes' request timeout
     * @param partitionsOff why partitions were left out although asked for, if they were
     * @param checkBudget   how long the linearizability check of the history may run before its
     *                      verdict is UNKNOWN (and the run's NO_VERDICT)
     */
    public record Options(int clients, Duration duration, long seed, Set<FaultKind> faults, Path dir,
                          Duration clientTimeout, Duration attemptTimeout, Optional<String> partitionsOff,
                          Duration checkBudget) {
        public Options {
            if (checkBudget.isNegative() || checkBudget.isZero()) throw new IllegalArgumentException("checkBudget must be positive");
            if (clients < 1) throw new IllegalArgumentException("clients must be >= 1");
            if (attemptTimeout.compareTo(clientTimeout) > 0) attemptTimeout = clientTimeout;
            faults = Collections.unmodifiableSet(faults.isEmpty() ? EnumSet.noneOf(FaultKind.class) : EnumSet.copyOf(faults));
            Objects.requireNonNull(dir);
        }
    }

    /** How the checks combine: see {@link Conclusion}. */
    public enum Verdict {
        /** Every acknowledged write present, exactly once, in order; election safety held; the history is linearizable. */
        PASS,
        /**
         * A check found a lost, duplicated or reordered write, two leaders in one term, a node that
         * exited by itself, or a history that is not linearizable.
         */
        FAIL,
        /**
         * No violation, but the cluster did not recover, a key could not be read at the end, or the
         * linearizability check ran out of time: nothing was concluded.
         */
        NO_VERDICT
    }

    /** What a run concluded; {@code reasons} say why in a sentence each. */
    public record Result(Verdict verdict, List<String> reasons, Path history, Path summary, Path events) {}

    private final NodeProcesses nodes;
    private final Options options;
    private final Optional<Firewall> firewall;
    private final PrintStream out;

    private ChaosRun(NodeProcesses nodes, Options options, Optional<Firewall> firewall, PrintStream out) {
        this.nodes = nodes;
        this.options = options;
        this.firewall = firewall;
        this.out = out;
    }

    /**
     * Runs the whole thing against the started nodes. The caller owns the processes and the
     * firewall (and closes both); this repairs every fault it made before it returns, also on failure.
     */
    public static Result run(NodeProcesses nodes, Options options, Optional<Firewall> firewall, PrintStream out)
            throws IOException, InterruptedException {
        return new ChaosRun(nodes, options, firewall, out).run();
    }

    private Result run() throws IOException, InterruptedException {
        long startNs = System.nanoTime();
        Path historyPath = options.dir().resolve("history.jsonl");
        Path summaryPath = options.dir().resolve("summary.json");
        Path eventsPath = options.dir().resolve("chaos.log");
        int n = nodes.addresses().size();
        List<FaultKind> kinds = options.faults().stream().sorted().toList();
        try (EventLog log = new EventLog(out, eventsPath, startNs);
             HistoryFile history = new HistoryFile(historyPath);
             ClusterMonitor monitor = new ClusterMonitor(nodes.addresses(), log, nodes.clientTls())) {
            log.event("start", n + " nodes on " + nodes.addresses().stream().map(Object::toString).collect(Collectors.joining(" "))
                    + ", " + options.clients() + " clients for " + options.duration().toSeconds() + " s, faults "
                    + FaultKind.names(options.faults()) + ", seed " + options.seed());
            options.partitionsOff().ifPresent(why -> log.event("note", "no partitions: " + why));
            log.event("start", "data, node logs and results in " + options.dir().toAbsolutePath());
            monitor.start();
            if (!await(() -> monitor.leader().isPresent(), LEADER_WAIT)) {
                return noVerdict(log, history, "no leader was elected within " + LEADER_WAIT.toSeconds() + " s of the start",
                        historyPath, summaryPath, eventsPath);
            }
            Nemesis nemesis = new Nemesis(nodes, firewall, monitor, kinds, options.seed(), log);
            Workload workload = new Workload(nodes.addresses(), options.clients(), options.seed(), options.clientTimeout(),
                    options.attemptTimeout(), history, startNs, nodes.clientTls());
            Summary summary = new Summary(options, nodes, startNs);
            long loadStartNs = System.nanoTime();
            long endNs = loadStartNs + options.duration().toNanos();
            workload.start();
            Thread nemesisThread = Thread.ofPlatform().name("nemesis").start(() -> nemesis.run(endNs));
            Set<Integer> exited = new TreeSet<>();
            try {
                // Past endNs too until the nemesis has injected every kind once.
                progressUntil(endNs, nemesis::firstTurnDone, workload, log, history, () -> watchExits(nemesis, exited, log));
            } finally {
                nemesis.stop();
                nemesisThread.join(Duration.ofSeconds(30));
                nemesis.healAll();
                workload.stop();
            }
            long loadEndNs = System.nanoTime();
            log.event("stop", "load and faults stopped; waiting for the clients' last operations");
            if (!workload.awaitStopped(options.clientTimeout().plusSeconds(10))) {
                log.event("note", "some clients are still waiting for an answer; their operations are not in the history");
            }
            watchExits(nemesis, exited, log);
            summary.load(workload, loadStartNs, loadEndNs);
            summary.faults(nemesis.faults(), nemesis.errors());

            Optional<String> recovery = restartAllAndRecover(log, monitor, n);
            Conclusion conclusion = new Conclusion();
            // seen during the run: violations whether or not the cluster then recovered
            monitor.safetyViolations().forEach(conclusion::violated);
            for (int id : exited) {
                conclusion.violated("node " + id + " exited by itself during the run (not killed by the nemesis); see "
                        + nodes.log(id));
            }
            if (recovery.isPresent()) {
                conclusion.undecided(recovery.get());
            } else {
                Map<String, Optional<String>> finalValues = readAll(log, history, workload.keys());
                Set<String> unread = new TreeSet<>(workload.keys());
                unread.removeAll(finalValues.keySet());
                AcknowledgedWritesCheck.Outcome check = AcknowledgedWritesCheck.check(history.ops(), finalValues);
                summary.check(check, unread);
                check.problems().forEach(conclusion::violated);
                if (check.moreProblems() > 0) conclusion.violated("... and " + check.moreProblems() + " more problems");
                if (!unread.isEmpty()) {
                    conclusion.undecided(unread.size() + " keys could not be read within " + FINAL_READS_WAIT.toSeconds()
                            + " s at the end, e.g. " + unread.iterator().next());
                }
                conclusion.held("every acknowledged write is present, exactly once and in order (" + check.ackedWrites()
                        + " acknowledged writes on " + check.keys() + " keys); no two leaders in one term");
            }
            // also when the cluster did not recover: a violation in what was recorded is still one
            history.flush();
            Optional<CheckReport> linearizability = checkLinearizability(log, historyPath, conclusion);
            List<Op> ops = history.ops();
            List<Unavailability.Window> windows = Unavailability.afterLeaderFaults(nemesis.faults(), ops, startNs, loadEndNs);
            summary.leaders(monitor.leaderChanges(), monitor.safetyViolations(), windows);
            Verdict verdict = conclusion.verdict();
            List<String> reasons = conclusion.reasons();
            summary.verdict(verdict, reasons, linearizability, historyPath, eventsPath);
            summary.write(summaryPath);
            printVerdict(verdict, reasons, summary, windows, linearizability, historyPath, summaryPath, eventsPath);
            return new Result(verdict, reasons, historyPath, summaryPath, eventsPath);
        }
    }

    /**
     * Checks the history as written to its file, so the verdict is the one {@code raftkv
     * check-history} gives on it; adds it to {@code conclusion}. Empty if the file could not be read
     * back, which leaves the run undecided.
     */
    private Optional<CheckReport> checkLinearizability(EventLog log, Path historyPath, Conclusion conclusion) {
        History h;
        try {
            h = History.readJsonLines(historyPath);
        } catch (IOException e) {
            conclusion.undecided("the history could not be read back for the linearizability check: " + e.getMessage());
            log.event("check", "linearizability not checked: " + historyPath + " " + e.getMessage());
            return Optional.empty();
        }
        log.event("check", String.format(Locale.ROOT, "linearizability of %d operations (time budget %.0f s) ...",
                h.size(), options.checkBudget().toNanos() / 1e9));
        CheckReport report = CheckReport.check(h, options.checkBudget());
        log.event("check", "linearizability: " + report.headline());
        conclusion.linearizability(report);
        return Optional.of(report);
    }

    private Result noVerdict(EventLog log, HistoryFile history, String why, Path historyPath, Path summaryPath,
                             Path eventsPath) throws IOException {
        log.event("verdict", "NO VERDICT: " + why);
        history.flush();
        Summary s = new Summary(options, nodes, log.startNs());
        s.verdict(Verdict.NO_VERDICT, List.of(why), Optional.empty(), historyPath, eventsPath);
        s.write(summaryPath);
        return new Result(Verdict.NO_VERDICT, List.of(why), historyPath, summaryPath, eventsPath);
    }

    /** Notes nodes that are down although the nemesis did not kill them; each is reported once. */
    private void watchExits(Nemesis nemesis, Set<Integer> exited, EventLog log) {
        for (int i = 0; i < nodes.addresses().size(); i++) {
            if (!exited.contains(i) && nemesis.exitedByItself(i)) {
                exited.add(i);
                log.event("VIOLATION", "node " + i + " is not running and the nemesis did not kill it; see " + nodes.log(i));
            }
        }
    }

    private void progressUntil(long endNs, java.util.function.BooleanSupplier mayEnd, Workload workload, EventLog log,
                               HistoryFile history, Runnable everySecond) throws IOException {
        long lastNs = System.nanoTime();
        long lastOps = 0;
        Map<String, Long> lastErrors = Map.of();
        while (true) {
            long now = System.nanoTime();
            if (now >= endNs && mayEnd.getAsBoolean()) return;
            long nextNs = lastNs + PROGRESS_INTERVAL_NS;
            LockSupport.parkNanos(Math.max(1, (now < endNs ? Math.min(endNs, nextNs) : nextNs) - now));
            now = System.nanoTime();
            if (now < nextNs && !(now >= endNs && mayEnd.getAsBoolean())) continue;
            long ops = workload.okCount() + workload.unknownCount();
            Map<String, Long> errors = workload.errorCounts();
            Map<String, Long> newErrors = new TreeMap<>();
            for (Map.Entry<String, Long> e : errors.entrySet()) {
                long d = e.getValue() - lastErrors.getOrDefault(e.getKey(), 0L);
                if (d > 0) newErrors.put(e.getKey(), d);
            }
            log.event("load", String.format("%6.0f ops/s   total ok %d, unknown %d%s", (ops - lastOps) * 1e9 / (now - lastNs),
                    workload.okCount(), workload.unknownCount(), newErrors.isEmpty() ? "" : "   errors " + newErrors));
            history.flush();
            everySecond.run();
            lastNs = now;
            lastOps = ops;
            lastErrors = errors;
        }
    }

    /**
     * Kills every node and starts it again (only what each fsynced survives), then waits until one
     * leader is agreed by all and every node applied everything it committed. Empty if recovered,
     * else why not.
     */
    private Optional<String> restartAllAndRecover(EventLog log, ClusterMonitor monitor, int n) {
        long t0 = System.nanoTime();
        List<Long> pids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (nodes.pid(i).isPresent()) nodes.kill9(i);
        }
        for (int i = 0; i < n; i++) pids.add(nodes.start(i));
        log.event("restart", "kill -9 every node and start it again: new pids " + pids);
        long highest = monitor.highestLeaderTerm();
        List<Optional<ClusterMonitor.View>> last = new ArrayList<>();
        boolean ok = await(() -> {
            last.clear();
            for (int i = 0; i < n; i++) last.add(monitor.poll(i));
            if (last.stream().anyMatch(Optional::isEmpty)) return false;
            List<ClusterMonitor.View> v = last.stream().map(Optional::orElseThrow).toList();
            List<ClusterMonitor.View> leaders = v.stream().filter(ClusterMonitor.View::isLeader).toList();
            if (leaders.size() != 1) return false;
            ClusterMonitor.View l = leaders.getFirst();
            return v.stream().allMatch(x -> x.term() == l.term() && x.leaderId() == l.id() && x.lastApplied() >= l.commitIndex()
                    && x.pid() == pids.get(x.id()));
        }, RECOVERY_WAIT);
        if (!ok) {
            String state = IntStream.range(0, n).mapToObj(i -> "node " + i + ": " + (i < last.size() && last.get(i).isPresent()
                    ? last.get(i).get().toString() : "no answer")).collect(Collectors.joining("; "));
            log.event("recover", "FAILED: no agreed leader with every node caught up within " + RECOVERY_WAIT.toSeconds() + " s");
            return Optional.of("the cluster did not recover within " + RECOVERY_WAIT.toSeconds()
                    + " s after the restart (one leader agreed by all, every node caught up); last state: " + state);
        }
        ClusterMonitor.View l = last.stream().map(Optional::orElseThrow).filter(ClusterMonitor.View::isLeader).findFirst().orElseThrow();
        log.event("recover", String.format("node %d leads in term %d (highest before: %d); all %d nodes applied up to index %d,"
                + " %d keys (%.1f s after the restart)", l.id(), l.term(), highest, n, l.commitIndex(), l.keys(),
                (System.nanoTime() - t0) / 1e9));
        return Optional.empty();
    }

    /** Reads every key (linearizable gets, retried until answered); records them in the history as one more client. */
    private Map<String, Optional<String>> readAll(EventLog log, HistoryFile history, Set<String> keys) {
        Map<String, Optional<String>> values = new TreeMap<>();
        int reader = options.clients();
        long deadline = System.nanoTime() + FINAL_READS_WAIT.toNanos();
        try (RaftKvClient client = new RaftKvClient(nodes.addresses(), options.clientTimeout(), false, options.attemptTimeout(),
                null, nodes.clientTls())) {
            for (String key : new TreeSet<>(keys)) {
                while (System.nanoTime() < deadline) {
                    long call = System.nanoTime() - log.startNs();
                    KvResult r = client.get(key);
                    long ret = System.nanoTime() - log.startNs();
                    boolean known = r.ok() || r.notFound();
                    history.add(new Op(reader, Op.Kind.GET, key, Optional.empty(), r.ok() ? r.value() : Optional.empty(),
                            call, ret, known, OptionalLong.empty()));
                    if (known) {
                        values.put(key, r.ok() ? r.value() : Optional.empty());
                        break;
                    }
                }
            }
        }
        log.event("read", "read " + values.size() + " of " + keys.size() + " keys");
        return values;
    }

    private void printVerdict(Verdict verdict, List<String> reasons, Summary summary, List<Unavailability.Window> windows,
                              Optional<CheckReport> linearizability, Path history, Path summaryPath, Path events) {
        out.println();
        out.println("== verdict: " + verdict.name().replace('_', ' '));
        for (String r : reasons.subList(0, Math.min(reasons.size(), 20))) out.println("   " + r);
        if (reasons.size() > 20) out.println("   ... " + (reasons.size() - 20) + " more in " + summaryPath);
        out.println("   " + summary.oneLine());
        Optional<Unavailability.Window> longest = Unavailability.longest(windows, FaultKind.KILL);
        out.println("   longest unavailability after a leader kill: " + longest.map(w -> String.format(
                "%s%.2f s (node %s killed at %.1f s)", w.windowNs().isPresent() ? "" : "at least ", w.atLeastNs() / 1e9,
                w.fault().nodes().getFirst(), (w.fault().startNs() - summary.startNs()) / 1e9)).orElse("no leader was killed"));
        linearizability.filter(r -> !r.details().isEmpty()).ifPresent(r -> {
            out.println("   linearizability, " + r.verdictName() + ":");
            r.details().lines().forEach(l -> out.println("     " + l));
        });
        out.println("   check the history again with: " + Summary.checkCommand(history));
        out.println("   history   " + history.toAbsolutePath());
        out.println("   summary   " + summaryPath.toAbsolutePath());
        out.println("   events    " + events.toAbsolutePath());
        out.println("   node logs " + options.dir().toAbsolutePath().resolve("node-<id>.log") + ", data in "
                + options.dir().toAbsolutePath().resolve("node-<id>/"));
    }

    /** Polls {@code condition} until it holds or {@code timeout} passes. */
    private static boolean await(java.util.function.BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) return true;
            if (System.nanoTime() - deadline > 0) return false;
            LockSupport.parkNanos(POLL_NS); // between two polls of a condition, not a fixed wait
        }
    }
}
