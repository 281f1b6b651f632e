package io.raftkv.cli;

import java.io.Console;

/** Whether the process talks to a person. */
final class Terminals {
    private Terminals() {}

    /**
     * True when stdin and stdout are a terminal. On JDK 22+ {@code System.console()} exists even
     * when redirected, so its {@code isTerminal()} is asked when present.
     */
    static boolean stdinIsTerminal() {
        Console c = System.console();
        if (c == null) return false;
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true; // JDK 21: a console exists only for a terminal
        }
    }
}
