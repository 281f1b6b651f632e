package io.raftkv.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code ./raftkv} bash launcher: it runs the jar on a JDK >= 21, and says clearly when there is none. */
@Timeout(value = 120, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
class LauncherIT {
    private static final long EXIT_WAIT_S = 60;
    /** What the launcher and bin/find-java.sh call besides java; wrapped into the fake PATH. */
    private static final List<String> TOOLS = List.of("bash", "dirname", "readlink", "ls", "sort", "sed", "head", "find", "rm");

    @RegisterExtension
    final ProcessGroup procs = new ProcessGroup();
    private final Path logDir = ItEnv.newLogDir("it-launcher-");

    @AfterEach
    void stopEverything() {
        procs.close();
    }

    @Test
    void versionRunsTheJarAndPrintsTheProjectVersion() {
        Process p = procs.start(logDir.resolve("version.log"), List.of(launcher().toString(), "--version"), ItEnv.projectDir());
        String output = awaitOutput(p, "version");
        assertThat(p.exitValue()).as("exit code of './raftkv --version'; output:%n%s", output).isZero();
        String version = System.getProperty("raftkv.version", "").replace("-SNAPSHOT", "");
        assertThat(version).as("system property raftkv.version (set by failsafe)").isNotEmpty();
        assertThat(output.lines().filter(l -> !l.isBlank()).toList()).as("output of './raftkv --version'")
                .last().isEqualTo("raftkv " + version);
        assertThat(output).as("the launcher must not rebuild a fresh jar").doesNotContain("building");
    }

    @Test
    void withoutAJdk21ItFailsNamingJdk21(@TempDir Path tmp) throws IOException {
        // A fake JDK 17 is the only java on PATH; JAVA_HOME points nowhere; no folder of JDKs is searched.
        Path fakeJdk = tmp.resolve("fake-jdk-17");
        Path bin = Files.createDirectories(fakeJdk.resolve("bin"));
        Path calls = tmp.resolve("java-calls.txt");
        script(bin.resolve("java"), """
                #!/bin/sh
                echo "$*" >> '%s'
                echo 'Property settings:' >&2
                echo '    java.specification.version = 17' >&2
                echo 'openjdk version "17.0.99" 2099-01-01' >&2
                exit 0
                """.formatted(calls));
        script(bin.resolve("javac"), "#!/bin/sh\necho 'javac 17.0.99'\n");
        // Wrappers rather than symlinks, so that nothing in the temp folder points outside it.
        for (String tool : TOOLS) script(bin.resolve(tool), "#!/bin/sh\nexec '" + which(tool) + "' \"$@\"\n");
        Path noJvms = Files.createDirectories(tmp.resolve("no-jvms"));

        ProcessBuilder pb = new ProcessBuilder(launcher().toString(), "--version").directory(ItEnv.projectDir().toFile());
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", bin.toString());
        env.put("JAVA_HOME", "/nonexistent");
        env.put("RAFTKV_JVM_DIRS", noJvms.toString());
        env.put("HOME", tmp.toString());
        Process p = procs.start(logDir.resolve("no-jdk.log"), pb);
        String output = awaitOutput(p, "no-jdk");

        assertThat(p.exitValue()).as("exit code without a JDK 21; output:%n%s", output).isEqualTo(1);
        assertThat(output).contains("no JDK 21 or newer found").contains("$JAVA_HOME (/nonexistent)").contains(noJvms.toString())
                .contains(fakeJdk + " (Java 17)").doesNotContain("building").doesNotContain("raftkv 0.");
        // The fake java was asked its version (so the version check rejected it) and never ran the jar.
        List<String> javaCalls = Files.exists(calls) ? Files.readAllLines(calls) : List.of();
        assertThat(javaCalls).as("calls of the fake java").isNotEmpty()
                .allMatch(c -> c.contains("-XshowSettings:properties")).noneMatch(c -> c.contains("-jar"));
    }

    private static Path launcher() {
        Path l = ItEnv.projectDir().resolve("raftkv");
        assertThat(Files.isExecutable(l)).as("%s is executable", l).isTrue();
        return l;
    }

    private String awaitOutput(Process p, String name) {
        boolean exited = ProcessGroup.awaitExit(p, EXIT_WAIT_S);
        String output = ProcessGroup.read(logDir.resolve(name + ".log"));
        assertThat(exited).as("launcher exits; output so far:%n%s", output).isTrue();
        return output;
    }

    private static void script(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** The absolute path of {@code tool} on this JVM's PATH. */
    private static Path which(String tool) {
        Optional<Path> found = Arrays.stream(System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator))
                .filter(d -> !d.isEmpty()).map(d -> Path.of(d, tool)).filter(Files::isExecutable).findFirst();
        return found.orElseThrow(() -> new AssertionError(tool + " is not on PATH; the launcher test needs it")).toAbsolutePath();
    }
}
