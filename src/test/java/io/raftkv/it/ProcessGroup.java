package io.raftkv.it;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;

/**
 * The processes one test started, each with its output (stdout and stderr) appended to a log
 * file. {@link #close()} kills them and their descendants; registered with
 * {@code @RegisterExtension}, a failed test prints every log's path and its last lines.
 */
final class ProcessGroup implements AutoCloseable, TestWatcher {
    private static final int TAIL_LINES = 40;

    private final List<Process> processes = new CopyOnWriteArrayList<>();
    private final Set<Path> logs = new CopyOnWriteArraySet<>();

    /** Starts {@code command} in {@code workDir} with the inherited environment. */
    Process start(Path log, List<String> command, Path workDir) {
        return start(log, new ProcessBuilder(command).directory(workDir.toFile()));
    }

    /** Starts {@code pb}, appending its stdout and stderr to {@code log}; stdin stays a pipe. */
    Process start(Path log, ProcessBuilder pb) {
        watch(log);
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            if (pb.directory() != null) Files.createDirectories(pb.directory().toPath());
            Process p = pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            processes.add(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + pb.command(), e);
        }
    }

    /** Adds a log written by someone else (e.g. a grandchild) to what a failure prints. */
    void watch(Path log) {
        logs.add(log.toAbsolutePath());
    }

    static String read(Path log) {
        try {
            return new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    /** Waits for {@code p} to exit; true if it did within {@code seconds}. */
    static boolean awaitExit(Process p, long seconds) {
        try {
            return p.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Kills every process started here (descendants first), and waits a bounded time for them to go. */
    @Override
    public void close() {
        List<ProcessHandle> all = new ArrayList<>();
        for (Process p : processes) {
            // Collected while the parent lives: once it is gone its children are re-parented.
            p.descendants().forEach(all::add);
            all.add(p.toHandle());
        }
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("process " + h.pid() + " did not exit after SIGKILL: " + e);
            }
        }
        processes.clear();
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        StringBuilder sb = new StringBuilder("\n==== " + context.getDisplayName() + " failed; process logs:\n");
        for (Path log : logs) {
            sb.append("---- ").append(log).append(" (last ").append(TAIL_LINES).append(" lines)\n");
            tail(log).ifPresent(t -> sb.append(t).append('\n'));
        }
        System.err.println(sb);
    }

    private static Optional<String> tail(Path log) {
        try {
            List<String> lines = new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
            return Optional.of(String.join("\n", lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size())));
        } catch (IOException e) {
            return Optional.of("(cannot read: " + e + ")");
        }
    }
}
