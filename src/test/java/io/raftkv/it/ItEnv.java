package io.raftkv.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/** Where the jar, the project and the JVM are, free ports, and bounded polling. For the process tests. */
final class ItEnv {
    private static final long POLL_INTERVAL_MS = 50;

    private ItEnv() {}

    /** The shaded jar, from the {@code raftkv.jar} property that failsafe sets. */
    static Path jar() {
        String p = System.getProperty("raftkv.jar");
        if (p == null) throw new IllegalStateException("system property raftkv.jar is not set; run the ITs through 'mvnw verify'");
        Path jar = Path.of(p).toAbsolutePath();
        if (!Files.isRegularFile(jar)) throw new IllegalStateException(jar + " does not exist; 'package' must run first");
        return jar;
    }

    /** The project folder: {@code raftkv.basedir}, else the jar's folder's parent (target/..). */
    static Path projectDir() {
        String p = System.getProperty("raftkv.basedir");
        return p != null ? Path.of(p).toAbsolutePath() : jar().getParent().getParent();
    }

    static Path targetDir() {
        return jar().getParent();
    }

    /** The java binary of this JVM, so children run on the same JDK as the tests. */
    static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** {@code n} distinct free ports, ascending. */
    static int[] freePorts(int n) {
        int[] ports = new int[n];
        ServerSocket[] held = new ServerSocket[n];
        try {
            // Held open together so the OS cannot hand out the same port twice.
            for (int i = 0; i < n; i++) {
                held[i] = new ServerSocket(0);
                ports[i] = held[i].getLocalPort();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : held) closeQuietly(s);
        }
        Arrays.sort(ports);
        return ports;
    }

    /** A base port such that base .. base+n-1 are all free right now. */
    static int freeConsecutivePorts(int n) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20_000, 60_000);
            boolean allFree = true;
            for (int i = 0; i < n && allFree; i++) allFree = isFree(base + i);
            if (allFree) return base;
        }
        throw new IllegalStateException("found no " + n + " consecutive free ports");
    }

    static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Polls {@code probe} until it yields a value or {@code timeout} passes; then fails with
     * {@code what} and the last thing {@code state} described.
     */
    static <T> T await(String what, Duration timeout, Supplier<Optional<T>> probe, Supplier<String> state) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<T> v = probe.get();
            if (v.isPresent()) return v.get();
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what
                        + "; last state: " + state.get());
            }
            try {
                Thread.sleep(POLL_INTERVAL_MS); // the pause between two polls of a condition, not a fixed wait
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            }
        }
    }

    static void awaitTrue(String what, Duration timeout, Supplier<Boolean> condition, Supplier<String> state) {
        await(what, timeout, () -> condition.get() ? Optional.of(Boolean.TRUE) : Optional.empty(), state);
    }

    private static void closeQuietly(ServerSocket s) {
        if (s == null) return;
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a probe socket; nothing to do
        }
    }
}
