package io.raftkv.server;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class BackgroundPriorityTest {
    @Test
    void aThreadOfTheFactoryRunsAtTheNiceValueAskedAndOthersAreUntouched() throws Exception {
        CompletableFuture<Integer> lowered = new CompletableFuture<>();
        Thread t = BackgroundPriority.daemonThreads("test-low", 7).newThread(() -> lowered.complete(niceOfCurrentThread()));
        t.start();
        assertThat(lowered.get(10, TimeUnit.SECONDS)).as("nice value of the factory's thread").isEqualTo(7);
        assertThat(t.getName()).isEqualTo("test-low");
        assertThat(t.isDaemon()).isTrue();

        CompletableFuture<Integer> asIs = new CompletableFuture<>();
        BackgroundPriority.daemonThreads("test-as-is", 0).newThread(() -> asIs.complete(niceOfCurrentThread())).start();
        assertThat(asIs.get(10, TimeUnit.SECONDS)).as("nice 0 leaves the thread as the JVM made it")
                .isEqualTo(niceOfCurrentThread());
    }

    /** Field 19 of /proc/thread-self/stat (after the command name in parentheses, which may hold spaces). */
    private static int niceOfCurrentThread() {
        try {
            String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[16]); // fields[0] is field 3 (state)
        } catch (java.io.IOException e) {
            throw new AssertionError("this test needs Linux's /proc: " + e, e);
        }
    }
}
