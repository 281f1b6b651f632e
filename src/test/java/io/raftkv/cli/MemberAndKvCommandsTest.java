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

/** {@code raftkv member ...} and the shell's member and KV commands against a real in-process cluster. */
class MemberAndKvCommandsTest {
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
    @DisplayName("member list/add/promote/remove: exit 0 with the membership table, 1 with the node's message, 2 for bad flags")
    void memberCommands() {
        try (TestNodes nodes = new TestNodes(3).startAll()) {
            int leader = nodes.awaitLeader(ALL, WAIT);
            String cluster = nodes.address((leader + 1) % 3).toString();

            Result list = run("member", "list", "--cluster", cluster);
            assertThat(list.exitCode()).as(list.err()).isZero();
            assertThat(list.out()).contains(leader + "*", nodes.address(0).toString(), "voter", "configuration of log index 0");

            // A learner nobody runs: added, never caught up, so promoting it is refused.
            Result add = run("member", "add", "--cluster", cluster, "--id", "7", "--address", "127.0.0.1:1");
            assertThat(add.exitCode()).as(add.err()).isZero();
            assertThat(add.out()).containsPattern("7 +127\\.0\\.0\\.1:1 +learner +no");
            Result promote = run("member", "promote", "--cluster", cluster, "--id", "7");
            assertThat(promote.exitCode()).isEqualTo(1);
            assertThat(promote.err()).contains("HTTP 409", "learner 7 has not acknowledged any entry");
            Result again = run("member", "add", "-c", cluster, "--id", "8", "--address", "127.0.0.1:1");
            assertThat(again.exitCode()).isEqualTo(1);
            assertThat(again.err()).contains("HTTP 409", "already used by node 7");
            Result remove = run("member", "remove", "--cluster", cluster, "--id", "7");
            assertThat(remove.exitCode()).as(remove.err()).isZero();
            assertThat(remove.out()).doesNotContain("127.0.0.1:1");
            Result unknown = run("member", "remove", "--cluster", cluster, "--id", "9");
            assertThat(unknown.exitCode()).isEqualTo(1);
            assertThat(unknown.err()).contains("HTTP 404", "node 9 is not a member");

            assertThat(run("member", "promote", "--cluster", cluster).exitCode()).isEqualTo(2);
            assertThat(run("member", "add", "--cluster", cluster, "--id", "x", "--address", "h:1").exitCode()).isEqualTo(2);
            assertThat(run("member", "list").exitCode()).isEqualTo(2);
            assertThat(run("member", "--cluster", cluster).exitCode()).isEqualTo(2);
            assertThat(run("member", "list", "--cluster", "127.0.0.1:1", "--timeout-ms", "500").exitCode()).isEqualTo(1);
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    @Test
    @DisplayName("shell: delete, cas, range, lease, put-lease, member list and status with learners")
    void shellCommands() {
        try (TestNodes nodes = new TestNodes(3).startAll(); RaftKvClient client = nodes.client(WAIT)) {
            nodes.awaitLeader(ALL, WAIT);
            Shell shell = new Shell(client, null);
            assertThat(exec(shell, "put app/a 1")).contains("OK app/a = \"1\"");
            assertThat(exec(shell, "put app/b 2")).contains("OK");
            assertThat(exec(shell, "cas app/a 1 10")).contains("OK set; now \"10\"");
            assertThat(exec(shell, "cas app/a 1 11")).contains("NOT SET (comparison failed); now \"10\"");
            assertThat(exec(shell, "cas app/new - x")).contains("OK set; now \"x\"");
            assertThat(exec(shell, "range app/")).contains("app/a = \"10\"", "app/b = \"2\"", "app/new = \"x\"", "3 keys at revision");
            assertThat(exec(shell, "range app/ 1")).contains("1 keys", "more after app/a");
            assertThat(exec(shell, "delete app/b")).contains("OK deleted 1");
            assertThat(exec(shell, "delete app/*")).contains("OK deleted 2");
            assertThat(exec(shell, "range app/")).contains("0 keys");
            String grant = exec(shell, "lease grant 60000");
            assertThat(grant).contains("OK lease ");
            String id = grant.replaceAll("(?s).*OK lease (\\d+).*", "$1");
            assertThat(exec(shell, "put-lease svc/a addr " + id)).contains("under lease " + id);
            assertThat(exec(shell, "lease show " + id)).contains("keys [\"svc/a\"]");
            assertThat(exec(shell, "lease revoke " + id)).contains("1 keys deleted");
            assertThat(exec(shell, "get svc/a")).contains("(not found)");
            assertThat(exec(shell, "lease keepalive " + id)).contains("HTTP 404");
            assertThat(exec(shell, "cas")).contains("usage: cas");
            assertThat(exec(shell, "lease grant x")).contains("usage: lease");
            assertThat(exec(shell, "member add 7 127.0.0.1:1")).contains("learner");
            assertThat(exec(shell, "member list")).contains("7    127.0.0.1:1").contains("learner");
            assertThat(exec(shell, "member promote 7")).contains("error: HTTP 409");
            assertThat(exec(shell, "member remove 7")).doesNotContain("127.0.0.1:1");
            assertThat(exec(shell, "member frob")).contains("usage: member");
            assertThat(exec(shell, "add node")).contains("only in 'raftkv local'");
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    private static String exec(Shell shell, String line) {
        StringWriter sw = new StringWriter();
        PrintWriter pw = new PrintWriter(sw, true);
        List<String> words = List.of(line.split(" "));
        shell.execute(words, pw);
        pw.flush();
        return sw.toString();
    }
}
