package io.raftkv.linearizability;

import java.io.IOException;

/**
 * A line of a JSON Lines history that is not an operation: what is wrong with it, and where. The
 * message is one line, for people: {@code line 3: unknown op "delete" (expected put, append or
 * get): {"client":1,"op":"delete",...}}.
 */
public final class HistoryFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    /** A line longer than this is cut in the message: values can be long. */
    private static final int MAX_EXCERPT_CHARS = 120;

    private final int lineNumber;
    private final String problem;

    HistoryFormatException(int lineNumber, String problem, String line, Throwable cause) {
        super("line " + lineNumber + ": " + oneLine(problem) + (line == null ? "" : ": " + excerpt(line)), cause);
        this.lineNumber = lineNumber;
        this.problem = oneLine(problem);
    }

    /** The number of the bad line, from 1. */
    public int lineNumber() {
        return lineNumber;
    }

    /** What is wrong with the line, without the line. */
    public String problem() {
        return problem;
    }

    /** Parser messages may span lines; an error message here is one. */
    private static String oneLine(String s) {
        return String.valueOf(s).replaceAll("\\s*\\R\\s*", " ");
    }

    private static String excerpt(String line) {
        return line.length() <= MAX_EXCERPT_CHARS ? line
                : line.substring(0, MAX_EXCERPT_CHARS) + "... (" + line.length() + " characters)";
    }
}
