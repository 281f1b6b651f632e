package io.raftkv.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftkv.linearizability.CheckReport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/** {@code summary.json}: what a run did and concluded, for people and for the tests that read it. */
final class Summary {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ObjectNode root = JSON.createObjectNode();
    private final long startNs;
    private String oneLine = "";

    Summary(ChaosRun.Options o, NodeProcesses nodes, long startNs) {
        this.startNs = startNs;
        root.put("verdict", "");
        root.putArray("reasons");
        root.put("nodes", nodes.addresses().size());
        ArrayNode addresses = root.putArray("addresses");
        nodes.addresses().forEach(a -> addresses.add(a.toString()));
        root.put("clients", o.clients());
        root.put("seed", o.seed());
        root.put("durationMs", o.duration().toMillis());
        root.put("clientTimeoutMs", o.clientTimeout().toMillis());
        root.put("faultsEnabled", FaultKind.names(o.faults()));
        root.put("partitionsOff", o.partitionsOff().orElse(null));
    }

    long startNs() {
        return startNs;
    }

    private long ms(long ns) {
        return (ns - startNs) / 1_000_000L;
    }

    void load(Workload w, long loadStartNs, long loadEndNs) {
        ObjectNode ops = root.putObject("operations");
        long total = w.okCount() + w.unknownCount();
        ops.put("total", total);
        ops.put("ok", w.okCount());
        ops.put("unknown", w.unknownCount());
        ops.put("opsPerSecond", Math.round(total * 1e9 / Math.max(1, loadEndNs - loadStartNs)));
        ObjectNode errors = ops.putObject("unknownByCause");
        w.errorCounts().forEach(errors::put);
        ops.put("keys", w.keys().size());
        oneLine = String.format("operations %d (ok %d, unknown %d), %d ops/s", total, w.okCount(), w.unknownCount(),
                ops.get("opsPerSecond").asLong());
    }

    void faults(List<Nemesis.Fault> faults, List<String> errors) {
        ArrayNode a = root.putArray("faults");
        Map<String, Integer> counts = new TreeMap<>();
        for (Nemesis.Fault f : faults) {
            ObjectNode o = a.addObject();
            o.put("kind", f.kind().flagName());
            o.put("description", f.description());
            ArrayNode hit = o.putArray("nodes");
            f.nodes().forEach(hit::add);
            if (f.leader().isPresent()) o.put("leader", f.leader().getAsLong()).put("leaderTerm", f.term());
            else o.putNull("leader");
            o.put("hitLeader", f.hitLeader());
            o.put("startMs", ms(f.startNs()));
            if (f.endNs() > 0) o.put("endMs", ms(f.endNs()));
            counts.merge(f.kind().flagName(), 1, Integer::sum);
        }
        ObjectNode c = root.putObject("faultCounts");
        counts.forEach(c::put);
        ArrayNode e = root.putArray("nemesisErrors");
        errors.forEach(e::add);
        oneLine += "; faults " + faults.size() + " " + counts;
    }

    void check(AcknowledgedWritesCheck.Outcome check, Set<String> unread) {
        ObjectNode c = root.putObject("acknowledgedWrites");
        c.put("passed", check.passed() && unread.isEmpty());
        c.put("keys", check.keys());
        c.put("acknowledgedWrites", check.ackedWrites());
        ArrayNode p = c.putArray("problems");
        check.problems().forEach(p::add);
        c.put("moreProblems", check.moreProblems());
        ArrayNode u = c.putArray("unreadKeys");
        unread.forEach(u::add);
    }

    void leaders(List<ClusterMonitor.LeaderChange> changes, List<String> violations, List<Unavailability.Window> windows) {
        ArrayNode a = root.putArray("leaderChanges");
        for (ClusterMonitor.LeaderChange c : changes) a.addObject().put("atMs", ms(c.atNs())).put("node", c.node()).put("term", c.term());
        root.put("leaderChangeCount", Math.max(0, changes.size() - 1));
        ArrayNode v = root.putArray("electionSafetyViolations");
        violations.forEach(v::add);
        ArrayNode w = root.putArray("unavailabilityAfterLeaderFaults");
        for (Unavailability.Window win : windows) {
            ObjectNode o = w.addObject();
            o.put("kind", win.fault().kind().flagName());
            o.put("faultAtMs", ms(win.fault().startNs()));
            o.put("leader", win.fault().leader().getAsLong());
            if (win.windowNs().isPresent()) o.put("windowMs", win.windowNs().getAsLong() / 1_000_000L);
            else o.putNull("windowMs").put("noWriteForAtLeastMs", win.censoredNs() / 1_000_000L);
        }
        for (FaultKind k : FaultKind.values()) {
            Optional<Unavailability.Window> longest = Unavailability.longest(windows, k);
            String field = "longestUnavailabilityAfterLeader" + switch (k) {
                case KILL -> "KillMs";
                case PAUSE -> "PauseMs";
                case PARTITION -> "PartitionMs";
                case PARTITION_FULL -> "FullPartitionMs";
                case MEMBERSHIP -> "RemovalMs";
                case TRANSFER -> "TransferMs";
            };
            if (longest.isPresent()) root.put(field, longest.get().atLeastNs() / 1_000_000L);
            else root.putNull(field);
        }
        oneLine += "; leader changes " + Math.max(0, changes.size() - 1);
    }

    /** The verdict and its reasons; {@code linearizability} is empty when the history was not checked. */
    void verdict(ChaosRun.Verdict verdict, List<String> reasons, Optional<CheckReport> linearizability, Path history,
                 Path events) {
        root.put("verdict", verdict.name());
        ArrayNode r = root.putArray("reasons");
        reasons.forEach(r::add);
        ObjectNode lin = root.putObject("linearizability");
        lin.put("checked", linearizability.isPresent());
        linearizability.ifPresent(c -> {
            lin.put("verdict", c.verdict().name());
            lin.put("operations", c.operations());
            lin.put("unknownOutcome", c.unknown());
            lin.put("keys", c.keys());
            lin.put("checkMs", c.took().toMillis());
            lin.put("budgetMs", c.budget().toMillis());
            lin.put("explanation", c.result().explanation());
        });
        lin.put("command", checkCommand(history));
        ObjectNode files = root.putObject("files");
        files.put("history", history.toAbsolutePath().toString());
        files.put("events", events.toAbsolutePath().toString());
        files.put("nodeLogs", history.toAbsolutePath().getParent().resolve("node-<id>.log").toString());
    }

    String oneLine() {
        return oneLine;
    }

    void write(Path file) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(root) + "\n");
    }

    /** The command that checks {@code history} for linearizability again. */
    static String checkCommand(Path history) {
        return "raftkv check-history " + history.toAbsolutePath();
    }
}
