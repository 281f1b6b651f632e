package io.raftkv.cli;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * The command line refuses bad or inconsistent flags before it starts anything: exit code 2, a
 * "raftkv: " line on stderr that says what to fix, and no stack trace.
 *
 * <p>Every run is bounded: a command line accepted by mistake would start a node (or a cluster)
 * and serve forever, which must fail the test rather than hang it.
 */
class MainTest {
    private static final Duration BOUND = Duration.ofSeconds(20);

    private record Result(int exitCode, String out, String err) {
        String firstErrLine() {
            return err.lines().findFirst().orElse("");
        }
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = assertTimeoutPreemptively(BOUND,
                () -> Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)),
                () -> "raftkv " + String.join(" ", args) + " did not return within " + BOUND
                        + ": it started instead of refusing its flags");
        return new Result(code, out.toString(), err.toString());
    }

    /** Exit 2, nothing on stdout, one "raftkv: " error line (plus the --help hint) and no stack trace. */
    private static void assertUsageError(Result r, String... fragments) {
        assertThat(r.exitCode()).as("exit code; stderr: %s", r.err()).isEqualTo(2);
        assertThat(r.out()).as("stdout").isEmpty();
        assertThat(r.err()).as("no stack trace").doesNotContain("Exception").doesNotContain("\tat ");
        List<String> lines = r.err().lines().toList();
        assertThat(lines).as("stderr lines").isNotEmpty();
        assertThat(lines.getFirst()).startsWith("raftkv: ").contains(fragments);
        assertThat(lines.subList(1, lines.size())).as("lines after the error").allSatisfy(l ->
                assertThat(l).matches("Try 'raftkv( \\w+)? --help' for the flags\\."));
    }

    static Stream<Arguments> badNodeFlags() {
        return Stream.of(
                // the -id does not match the bare address list: the message says which id it is
                arguments(List.of("-id", "1", "-port", "8000", "-peers", "localhost:8001,localhost:8002"),
                        List.of("-id 1 does not match", "use -id 0", "localhost:8000")),
                arguments(List.of("-id", "5", "-port", "8002", "-peers", "localhost:8000,localhost:8001"),
                        List.of("-id 5", "use -id 2")),
                // watch history and progress interval out of range
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:8001,localhost:8002",
                        "--watch-history", "0"), List.of("--watch-history must be at least 1")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:8001,localhost:8002",
                        "--watch-history-bytes", "0"), List.of("--watch-history-bytes must be at least 1")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:8001,localhost:8002",
                        "--watch-progress-ms", "5"), List.of("--watch-progress-ms must be at least 10")),
                // self listed as a peer
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:8000,localhost:8001"),
                        List.of("own address localhost:8000", "only the other nodes")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "0=localhost:8001,1=localhost:8002"),
                        List.of("id 0", "own -id")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "1=localhost:8000,2=localhost:8002"),
                        List.of("own address localhost:8000", "id 1")),
                // duplicates
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:8001,localhost:8001"),
                        List.of("localhost:8001 twice")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "1=localhost:8001,2=localhost:8001"),
                        List.of("localhost:8001 twice")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "1=localhost:8001,1=localhost:8002"),
                        List.of("id 1 twice")),
                // unparsable addresses
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:abc,localhost:8002"),
                        List.of("bad address in -peers", "localhost:abc")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost"),
                        List.of("bad address in -peers", "'localhost' is not host:port")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:70000"),
                        List.of("bad address in -peers", "1..65535")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:8001,,localhost:8002"),
                        List.of("empty item")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "localhost:8001,localhost:8002,"),
                        List.of("-peers ends with a comma", "remove the trailing comma")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "1=localhost:8001,2=localhost:8002,"),
                        List.of("-peers ends with a comma")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "x=localhost:8001"),
                        List.of("numeric id")),
                // mixed forms
                arguments(List.of("-id", "0", "-port", "8000", "-peers", "1=localhost:8001,localhost:8002"),
                        List.of("mixes", "one form")),
                // missing -id / -port
                arguments(List.of("-port", "8000", "-peers", "localhost:8001"), List.of("needs -id and -port")),
                arguments(List.of("-id", "0", "-peers", "localhost:8001"), List.of("needs -id and -port")),
                arguments(List.of(), List.of("needs -id and -port", "raftkv local")),
                // bad values
                arguments(List.of("-id", "-1", "-port", "8000"), List.of("-id must be >= 0")),
                arguments(List.of("-id", "0", "-port", "0"), List.of("-port must be in 1..65535")),
                arguments(List.of("-id", "0", "-port", "65536"), List.of("-port must be in 1..65535")),
                arguments(List.of("-id", "zero", "-port", "8000"), List.of("-id", "'zero'")),
                arguments(List.of("-id", "0", "-port", "eighty"), List.of("-port", "'eighty'")),
                arguments(List.of("-id", "0", "-port", "8000", "-peers"), List.of("-peers")),
                // unknown flag or argument
                arguments(List.of("-id", "0", "-port", "8000", "-bogus"), List.of("Unknown option", "-bogus")),
                arguments(List.of("-id", "0", "-port", "8000", "--peer", "localhost:8001"), List.of("--peer")),
                arguments(List.of("-id", "0", "-port", "8000", "extra"), List.of("'extra'")),
                // timing flags NodeConfig refuses
                arguments(List.of("-id", "0", "-port", "8000", "--election-min-ms", "40"),
                        List.of("election timeout must be longer than the heartbeat")),
                arguments(List.of("-id", "0", "-port", "8000", "--election-max-ms", "200"),
                        List.of("election timeout max must be above its min")),
                // size limits whose largest entry no peer would accept (a node takes 64 MiB per request)
                arguments(List.of("-id", "0", "-port", "8000", "--max-value-bytes", "67108864"),
                        List.of("--max-key-bytes 4096 with --max-value-bytes 67108864", "no peer could receive",
                                "67108864 bytes a node accepts", "set --max-value-bytes to at most 6710")),
                arguments(List.of("-id", "0", "-port", "8000", "--max-value-bytes", "2147483647"),
                        List.of("--max-value-bytes 2147483647", "set --max-value-bytes to at most 6710")),
                arguments(List.of("-id", "0", "-port", "8000", "--max-key-bytes", "67108864", "--max-value-bytes", "0"),
                        List.of("--max-key-bytes 67108864", "the two together may be at most 6710")));
    }

    @ParameterizedTest(name = "raftkv {0}")
    @MethodSource("badNodeFlags")
    void badNodeFlagsExit2WithAMessage(List<String> args, List<String> fragments) {
        assertUsageError(run(args.toArray(String[]::new)), fragments.toArray(String[]::new));
    }

    static Stream<Arguments> badSubcommandFlags() {
        return Stream.of(
                arguments(List.of("local", "--nodes", "0"), List.of("--nodes must be 1 to 9, got 0")),
                arguments(List.of("local", "--nodes", "10"), List.of("--nodes must be 1 to 9, got 10")),
                arguments(List.of("local", "-n", "-3"), List.of("--nodes must be 1 to 9, got -3")),
                arguments(List.of("local", "--nodes", "three"), List.of("--nodes", "'three'")),
                arguments(List.of("local", "--nodes", "3", "--base-port", "65534"), List.of("--base-port 65534", "3 ports")),
                arguments(List.of("local", "--bogus"), List.of("Unknown option", "--bogus")),
                arguments(List.of("local", "--log-format", "xml"), List.of("--log-format must be text or json, not 'xml'")),
                arguments(List.of("shell"), List.of("--cluster")),
                arguments(List.of("shell", "--cluster", ""), List.of("bad address in --cluster")),
                arguments(List.of("shell", "--cluster", "localhost"), List.of("bad address in --cluster", "'localhost'")),
                arguments(List.of("shell", "--cluster", "localhost:8000,localhost:x"),
                        List.of("bad address in --cluster", "localhost:x")),
                arguments(List.of("shell", "--cluster", "localhost:8000,,localhost:8001"), List.of("bad address in --cluster")),
                arguments(List.of("shell", "-c", "localhost:99999"), List.of("bad address in --cluster", "1..65535")),
                arguments(List.of("shell", "--cluster", "localhost:8000", "--timeout-ms", "soon"),
                        List.of("--timeout-ms", "'soon'")));
    }

    @ParameterizedTest(name = "raftkv {0}")
    @MethodSource("badSubcommandFlags")
    void badSubcommandFlagsExit2WithAMessage(List<String> args, List<String> fragments) {
        assertUsageError(run(args.toArray(String[]::new)), fragments.toArray(String[]::new));
    }

    @Test
    void portInUseExits2InsteadOfStarting() throws IOException {
        try (ServerSocket taken = new ServerSocket(0)) {
            String port = String.valueOf(taken.getLocalPort());
            Result r = run("-id", "0", "-port", port, "--no-shell");
            assertUsageError(r, "localhost:" + port + " is already in use", "-port");
        }
    }

    @Test
    void portInUseWithPeersExits2() throws IOException {
        try (ServerSocket taken = new ServerSocket(0)) {
            int port = taken.getLocalPort();
            // The peers sort after this node (same host, higher ports) so -id 0 is consistent.
            String peers = "localhost:" + (port + 1) + ",localhost:" + (port + 2);
            Result r = run("-id", "0", "-port", String.valueOf(port), "-peers", peers, "--no-shell");
            assertUsageError(r, "localhost:" + port + " is already in use");
        }
    }

    @Test
    void helpExits0AndNamesTheFlags() {
        for (String flag : List.of("--help", "-h")) {
            Result r = run(flag);
            assertThat(r.exitCode()).as("exit code of %s", flag).isZero();
            assertThat(r.err()).isEmpty();
            assertThat(r.out()).contains("-id", "-port", "-peers", "raftkv local", "raftkv shell")
                    .contains("raftkv -id 0 -port 8000 -peers \"localhost:8001,localhost:8002\"");
        }
    }

    @Test
    void subcommandHelpExits0() {
        Result local = run("local", "--help");
        assertThat(local.exitCode()).isZero();
        assertThat(local.out()).contains("--nodes");
        Result shell = run("shell", "--help");
        assertThat(shell.exitCode()).isZero();
        assertThat(shell.out()).contains("--cluster");
    }
}
