package io.raftkv.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.chaos.FaultKind;
import io.raftkv.chaos.Firewall;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code raftkv chaos} as a user runs it, from the jar, against 3 and 5 real node processes:
 * concurrent clients while nodes are killed (-9) and restarted, paused (SIGSTOP/SIGCONT) and
 * partitioned (iptables, when this runs as root with iptables), then a full restart. The run must
 * end with every acknowledged write present exactly once and in order, no two leaders in a term,
 * and a history that is linearizable, as the run itself says and {@code raftkv check-history}
 * confirms from the jar.
 *
 * <p>The default build runs each for {@value #DEFAULT_SECONDS} s. {@code -Draftkv.soak=true} runs
 * them for {@code raftkv.soak.seconds} (default {@value #SOAK_SECONDS}) each; {@code -Draftkv.seed=N}
 * fixes the seed. A failure prints the paths of the history, the summary and the node logs, and
 * the logs' last lines.
 */
class NemesisIT {
    private static final int DEFAULT_SECONDS = 25;
    private static final int SOAK_SECONDS = 300;
    /** Beyond the run itself: JVM and cluster start, the final restart and recovery (bounded at 60 s), the reads. */
    private static final Duration OVERHEAD = Duration.ofSeconds(150);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The checker's time budget, in the run and again in check-history; UNKNOWN (budget spent) fails the test as well. */
    private static final Duration CHECK_BUDGET = Duration.ofSeconds(60);

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private final List<Integer> firewallPorts = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        procs.close();
        // A chaos process killed by the test could not remove its iptables chain; its port names it.
        if (Firewall.unusableReason().isEmpty()) firewallPorts.forEach(Firewall::removeLeftovers);
    }

    @Test
    void threeNodesUnderNemesisKeepEveryAcknowledgedWrite() throws Exception {
        runChaos(3, 4, List.of(), false);
    }

    /**
     * With client timeouts shorter than the faults, many operations end with an unknown outcome:
     * the history then holds writes that may or may not have happened, which both checks must handle.
     */
    @Test
    void fiveNodesWithImpatientClientsKeepEveryAcknowledgedWrite() throws Exception {
        runChaos(5, 5, List.of("--client-timeout", "1500ms", "--node-request-timeout-ms", "700"), true);
    }

    private static Duration runTime() {
        return Duration.ofSeconds(Boolean.getBoolean("raftkv.soak") ? Long.getLong("raftkv.soak.seconds", SOAK_SECONDS)
                : DEFAULT_SECONDS);
    }

    private void runChaos(int nodes, int clients, List<String> extraArgs, boolean expectUnknowns) throws Exception {
        Optional<String> noPartitions = Firewall.unusableReason();
        noPartitions.ifPresent(why -> System.err.println("NemesisIT: the partition faults are skipped: " + why
                + ". Kills and pauses still run."));
        Set<FaultKind> kinds = FaultKind.parseList(noPartitions.isEmpty() ? FaultKind.allNames() : "kill,pause");
        Path logDir = ItEnv.newLogDir("it-nemesis-" + nodes + "-");
        Path runDir = logDir.resolve("run");
        int port = ItEnv.freePorts(1)[0];
        firewallPorts.add(port);
        long seed = Long.getLong("raftkv.seed", ThreadLocalRandom.current().nextLong(1L << 40));
        Duration runFor = runTime();
        List<String> cmd = new ArrayList<>(List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString(), "chaos", "--nodes",
                String.valueOf(nodes), "--clients", String.valueOf(clients), "--duration", runFor.toSeconds() + "s",
                "--seed", String.valueOf(seed), "--dir", runDir.toString(), "--port", String.valueOf(port), "--faults",
                FaultKind.names(kinds), "--check-budget-seconds", String.valueOf(CHECK_BUDGET.toSeconds())));
        cmd.addAll(extraArgs);
        Path out = logDir.resolve("chaos-output.log");
        IntStream.range(0, nodes).forEach(i -> procs.watch(runDir.resolve("node-" + i + ".log")));
        Process chaos = procs.start(out, cmd, logDir);
        String where = "\n  output  " + out + "\n  history " + runDir.resolve("history.jsonl") + "\n  summary "
                + runDir.resolve("summary.json") + "\n  node logs " + runDir.resolve("node-<id>.log") + "\n  seed " + seed
                + " (rerun with -Draftkv.seed=" + seed + ")";

        Duration bound = runFor.plus(OVERHEAD).plus(CHECK_BUDGET);
        boolean exited = ProcessGroup.awaitExit(chaos, bound.toSeconds());
        if (!exited) {
            chaos.destroy(); // SIGTERM: its shutdown hook removes the firewall rules and stops the nodes
            ProcessGroup.awaitExit(chaos, 15);
        }
        String output = ProcessGroup.read(out);
        assertThat(exited).as("raftkv chaos ends within %s s; output so far:%n%s%s", bound.toSeconds(), output, where).isTrue();
        System.out.println("NemesisIT, " + nodes + " nodes, seed " + seed + ":\n" + tail(output, 14));

        JsonNode summary = JSON.readTree(Files.readString(runDir.resolve("summary.json")));
        assertThat(summary.path("verdict").asText()).as("verdict; reasons %s%s", summary.path("reasons"), where).isEqualTo("PASS");
        assertThat(chaos.exitValue()).as("exit code of raftkv chaos%s", where).isZero();
        assertThat(summary.path("acknowledgedWrites").path("passed").asBoolean()).as("acknowledged writes%s", where).isTrue();
        assertThat(summary.path("electionSafetyViolations")).as("two leaders in one term%s", where).isEmpty();
        assertThat(summary.path("nemesisErrors")).as("faults the nemesis failed to inject or repair%s", where).isEmpty();
        assertThat(summary.path("operations").path("ok").asLong()).as("acknowledged operations%s", where).isGreaterThan(50);

        // The first turn injects every kind in order; a run of the default length or longer has time for a turn.
        Set<String> injected = new TreeSet<>();
        summary.path("faults").forEach(f -> injected.add(f.path("kind").asText()));
        assertThat(summary.path("faults").size()).as("faults injected%s", where).isPositive();
        if (runFor.toSeconds() >= DEFAULT_SECONDS) {
            assertThat(summary.path("faults").size()).as("faults injected%s", where).isGreaterThanOrEqualTo(kinds.size());
            assertThat(injected).as("kinds of fault injected%s", where)
                    .containsExactlyInAnyOrderElementsOf(kinds.stream().map(FaultKind::flagName).toList());
        }
        assertThat(output).as("the live output shows the faults, the leaders and the load")
                .contains("fault   ", "leader  node", "ops/s", "== verdict: PASS");
        if (runFor.toSeconds() >= DEFAULT_SECONDS) assertThat(output).contains("fault   kill -9 node", "fault   pause node");
        if (noPartitions.isEmpty() && runFor.toSeconds() >= DEFAULT_SECONDS) {
            assertThat(output).contains("fault   partition [", "fault   full partition");
            // A full partition outlasts the client timeout: operations in flight then have an unknown outcome.
            if (expectUnknowns) {
                assertThat(summary.path("operations").path("unknown").asLong()).as("operations of unknown outcome%s", where)
                        .isPositive();
            }
        }

        // raftkv chaos checked its history itself: the verdict above includes it
        JsonNode lin = summary.path("linearizability");
        assertThat(lin.path("verdict").asText()).as("linearizability of the history: %s%s", lin, where)
                .isEqualTo("LINEARIZABLE");
        assertThat(lin.path("operations").asLong()).as("operations checked%s", where).isGreaterThan(50);
        assertThat(output).contains("linearizability: ", ": LINEARIZABLE");
        checkHistoryAgain(runDir.resolve("history.jsonl"), logDir, where);
    }

    /** {@code raftkv check-history} from the jar, as the verdict's last lines tell a user to run it, agrees. */
    private void checkHistoryAgain(Path history, Path logDir, String where) throws Exception {
        Path out = logDir.resolve("check-history-output.log");
        Process check = procs.start(out, List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString(), "check-history",
                history.toString(), "--budget-seconds", String.valueOf(CHECK_BUDGET.toSeconds())), logDir);
        boolean exited = ProcessGroup.awaitExit(check, CHECK_BUDGET.toSeconds() + 30);
        String output = ProcessGroup.read(out);
        System.out.println("NemesisIT: " + output.lines().findFirst().orElse(""));
        assertThat(exited).as("raftkv check-history ends; output so far:%n%s%s", output, where).isTrue();
        assertThat(check.exitValue()).as("exit code of raftkv check-history:%n%s%s", output, where).isZero();
        assertThat(output.lines().findFirst().orElse("")).as("check-history output%s", where)
                .startsWith(history + ": ").endsWith(": LINEARIZABLE");
    }

    private static String tail(String text, int n) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }
}
