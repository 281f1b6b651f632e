package io.raftkv.chaos;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The unavailability window after a leader fault: to the first write committed by a later leader. */
class UnavailabilityTest {
    private static final long START = 1_000_000;

    private static Op write(long callNs, long returnNs, boolean ok, OptionalLong term) {
        return new Op(0, Op.Kind.PUT, "r0.3", Optional.of("v"), Optional.of("v"), callNs, returnNs, ok, term);
    }

    private static Nemesis.Fault fault(FaultKind kind, int node, long leader, long term, long atNs, long endNs) {
        return new Nemesis.Fault(kind, "test", List.of(node), OptionalLong.of(leader), term, START + atNs, START + endNs);
    }

    @Test
    void theWindowEndsAtTheFirstWriteOfALaterTerm() {
        Nemesis.Fault kill = fault(FaultKind.KILL, 1, 1, 4, 100, 900);
        List<Op> ops = List.of(
                write(90, 105, true, OptionalLong.of(4)),   // the old leader's last answer: not availability
                write(95, 300, true, OptionalLong.empty()), // a retry answered from the session table: no term
                write(110, 400, false, OptionalLong.empty()),
                write(120, 500, true, OptionalLong.of(5)),
                write(130, 450, true, OptionalLong.of(6)));
        List<Unavailability.Window> w = Unavailability.afterLeaderFaults(List.of(kill), ops, START, START + 2000);
        assertThat(w).singleElement().satisfies(x -> assertThat(x.windowNs()).hasValue(350));
        assertThat(Unavailability.longest(w, FaultKind.KILL)).get().extracting(Unavailability.Window::atLeastNs).isEqualTo(350L);
        assertThat(Unavailability.longest(w, FaultKind.PAUSE)).isEmpty();
    }

    @Test
    void faultsThatSparedTheLeaderHaveNoWindow() {
        Nemesis.Fault follower = fault(FaultKind.KILL, 2, 1, 4, 100, 900);
        assertThat(Unavailability.afterLeaderFaults(List.of(follower), List.of(), START, START + 2000)).isEmpty();
    }

    @Test
    void withoutALaterWriteTheWindowIsALowerBound() {
        Nemesis.Fault kill = fault(FaultKind.KILL, 1, 1, 4, 100, 900);
        List<Unavailability.Window> w = Unavailability.afterLeaderFaults(List.of(kill),
                List.of(write(90, 105, true, OptionalLong.of(4))), START, START + 2000);
        assertThat(w).singleElement().satisfies(x -> {
            assertThat(x.windowNs()).isEmpty();
            assertThat(x.atLeastNs()).isEqualTo(1900);
        });
    }

    @Test
    void aPausedLeaderThatCarriesOnInItsTermEndsTheWindowAfterTheRepair() {
        Nemesis.Fault pause = fault(FaultKind.PAUSE, 1, 1, 4, 100, 600);
        List<Op> ops = List.of(write(300, 650, true, OptionalLong.of(4)), write(610, 700, true, OptionalLong.of(4)));
        assertThat(Unavailability.afterLeaderFaults(List.of(pause), ops, START, START + 2000))
                .singleElement().satisfies(x -> assertThat(x.windowNs()).hasValue(600));
    }
}
