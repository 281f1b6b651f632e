package io.raftkv.cli;

import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.linearizability.Operation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.linearizability.Operation.append;
import static io.raftkv.linearizability.Operation.get;
import static io.raftkv.linearizability.Operation.getNotFound;
import static io.raftkv.linearizability.Operation.put;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * {@code raftkv check-history FILE}: the verdict on a history file and its exit code (0
 * linearizable, 1 not, 2 bad input, 3 unknown). Every history is written from {@link Operation}
 * records in the format {@code raftkv chaos} writes; a malformed one is a good file with one line
 * broken.
 */
class CheckHistoryCommandTest {
    private static final Duration BOUND = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private record Result(int exitCode, String out, String err) {
        String firstOutLine() {
            return out.lines().findFirst().orElse("");
        }
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = assertTimeoutPreemptively(BOUND,
                () -> Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)),
                () -> "raftkv " + String.join(" ", args) + " did not return within " + BOUND);
        return new Result(code, out.toString(), err.toString());
    }

    private Path write(String name, Operation... ops) throws IOException {
        Path file = dir.resolve(name);
        History.of(ops).writeJsonLines(file);
        return file;
    }

    /** Exit 2, nothing on stdout, a first stderr line "raftkv: " with the fragments, no stack trace. */
    private static void assertBadInput(Result r, String... fragments) {
        assertThat(r.exitCode()).as("exit code; stdout %s; stderr %s", r.out(), r.err()).isEqualTo(2);
        assertThat(r.out()).as("stdout").isEmpty();
        assertThat(r.err()).as("no stack trace").doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(r.err().lines().findFirst().orElse("")).startsWith("raftkv: ").contains(fragments);
    }

    @Test
    void aLinearizableHistoryExits0() throws IOException {
        Path file = write("history.jsonl",
                getNotFound(1, "x", 0, 10),
                put(1, "x", "a", 20, 30),
                append(2, "x", "b", "ab", 25, 60),
                get(3, "x", "a", 26, 35), // concurrent with the append: it may still see "a"
                put(1, "y", "1", 70, 80).timedOut(),
                get(2, "y", "1", 90, 95)); // the write of unknown outcome took effect
        Result r = run("check-history", file.toString());
        assertThat(r.exitCode()).as("exit code; %s%s", r.out(), r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.firstOutLine()).startsWith(file + ": 6 operations (1 of unknown outcome) on 2 keys checked in ")
                .endsWith(" s: LINEARIZABLE");
        assertThat(r.out().lines()).hasSize(1);
    }

    @Test
    void aStaleReadExits1AndPrintsTheCounterexample() throws IOException {
        Operation first = put(1, "x", "1", 0, 10);
        Operation second = put(1, "x", "2", 20, 30);
        Operation stale = get(2, "x", "1", 40, 50); // called after "2" was acknowledged
        List<Operation> ops = new ArrayList<>(List.of(first, second, stale));
        for (int i = 0; i < 20; i++) ops.add(put(3, "other" + i, "v", 100 + 10L * i, 105 + 10L * i)); // shrunk away
        Path file = write("history.jsonl", ops.toArray(Operation[]::new));

        Result r = run("check-history", file.toString());
        assertThat(r.exitCode()).as("exit code; %s%s", r.out(), r.err()).isEqualTo(1);
        assertThat(r.err()).isEmpty();
        assertThat(r.firstOutLine()).startsWith(file + ": 23 operations on 21 keys checked in ")
                .endsWith(" s: NOT LINEARIZABLE");
        // the three operations that make the story, as the checker shrinks them, and nothing else
        CheckResult.NotLinearizable expected = (CheckResult.NotLinearizable) LinearizabilityChecker.check(
                History.of(ops), Duration.ofSeconds(10));
        assertThat(expected.counterexample()).containsExactlyInAnyOrder(first, second, stale);
        assertThat(r.out()).contains("key \"x\"").contains(first.toString(), second.toString(), stale.toString())
                .doesNotContain("other");
    }

    @Test
    void aMalformedLineExits2NamingTheLine() throws IOException {
        Path good = write("good.jsonl", put(1, "x", "a", 0, 10), put(1, "x", "b", 20, 30), get(2, "x", "b", 40, 50));
        List<String> lines = Files.readAllLines(good);

        Path unknownOp = dir.resolve("unknown-op.jsonl");
        Files.write(unknownOp, List.of(lines.get(0), lines.get(1).replace("\"op\":\"put\"", "\"op\":\"remove\""),
                lines.get(2)));
        assertBadInput(run("check-history", unknownOp.toString()), unknownOp + " line 2: unknown op \"remove\"");

        Path cut = dir.resolve("cut.jsonl"); // a run killed while writing its last line
        Files.write(cut, List.of(lines.get(0), lines.get(1), lines.get(2).substring(0, 30)));
        assertBadInput(run("check-history", cut.toString()), cut + " line 3: not JSON");

        Path backwards = dir.resolve("backwards.jsonl");
        Files.write(backwards, List.of(lines.get(0), lines.get(1).replace("\"return\":30", "\"return\":19")));
        assertBadInput(run("check-history", backwards.toString()), "line 2: call 20 after return 19");

        Path notUtf8 = dir.resolve("not-utf8.jsonl");
        byte[] bytes = (lines.get(0) + "\n" + lines.get(1) + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] withBadByte = java.util.Arrays.copyOf(bytes, bytes.length + 2);
        withBadByte[bytes.length] = (byte) 0xFF;
        withBadByte[bytes.length + 1] = '\n';
        Files.write(notUtf8, withBadByte);
        assertBadInput(run("check-history", notUtf8.toString()), "line 3: not UTF-8 text");
    }

    @Test
    void aMissingFileOrAFolderExits2() {
        Path missing = dir.resolve("no-such-history.jsonl");
        assertBadInput(run("check-history", missing.toString()), "no such file: " + missing);
        assertBadInput(run("check-history", dir.toString()), dir + " is a folder, not a history file");
        assertBadInput(run("check-history"), "FILE");
    }

    @Test
    void aBadBudgetExits2() throws IOException {
        Path file = write("history.jsonl", put(1, "x", "a", 0, 10));
        assertBadInput(run("check-history", file.toString(), "--budget-seconds", "0"), "--budget-seconds must be more than 0");
        assertBadInput(run("check-history", file.toString(), "--budget-seconds", "soon"), "--budget-seconds", "'soon'");
    }

    /**
     * 22 concurrent puts, a later put, then a stale read: refuting it means trying about 22 * 2^21
     * configurations (see LinearizabilityCheckerTest.Budget), far beyond 50 ms.
     */
    @Test
    void aHistoryTooHardForTheBudgetExits3() throws IOException {
        List<Operation> ops = new ArrayList<>();
        for (int i = 0; i < 22; i++) ops.add(put(i, "x", "v" + i, 0, 1000));
        ops.add(put(22, "x", "last", 1100, 1200));
        ops.add(get(22, "x", "v0", 2000, 2100));
        Path file = write("history.jsonl", ops.toArray(Operation[]::new));
        Result r = run("check-history", file.toString(), "--budget-seconds", "0.05");
        assertThat(r.exitCode()).as("exit code; %s%s", r.out(), r.err()).isEqualTo(3);
        assertThat(r.firstOutLine()).endsWith(" s: UNKNOWN");
        assertThat(r.out()).contains("undecided keys [x]", "--budget-seconds");
    }

    @Test
    void anEmptyHistoryIsLinearizable() throws IOException {
        Path file = write("empty.jsonl");
        Result r = run("check-history", file.toString());
        assertThat(r.exitCode()).isZero();
        assertThat(r.firstOutLine()).startsWith(file + ": 0 operations on 0 keys").endsWith("LINEARIZABLE");
    }

    @Test
    void helpNamesTheExitCodes() {
        Result r = run("check-history", "--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("FILE", "--budget-seconds", "0 linearizable", "1 not linearizable", "2 bad input",
                "3 unknown");
        assertThat(run("--help").out()).contains("raftkv check-history");
    }
}
