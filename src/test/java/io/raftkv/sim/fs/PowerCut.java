package io.raftkv.sim.fs;

/**
 * Thrown out of a file operation when a power cut armed with {@link SimFileSystem#cutPowerAfter}
 * falls due: the operation did not happen, and the caller must crash the file system next. An
 * {@link Error} so that the code under test, which handles {@code IOException} and
 * {@code RuntimeException}, lets it through as a real power loss would stop it.
 */
public final class PowerCut extends Error {
    PowerCut() {
        super("simulated power cut", null, false, false);
    }
}
