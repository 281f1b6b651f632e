package io.raftkv.sim;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exactly-once writes when sessions go away under the client: the state machine keeps few
 * sessions, or forgets them after little log time, so a session is often evicted or expired
 * between a write's first send and its resend.
 *
 * <p>Regression test for a client bug the simulation found: RaftKvClient took "409 session
 * expired" as proof that nothing was applied and resent the write under a new session, although
 * an earlier send of the same seq may have been applied (seed 106 with {@code maxSessions=4}:
 * client 3's append applied at index 3 under session 2, resent, the session evicted, answered
 * 409, resent under session 23 and applied again at index 24). Fixed in RaftKvClient (and in
 * {@link SimClient}, which follows it): such a write now ends with an unknown outcome.
 */
class SessionLimitsTest {
    @ParameterizedTest(name = "maxSessions={0}, sessionTtlMs={1}")
    @CsvSource({"4, 600000", "100000, 1000"})
    void aWriteResentAfterItsSessionWentTakesEffectOnce(int maxSessions, long ttlMs) throws Exception {
        List<SimConfig> configs = LongStream.range(0, 500).mapToObj(s -> SimConfig.forSeed(s).with(b -> {
            b.maxSessions = maxSessions;
            b.sessionTtlMs = ttlMs;
        })).toList();
        List<SimResult> results = ClusterSimulationSeedsTest.runAll(configs, false);
        List<SimResult> failed = results.stream().filter(r -> !r.ok()).toList();
        assertThat(failed).as("%s", failed.stream().limit(1).map(r -> "seed " + r.seed() + ": " + r.failure()
                + "\nreplay: " + ClusterSimulationSeedsTest.replayCommand(r.seed()) + " -Draftkv.sim.maxSessions="
                + maxSessions + " -Draftkv.sim.sessionTtlMs=" + ttlMs).toList()).isEmpty();
        // The limits did bite: sessions went away while clients were using them.
        assertThat(results.stream().mapToLong(r -> r.counters().getOrDefault("applied as SessionExpired", 0L)).sum())
                .isPositive();
    }
}
