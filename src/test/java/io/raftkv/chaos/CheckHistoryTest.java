package io.raftkv.chaos;

import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.LinearizabilityChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks the history of a {@code raftkv chaos} run for linearizability: the command's own checks
 * live in the jar, the checker in test code, so {@code bin/check-history FILE} runs this. Enabled
 * only with {@code -Draftkv.history=FILE}; {@code -Draftkv.check.seconds} bounds the search
 * (default 120). The verdict also goes to {@code FILE.linearizability.txt}.
 */
@EnabledIfSystemProperty(named = "raftkv.history", matches = ".+")
class CheckHistoryTest {
    @Test
    void historyIsLinearizable() throws IOException {
        Path file = Path.of(System.getProperty("raftkv.history"));
        Duration budget = Duration.ofSeconds(Long.getLong("raftkv.check.seconds", 120));
        History history = History.readJsonLines(file);
        long t0 = System.nanoTime();
        CheckResult result = LinearizabilityChecker.check(history, budget);
        String report = String.format("%s: %d operations on %d keys checked in %.1f s: %s%n%s%n", file, history.size(),
                history.byKey().size(), (System.nanoTime() - t0) / 1e9, result.verdict(), result.explanation());
        Path out = file.resolveSibling(file.getFileName() + ".linearizability.txt");
        Files.writeString(out, report);
        System.out.print(report + "(also in " + out + ")\n");
        assertThat(result.verdict()).as("%s", report).isEqualTo(CheckResult.Verdict.LINEARIZABLE);
    }
}
