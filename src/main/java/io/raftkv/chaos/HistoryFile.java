package io.raftkv.chaos;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The history of a run: every completed operation, appended to a JSON Lines file as it completes
 * (so a run that dies leaves what it did) and kept in memory for the checks. Thread-safe.
 */
final class HistoryFile implements AutoCloseable {
    private final Path path;
    private final BufferedWriter out;
    private final List<Op> ops = new ArrayList<>();

    HistoryFile(Path path) throws IOException {
        this.path = path;
        this.out = Files.newBufferedWriter(path, StandardCharsets.UTF_8);
    }

    Path path() {
        return path;
    }

    synchronized void add(Op op) {
        ops.add(op);
        try {
            out.write(op.toJsonLine());
            out.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the history to " + path, e);
        }
    }

    /** A copy of the operations so far, in completion order. */
    synchronized List<Op> ops() {
        return List.copyOf(ops);
    }

    synchronized void flush() throws IOException {
        out.flush();
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
