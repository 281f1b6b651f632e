package io.raftkv.kv;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The state machine and its session table (Raft thesis §6.3). */
class KvStateMachineTest {
    private long index;

    private ApplyResult apply(KvStateMachine kv, KvCommand cmd) {
        return kv.apply(++index, cmd);
    }

    private static KvCommand append(String key, String value, long client, long seq, long ts) {
        return new KvCommand(KvCommand.Op.APPEND, key, value, client, seq, ts);
    }

    @Test
    void putAppendGetWithoutSessions() {
        KvStateMachine kv = new KvStateMachine();
        assertThat(apply(kv, new KvCommand(KvCommand.Op.APPEND, "a", "x"))).isEqualTo(new ApplyResult.Applied("x"));
        assertThat(apply(kv, new KvCommand(KvCommand.Op.APPEND, "a", "y"))).isEqualTo(new ApplyResult.Applied("xy"));
        assertThat(apply(kv, new KvCommand(KvCommand.Op.PUT, "a", "z"))).isEqualTo(new ApplyResult.Applied("z"));
        assertThat(kv.get("a")).hasValue("z");
        assertThat(kv.get("b")).isEmpty();
        assertThatThrownBy(() -> kv.apply(1, new KvCommand(KvCommand.Op.PUT, "a", "again")))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    @DisplayName("§6.3: a retried append is answered from the session table and applied once")
    void retriedAppendAppliesOnce() {
        KvStateMachine kv = new KvStateMachine();
        long client = ((ApplyResult.Registered) apply(kv, KvCommand.register().withTimestamp(1000))).clientId();
        assertThat(client).isEqualTo(index);
        assertThat(apply(kv, append("k", "a", client, 1, 1001))).isEqualTo(new ApplyResult.Applied("a"));
        long appliedAt = index;
        // The same request again (e.g. resent after a leader crash): not applied a second time.
        assertThat(apply(kv, append("k", "a", client, 1, 1002))).isEqualTo(new ApplyResult.Duplicate(appliedAt));
        assertThat(kv.get("k")).hasValue("a");
        assertThat(apply(kv, append("k", "b", client, 2, 1003))).isEqualTo(new ApplyResult.Applied("ab"));
        assertThat(apply(kv, append("k", "a", client, 1, 1004))).isEqualTo(new ApplyResult.StaleSeq(client, 1, 2));
        assertThat(kv.get("k")).hasValue("ab");
    }

    @Test
    @DisplayName("sessions expire by log time, not wall clock; an expired session is refused, never applied")
    void sessionsExpireByLogTime() {
        KvStateMachine kv = new KvStateMachine(10_000, 100);
        long old = ((ApplyResult.Registered) apply(kv, KvCommand.register().withTimestamp(1_000))).clientId();
        long busy = ((ApplyResult.Registered) apply(kv, KvCommand.register().withTimestamp(1_000))).clientId();
        apply(kv, append("k", "x", busy, 1, 9_000));
        // A leader with a slower clock stamps an older time: log time does not go back.
        apply(kv, new KvCommand(KvCommand.Op.PUT, "other", "v", 0, 0, 500));
        apply(kv, append("k", "y", busy, 2, 11_500)); // log time 11.5 s: "old" idle for 10.5 s
        assertThat(kv.sessionCount()).isEqualTo(1);
        assertThat(apply(kv, append("k", "z", old, 1, 11_600))).isEqualTo(new ApplyResult.SessionExpired(old));
        assertThat(kv.get("k")).hasValue("xy");
        assertThat(apply(kv, append("k", "z", busy, 3, 11_700))).isEqualTo(new ApplyResult.Applied("xyz"));
        assertThat(apply(kv, append("k", "q", 424242, 1, 11_800))).isEqualTo(new ApplyResult.SessionExpired(424242));
    }

    @Test
    void leastRecentlyUsedSessionsGoFirstWhenFull() {
        KvStateMachine kv = new KvStateMachine(1_000_000, 2);
        long a = ((ApplyResult.Registered) apply(kv, KvCommand.register())).clientId();
        long b = ((ApplyResult.Registered) apply(kv, KvCommand.register())).clientId();
        apply(kv, append("k", "1", a, 1, 0)); // a used after b: b is now the least recently used
        long c = ((ApplyResult.Registered) apply(kv, KvCommand.register())).clientId();
        assertThat(kv.sessionCount()).isEqualTo(2);
        assertThat(apply(kv, append("k", "2", b, 1, 0))).isEqualTo(new ApplyResult.SessionExpired(b));
        assertThat(apply(kv, append("k", "2", a, 2, 0))).isInstanceOf(ApplyResult.Applied.class);
        assertThat(apply(kv, append("k", "3", c, 1, 0))).isInstanceOf(ApplyResult.Applied.class);
    }

    @Test
    @DisplayName("§7: a snapshot carries the data and the session table, so a duplicate is still caught after restore")
    void snapshotKeepsSessions() {
        KvStateMachine kv = new KvStateMachine(10_000, 100);
        long client = ((ApplyResult.Registered) apply(kv, KvCommand.register().withTimestamp(5))).clientId();
        apply(kv, append("k", "a", client, 1, 6));
        long appliedAt = index;
        apply(kv, new KvCommand(KvCommand.Op.PUT, "p", "q", 0, 0, 7));
        byte[] snap = kv.snapshot();

        KvStateMachine restored = new KvStateMachine(10_000, 100);
        restored.restore(snap);
        assertThat(restored.appliedIndex()).isEqualTo(kv.appliedIndex());
        assertThat(restored.get("k")).hasValue("a");
        assertThat(restored.get("p")).hasValue("q");
        assertThat(restored.apply(++index, append("k", "a", client, 1, 8))).isEqualTo(new ApplyResult.Duplicate(appliedAt));
        assertThat(restored.snapshot()).as("restore then snapshot is stable").isNotEmpty();
        assertThatThrownBy(() -> restored.restore(java.util.Arrays.copyOf(snap, snap.length - 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("corrupt");
    }

    /**
     * The limit holds for the value a write leaves, not only for what it sends: four appends of
     * 1/4 of the limit fill it, the fifth is refused, and nothing of it is applied.
     */
    @Test
    void anAppendWhoseResultWouldPassTheValueLimitIsRefusedAndChangesNothing() {
        KvStateMachine kv = new KvStateMachine(10_000, 100, 8);
        assertThat(apply(kv, new KvCommand(KvCommand.Op.PUT, "k", "12"))).isEqualTo(new ApplyResult.Applied("12"));
        for (String part : new String[] {"34", "56", "78"}) {
            assertThat(apply(kv, new KvCommand(KvCommand.Op.APPEND, "k", part))).isInstanceOf(ApplyResult.Applied.class);
        }
        assertThat(kv.get("k")).hasValue("12345678");
        assertThat(apply(kv, new KvCommand(KvCommand.Op.APPEND, "k", "9"))).isEqualTo(new ApplyResult.ValueTooLarge(9, 8));
        assertThat(kv.get("k")).as("a refused append leaves the value as it was").hasValue("12345678");
        // Bytes, not chars: "é" is 2 bytes in UTF-8, so 7 + 2 passes 8; an append to a missing key starts from "".
        apply(kv, new KvCommand(KvCommand.Op.PUT, "u", "1234567"));
        assertThat(apply(kv, new KvCommand(KvCommand.Op.APPEND, "u", "é"))).isEqualTo(new ApplyResult.ValueTooLarge(9, 8));
        assertThat(apply(kv, new KvCommand(KvCommand.Op.APPEND, "new", "\uD83D\uDE00\uD83D\uDE00x")))
                .as("two 4-byte characters and one byte").isEqualTo(new ApplyResult.ValueTooLarge(9, 8));
        assertThat(kv.get("new")).isEmpty();
        // A put is held to the same limit (the HTTP layer refuses it first; this is the last word).
        assertThat(apply(kv, new KvCommand(KvCommand.Op.PUT, "k", "123456789"))).isEqualTo(new ApplyResult.ValueTooLarge(9, 8));
        assertThat(apply(kv, new KvCommand(KvCommand.Op.PUT, "k", "abcdefgh"))).isEqualTo(new ApplyResult.Applied("abcdefgh"));
    }

    /**
     * §6.3: a refused write uses up its seq like an applied one. Its resend gets the same refusal
     * (never a "duplicate" that reads as success, and never applied later, even once the value
     * was shortened so that it would fit); the session goes on with the next seq. A snapshot keeps it.
     */
    @Test
    @DisplayName("§6.3: a write refused as too large uses up its seq; its resend is refused again, also after a snapshot")
    void aRefusedWriteUsesUpItsSeqAndItsResendIsRefusedAgain() {
        KvStateMachine kv = new KvStateMachine(10_000, 100, 4);
        long client = ((ApplyResult.Registered) apply(kv, KvCommand.register().withTimestamp(1))).clientId();
        assertThat(apply(kv, append("k", "abc", client, 1, 2))).isEqualTo(new ApplyResult.Applied("abc"));
        assertThat(apply(kv, append("k", "de", client, 2, 3))).isEqualTo(new ApplyResult.ValueTooLarge(5, 4));
        apply(kv, new KvCommand(KvCommand.Op.PUT, "k", "", 0, 0, 4)); // now "de" would fit
        assertThat(apply(kv, append("k", "de", client, 2, 5))).as("resend of the refused seq 2")
                .isEqualTo(new ApplyResult.ValueTooLarge(5, 4));
        assertThat(apply(kv, append("k", "x", client, 1, 6))).isEqualTo(new ApplyResult.StaleSeq(client, 1, 2));
        assertThat(kv.get("k")).hasValue("");

        KvStateMachine restored = new KvStateMachine(10_000, 100, 4);
        restored.restore(kv.snapshot());
        index = kv.appliedIndex();
        assertThat(restored.apply(++index, append("k", "de", client, 2, 7))).as("resend after a restore")
                .isEqualTo(new ApplyResult.ValueTooLarge(5, 4));
        assertThat(restored.apply(++index, append("k", "fg", client, 3, 8))).isEqualTo(new ApplyResult.Applied("fg"));
        long appliedAt = index;
        assertThat(restored.apply(++index, append("k", "fg", client, 3, 9))).as("an applied seq is a plain duplicate again")
                .isEqualTo(new ApplyResult.Duplicate(appliedAt));
    }

    /**
     * The snapshot is encoded through one 64 KiB block: values smaller than what is left of it,
     * larger than what is left, and larger than the block itself all come back in key order, and
     * the checksum is the CRC-32C of every byte before it.
     */
    @Test
    void valuesOfEverySizeAroundTheEncodingBlockComeBackWhole() {
        KvStateMachine kv = new KvStateMachine(10_000, 100, 1 << 20);
        java.util.Random random = new java.util.Random(7);
        java.util.TreeMap<String, String> expected = new java.util.TreeMap<>();
        int[] sizes = {0, 1, 65_536 - 60, 65_536, 65_537, 200_000, 30_000, 40_000, 3};
        for (int i = 0; i < 300; i++) {
            int size = i < sizes.length ? sizes[i] : random.nextInt(i % 7 == 0 ? 100_000 : 100);
            String key = String.format("k%05d", random.nextInt(100_000));
            String value = String.valueOf((char) ('a' + i % 26)).repeat(size);
            apply(kv, new KvCommand(KvCommand.Op.PUT, key, value));
            expected.put(key, value);
        }
        byte[] snap = kv.snapshot();
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(snap, 0, snap.length - 4);
        assertThat(java.nio.ByteBuffer.wrap(snap, snap.length - 4, 4).getInt()).isEqualTo((int) crc.getValue());

        KvStateMachine restored = new KvStateMachine(10_000, 100, 1 << 20);
        restored.restore(snap);
        assertThat(restored.size()).isEqualTo(expected.size());
        expected.forEach((k, v) -> assertThat(restored.get(k)).as(k).hasValue(v));
        assertThat(restored.snapshot()).as("a restored state encodes to the same bytes").isEqualTo(snap);
    }

    /** Snapshots of the previous version (2: no refused size per session) still restore. */
    @Test
    void restoresAVersion2Snapshot() throws java.io.IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
            out.writeByte(2);
            out.writeLong(12); // appliedIndex
            out.writeLong(1_000); // logTimeMs
            out.writeInt(1);
            out.writeInt(1);
            out.write('k');
            out.writeInt(2);
            out.write(new byte[] {'v', 'w'});
            out.writeInt(1); // one session: clientId 3, lastSeq 4 applied at 9, active at 1000
            for (long f : new long[] {3, 4, 9, 1_000}) out.writeLong(f);
        }
        KvStateMachine kv = new KvStateMachine(10_000, 100, 8);
        kv.restore(bytes.toByteArray());
        assertThat(kv.appliedIndex()).isEqualTo(12);
        assertThat(kv.get("k")).hasValue("vw");
        assertThat(kv.apply(13, append("k", "x", 3, 4, 1_001))).isEqualTo(new ApplyResult.Duplicate(9));
        assertThat(kv.apply(14, append("k", "x", 3, 5, 1_002))).isEqualTo(new ApplyResult.Applied("vwx"));
    }

    /** A state of a few keys at index {@code at}, encoded. */
    private static byte[] stateWith(long at, String... keys) {
        KvStateMachine kv = new KvStateMachine();
        long i = at - keys.length;
        for (String k : keys) kv.apply(++i, new KvCommand(KvCommand.Op.PUT, k, "v-" + k));
        return kv.snapshot();
    }

    @Test
    @DisplayName("§7 + issue 14: a snapshot validated and then restored is decoded once (the restore reads none of it)")
    void aValidatedSnapshotIsRestoredWithoutDecodingAgain() {
        CountingSnapshotData snap = new CountingSnapshotData(stateWith(50, "a", "b", "c"));
        KvStateMachine kv = new KvStateMachine();
        kv.apply(1, new KvCommand(KvCommand.Op.PUT, "old", "1"));

        kv.validate(snap);
        long readByValidate = snap.bytesRead();
        assertThat(readByValidate).as("validate decodes it").isGreaterThanOrEqualTo(snap.length());
        assertThat(kv.get("old")).as("validate changes nothing").hasValue("1");
        assertThat(kv.get("a")).isEmpty();
        assertThat(kv.appliedIndex()).isEqualTo(1);

        kv.restore(snap);
        assertThat(snap.bytesRead()).as("bytes the restore read").isEqualTo(readByValidate);
        assertThat(kv.get("a")).hasValue("v-a");
        assertThat(kv.get("old")).isEmpty();
        assertThat(kv.appliedIndex()).isEqualTo(50);

        // Restored once: the next restore of the same object decodes it again (nothing kept).
        kv.restore(snap);
        assertThat(snap.bytesRead()).isEqualTo(2 * readByValidate);
    }

    @Test
    @DisplayName("§7: what validate decoded serves only a restore of that very snapshot; another one validated or restored replaces it")
    void onlyTheLastValidatedSnapshotIsKept() {
        byte[] state = stateWith(50, "a");
        CountingSnapshotData first = new CountingSnapshotData(state);
        CountingSnapshotData second = new CountingSnapshotData(stateWith(60, "b"));
        KvStateMachine kv = new KvStateMachine();
        kv.validate(first);
        kv.validate(second);
        long read = first.bytesRead();
        kv.restore(first);
        assertThat(first.bytesRead()).as("decoded again: the second validate replaced it").isEqualTo(2 * read);
        assertThat(kv.get("a")).hasValue("v-a");

        // Equal bytes in another object: decoded, never taken for the validated one.
        CountingSnapshotData copy = new CountingSnapshotData(state);
        kv.validate(first);
        kv.restore(copy);
        assertThat(copy.bytesRead()).isPositive();

        // Forgotten (the core did not install it): decoded again.
        long oneDecode = second.bytesRead(); // it was validated once above
        kv.validate(second);
        kv.forgetValidated();
        kv.restore(second);
        assertThat(second.bytesRead() - oneDecode).as("validate, then a restore that decodes").isEqualTo(2 * oneDecode);
        assertThat(kv.get("b")).hasValue("v-b");
    }

    @Test
    @DisplayName("§7 + issue 15: a snapshot that does not decode is refused by validate and restore alike, and the state stays as it was")
    void aBadSnapshotChangesNothingEvenAfterAGoodOneWasValidated() {
        KvStateMachine kv = new KvStateMachine();
        kv.apply(1, new KvCommand(KvCommand.Op.PUT, "old", "1"));
        byte[] good = stateWith(50, "a");
        io.raftkv.raft.SnapshotData goodData = io.raftkv.raft.SnapshotData.of(good);
        io.raftkv.raft.SnapshotData bad = io.raftkv.raft.SnapshotData.of(java.util.Arrays.copyOf(good, good.length - 3));
        kv.validate(goodData);
        assertThatThrownBy(() -> kv.validate(bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("corrupt state machine snapshot");
        assertThatThrownBy(() -> kv.restore(bad)).isInstanceOf(IllegalArgumentException.class);
        assertThat(kv.get("old")).hasValue("1");
        assertThat(kv.get("a")).isEmpty();
        assertThat(kv.appliedIndex()).isEqualTo(1);
        kv.restore(goodData);
        assertThat(kv.get("a")).hasValue("v-a");
    }

    @Test
    void utf8BytesCountsAsTheEncoderWrites() {
        for (String s : new String[] {"", "abc", "é", "€", "\uD83D\uDE00", "a\uD800b", "\uDC00", "x\uD83D"}) {
            assertThat(KvStateMachine.utf8Bytes(s)).as("UTF-8 length of %s", s)
                    .isEqualTo(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
    }

    @Test
    void commandEncodingRoundTripsAndReadsVersion1() {
        KvCommand c = new KvCommand(KvCommand.Op.APPEND, "clé", "välue", 7, 9, 123456789L);
        assertThat(KvCommand.decode(c.encode())).isEqualTo(c);
        byte[] v1 = {1, 1, 0, 0, 0, 1, 'k', 0, 0, 0, 1, 'v'};
        assertThat(KvCommand.decode(v1)).isEqualTo(new KvCommand(KvCommand.Op.PUT, "k", "v"));
        assertThatThrownBy(() -> KvCommand.decode(new byte[] {2, 1, 0})).isInstanceOf(IllegalArgumentException.class);
    }
}
