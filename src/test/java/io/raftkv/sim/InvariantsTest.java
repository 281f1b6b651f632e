package io.raftkv.sim;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.Message;
import io.raftkv.raft.Ready;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each check of {@link Invariants} fails on a history that breaks its property, and only then. */
class InvariantsTest {
    private final SimStorage[] disks = {null, new SimStorage(), new SimStorage(), new SimStorage()};
    private final Invariants inv = new Invariants(3);

    private static Entry entry(long index, long term, String data) {
        return new Entry(index, term, data.getBytes(StandardCharsets.UTF_8));
    }

    private void persist(int id, long term, long commit, Entry... entries) {
        SimStorage st = disks[id];
        HardState before = st.hardState();
        HardState hs = new HardState(term, -1, commit);
        Ready rd = new Ready(Optional.of(hs), List.of(entries), List.of(), List.of(), List.of(), Optional.empty(),
                List.of());
        inv.beforePersist(id, st, rd.entries());
        st.persist(hs, rd.entries());
        inv.afterPersist(id, term, before, st, rd.entries(), disks);
    }

    @Test
    void twoLeadersOfOneTerm() {
        inv.onLeaderOfTerm(1, 3);
        assertThatCode(() -> inv.onLeaderOfTerm(1, 3)).doesNotThrowAnyException();
        assertThatCode(() -> inv.onLeaderOfTerm(2, 4)).doesNotThrowAnyException();
        assertThatThrownBy(() -> inv.onLeaderOfTerm(2, 3)).hasMessageContaining("Election Safety");
    }

    @Test
    void logMatching() {
        persist(1, 1, 0, entry(1, 1, "a"), entry(2, 1, "b"));
        assertThatCode(() -> persist(2, 2, 0, entry(1, 1, "a"), entry(2, 2, "x"))).doesNotThrowAnyException();
        assertThatThrownBy(() -> persist(3, 1, 0, entry(1, 1, "a"), entry(2, 1, "c")))
                .hasMessageContaining("Log Matching");
    }

    @Test
    void committedEntriesNeverChange() {
        persist(1, 1, 1, entry(1, 1, "a"));
        persist(2, 2, 0, entry(1, 2, "b"));
        assertThatThrownBy(() -> persist(2, 2, 1)).hasMessageContaining("committed entry changed at index 1");
    }

    @Test
    void committedEntriesAreNeverOverwrittenOnOneDisk() {
        persist(1, 1, 1, entry(1, 1, "a"));
        assertThatThrownBy(() -> persist(1, 2, 1, entry(1, 2, "b"))).hasMessageContaining("overwrites committed");
    }

    @Test
    void aVoteIsNeverChangedWithinItsTerm() {
        SimStorage st = disks[1];
        st.persist(new HardState(2, 3, 0), List.of());
        HardState before = st.hardState();
        Ready rd = new Ready(Optional.of(new HardState(2, 1, 0)), List.of(), List.of(), List.of(), List.of(),
                Optional.empty(), List.of());
        st.persist(rd.hardState().get(), List.of());
        assertThatThrownBy(() -> inv.afterPersist(1, 2, before, st, rd.entries(), disks)).hasMessageContaining("changed its vote");
    }

    @Test
    void stateMachineSafety() {
        KvCommand put = new KvCommand(KvCommand.Op.PUT, "k", "v1");
        inv.onApply(1, entry(5, 2, "x"), put, new ApplyResult.Applied("v1"));
        assertThatCode(() -> inv.onApply(2, entry(5, 2, "x"), put, new ApplyResult.Applied("v1")))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> inv.onApply(3, entry(5, 3, "y"), put, new ApplyResult.Applied("v1")))
                .hasMessageContaining("State Machine Safety");
        assertThatThrownBy(() -> inv.onApply(3, entry(5, 2, "x"), put, new ApplyResult.Duplicate(4)))
                .hasMessageContaining("gave");
    }

    @Test
    void aWriteTakesEffectOnce() {
        KvCommand append = new KvCommand(KvCommand.Op.APPEND, "k", "a1.1;", 7, 1, 0);
        inv.onApply(1, entry(3, 1, "x"), append, new ApplyResult.Applied("a1.1;"));
        // A resend answered from the session table is fine.
        inv.onApply(1, entry(4, 1, "y"), append, new ApplyResult.Duplicate(3));
        assertThatThrownBy(() -> inv.onApply(1, entry(6, 1, "z"), append, new ApplyResult.Applied("a1.1;a1.1;")))
                .hasMessageContaining("exactly-once");
    }

    @Test
    void persistBeforeSend() {
        SimStorage st = disks[1];
        st.persist(new HardState(2, -1, 0), List.of());
        var grant = new Message.RequestVoteResponse(1, 2, 2, true);
        assertThatThrownBy(() -> Invariants.checkPersistedBeforeSend(1, st, grant)).hasMessageContaining("grants a vote");
        st.persist(new HardState(2, 2, 0), List.of());
        assertThatCode(() -> Invariants.checkPersistedBeforeSend(1, st, grant)).doesNotThrowAnyException();
        var ack = Message.AppendEntriesResponse.accept(1, 2, 2, 1);
        assertThatThrownBy(() -> Invariants.checkPersistedBeforeSend(1, st, ack)).hasMessageContaining("acknowledges");
    }
}
