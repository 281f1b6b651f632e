package io.raftkv.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The JVM settings a node runs with, the same as the {@code ./raftkv} launcher's (keep the two in
 * step): G1 with a 20 ms pause goal and no heap cap, a heap that starts small, a GC when idle,
 * native memory trimmed back to the OS, compact object headers where the JVM has them. Why:
 * BENCHMARKS.md, "Memory".
 */
final class JvmDefaults {
    private JvmDefaults() {}

    static List<String> forFeatureRelease(int feature) {
        List<String> opts = new ArrayList<>(List.of("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Xms16m",
                "-XX:G1PeriodicGCInterval=30000", "-Xss512k", "-XX:+ExitOnOutOfMemoryError"));
        if (feature >= 22) opts.add("-XX:TrimNativeHeapInterval=1000");
        if (feature >= 25) opts.add("-XX:+UseCompactObjectHeaders");
        return opts;
    }

    /** For node processes started with this JVM's own binary. */
    static List<String> current() {
        return forFeatureRelease(Runtime.version().feature());
    }
}
