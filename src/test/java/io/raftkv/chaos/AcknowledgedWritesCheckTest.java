package io.raftkv.chaos;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The final-state check on small hand-made histories: it passes what sessions allow (unknown
 * writes applied or not) and catches each way a store can break its promise (a lost, duplicated,
 * reordered or invented write; a value seen that later vanished).
 */
class AcknowledgedWritesCheckTest {
    private long clock;

    private Op append(int client, String key, String token, boolean ok, String output) {
        long call = clock += 10;
        long ret = clock += 10;
        return new Op(client, Op.Kind.APPEND, key, Optional.of(token), Optional.ofNullable(output), call, ret, ok,
                ok ? OptionalLong.of(1) : OptionalLong.empty());
    }

    private Op put(int client, String key, String value, boolean ok) {
        long call = clock += 10;
        long ret = clock += 10;
        return new Op(client, Op.Kind.PUT, key, Optional.of(value), ok ? Optional.of(value) : Optional.empty(), call, ret,
                ok, OptionalLong.empty());
    }

    private Op get(int client, String key, String read) {
        long call = clock += 10;
        long ret = clock += 10;
        return new Op(client, Op.Kind.GET, key, Optional.empty(), Optional.ofNullable(read), call, ret, true,
                OptionalLong.empty());
    }

    /** Three appends: acknowledged, unknown, acknowledged; plus a read in between. */
    private List<Op> appendHistory() {
        List<Op> ops = new ArrayList<>();
        ops.add(append(0, "a", "t1;", true, "t1;"));
        ops.add(get(1, "a", "t1;"));
        ops.add(append(0, "a", "t2;", false, null));
        ops.add(append(0, "a", "t3;", true, null)); // a retry answered from the session table: no value reported
        return ops;
    }

    private static AcknowledgedWritesCheck.Outcome check(List<Op> ops, String key, String finalValue) {
        return AcknowledgedWritesCheck.check(ops, Map.of(key, Optional.ofNullable(finalValue)));
    }

    @Test
    void anUnknownAppendMayBeThereOrNot() {
        assertThat(check(appendHistory(), "a", "t1;t2;t3;").problems()).isEmpty();
        AcknowledgedWritesCheck.Outcome o = check(appendHistory(), "a", "t1;t3;");
        assertThat(o.problems()).isEmpty();
        assertThat(o.ackedWrites()).isEqualTo(2);
        assertThat(o.keys()).isEqualTo(1);
    }

    @Test
    void aLostAcknowledgedAppendFails() {
        assertThat(check(appendHistory(), "a", "t1;t2;").problems())
                .singleElement().asString().contains("acknowledged append \"t3;\"", "missing");
        assertThat(check(appendHistory(), "a", null).problems()).hasSize(4); // t1 and t3 lost; t1 read and reported
    }

    @Test
    void aDuplicatedAppendFails() {
        assertThat(check(appendHistory(), "a", "t1;t2;t2;t3;").problems())
                .singleElement().asString().contains("\"t2;\"", "more than once");
    }

    @Test
    void appendsOutOfIssueOrderFail() {
        assertThat(check(appendHistory(), "a", "t1;t3;t2;").problems())
                .singleElement().asString().contains("\"t2;\"", "comes after", "\"t3;\"");
    }

    @Test
    void aTokenNobodyAppendedFails() {
        assertThat(check(appendHistory(), "a", "t1;x9;t3;").problems())
                .singleElement().asString().contains("\"x9;\"", "never appended");
        assertThat(check(appendHistory(), "a", "t1;t3;junk").problems())
                .singleElement().asString().contains("ends in \"junk\"");
    }

    @Test
    void aValueSeenThatIsNotAPrefixOfTheFinalValueFails() {
        List<Op> ops = appendHistory();
        ops.add(get(2, "a", "t1;t2;"));
        // t2 was read, so it took effect; a final value without it lost a write someone saw.
        assertThat(check(ops, "a", "t1;t3;").problems())
                .singleElement().asString().contains("read \"t1;t2;\"", "not a prefix");
        assertThat(check(ops, "a", "t1;t2;t3;").problems()).isEmpty();
    }

    @Test
    void registerKeysKeepTheLastAcknowledgedPutOrALaterUnknownOne() {
        List<Op> ops = List.of(put(0, "r", "v1", true), put(0, "r", "v2", false), put(0, "r", "v3", true),
                put(0, "r", "v4", false), get(1, "r", "v2"));
        assertThat(check(ops, "r", "v3").problems()).isEmpty();
        assertThat(check(ops, "r", "v4").problems()).isEmpty();
        // v2 came before the acknowledged v3: a session applies writes in order, so v2 cannot be last.
        assertThat(check(ops, "r", "v2").problems()).singleElement().asString().contains("last acknowledged put", "\"v3\"");
        assertThat(check(ops, "r", null).problems()).singleElement().asString().contains("key not found");
        assertThat(check(List.of(put(0, "r", "v1", true), get(1, "r", "zz")), "r", "v1").problems())
                .singleElement().asString().contains("\"zz\"", "no put wrote");
    }

    @Test
    void aRegisterWithOnlyUnknownPutsMayBeAbsent() {
        List<Op> ops = List.of(put(0, "r", "v1", false));
        assertThat(check(ops, "r", null).problems()).isEmpty();
        assertThat(check(ops, "r", "v1").problems()).isEmpty();
    }

    @Test
    void aKeyNobodyWroteMustBeEmpty() {
        assertThat(check(List.of(get(1, "k", null)), "k", null).problems()).isEmpty();
        assertThat(check(List.of(get(1, "k", "boo")), "k", null).problems()).singleElement().asString()
                .contains("never written");
    }

    @Test
    void aHistoryOutsideTheWorkloadsShapeIsRejected() {
        assertThatThrownBy(() -> check(List.of(append(0, "a", "t1;", true, "t1;"), append(1, "a", "t2;", true, "t1;t2;")),
                "a", "t1;t2;")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clients [0, 1]");
        assertThatThrownBy(() -> check(List.of(append(0, "a", "t1", true, "t1")), "a", "t1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ending in ;");
        assertThatThrownBy(() -> check(List.of(append(0, "a", "t1;", true, "t1;"), put(0, "a", "x", true)), "a", "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both puts and appends");
    }
}
