package io.raftkv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * {@code raftkv chaos} and the node's {@code --bind} refuse bad flags before starting anything:
 * exit 2 and one line saying what to fix. Bounded, like {@link MainTest}: a command line accepted
 * by mistake would start a cluster.
 */
class ChaosFlagsTest {
    private static final Duration BOUND = Duration.ofSeconds(20);

    private record Result(int exitCode, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = assertTimeoutPreemptively(BOUND, () -> Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)),
                () -> "raftkv " + String.join(" ", args) + " did not return within " + BOUND);
        return new Result(code, out.toString(), err.toString());
    }

    private static void assertUsageError(Result r, String... fragments) {
        assertThat(r.exitCode()).as("exit code; stderr: %s", r.err()).isEqualTo(2);
        assertThat(r.err()).doesNotContain("\tat ");
        assertThat(r.err().lines().findFirst().orElse("")).startsWith("raftkv: ").contains(fragments);
    }

    static Stream<Arguments> badChaosFlags() {
        return Stream.of(
                arguments(List.of("--nodes", "0"), List.of("--nodes must be 1 to 9")),
                arguments(List.of("--nodes", "10"), List.of("--nodes must be 1 to 9")),
                arguments(List.of("--clients", "0"), List.of("--clients must be 1 to 1000")),
                arguments(List.of("--duration", "soon"), List.of("--duration 'soon'")),
                arguments(List.of("--duration", "0s"), List.of("--duration must be positive")),
                arguments(List.of("--client-timeout", "10ms"), List.of("--client-timeout must be at least 100ms")),
                arguments(List.of("--faults", "kill,nuke"), List.of("--faults", "'nuke'", "kill,pause,partition,partition-full")),
                arguments(List.of("--port", "70000"), List.of("--port must be in 1..65535")),
                arguments(List.of("--check-budget-seconds", "0"), List.of("--check-budget-seconds must be more than 0")),
                arguments(List.of("--bogus"), List.of("Unknown option", "--bogus")));
    }

    @ParameterizedTest(name = "raftkv chaos {0}")
    @MethodSource("badChaosFlags")
    void badChaosFlagsExit2(List<String> args, List<String> fragments) {
        String[] all = Stream.concat(Stream.of("chaos"), args.stream()).toArray(String[]::new);
        assertUsageError(run(all), fragments.toArray(String[]::new));
    }

    @Test
    void aChaosRunNeedsAFreshFolder(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("leftover"), "x");
        assertUsageError(run("chaos", "--dir", dir.toString(), "--faults", "kill"), "is not empty");
    }

    @Test
    void chaosHelpNamesItsFlagsAndExitCodes() {
        Result r = run("chaos", "--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("--nodes", "--duration", "--clients", "--seed", "--dir", "--faults",
                "partition-full", "127.0.0.2", "history.jsonl", "3 no verdict");
        assertThat(run("--help").out()).contains("--bind", "raftkv chaos");
    }

    @Test
    void bindingAnAddressThatIsNotOursExits2() {
        // 203.0.113.0/24 is TEST-NET-3: never an address of this machine.
        assertUsageError(run("-id", "0", "-port", "9", "--bind", "203.0.113.7", "--no-shell"),
                "203.0.113.7", "not an address of this machine", "--bind");
    }

    @Test
    void anAddressAndPortInUseExits2() throws IOException {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.5", 0));
            int port = taken.getLocalPort();
            assertUsageError(run("-id", "0", "-port", String.valueOf(port), "--bind", "127.0.0.5", "--no-shell"),
                    "127.0.0.5:" + port + " is already in use");
        }
    }
}
