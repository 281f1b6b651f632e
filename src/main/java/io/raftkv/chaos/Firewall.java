package io.raftkv.chaos;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Network partitions between node processes on loopback, with iptables: {@code DROP} rules
 * between node addresses, both directions, limited to the cluster's TCP port. Every rule lives in
 * a chain of our own ({@code raftkv-chaos-<port>}) reached by one tagged jump from {@code OUTPUT}
 * (loopback packets pass OUTPUT once), so healing flushes that chain and closing removes the jump
 * and the chain: no other rule is ever touched. Needs root (CAP_NET_ADMIN).
 *
 * <p>Dropping, not rejecting, is what a real partition does: connections hang and time out
 * instead of failing fast, and TCP retransmits once the link is back.
 */
public final class Firewall implements AutoCloseable {
    /** The iptables binary: on the PATH, else where Debian puts it (root's PATH has it, a user's may not). */
    private static final String IPTABLES = findIptables();
    /** Seconds to wait for the xtables lock when another iptables command runs. */
    private static final String LOCK_WAIT_S = "5";

    private final String chain;
    private final String jumpComment;
    private final int port;
    /** Address pairs (from, to) whose packets are dropped now. */
    private final Set<List<String>> dropped = new LinkedHashSet<>();
    private boolean closed;

    private Firewall(int port) {
        this.port = port;
        this.chain = chainName(port);
        this.jumpComment = "raftkv chaos, port " + port;
    }

    private static String findIptables() {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "" : path).split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "iptables"))) return Path.of(dir, "iptables").toString();
        }
        for (String p : List.of("/usr/sbin/iptables", "/sbin/iptables")) if (Files.isExecutable(Path.of(p))) return p;
        return "iptables";
    }

    static String chainName(int port) {
        return "raftkv-chaos-" + port;
    }

    /**
     * Why partitions cannot be made on this machine, in words for a person; empty if they can.
     * Checks root, the iptables command, and that a chain can be created and deleted.
     */
    public static Optional<String> unusableReason() {
        Optional<Long> uid = effectiveUid();
        if (uid.isEmpty()) return Optional.of("cannot tell the user id (no /proc/self/status: not Linux?)");
        if (uid.get() != 0) return Optional.of("not running as root (uid " + uid.get() + "); iptables needs root");
        String probe = "raftkv-probe-" + (ProcessHandle.current().pid() % 100_000);
        Result created;
        try {
            created = run(List.of(IPTABLES, "-w", LOCK_WAIT_S, "-N", probe));
        } catch (IOException e) {
            return Optional.of("the iptables command is not available (" + e.getMessage() + "); install it with"
                    + " 'apt-get install -y iptables'");
        }
        if (created.code != 0) return Optional.of("iptables cannot create a chain: " + created.output.strip());
        try {
            Result deleted = run(List.of(IPTABLES, "-w", LOCK_WAIT_S, "-X", probe));
            if (deleted.code != 0) return Optional.of("iptables cannot delete a chain: " + deleted.output.strip());
        } catch (IOException e) {
            return Optional.of("iptables failed: " + e.getMessage());
        }
        return Optional.empty();
    }

    private static Optional<Long> effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                // Uid: real, effective, saved, filesystem
                if (line.startsWith("Uid:")) return Optional.of(Long.parseLong(line.substring(4).trim().split("\\s+")[1]));
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /**
     * Creates the chain for the cluster on {@code port} and hooks it into OUTPUT. A chain left by
     * an earlier run that was killed before it could clean up is removed first.
     */
    public static Firewall open(int port) throws IOException {
        Firewall f = new Firewall(port);
        f.removeChain();
        f.iptables("-N", f.chain);
        try {
            f.iptables("-I", "OUTPUT", "-m", "comment", "--comment", f.jumpComment, "-j", f.chain);
        } catch (IOException e) {
            f.removeChain();
            throw e;
        }
        return f;
    }

    /** The chain's name, for people looking at {@code iptables -S}. */
    public String chain() {
        return chain;
    }

    /** Drops every packet between an address of {@code a} and one of {@code b}, both ways. */
    public synchronized void cut(Collection<String> a, Collection<String> b) throws IOException {
        if (closed) throw new IllegalStateException("firewall closed");
        for (String x : a) {
            for (String y : b) {
                if (x.equals(y)) throw new IllegalArgumentException(x + " is on both sides of the cut");
                drop(x, y);
                drop(y, x);
            }
        }
    }

    private void drop(String from, String to) throws IOException {
        if (!dropped.add(List.of(from, to))) return;
        // --ports matches the source or the destination port: requests to a node and its answers.
        iptables("-A", chain, "-s", from, "-d", to, "-p", "tcp", "-m", "multiport", "--ports", String.valueOf(port),
                "-j", "DROP");
    }

    /** Removes every cut: the chain stays, empty. */
    public synchronized void healAll() throws IOException {
        if (closed || dropped.isEmpty()) return;
        iptables("-F", chain);
        dropped.clear();
    }

    /** Whether some link is cut now. */
    public synchronized boolean anyCut() {
        return !dropped.isEmpty();
    }

    /** Removes the jump and the chain with its rules. Idempotent; never throws. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        dropped.clear();
        // Cleanup runs also on an interrupted thread (Ctrl-C, a test timeout): waiting for iptables must work.
        boolean interrupted = Thread.interrupted();
        try {
            removeChain();
        } catch (IOException e) {
            System.err.println("raftkv chaos: could not remove iptables chain " + chain + ": " + e.getMessage()
                    + "; remove it with: " + cleanupCommand(port));
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /**
     * Removes what a run on {@code port} left behind (it was killed before it could clean up).
     * For tests, after killing a chaos process. Never throws; false if iptables refused.
     */
    public static boolean removeLeftovers(int port) {
        try {
            new Firewall(port).removeChain();
            return true;
        } catch (IOException e) {
            System.err.println("raftkv chaos: could not remove iptables chain " + chainName(port) + ": " + e.getMessage());
            return false;
        }
    }

    /** The shell commands that remove what this class adds for {@code port}, for a person to run. */
    public static String cleanupCommand(int port) {
        String c = chainName(port);
        return "iptables -D OUTPUT -m comment --comment \"raftkv chaos, port " + port + "\" -j " + c + "; iptables -F " + c
                + "; iptables -X " + c;
    }

    /** Unhooks (every copy of) the jump, then flushes and deletes the chain, if they exist. */
    private void removeChain() throws IOException {
        for (int i = 0; i < 100; i++) {
            Result r = run(List.of(IPTABLES, "-w", LOCK_WAIT_S, "-D", "OUTPUT", "-m", "comment", "--comment", jumpComment,
                    "-j", chain));
            if (r.code != 0) break;
        }
        if (run(List.of(IPTABLES, "-w", LOCK_WAIT_S, "-S", chain)).code != 0) return; // no such chain
        iptables("-F", chain);
        iptables("-X", chain);
    }

    private void iptables(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(IPTABLES, "-w", LOCK_WAIT_S));
        cmd.addAll(List.of(args));
        Result r = run(cmd);
        if (r.code != 0) throw new IOException(String.join(" ", cmd) + " failed (exit " + r.code + "): " + r.output.strip());
    }

    private record Result(int code, String output) {}

    private static Result run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish in 30 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        }
    }
}
