package io.raftkv.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code raftkv local} as a person would drive it, with the shell's commands piped into stdin:
 * writes, a status table, {@code kill leader}, writes and reads after the re-election, and
 * {@code exit} taking the whole cluster down.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class LocalShellIT {
    private static final int NODES = 3;
    private static final String COMMANDS = String.join("\n", "put a 1", "append a 2", "get a", "status", "kill leader",
            "put b 3", "get a", "get b", "exit") + "\n";
    /** The shell waits for a leader (up to 20 s), then runs the commands; each may take up to 6 s. */
    private static final long EXIT_WAIT_S = 90;
    private static final Duration NODES_GONE_WAIT = Duration.ofSeconds(15);

    /** One row of the shell's status table: id, address, role, term, leader, commit, applied, lastLog, pid. */
    private static final Pattern STATUS_ROW = Pattern.compile(
            "^(\\d+)\\s+(\\S+)\\s+(leader|follower|candidate)\\s+(\\d+)\\s+(\\S+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)$");
    private static final Pattern KILLED = Pattern.compile("^killed node (\\d+) \\(pid (\\d+)\\) with SIGKILL$");
    /** Lines that answer a command (the table aside). */
    private static final Pattern ANSWER = Pattern.compile("^(OK |\"|killed |error|\\(not found\\)|no leader|unknown |usage: ).*");

    /** Attempts when a chosen port was taken before a node could bind it. */
    private static final int START_ATTEMPTS = 3;

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();

    /** One run of {@code raftkv local} with the commands piped in. */
    private record Session(int basePort, Path dir, Process local, boolean exited, String output) {
        boolean portClash() {
            boolean localSawIt = exited && local.exitValue() == 2 && output.contains(" is in use");
            return localSawIt || IntStream.range(0, NODES)
                    .anyMatch(i -> ProcessGroup.read(dir.resolve("node-" + i + ".log")).contains("already in use"));
        }
    }

    @AfterEach
    void stopEverything() {
        procs.close();
    }

    @Test
    void pipedShellSessionSurvivesLeaderKillAndExitStopsTheCluster() throws IOException {
        Session session = runSession();
        for (int attempt = 2; attempt <= START_ATTEMPTS && session.portClash(); attempt++) {
            System.err.println("LocalShellIT: a port was taken; starting over on other ports. Output was:\n" + session.output());
            procs.close();
            session = runSession();
        }
        Process local = session.local();
        String output = session.output();
        int basePort = session.basePort();
        assertThat(session.exited()).as("'raftkv local' exits by itself after 'exit'; output so far:%n%s", output).isTrue();
        assertThat(local.exitValue()).as("exit code of 'raftkv local'; output:%n%s", output).isZero();

        List<String> lines = output.lines().map(l -> l.replaceFirst("^(raftkv> )+", "").strip()).toList();
        List<String> answers = lines.stream().filter(l -> ANSWER.matcher(l).matches()).toList();
        assertThat(answers).as("answers to the piped commands; output:%n%s", output).hasSize(7);
        assertThat(answers.get(0)).startsWith("OK a = \"1\" ");
        assertThat(answers.get(1)).startsWith("OK a = \"12\" ");
        assertThat(answers.get(2)).as("get a before the kill").startsWith("\"12\" ");
        assertThat(answers.get(3)).matches(KILLED);
        assertThat(answers.get(4)).startsWith("OK b = \"3\" ");
        assertThat(answers.get(5)).as("get a after the kill").startsWith("\"12\" ");
        assertThat(answers.get(6)).as("get b").startsWith("\"3\" ");

        // The status table: three nodes, a leader among them; 'kill leader' killed one of those processes.
        // (Not necessarily the table's leader: a stalled node may cause an election between the two commands.)
        assertThat(lines).as("status table header").anyMatch(l -> l.matches("^id\\s+address\\s+role\\s+term\\s+leader.*pid$"));
        List<Matcher> rows = lines.stream().map(STATUS_ROW::matcher).filter(Matcher::matches).toList();
        assertThat(rows).as("status table rows; output:%n%s", output).hasSize(NODES);
        assertThat(rows).as("a leader in the status table").anyMatch(m -> m.group(3).equals("leader"));
        Matcher killed = KILLED.matcher(answers.get(3));
        assertThat(killed.matches()).isTrue();
        String killedId = killed.group(1);
        assertThat(rows).as("a status row with the killed node's id and pid")
                .anyMatch(m -> m.group(1).equals(killedId) && m.group(9).equals(killed.group(2)));
        assertThat(answers.get(5)).as("the read after the kill is served by a new leader")
                .doesNotContain("(leader node " + killedId + ",");

        // --log-format json reached the nodes: their log lines are JSON objects, none in the text format.
        for (int i = 0; i < NODES; i++) {
            List<String> logLines = ProcessGroup.read(session.dir().resolve("node-" + i + ".log")).lines().toList();
            assertThat(logLines).as("node %d's log", i).anyMatch(l -> l.startsWith("{\"") && l.contains("\"level\":\"INFO\""))
                    .noneMatch(l -> l.matches("^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} (INFO|WARN|ERROR|DEBUG).*"));
        }

        // 'exit' stopped every node: their pids are gone and their ports are free again.
        List<Long> nodePids = rows.stream().map(m -> Long.parseLong(m.group(9))).toList();
        ItEnv.awaitTrue("the node processes " + nodePids + " to exit and ports " + basePort + ".." + (basePort + NODES - 1)
                        + " to be free", NODES_GONE_WAIT,
                () -> nodePids.stream().noneMatch(LocalShellIT::alive)
                        && IntStream.range(0, NODES).allMatch(i -> ItEnv.isFree(basePort + i)),
                () -> "alive: " + nodePids.stream().filter(LocalShellIT::alive).toList() + ", ports in use: "
                        + busyPorts(basePort));
    }

    private Session runSession() throws IOException {
        int basePort = ItEnv.freeConsecutivePorts(NODES);
        String dirName = "target/it-local-" + basePort; // relative: the process runs in the project folder
        Path dir = ItEnv.projectDir().resolve(dirName);
        Path home = Files.createDirectories(dir.resolve("home")); // the shell's history file goes here, not to ~
        for (int i = 0; i < NODES; i++) procs.watch(dir.resolve("node-" + i + ".log"));
        Path log = dir.resolve("local.log");
        Process local = procs.start(log, List.of(ItEnv.javaBinary(), "-Duser.home=" + home, "-jar", ItEnv.jar().toString(),
                "local", "--nodes", String.valueOf(NODES), "--base-port", String.valueOf(basePort), "--dir", dirName,
                "--log-format", "json"),
                ItEnv.projectDir());
        try (OutputStream stdin = local.getOutputStream()) {
            stdin.write(COMMANDS.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // It exited before reading its input (e.g. a port in use): its exit code and output tell.
        }
        boolean exited = ProcessGroup.awaitExit(local, EXIT_WAIT_S);
        return new Session(basePort, dir, local, exited, ProcessGroup.read(log));
    }

    private static boolean alive(long pid) {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        return h.isPresent() && h.get().isAlive();
    }

    private static List<Integer> busyPorts(int basePort) {
        List<Integer> busy = new ArrayList<>();
        for (int i = 0; i < NODES; i++) if (!ItEnv.isFree(basePort + i)) busy.add(basePort + i);
        return busy;
    }
}
