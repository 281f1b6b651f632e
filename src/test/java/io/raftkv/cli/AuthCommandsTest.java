package io.raftkv.cli;

import io.raftkv.server.TestNodes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** {@code raftkv user|role|auth} and {@code --user/--password-file} against a real in-process cluster. */
class AuthCommandsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private record Result(int exitCode, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = assertTimeoutPreemptively(WAIT, () -> Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void usersRolesAndAuthFromTheCommandLine(@TempDir Path dir) throws Exception {
        Path rootPw = Files.writeString(dir.resolve("root.pw"), "rootpw\n");
        Path alicePw = Files.writeString(dir.resolve("alice.pw"), "alicepw\n");
        Path wrongPw = Files.writeString(dir.resolve("wrong.pw"), "nope\n");
        try (TestNodes nodes = new TestNodes(3).startAll()) {
            nodes.awaitLeader(Set.of(0, 1, 2), WAIT);
            String c = nodes.address(0).toString();
            String[] asRoot = {"--user", "root", "--password-file", rootPw.toString()};
            Result add = run("user", "add", "root", "--new-password-file", rootPw.toString(), "-c", c);
            assertThat(add.exitCode()).as(add.err()).isZero();
            assertThat(add.out()).contains("user root added");
            assertThat(run("role", "add", "app", "-c", c).exitCode()).isZero();
            assertThat(run("role", "grant", "app", "app/", "readwrite", "-c", c).exitCode()).isZero();
            assertThat(run("user", "add", "alice", "--new-password-file", alicePw.toString(), "-c", c).exitCode()).isZero();
            assertThat(run("user", "grant-role", "alice", "app", "-c", c).exitCode()).isZero();
            Result enable = run("auth", "enable", "-c", c);
            assertThat(enable.exitCode()).as(enable.err()).isZero();
            assertThat(run("auth", "status", "-c", c).out()).contains("authentication is on");

            // Now: without a user refused (exit 1, the node's 401); as root allowed.
            Result refused = run("role", "list", "-c", c);
            assertThat(refused.exitCode()).isEqualTo(1);
            assertThat(refused.err()).contains("HTTP 401", "log in");
            Result roles = run(concat(new String[] {"role", "list", "-c", c}, asRoot));
            assertThat(roles.exitCode()).as(roles.err()).isZero();
            assertThat(roles.out()).contains("app", "'app/'", "readwrite");
            Result users = run(concat(new String[] {"user", "list", "-c", c}, asRoot));
            assertThat(users.out()).containsPattern("alice +app").containsPattern("root +root");
            // alice may not administer: the node's 403.
            Result alice = run("user", "list", "-c", c, "--user", "alice", "--password-file", alicePw.toString());
            assertThat(alice.exitCode()).isEqualTo(1);
            assertThat(alice.err()).contains("HTTP 403", "role root");
            // A wrong password: the login fails with a clear message, nothing sent.
            Result wrong = run("user", "list", "-c", c, "--user", "root", "--password-file", wrongPw.toString());
            assertThat(wrong.exitCode()).isEqualTo(1);
            assertThat(wrong.err()).contains("login as root failed", "HTTP 401");
            // member list with --user; transfer-leader needs root.
            assertThat(run(concat(new String[] {"member", "list", "-c", c}, asRoot)).exitCode()).isZero();
            Result transfer = run("transfer-leader", "-c", c, "--user", "alice", "--password-file", alicePw.toString());
            assertThat(transfer.exitCode()).isEqualTo(1);
            assertThat(transfer.err()).contains("HTTP 403");
            // Bad flags: usage errors (exit 2) that say what to fix.
            Result noFile = run("user", "list", "-c", c, "--user", "root");
            assertThat(noFile.exitCode()).isEqualTo(2);
            assertThat(noFile.err()).contains("--user needs --password-file");
            assertThat(run("role", "grant", "app", "x/", "write", "-c", c).exitCode()).isEqualTo(1);
            assertThat(run("user", "add", "bob", "-c", c).err()).contains("--new-password-file");
            Result disable = run(concat(new String[] {"auth", "disable", "-c", c}, asRoot));
            assertThat(disable.exitCode()).as(disable.err()).isZero();
            assertThat(run("user", "list", "-c", c).exitCode()).isZero();
            assertThat(nodes.fatalErrors()).isEmpty();
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
