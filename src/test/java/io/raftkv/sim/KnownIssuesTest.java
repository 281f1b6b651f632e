package io.raftkv.sim;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.List;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Problems the simulation found in the main code, as tests that fail until they are fixed. Off by
 * default so the suite stays green; run with {@code -Draftkv.sim.knownIssues=true}.
 */
@EnabledIfSystemProperty(named = "raftkv.sim.knownIssues", matches = "true")
class KnownIssuesTest {
    /**
     * RaftKvClient.write treats "409 sessionExpired" on its first round as "nothing was applied"
     * and resends the write under a new session. But call() may already have resent that seq after
     * an unknown outcome, and the first send may have been applied; if the session is evicted
     * (least recently used beyond maxSessions) or expires (log time beyond its TTL) before the
     * resend arrives, the write takes effect twice. With production limits (100,000 sessions,
     * 10 minutes) this needs 100,000 newer sessions within one client timeout; with small limits
     * the simulation shows it, e.g. seed 106 with -Draftkv.sim.maxSessions=4 (client 3's append
     * "a3.1;" applied at index 3 under session 2, resent, evicted, answered 409, resent under
     * session 23 and applied again at index 24) and seed 4 with -Draftkv.sim.sessionTtlMs=1000.
     */
    @Test
    @DisplayName("a write resent after its session was evicted takes effect once")
    void sessionEvictedBetweenSendAndResend() throws Exception {
        List<SimConfig> configs = LongStream.range(0, 300)
                .mapToObj(s -> SimConfig.forSeed(s).with(b -> b.maxSessions = 4)).toList();
        List<SimResult> failed = ClusterSimulationSeedsTest.runAll(configs, false).stream().filter(r -> !r.ok()).toList();
        assertThat(failed).as("seeds with maxSessions=4: %s", failed.stream().limit(1)
                .map(r -> "seed " + r.seed() + ": " + r.failure().lines().findFirst().orElse("")).toList()).isEmpty();
    }
}
