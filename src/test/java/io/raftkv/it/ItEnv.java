package io.raftkv.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/** Where the jar, the project and the JVM are, free ports, and bounded polling. For the process tests. */
final class ItEnv {
    private static final long POLL_INTERVAL_MS = 50;
    /** Test ports are drawn from here up to the ephemeral range (IANA's default start is 49152, Linux's 32768). */
    private static final int PORT_RANGE_START = 10_000;
    private static final int DEFAULT_EPHEMERAL_LOW = 32_768;

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

    /** A new folder {@code target/<prefix><unique>} for one test's logs. */
    static Path newLogDir(String prefix) {
        try {
            return Files.createTempDirectory(targetDir(), prefix);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The java binary of this JVM, so children run on the same JDK as the tests. */
    static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * {@code n} distinct ports, ascending, free right now. They are drawn below the kernel's
     * ephemeral range, where {@code bind(0)} of other tests and outgoing connections take theirs:
     * a port chosen there can be taken before the node binds it (and then another test's node
     * answers our requests).
     */
    static int[] freePorts(int n) {
        TreeSet<Integer> ports = new TreeSet<>();
        for (int attempt = 0; ports.size() < n && attempt < 1000; attempt++) {
            int p = ThreadLocalRandom.current().nextInt(PORT_RANGE_START, ephemeralLow());
            if (isFree(p)) ports.add(p);
        }
        if (ports.size() < n) throw new IllegalStateException("found no " + n + " free ports");
        return ports.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A base port such that base .. base+n-1 are all free right now (below the ephemeral range, as above). */
    static int freeConsecutivePorts(int n) {
        for (int attempt = 0; attempt < 1000; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(PORT_RANGE_START, ephemeralLow() - n);
            boolean allFree = true;
            for (int i = 0; i < n && allFree; i++) allFree = isFree(base + i);
            if (allFree) return base;
        }
        throw new IllegalStateException("found no " + n + " consecutive free ports");
    }

    /** The first port of the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range). */
    private static int ephemeralLow() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            int low = Integer.parseInt(range.split("\\s+")[0]);
            return low > PORT_RANGE_START + 1000 ? low : DEFAULT_EPHEMERAL_LOW;
        } catch (IOException | RuntimeException e) {
            return DEFAULT_EPHEMERAL_LOW;
        }
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

}
