package io.raftkv.cli;

import io.raftkv.linearizability.CheckReport;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.HistoryFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code raftkv check-history FILE}: the linearizability verdict on a history, as {@code raftkv chaos} writes it. */
@Command(name = "check-history", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Checks a history of client operations (history.jsonl, one JSON object per line, as 'raftkv chaos'"
                + " writes it) for linearizability: whether every operation can be given one instant between its call and"
                + " its return at which it takes effect, such that every output is what the store would have answered"
                + " run one operation at a time in that order. Operations of unknown outcome (\"ok\":false) may have taken"
                + " effect at any time after their call, or never.", "",
                "Prints the number of operations, the time the check took and the verdict: LINEARIZABLE; NOT LINEARIZABLE"
                        + " with a shrunk counterexample (a few operations on one key that no order explains); or UNKNOWN"
                        + " when the time budget ran out first (it never guesses)."},
        footer = {"", "Exit codes:",
                "  0 linearizable",
                "  1 not linearizable",
                "  2 bad input: no such file, unreadable, a malformed line (the message names the line), bad flags",
                "  3 unknown: no verdict within the budget", "",
                "Example: raftkv check-history data/chaos/20261127-123212/history.jsonl"})
final class CheckHistoryCommand implements Callable<Integer> {
    static final int EXIT_NOT_LINEARIZABLE = 1;
    static final int EXIT_BAD_INPUT = Main.EXIT_USAGE;
    static final int EXIT_UNKNOWN = 3;
    static final String DEFAULT_BUDGET_SECONDS = "120";

    @Parameters(index = "0", paramLabel = "FILE", description = "The history, e.g. data/chaos/<date-time>/history.jsonl.")
    Path file;

    @Option(names = "--budget-seconds", paramLabel = "N", defaultValue = DEFAULT_BUDGET_SECONDS,
            description = "Give up with UNKNOWN after this long; decimals allowed (default: ${DEFAULT-VALUE}).")
    double budgetSeconds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        Duration budget = budget(budgetSeconds, "--budget-seconds", cl);
        if (Files.isDirectory(file)) throw new ParameterException(cl, file + " is a folder, not a history file");
        if (!Files.exists(file)) throw new ParameterException(cl, "no such file: " + file);
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        History history;
        try {
            history = History.readJsonLines(file);
        } catch (HistoryFormatException e) {
            err.println("raftkv: " + file + " " + e.getMessage());
            return EXIT_BAD_INPUT;
        } catch (IOException e) {
            err.println("raftkv: cannot read " + file + ": " + describe(e));
            return EXIT_BAD_INPUT;
        }
        CheckReport report = CheckReport.check(history, budget);
        out.println(file + ": " + report.headline());
        if (!report.details().isEmpty()) out.println(report.details());
        return switch (report.verdict()) {
            case LINEARIZABLE -> 0;
            case NOT_LINEARIZABLE -> EXIT_NOT_LINEARIZABLE;
            case UNKNOWN -> {
                out.println("(give it more time with --budget-seconds)");
                yield EXIT_UNKNOWN;
            }
        };
    }

    /** A positive number of seconds as a duration; a usage error otherwise. */
    static Duration budget(double seconds, String flag, CommandLine cl) {
        if (!(seconds > 0) || seconds > Duration.ofDays(1).toSeconds())
            throw new ParameterException(cl, flag + " must be more than 0 and at most a day, got " + seconds);
        return Duration.ofNanos(Math.round(seconds * 1e9));
    }

    private static String describe(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NoSuchFileException) return "no such file";
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
