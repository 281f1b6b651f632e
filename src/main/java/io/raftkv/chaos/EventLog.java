package io.raftkv.chaos;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What a run shows live: one line per event ({@code [  12.3s] fault  kill -9 node 1 ...}), on
 * the console and in {@code chaos.log}. Times are seconds since the run started. Thread-safe.
 */
final class EventLog implements AutoCloseable {
    private final PrintStream console;
    private final Writer file;
    private final long startNs;

    EventLog(PrintStream console, Path file, long startNs) throws IOException {
        this.console = console;
        this.file = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        this.startNs = startNs;
    }

    long startNs() {
        return startNs;
    }

    /** Seconds since the start at {@code ns} on the run's clock. */
    double seconds(long ns) {
        return (ns - startNs) / 1e9;
    }

    /** {@code what} is a short tag: fault, heal, leader, load, check, ... */
    synchronized void event(String what, String text) {
        String line = String.format("[%7.1fs] %-7s %s", seconds(System.nanoTime()), what, text);
        console.println(line);
        try {
            file.write(line);
            file.write('\n');
            file.flush();
        } catch (IOException e) {
            console.println("(cannot write chaos.log: " + e.getMessage() + ")");
        }
    }

    @Override
    public synchronized void close() throws IOException {
        file.close();
    }
}
