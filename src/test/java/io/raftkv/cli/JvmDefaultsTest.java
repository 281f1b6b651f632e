package io.raftkv.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class JvmDefaultsTest {
    @Test
    void flagsThatOlderJvmsRejectAreLeftOutForThem() {
        assertThat(JvmDefaults.forFeatureRelease(21)).contains("-XX:+UseG1GC", "-Xms16m")
                .doesNotContain("-XX:TrimNativeHeapInterval=1000", "-XX:+UseCompactObjectHeaders");
        assertThat(JvmDefaults.forFeatureRelease(22)).contains("-XX:TrimNativeHeapInterval=1000")
                .doesNotContain("-XX:+UseCompactObjectHeaders");
        assertThat(JvmDefaults.forFeatureRelease(25)).contains("-XX:TrimNativeHeapInterval=1000",
                "-XX:+UseCompactObjectHeaders");
    }

    @Test
    void theLauncherUsesTheSameFlags() throws Exception {
        // The launcher is bash; the local cluster starts nodes from Java: one list, written twice.
        String launcher = Files.readString(Path.of(System.getProperty("raftkv.basedir", "."), "raftkv"));
        for (String flag : JvmDefaults.forFeatureRelease(25)) assertThat(launcher).contains(flag);
    }
}
