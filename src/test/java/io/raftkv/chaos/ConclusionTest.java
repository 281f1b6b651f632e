package io.raftkv.chaos;

import io.raftkv.linearizability.CheckReport;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.Operation;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.linearizability.Operation.get;
import static io.raftkv.linearizability.Operation.put;
import static org.assertj.core.api.Assertions.assertThat;

/** How the checks of a chaos run combine into its verdict, with real linearizability checks of small histories. */
class ConclusionTest {
    private static final String WRITES_HELD = "every acknowledged write is present";

    private static CheckReport check(Duration budget, Operation... ops) {
        return CheckReport.check(History.of(ops), budget);
    }

    private static CheckReport linearizable() {
        return check(Duration.ofSeconds(10), put(1, "x", "1", 0, 10), get(2, "x", "1", 20, 30));
    }

    private static CheckReport staleRead() {
        return check(Duration.ofSeconds(10), put(1, "x", "1", 0, 10), put(1, "x", "2", 20, 30), get(2, "x", "1", 40, 50));
    }

    /** Too hard for 50 ms: see LinearizabilityCheckerTest.Budget. */
    private static CheckReport outOfTime() {
        List<Operation> ops = new ArrayList<>();
        for (int i = 0; i < 22; i++) ops.add(put(i, "x", "v" + i, 0, 1000));
        ops.add(put(22, "x", "last", 1100, 1200));
        ops.add(get(22, "x", "v0", 2000, 2100));
        return check(Duration.ofMillis(50), ops.toArray(Operation[]::new));
    }

    @Test
    void passesWhenEveryCheckHeldAndSaysWhat() {
        Conclusion c = new Conclusion();
        c.held(WRITES_HELD);
        c.linearizability(linearizable());
        assertThat(c.verdict()).isEqualTo(ChaosRun.Verdict.PASS);
        assertThat(c.reasons()).hasSize(2);
        assertThat(c.reasons().get(0)).isEqualTo(WRITES_HELD);
        assertThat(c.reasons().get(1)).startsWith("linearizability: 2 operations on 1 key").endsWith(": LINEARIZABLE");
    }

    @Test
    void aHistoryThatIsNotLinearizableFailsTheRunEvenIfEveryWriteIsThere() {
        Conclusion c = new Conclusion();
        c.held(WRITES_HELD);
        c.linearizability(staleRead());
        assertThat(c.verdict()).isEqualTo(ChaosRun.Verdict.FAIL);
        assertThat(c.reasons()).singleElement().asString().contains("NOT LINEARIZABLE").doesNotContain(WRITES_HELD);
    }

    @Test
    void aViolationWinsOverNoRecoveryAndBothAreSaid() {
        Conclusion c = new Conclusion();
        c.undecided("the cluster did not recover");
        c.linearizability(staleRead());
        assertThat(c.verdict()).isEqualTo(ChaosRun.Verdict.FAIL);
        assertThat(c.reasons()).hasSize(2).last().isEqualTo("the cluster did not recover");
    }

    @Test
    void aLinearizabilityCheckOutOfTimeLeavesTheRunWithoutAVerdict() {
        CheckReport unknown = outOfTime();
        assertThat(unknown.verdictName()).isEqualTo("UNKNOWN");
        Conclusion c = new Conclusion();
        c.held(WRITES_HELD);
        c.linearizability(unknown);
        assertThat(c.verdict()).isEqualTo(ChaosRun.Verdict.NO_VERDICT);
        assertThat(c.reasons()).singleElement().asString().contains("UNKNOWN", "--check-budget-seconds");

        Conclusion lostWrite = new Conclusion();
        lostWrite.violated("key a0.1: acknowledged append c0.3; is missing");
        lostWrite.linearizability(unknown);
        assertThat(lostWrite.verdict()).isEqualTo(ChaosRun.Verdict.FAIL);
    }

    @Test
    void aLostWriteFailsTheRunEvenIfTheHistoryIsLinearizable() {
        Conclusion c = new Conclusion();
        c.violated("key a0.1: acknowledged append c0.3; is missing");
        c.linearizability(linearizable());
        assertThat(c.verdict()).isEqualTo(ChaosRun.Verdict.FAIL);
        assertThat(c.reasons()).containsExactly("key a0.1: acknowledged append c0.3; is missing");
    }
}
