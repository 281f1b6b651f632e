package io.raftkv.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Background work at a lower CPU priority than the node's loops: the thread that encodes and writes
 * snapshots runs at nice {@link #SNAPSHOT_NICE} (Linux's nice value is per thread). A snapshot of
 * 10 million keys is seconds of CPU on each node, and all nodes take theirs at about the same
 * point of the log: on a machine with few cores they took it from the loops that answer clients
 * and send heartbeats (BENCHMARKS.md, "Snapshots of 10 million keys"). At a lower priority the
 * snapshot gets what the loops leave; it takes longer when the machine is busy, and as long as
 * before when it is not. Java has no call for this ({@link Thread#setPriority} is ignored on
 * Linux), so the thread names its own id (from {@code /proc/thread-self}) to {@code renice}, once.
 * Where that is not possible (not Linux, no {@code renice}), the thread runs at the usual priority
 * and says so in the log at debug level.
 */
final class BackgroundPriority {
    private static final Logger LOG = LoggerFactory.getLogger(BackgroundPriority.class);
    /** The system property that sets the snapshot thread's nice value (0: leave it as the JVM's). */
    static final String SNAPSHOT_NICE_PROPERTY = "raftkv.snapshotNice";
    static final int SNAPSHOT_NICE = Integer.getInteger(SNAPSHOT_NICE_PROPERTY, 10);

    private BackgroundPriority() {
    }

    /** Daemon threads named {@code name} that first set their own nice value to {@code nice} (0: as they are). */
    static ThreadFactory daemonThreads(String name, int nice) {
        return r -> Thread.ofPlatform().daemon().name(name).unstarted(() -> {
            if (nice != 0) lowerCurrentThread(nice);
            r.run();
        });
    }

    /** Sets the calling thread's nice value; false if this system does not let it. */
    static boolean lowerCurrentThread(int nice) {
        try {
            Path self = Files.readSymbolicLink(Path.of("/proc/thread-self")); // "<pid>/task/<tid>"
            String tid = self.getFileName().toString();
            Process p = new ProcessBuilder("renice", "-n", Integer.toString(nice), "-p", tid)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                LOG.debug("renice of thread {} took more than 5 s; it keeps its priority", tid);
                return false;
            }
            if (p.exitValue() != 0) LOG.debug("renice of thread {} exited with {}; it keeps its priority", tid, p.exitValue());
            return p.exitValue() == 0;
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("cannot lower the priority of thread {}: {}", Thread.currentThread().getName(), e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
