package io.raftkv.server;

import io.raftkv.server.WriteWorkload.Op;
import io.raftkv.server.WriteWorkload.Outcome;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The durability checker has teeth: each way of losing or corrupting a write is reported. */
class WriteWorkloadTest {
    private static Op put(Outcome o) {
        return new Op(0, "c0-p0", true, "v0-0", o, o == Outcome.ACKED ? "v0-0" : null, o == Outcome.ACKED ? 200 : 503);
    }

    private static Op append(int n, Outcome o, String returned) {
        return new Op(n, "c0-a0", false, "<" + n + ">", o, returned, o == Outcome.ACKED ? 200 : 503);
    }

    /** Appends <1> acked, <3> unknown, <5> acked, <7> not applied (503 retryable). */
    private static final List<Op> APPENDS = List.of(append(1, Outcome.ACKED, "<1>"), append(3, Outcome.UNKNOWN, null),
            append(5, Outcome.ACKED, "<1><3><5>"), append(7, Outcome.NOT_APPLIED, null));

    @Test
    @DisplayName("consistent outcomes pass: acked values present, unknown ones either way")
    void consistentHistoriesPass() {
        assertThat(WriteWorkload.judge("c0-p0", List.of(put(Outcome.ACKED)), "v0-0")).isEmpty();
        assertThat(WriteWorkload.judge("c0-p0", List.of(put(Outcome.UNKNOWN)), null)).isEmpty();
        assertThat(WriteWorkload.judge("c0-p0", List.of(put(Outcome.UNKNOWN)), "v0-0")).isEmpty();
        assertThat(WriteWorkload.judge("c0-p0", List.of(put(Outcome.NOT_APPLIED)), null)).isEmpty();
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<1><3><5>")).isEmpty();
    }

    @Test
    @DisplayName("lost, changed, duplicated, reordered or falsely refused writes are each reported")
    void violationsAreReported() {
        assertThat(WriteWorkload.judge("c0-p0", List.of(put(Outcome.ACKED)), null)).singleElement()
                .asString().contains("lost acknowledged put");
        assertThat(WriteWorkload.judge("c0-p0", List.of(put(Outcome.ACKED)), "other")).hasSize(1);
        assertThat(WriteWorkload.judge("c0-p0", List.of(put(Outcome.NOT_APPLIED)), "v0-0")).singleElement()
                .asString().contains("503 retryable");
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, null)).singleElement().asString().contains("lost");
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<1><3>")).as("acked <5> lost").isNotEmpty();
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<1><5>")).as("acked <5> returned <1><3><5>").isNotEmpty();
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<1><3><5><5>")).as("applied twice")
                .anyMatch(v -> v.contains("twice"));
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<3><1><5>")).as("reordered").isNotEmpty();
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<1><3><5><7>")).as("refused append applied")
                .anyMatch(v -> v.contains("503 retryable"));
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<1><3><5><9>")).as("another key's token")
                .anyMatch(v -> v.contains("never appended"));
        assertThat(WriteWorkload.judge("c0-a0", APPENDS, "<1><3><5>junk")).anyMatch(v -> v.contains("other than"));
    }
}
