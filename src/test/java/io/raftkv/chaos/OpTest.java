package io.raftkv.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.Operation;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The history line format, field by field, and the fault list flag. */
class OpTest {
    @Test
    void aHistoryLineHasTheCheckersFieldsInOrder() throws Exception {
        Op append = new Op(3, Op.Kind.APPEND, "a3.0", Optional.of("c3.1;"), Optional.of("c3.1;"), 1200, 1850, true,
                OptionalLong.of(2));
        assertThat(append.toJsonLine()).isEqualTo(
                "{\"client\":3,\"op\":\"append\",\"key\":\"a3.0\",\"value\":\"c3.1;\",\"output\":\"c3.1;\",\"call\":1200,"
                        + "\"return\":1850,\"ok\":true}");
        Op notFound = new Op(0, Op.Kind.GET, "k", Optional.empty(), Optional.empty(), 1, 2, true, OptionalLong.empty());
        JsonNode n = new ObjectMapper().readTree(notFound.toJsonLine());
        assertThat(n.get("value").isNull()).isTrue();
        assertThat(n.get("output").isNull()).isTrue();
        // An unknown outcome carries no output, whatever the client saw.
        Op unknown = new Op(0, Op.Kind.PUT, "r", Optional.of("v"), Optional.of("v"), 1, 2, false, OptionalLong.empty());
        assertThat(new ObjectMapper().readTree(unknown.toJsonLine()).get("output").isNull()).isTrue();
    }

    /** What chaos writes is what the checker reads: {@code raftkv chaos} checks its own file this way. */
    @Test
    void theCheckerReadsEveryKindOfLineBack() {
        List<Op> ops = List.of(
                new Op(3, Op.Kind.APPEND, "a3.0", Optional.of("c3.1;"), Optional.of("c3.1;"), 1200, 1850, true, OptionalLong.of(2)),
                new Op(1, Op.Kind.APPEND, "a1.0", Optional.of("c1.1;"), Optional.empty(), 1, 2, true, OptionalLong.of(2)),
                new Op(0, Op.Kind.PUT, "r0", Optional.of("v"), Optional.of("v"), 3, 9, true, OptionalLong.of(2)),
                new Op(0, Op.Kind.PUT, "r0", Optional.of("w"), Optional.of("w"), 10, 20, false, OptionalLong.empty()),
                new Op(2, Op.Kind.GET, "r0", Optional.empty(), Optional.of("v"), 4, 5, true, OptionalLong.empty()),
                new Op(2, Op.Kind.GET, "r9", Optional.empty(), Optional.empty(), 6, 7, true, OptionalLong.empty()),
                new Op(2, Op.Kind.GET, "r0", Optional.empty(), Optional.empty(), 8, 30, false, OptionalLong.empty()),
                new Op(1, Op.Kind.DELETE, "x1.0", Optional.empty(), Optional.of("1"), 31, 32, true, OptionalLong.empty()),
                new Op(1, Op.Kind.CAS, "x1.0", Optional.of("n"), Optional.of("m"), 33, 34, true, OptionalLong.empty(),
                        Optional.of("o"), Optional.of(false)),
                new Op(4, Op.Kind.TXN, "x1.0", Optional.empty(), Optional.empty(), 35, 36, true, OptionalLong.empty(),
                        Optional.empty(), Optional.of(true)),
                new Op(4, Op.Kind.CAS, "x1.0", Optional.of("p"), Optional.empty(), 37, 38, false, OptionalLong.empty(),
                        Optional.of("n"), Optional.empty()));
        StringBuilder lines = new StringBuilder();
        ops.forEach(op -> lines.append(op.toJsonLine()).append('\n'));
        assertThat(History.fromJsonLines(lines.toString()).operations()).containsExactly(
                Operation.append(3, "a3.0", "c3.1;", "c3.1;", 1200, 1850),
                Operation.appendResultNotKnown(1, "a1.0", "c1.1;", 1, 2),
                new Operation(0, Operation.Kind.PUT, "r0", Optional.of("v"), Optional.of("v"), 3, 9, true),
                new Operation(0, Operation.Kind.PUT, "r0", Optional.of("w"), Optional.empty(), 10, 20, false),
                Operation.get(2, "r0", "v", 4, 5),
                Operation.getNotFound(2, "r9", 6, 7),
                new Operation(2, Operation.Kind.GET, "r0", Optional.empty(), Optional.empty(), 8, 30, false),
                Operation.delete(1, "x1.0", 1, 31, 32),
                Operation.cas(1, "x1.0", "o", "n", false, "m", 33, 34),
                Operation.txn(4, "x1.0", null, null, true, null, 35, 36),
                new Operation(4, Operation.Kind.CAS, "x1.0", Optional.of("p"), Optional.empty(), 37, 38, false,
                        Optional.of("n"), Optional.empty()));
    }

    @Test
    void badOpsAreRejected() {
        assertThatThrownBy(() -> new Op(0, Op.Kind.GET, "k", Optional.of("v"), Optional.empty(), 1, 2, true,
                OptionalLong.empty())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Op(0, Op.Kind.PUT, "k", Optional.of("v"), Optional.empty(), 3, 2, true,
                OptionalLong.empty())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void faultListsParse() {
        assertThat(FaultKind.parseList("kill, pause,partition-full")).containsExactlyInAnyOrder(FaultKind.KILL,
                FaultKind.PAUSE, FaultKind.PARTITION_FULL);
        assertThat(FaultKind.parseList("none")).isEmpty();
        assertThat(FaultKind.names(FaultKind.parseList(FaultKind.allNames()))).isEqualTo(FaultKind.allNames());
        assertThatThrownBy(() -> FaultKind.parseList("kill,nuke")).hasMessageContaining("'nuke'")
                .hasMessageContaining(FaultKind.allNames());
        assertThat(List.of(FaultKind.values())).filteredOn(FaultKind::needsFirewall)
                .containsExactly(FaultKind.PARTITION, FaultKind.PARTITION_FULL);
    }
}
