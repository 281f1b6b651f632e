package io.raftkv.cli;

import io.raftkv.client.RaftKvClient;
import io.raftkv.server.TestNodes;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** {@code raftkv transfer-leader} and the shell's {@code transfer-leader} against a real in-process cluster. */
class TransferLeaderCommandTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Set<Integer> ALL = Set.of(0, 1, 2);

    private record Result(int exitCode, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = assertTimeoutPreemptively(WAIT, () -> Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    @DisplayName("exit 0 naming the new leader; 1 with the node's message for an unknown id; 2 for bad flags")
    void exitCodes() {
        try (TestNodes nodes = new TestNodes(3).startAll()) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int target = (leader + 1) % 3;
            String cluster = nodes.address((leader + 2) % 3).toString();

            Result ok = run("transfer-leader", "--cluster", cluster, "--to", String.valueOf(target));
            assertThat(ok.exitCode()).as(ok.err()).isZero();
            assertThat(ok.out()).contains("node " + target + " (" + nodes.address(target) + ") leads term");
            TestNodes.awaitCondition(() -> nodes.leader(ALL).orElse(-1) == target, WAIT, "node " + target + " to lead");

            Result unknown = run("transfer-leader", "--cluster", cluster, "--to", "9");
            assertThat(unknown.exitCode()).isEqualTo(1);
            assertThat(unknown.err()).contains("HTTP 404", "no node 9");

            Result any = run("transfer-leader", "-c", cluster);
            assertThat(any.exitCode()).as(any.err()).isZero();
            assertThat(any.out()).doesNotContain("node " + target + " (");

            assertThat(run("transfer-leader", "--cluster", cluster, "--to", "two").exitCode()).isEqualTo(2);
            assertThat(run("transfer-leader", "--to", "1").exitCode()).isEqualTo(2);
            assertThat(run("transfer-leader", "--cluster", "nohost", "--to", "1").exitCode()).isEqualTo(2);
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("shell: transfer-leader [id]")
    void shellCommand() {
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient client = nodes.client(WAIT)) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            int target = (leader + 1) % 3;
            Shell shell = new Shell(client, null);
            StringWriter out = new StringWriter();
            shell.execute(List.of("transfer-leader", String.valueOf(target)), new PrintWriter(out, true));
            assertThat(out.toString()).startsWith("OK node " + target + " (");
            out.getBuffer().setLength(0);
            shell.execute(List.of("transfer-leader", "x"), new PrintWriter(out, true));
            assertThat(out.toString()).startsWith("usage: transfer-leader [id]");
            out.getBuffer().setLength(0);
            shell.execute(List.of("transfer-leader", "5"), new PrintWriter(out, true));
            assertThat(out.toString()).startsWith("error: leadership transfer: HTTP 404");
            out.getBuffer().setLength(0);
            shell.execute(List.of("help"), new PrintWriter(out, true));
            assertThat(out.toString()).contains("transfer-leader [id]");
        }
    }
}
