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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code ./raftkv} bash launcher and the Maven wrapper {@code ./mvnw}: both run on a JDK >= 21
 * found the same way (bin/find-java.sh), and say clearly when there is none.
 */
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

    /**
     * The README's test command on a fresh machine: an older java first on the PATH and no
     * JAVA_HOME. {@code ./mvnw} must run Maven on a JDK >= 21 from the JDK folders, not on the java
     * it finds first (which fails the build with "release version 21 not supported").
     */
    @Test
    void mavenWrapperPicksAJdk21WhenAJdk17IsFirstOnThePath(@TempDir Path tmp) throws IOException {
        Path fakeJdk = fakeJdk17(tmp, "#!/bin/sh\necho 'error: release version 21 not supported (fake JDK 17 ran Maven)' >&2\nexit 1\n");
        // The folder holding the JDK that runs this test (>= 21) is the JDK folder searched.
        Path testJdk = Path.of(System.getProperty("java.home")).toRealPath();
        ProcessBuilder pb = new ProcessBuilder(mavenWrapper().toString(), "-v").directory(ItEnv.projectDir().toFile());
        Map<String, String> env = pb.environment();
        env.remove("JAVA_HOME");
        env.put("PATH", fakeJdk.resolve("bin") + File.pathSeparator + env.getOrDefault("PATH", "/usr/bin:/bin"));
        env.put("RAFTKV_JVM_DIRS", testJdk.getParent().toString());
        Process p = procs.start(logDir.resolve("mvnw-jdk17-first.log"), pb);
        String output = awaitOutput(p, "mvnw-jdk17-first");

        assertThat(p.exitValue()).as("exit code of './mvnw -v' with a JDK 17 first on the PATH; output:%n%s", output).isZero();
        Matcher m = Pattern.compile("Java version: (\\d+)").matcher(output);
        assertThat(m.find()).as("'./mvnw -v' names its Java version; output:%n%s", output).isTrue();
        assertThat(Integer.parseInt(m.group(1))).as("the Java version Maven runs on; output:%n%s", output).isGreaterThanOrEqualTo(21);
        assertThat(output).doesNotContain(fakeJdk.toString());
    }

    @Test
    void mavenWrapperWithoutAJdk21FailsNamingJdk21(@TempDir Path tmp) throws IOException {
        Path fakeJdk = fakeJdk17(tmp, "#!/bin/sh\necho 'fake JDK 17 ran Maven' >&2\nexit 1\n");
        Path noJvms = Files.createDirectories(tmp.resolve("no-jvms"));
        ProcessBuilder pb = new ProcessBuilder(mavenWrapper().toString(), "-v").directory(ItEnv.projectDir().toFile());
        Map<String, String> env = pb.environment();
        env.remove("JAVA_HOME");
        env.put("PATH", fakeJdk.resolve("bin") + File.pathSeparator + env.getOrDefault("PATH", "/usr/bin:/bin"));
        env.put("RAFTKV_JVM_DIRS", noJvms.toString());
        // Only the fake JDK 17 may be found on the PATH: the real java programs are hidden by the fake ones.
        Process p = procs.start(logDir.resolve("mvnw-no-jdk.log"), pb);
        String output = awaitOutput(p, "mvnw-no-jdk");

        assertThat(p.exitValue()).as("exit code of './mvnw -v' without a JDK 21; output:%n%s", output).isEqualTo(1);
        assertThat(output).contains("no JDK 21 or newer found").contains(fakeJdk + " (Java 17)")
                .doesNotContain("fake JDK 17 ran Maven").doesNotContain("Apache Maven");
    }

    /**
     * A fake JDK 17 under {@code tmp}: its java answers find-java.sh's version question with 17 and
     * runs {@code otherwise} for anything else.
     */
    private static Path fakeJdk17(Path tmp, String otherwise) throws IOException {
        Path fakeJdk = tmp.resolve("fake-jdk-17");
        Path bin = Files.createDirectories(fakeJdk.resolve("bin"));
        Path otherwiseScript = bin.resolve("java-otherwise");
        script(otherwiseScript, otherwise);
        script(bin.resolve("java"), """
                #!/bin/sh
                case "$*" in
                *-XshowSettings:properties*)
                  echo 'Property settings:' >&2
                  echo '    java.specification.version = 17' >&2
                  echo 'openjdk version "17.0.99" 2099-01-01' >&2
                  exit 0 ;;
                esac
                exec '%s' "$@"
                """.formatted(otherwiseScript));
        script(bin.resolve("javac"), "#!/bin/sh\necho 'javac 17.0.99'\n");
        return fakeJdk;
    }

    private static Path mavenWrapper() {
        Path w = ItEnv.projectDir().resolve("mvnw");
        assertThat(Files.isExecutable(w)).as("%s is executable", w).isTrue();
        return w;
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
