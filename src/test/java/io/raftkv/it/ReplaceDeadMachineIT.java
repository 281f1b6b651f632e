package io.raftkv.it;

import io.raftkv.client.KvResult;
import io.raftkv.client.RaftKvClient;
import io.raftkv.server.WriteWorkload;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's runbook "replace a dead machine" on real processes, with the commands it gives:
 * 3 nodes under 4 writers; {@code kill -9} of a follower and its data folder deleted; a new node
 * started with {@code -join} on an empty folder; {@code raftkv member list} until it has caught up,
 * {@code raftkv member promote}, {@code raftkv member remove} of the dead id. Every acknowledged
 * write is read back, and the new node restarts with neither -peers nor -join.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class ReplaceDeadMachineIT {
    private static final Duration WAIT = Duration.ofSeconds(40);

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private final Path testDir = ItEnv.newLogDir("it-replace-");
    private int[] ports;
    private final Process[] processes = new Process[4];

    @AfterEach
    void stopEverything() {
        procs.close();
    }

    @Test
    void aDeadFollowerIsReplacedByTheRunbookWithNothingLost() throws Exception {
        ports = ItEnv.freePorts(4);
        for (int id = 0; id < 3; id++) start(id, List.of("-peers", peersOf(id)));
        List<HostPort> first3 = List.of(address(0), address(1), address(2));
        try (RaftKvClient admin = new RaftKvClient(first3, Duration.ofSeconds(5))) {
            ItEnv.awaitTrue("a leader", WAIT, () -> admin.members().ok(), () -> "no answer to GET /members");
            int leader = admin.members().body().path("leader").path("id").asInt();
            int dead = (leader + 1) % 3;
            List<HostPort> all = List.of(address(0), address(1), address(2), address(3));
            WriteWorkload w = new WriteWorkload("", 4, 5, () -> new RaftKvClient(all, Duration.ofSeconds(5))).start();
            w.awaitAcked(200, WAIT);

            processes[dead].destroyForcibly();
            assertThat(ProcessGroup.awaitExit(processes[dead], 10)).isTrue();
            deleteTree(dataDir(dead));
            w.awaitAcked(w.acked() + 100, WAIT);

            // The runbook, as the README gives it.
            start(3, List.of("-join", address(leader).toString()));
            ItEnv.awaitTrue("node 3 to be caught up in 'raftkv member list'", WAIT,
                    () -> cli("member", "list", "--cluster", address(leader).toString()).matches(
                            "(?s).*\\n3 +" + java.util.regex.Pattern.quote(address(3).toString()) + " +learner +yes.*"),
                    () -> cli("member", "list", "--cluster", address(leader).toString()));
            assertThat(cli("member", "promote", "--cluster", address(leader).toString(), "--id", "3"))
                    .containsPattern("3 +" + java.util.regex.Pattern.quote(address(3).toString()) + " +voter");
            assertThat(cli("member", "remove", "--cluster", address(leader).toString(), "--id", String.valueOf(dead)))
                    .doesNotContain(address(dead).toString());
            w.awaitAcked(w.acked() + 200, WAIT);
            w.stop();

            WriteWorkload.Check check = w.check(() -> new RaftKvClient(all, Duration.ofSeconds(5)), 4, WAIT);
            assertThat(check.violations()).as("reads against %s", w.summary()).isEmpty();
            assertThat(w.anomalies()).isEmpty();

            // The new node restarts from its folder alone: no -peers, no -join.
            processes[3].destroyForcibly();
            assertThat(ProcessGroup.awaitExit(processes[3], 10)).isTrue();
            start(3, List.of());
            try (RaftKvClient viaNew = new RaftKvClient(List.of(address(3)), Duration.ofSeconds(5))) {
                ItEnv.awaitTrue("node 3 to serve a linearizable read after its restart", WAIT,
                        () -> viaNew.get("probe").status() == 404, () -> viaNew.status(address(3)).body().toString());
                KvResult st = viaNew.status(address(3));
                assertThat(st.body().path("configuration").path("voters").toString()).contains("3")
                        .doesNotContain(String.valueOf(dead) + ",").doesNotContain("," + dead + "]");
            }
        }
    }

    private String cli(String... args) {
        List<String> cmd = new ArrayList<>(List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString()));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            return out;
        } catch (Exception e) {
            throw new AssertionError("raftkv " + String.join(" ", args), e);
        }
    }

    private void start(int id, List<String> extra) {
        List<String> cmd = new ArrayList<>(List.of(ItEnv.javaBinary(), "-jar", ItEnv.jar().toString(), "-id",
                String.valueOf(id), "-port", String.valueOf(ports[id]), "--no-shell", "-data", dataDir(id).toString(),
                "--request-timeout-ms", "2000"));
        cmd.addAll(extra);
        processes[id] = procs.start(testDir.resolve("node-" + id + ".log"), cmd, testDir);
    }

    private String peersOf(int id) {
        return IntStream.range(0, 3).filter(i -> i != id).mapToObj(i -> i + "=localhost:" + ports[i]).collect(Collectors.joining(","));
    }

    private HostPort address(int id) {
        return new HostPort("localhost", ports[id]);
    }

    private Path dataDir(int id) {
        return testDir.resolve("data").resolve("node-" + id);
    }

    private static void deleteTree(Path dir) throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
