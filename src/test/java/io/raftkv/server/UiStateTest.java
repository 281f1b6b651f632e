package io.raftkv.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.raftkv.raft.FollowerProgress;
import io.raftkv.storage.RaftStorage;
import io.raftkv.transport.HostPort;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@code GET /ui/state} says of a node ({@link UiState}), and the request rate it reports ({@link RequestRate}). */
class UiStateTest {
    private static final Map<Integer, HostPort> MEMBERS = Map.of(0, new HostPort("h", 1), 1, new HostPort("h", 2),
            2, new HostPort("h", 3));

    private static StatusSnapshot leader() {
        return new StatusSnapshot(0, "h:1", "leader", 3, 0, "h:1", 0, 7, 6, 9, 3, 4,
                List.of(new FollowerProgress(1, 9, 10, "replicate", 1), new FollowerProgress(2, 5, 6, "probe", 0)),
                1234, MEMBERS, 2, new RaftStorage.Stats(5, 9, 100, 0, 1), Set.of(), 1);
    }

    @Test
    void leaderStateHasStatusFollowersLogTailEventsAndRate() {
        UiEvents events = new UiEvents();
        events.add("role", 3, "candidate -> leader (won election with 2/3 votes)");
        JsonNode o = UiState.of(leader(), new LogTail(2, new long[] {1, 1, 2, 2, 3, 3, 3, 3}), events.recent(UiState.EVENTS),
                new RequestRate.Rate(12.34, OptionalDouble.of(2.0), 2), false, true);
        assertThat(o.get("id").asInt()).isZero();
        assertThat(o.get("role").asText()).isEqualTo("leader");
        assertThat(o.get("term").asLong()).isEqualTo(3);
        assertThat(o.get("leaderId").asInt()).isZero();
        assertThat(o.get("commitIndex").asLong()).isEqualTo(7);
        assertThat(o.get("appliedIndex").asLong()).isEqualTo(6);
        assertThat(o.get("lastLogIndex").asLong()).isEqualTo(9);
        assertThat(o.get("pid").asLong()).isEqualTo(1234);
        assertThat(o.get("members").get("2").asText()).isEqualTo("h:3");
        JsonNode f2 = o.get("followers").get(1);
        assertThat(f2.get("id").asInt()).isEqualTo(2);
        assertThat(f2.get("matchIndex").asLong()).isEqualTo(5);
        assertThat(f2.get("nextIndex").asLong()).isEqualTo(6);
        assertThat(f2.get("lag").asLong()).as("last index 9 - match 5").isEqualTo(4);
        assertThat(o.get("log").get("start").asLong()).isEqualTo(2);
        assertThat(o.get("log").get("terms").toString()).isEqualTo("[1,1,2,2,3,3,3,3]");
        JsonNode e = o.get("events").get(0);
        assertThat(e.get("seq").asLong()).isEqualTo(1);
        assertThat(e.get("kind").asText()).isEqualTo("role");
        assertThat(e.get("text").asText()).contains("won election");
        assertThat(o.get("requests").get("perSecond").asDouble()).isEqualTo(12.3);
        assertThat(o.get("requests").get("p99Ms").asDouble()).isEqualTo(2.0);
        assertThat(o.get("networkCut").asBoolean()).isFalse();
        assertThat(o.get("localControl").asBoolean()).isTrue();
    }

    @Test
    void followerWithoutLeaderOrRequestsSaysSo() {
        StatusSnapshot s = new StatusSnapshot(1, "h:2", "follower", 3, -1, null, -1, 7, 7, 7, 3, 4, List.of(), 5, MEMBERS,
                1, new RaftStorage.Stats(0, 0, 0, 0, 0), Set.of(), 1);
        JsonNode o = UiState.of(s, LogTail.EMPTY, List.of(), RequestRate.Rate.NONE, true, false);
        assertThat(o.get("leaderId").isNull()).isTrue();
        assertThat(o.get("followers")).isEmpty();
        assertThat(o.get("log").get("terms")).isEmpty();
        assertThat(o.get("requests").get("p99Ms").isNull()).isTrue();
        assertThat(o.get("networkCut").asBoolean()).isTrue();
    }

    @Test
    void eventRingKeepsTheNewestInOrder() {
        UiEvents events = new UiEvents();
        for (int i = 1; i <= UiEvents.CAPACITY + 10; i++) events.add("role", i, "change " + i);
        List<UiEvents.Event> recent = events.recent(5);
        assertThat(recent).extracting(UiEvents.Event::seq).containsExactly(70L, 71L, 72L, 73L, 74L);
        assertThat(events.recent(1000)).hasSize(UiEvents.CAPACITY);
    }

    @Test
    void rateAndP99ComeFromTheTimersBetweenTwoSamples() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Timer t = Timer.builder("raftkv.client.requests").tags("op", "put", "status", "200")
                .serviceLevelObjectives(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(25)).register(registry);
        RequestRate rate = new RequestRate(() -> List.of(t));
        long start = 1_000_000_000L;
        assertThat(rate.sample(start).p99Ms()).as("nothing yet").isEmpty();
        for (int i = 0; i < 98; i++) t.record(500, TimeUnit.MICROSECONDS);
        t.record(3, TimeUnit.MILLISECONDS);
        t.record(20, TimeUnit.MILLISECONDS);
        RequestRate.Rate r = rate.sample(start + TimeUnit.SECONDS.toNanos(1));
        assertThat(r.perSecond()).isEqualTo(100.0);
        assertThat(r.p99Ms()).as("the 99th of 100 took 3 ms: the 5 ms bucket").hasValue(5.0);
        t.record(10, TimeUnit.SECONDS);
        RequestRate.Rate slow = rate.sample(start + TimeUnit.SECONDS.toNanos(3));
        assertThat(slow.p99Ms().getAsDouble()).as("beyond the largest bucket").isInfinite();
        registry.close();
    }
}
